"""`cchooks status`: what is installed where, how fresh the ledger is, and what looks wrong.

The doctor. It changes nothing (the ledger is opened read-only and never created) and
always exits 0; problems are listed, each with what to do. Sections:

- install: cchooks' hooks, statusLine (and a chained one), budget guard and telemetry env in
  each settings scope (user = `--claude-dir` / `CLAUDE_CONFIG_DIR` / ~/.claude, plus any other
  Claude config dir; project and local = `--project-dir`/.claude); malformed settings files
  and hook commands whose interpreter is gone are problems;
- config: the cchooks config file, validated;
- ledger: path, size, counts, newest response, last ingest (hooks, statusline, `cchooks
  ingest`), and transcript files with bytes the ledger has not read yet;
- log: the hot paths' error log and how many errors it holds from the last 24 hours.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

DAY_MS = 86_400_000
# Transcript bytes unread for longer than this while hooks are installed mean the hooks do not run.
STALE_MS = 10 * 60_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cchooks.commands.common import add_common

    add_common(parser)
    parser.add_argument(
        "--project-dir", metavar="DIR", help="project for the project/local scopes (default: cwd)"
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


# -- install state ----------------------------------------------------------------------------


def _fallback_entries(path: Path) -> dict[str, Any]:
    """Read one settings file without the installer module (kept working if it is absent)."""
    import shlex

    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return {"error": f"{path}: {exc}"}
    if not isinstance(data, dict):
        return {"error": f"{path}: not a JSON object"}

    def ours(cmd: object, kind: str) -> bool:
        if not isinstance(cmd, str):
            return False
        try:
            words = shlex.split(cmd)
        except ValueError:
            return False
        for i, w in enumerate(words):
            if (os.path.basename(w) == "cchooks" or (w == "cchooks" and i and words[i - 1] == "-m")) and (
                i + 1 < len(words) and words[i + 1] == kind
            ):
                return True
            if w.replace("\\", "/").endswith("/cchooks/hot.py"):  # the `-S` launcher
                rest = words[i + 1 :]
                while rest[:1] == ["--sys-path"]:
                    rest = rest[2:]
                return rest[:1] == [kind]
        return False

    hooks: dict[str, list[str]] = {}
    for event, groups in (data.get("hooks") or {}).items() if isinstance(data.get("hooks"), dict) else ():
        for group in groups if isinstance(groups, list) else ():
            for h in (group.get("hooks") or []) if isinstance(group, dict) else ():
                if isinstance(h, dict) and ours(h.get("command"), "hook"):
                    hooks.setdefault(event, []).append(h["command"])
    sl = data.get("statusLine")
    statusline = sl.get("command") if isinstance(sl, dict) and ours(sl.get("command"), "statusline") else None
    problems = []
    for cmd in [c for cs in hooks.values() for c in cs] + ([statusline] if statusline else []):
        try:
            prog = shlex.split(cmd)[0]
        except (ValueError, IndexError):
            continue
        if os.path.isabs(prog) and not os.path.exists(prog):
            problems.append(f"{prog} does not exist (venv moved?); rerun `cchooks install`")
    return {
        "hooks": hooks,
        "statusline": statusline,
        "chained": None,
        "budget_guard": "PreToolUse" in hooks,
        "telemetry_env": {},
        "problems": sorted(set(problems)),
    }


def _entries_dict(entries: Any) -> dict[str, Any]:
    return {
        "hooks": dict(entries.hooks),
        "statusline": entries.statusline,
        "chained": entries.chained,
        "budget_guard": bool(entries.budget_guard),
        "telemetry_env": dict(entries.telemetry_env),
        "problems": list(entries.problems()),
    }


def install_state(claude_dir: str | None, project_dir: str | None) -> list[dict[str, Any]]:
    """One entry per settings file looked at: scope, path, exists, what of ours is in it."""
    from cchooks.paths import claude_config_dirs

    scopes: list[tuple[str, Path]] = []
    first_user = claude_dir.split(",")[0].strip() if claude_dir else None
    try:
        from cchooks.installers import settings as st

        paths = st.scope_paths(project_dir=project_dir, claude_dir=first_user)
        scopes.extend((str(name), where) for name, where in paths.items())
    except ImportError:
        proj = Path(os.path.abspath(project_dir or os.getcwd()))
        user = Path(first_user).expanduser() if first_user else None
        if user is None:
            env = os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[0].strip()
            user = Path(env).expanduser() if env else Path.home() / ".claude"
        if user.name == "projects":
            user = user.parent
        scopes = [
            ("user", user / "settings.json"),
            ("project", proj / ".claude" / "settings.json"),
            ("local", proj / ".claude" / "settings.local.json"),
        ]
    # Other Claude config dirs Claude Code reads (~/.config/claude next to ~/.claude, a list in
    # CLAUDE_CONFIG_DIR): a user-scope install may live in any of them.
    known = {os.path.abspath(p) for _, p in scopes}
    for d in claude_config_dirs(claude_dir):
        p = d / "settings.json"
        if os.path.abspath(p) not in known:
            known.add(os.path.abspath(p))
            scopes.insert(1, ("user", p))
    out = []
    for scope, path in scopes:
        try:
            exists = path.exists()
        except OSError:
            exists = True  # there is something we cannot look at: reading it says what
        item: dict[str, Any] = {"scope": scope, "path": str(path), "exists": exists}
        if item["exists"]:
            try:
                from cchooks.installers import settings as st

                try:
                    item.update(_entries_dict(st.installed_entries(st.load_settings(path))))
                except st.SettingsError as exc:
                    item["error"] = str(exc)
                except Exception as exc:  # a directory, unreadable: report it, check the rest
                    item["error"] = f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}"
            except ImportError:
                item.update(_fallback_entries(path))
        out.append(item)
    return out


# -- ledger -------------------------------------------------------------------------------------


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, UTC).astimezone().isoformat(timespec="seconds")


def _ago(ms: int | None, now: int) -> str:
    if ms is None:
        return "never"
    s = max(0, (now - ms) // 1000)
    if s < 90:
        return f"{s} s ago"
    if s < 5400:
        return f"{s // 60} min ago"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h ago"
    return f"{s // 86400} days ago"


def ledger_state(ledger_arg: str | None, claude_dir: str | None, now: int) -> dict[str, Any]:
    from cchooks.paths import default_ledger_path

    path = Path(ledger_arg).expanduser() if ledger_arg else default_ledger_path()
    info: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not path.exists():
        return info
    size = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            size += os.stat(str(path) + suffix).st_size
    info["size_bytes"] = size
    from cchooks.ledger.recover import quick_check

    damage = quick_check(str(path))
    info["quick_check"] = damage if damage else "ok"
    if damage:
        info["error"] = f"damaged ({damage[0]}); `cchooks recover` rebuilds it and keeps a copy of the old file"
        return info
    try:
        from cchooks.ledger.store import Ledger

        ledger = Ledger.open(path, readonly=True)
    except Exception as exc:
        info["error"] = f"cannot open the ledger read-only: {exc}"
        return info
    try:
        from cchooks.ledger.store import SCHEMA_VERSION

        o = ledger.overview()
        info["schema_version"] = o["schema_version"]
        info["schema_current"] = SCHEMA_VERSION
        for k in ("responses", "sessions", "files_tracked", "rate_limit_snapshots"):
            info[k] = o[k]
        newest, last_read = o["newest_response_ms"], o["last_read_ms"]
        info["newest_response_ms"] = newest
        info["newest_response"] = _iso(newest)
        info["last_ingest_ms"] = last_read
        info["last_ingest"] = _iso(last_read)
        full = ledger.last_ingest_ms()
        info["last_full_scan_ms"] = full
        info["last_full_scan"] = _iso(full)
        info["transcripts"] = _transcript_freshness(ledger, claude_dir)
    except Exception as exc:
        info["error"] = f"cannot read the ledger: {exc}"
    finally:
        ledger.close()
    return info


def _transcript_freshness(ledger: Any, claude_dir: str | None) -> dict[str, Any]:
    """Transcript files on disk against the ledger's read positions."""
    from cchooks.ledger.ingest import discover, load_file_states
    from cchooks.paths import projects_dirs

    states = load_file_states(ledger)
    files = 0
    newest_mtime_ms: int | None = None
    behind: list[tuple[int, str, int]] = []  # (mtime_ms, path, unread bytes)
    for pdir in projects_dirs(claude_dir):
        for tf in discover(pdir):
            key = os.path.abspath(tf.path)  # hooks store the absolute paths Claude Code sends
            try:
                st = os.stat(key)
            except OSError:
                continue
            files += 1
            mtime_ms = st.st_mtime_ns // 1_000_000
            newest_mtime_ms = mtime_ms if newest_mtime_ms is None else max(newest_mtime_ms, mtime_ms)
            state = states.get(key) or states.get(str(tf.path))
            if state is None:
                behind.append((mtime_ms, key, st.st_size))
            elif state[:4] != (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
                behind.append((mtime_ms, key, max(0, st.st_size - state[4])))
    behind.sort(reverse=True)
    return {
        "files": files,
        "newest_mtime_ms": newest_mtime_ms,
        "newest_mtime": _iso(newest_mtime_ms),
        "files_with_unread_bytes": len(behind),
        "unread_bytes": sum(b for _, _, b in behind),
        "newest_unread": [{"path": p, "mtime": _iso(m), "unread_bytes": b} for m, p, b in behind[:5]],
        "newest_unread_mtime_ms": behind[0][0] if behind else None,
    }


# -- config and log ----------------------------------------------------------------------------


def config_state(config_arg: str | None) -> dict[str, Any]:
    from cchooks.paths import config_file_path

    path = Path(config_arg).expanduser() if config_arg else config_file_path()
    info: dict[str, Any] = {"path": str(path), "exists": path.is_file()}
    if not info["exists"]:
        return info
    try:
        from cchooks.config import load_config

        cfg = load_config(path)
        budget = cfg.budget
        info["budget"] = {
            k: v for k, v in budget.model_dump().items() if v is not None and k.endswith("_usd")
        }
        info["budget_block"] = budget.block
    except Exception as exc:
        info["error"] = str(exc)
    return info


def log_state(now: int) -> dict[str, Any]:
    from cchooks.hooks.log import log_path

    path = Path(log_path())
    info: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not path.exists():
        return info
    recent = 0
    last: str | None = None
    cutoff = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((now - DAY_MS) / 1000))
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if " ERROR " in line[:80] and line[:19] >= cutoff:
                    recent += 1
                    last = line.strip()
    except OSError as exc:
        info["error"] = str(exc)
    info["errors_last_24h"] = recent
    info["last_error"] = last[:300] if last else None
    return info


# -- problems -----------------------------------------------------------------------------------


def find_problems(report: dict[str, Any], now: int) -> list[str]:
    problems: list[str] = []
    installed_hooks = False
    for item in report["install"]:
        if item.get("error"):
            problems.append(f"{item['scope']} settings: {item['error']}")
        for p in item.get("problems", []):
            problems.append(f"{item['scope']} settings ({item['path']}): {p}")
        installed_hooks = installed_hooks or bool(item.get("hooks"))
    if not any(item.get("hooks") or item.get("statusline") for item in report["install"]):
        problems.append("cchooks is not installed in any settings file; run `cchooks install`")
    cfg = report["config"]
    if cfg.get("error"):
        problems.append(f"config: {cfg['error']}")
    led = report["ledger"]
    if not led["exists"]:
        problems.append(f"the ledger {led['path']} does not exist yet; run `cchooks ingest`")
    elif led.get("error"):
        problems.append(f"ledger {led['path']}: {led['error']}")
    else:
        if led.get("schema_version", 0) > led.get("schema_current", 0):
            problems.append("the ledger was written by a newer cchooks; upgrade cchooks")
        tr = led.get("transcripts") or {}
        behind = tr.get("files_with_unread_bytes", 0)
        newest_unread = tr.get("newest_unread_mtime_ms")
        if behind:
            msg = (
                f"{behind} transcript file(s) have {tr.get('unread_bytes', 0):,} bytes the ledger has not read"
                f" (newest written {_ago(newest_unread, now)}); run `cchooks ingest`"
            )
            stale = newest_unread is not None and now - newest_unread > STALE_MS
            if installed_hooks and stale:
                msg += "; the hooks should have read them: are they running? (see the log below)"
            problems.append(msg)
    log = report["log"]
    if log.get("error"):
        problems.append(f"log: {log['error']}")
    if log.get("errors_last_24h"):
        problems.append(f"{log['errors_last_24h']} error(s) in the last 24 h in {log['path']}")
    return problems


def _part(fn: Any, on_error: Any) -> Any:
    try:
        return fn()
    except Exception as exc:
        return on_error(f"{type(exc).__name__}: {exc}")


def collect(args: argparse.Namespace) -> dict[str, Any]:
    from cchooks import __version__

    now = int(time.time() * 1000)
    report: dict[str, Any] = {
        "version": __version__,
        "python": sys.executable,
        # Each part on its own: one that fails is reported, and the others still are.
        "install": _part(lambda: install_state(args.claude_dir, args.project_dir),
                         lambda e: [{"scope": "?", "path": "?", "exists": True, "error": e}]),
        "config": _part(lambda: config_state(args.config),
                        lambda e: {"path": str(args.config or "?"), "exists": False, "error": e}),
        "ledger": _part(lambda: ledger_state(args.ledger, args.claude_dir, now),
                        lambda e: {"path": str(args.ledger or "?"), "exists": True, "error": e}),
        "log": _part(lambda: log_state(now), lambda e: {"path": "?", "exists": False, "error": e}),
    }
    report["problems"] = find_problems(report, now)
    return report


def _print_text(r: dict[str, Any]) -> None:
    now = int(time.time() * 1000)
    out = sys.stdout.write
    out(f"cchooks {r['version']} ({r['python']})\n\ninstalled:\n")
    for item in r["install"]:
        head = f"  {item['scope']:<8} {item['path']}"
        if not item["exists"]:
            out(f"{head}: no file\n")
            continue
        if item.get("error"):
            out(f"{head}: UNREADABLE\n")
            continue
        hooks = item.get("hooks") or {}
        if not hooks and not item.get("statusline"):
            out(f"{head}: not installed\n")
            continue
        out(f"{head}\n")
        out(f"           hooks: {', '.join(hooks) if hooks else 'none'}\n")
        sl = item.get("statusline")
        chained = item.get("chained")
        out(
            f"           statusLine: {'cchooks' if sl else 'not ours'}{f' (chained: {chained})' if chained else ''}\n"
        )
        out(f"           budget guard: {'on' if item.get('budget_guard') else 'off'}"
            f"; telemetry env: {'on' if item.get('telemetry_env') else 'off'}\n")  # fmt: skip
    cfg = r["config"]
    out(f"\nconfig: {cfg['path']} ({'found' if cfg['exists'] else 'none, defaults'})\n")
    if cfg.get("budget"):
        budget = ", ".join(f"{k} ${v:g}" for k, v in cfg["budget"].items())
        out(f"  budget: {budget}{' (blocking)' if cfg.get('budget_block') else ''}\n")
    led = r["ledger"]
    out(f"\nledger: {led['path']}\n")
    if not led["exists"]:
        out("  does not exist yet\n")
    elif led.get("error"):
        out(f"  {led['error']}\n")
    else:
        out(f"  size {led['size_bytes'] / 1048576:,.1f} MiB; {led.get('responses', 0):,} responses in"
            f" {led.get('sessions', 0):,} sessions; {led.get('files_tracked', 0):,} transcript files tracked;"
            f" {led.get('rate_limit_snapshots', 0):,} rate-limit snapshots\n")  # fmt: skip
        out(
            f"  newest response: {led.get('newest_response') or '-'} ({_ago(led.get('newest_response_ms'), now)})\n"
        )
        out(f"  last ingest: {led.get('last_ingest') or '-'} ({_ago(led.get('last_ingest_ms'), now)});"
            f" last full scan: {_ago(led.get('last_full_scan_ms'), now)}\n")  # fmt: skip
        tr = led.get("transcripts") or {}
        out(f"  transcripts on disk: {tr.get('files', 0):,}, newest written"
            f" {_ago(tr.get('newest_mtime_ms'), now)}; {tr.get('files_with_unread_bytes', 0)} with unread bytes\n")  # fmt: skip
    log = r["log"]
    out(f"\nlog: {log['path']}")
    out(f" ({log.get('errors_last_24h', 0)} errors in the last 24 h)\n" if log["exists"] else " (empty)\n")
    if log.get("last_error"):
        out(f"  last: {log['last_error']}\n")
    problems = r["problems"]
    out("\nproblems:\n" if problems else "\nno problems found\n")
    for p in problems:
        out(f"  - {p}\n")


def run(args: argparse.Namespace) -> int:
    try:
        report = collect(args)
    except Exception as exc:  # the doctor must not crash; say what failed
        print(f"cchooks status: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 0
    if args.json:
        from cchooks.totals import SCHEMA_VERSION

        print(json.dumps({"schema_version": SCHEMA_VERSION, **report}, indent=2, default=str))
    else:
        _print_text(report)
    return 0
