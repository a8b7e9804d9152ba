"""The hook and statusline hot path: what it imports, and the shortcuts that keep it small.

Each shortcut is checked against what it replaces: `fast_args` against argparse, `fastjson`
against `json.loads`, the Linux XDG dirs against platformdirs, `clean_path` against pathlib,
the statusline's settings loader against `load_settings`; and the `-S` launcher end to end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from cchooks import fastjson, paths
from cchooks.commands import hook as hook_cmd
from cchooks.commands import statusline as statusline_cmd
from cchooks.installers import commands as ic

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CAPTURE_HOME = "/tmp/ccwork/home/.claude"

# Never on the hot path (the statusline and hook with no config file, in the plain XDG layout).
FORBIDDEN = (
    "typing", "re", "enum", "json", "pathlib", "argparse", "gettext", "locale", "shutil", "platformdirs",
    "contextlib", "threading", "tempfile", "dataclasses", "inspect", "logging", "subprocess", "tomllib",
    "pydantic", "zoneinfo", "urllib", "importlib.util",
)  # fmt: skip


# -- fast_args == argparse --------------------------------------------------------------------------

HOOK_ARGVS = [
    [], ["Stop"], ["PostToolUse", "--ledger", "/x/l.sqlite3"], ["--timeout", "2.5", "Stop"],
    ["Stop", "--config=/c.toml", "--timeout=1e1"], ["--ledger="], ["Stop", "--ledger", "a", "--ledger", "b"],
    ["--timeout", " 3 "], ["--timeout", "inf"],
]  # fmt: skip
STATUSLINE_ARGVS = [
    [], ["--chain", "ccusage statusline --offline"], ["--chain=echo 'a b'"], ["--preview"],
    ["--preview", "--payload", "p.json"], ["--no-ingest", "--color", "never"], ["--color=always"],
    ["--timeout", "0.5", "--ledger", "/l", "--config", "/c"], ["--chain", ""],
]  # fmt: skip
# Forms fast_args leaves to argparse (it must answer None, never something else).
UNSURE = [
    ["--help"], ["-h"], ["--led", "x"], ["--timeout", "x"], ["--timeout", "-1"], ["--chain", "-x"],
    ["--ledger"], ["--", "Stop"], ["-"], ["--preview=1"], ["--color", "blue"], ["Stop", "Extra"],
    ["--unknown"],
]  # fmt: skip


def _argparse(module: Any, argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return vars(parser.parse_args(argv))


@pytest.mark.parametrize("argv", HOOK_ARGVS)
def test_hook_fast_args_equal_argparse(argv: list[str]) -> None:
    fast = hook_cmd.fast_args(argv)
    assert fast is not None
    assert vars(fast) == _argparse(hook_cmd, argv)


@pytest.mark.parametrize("argv", STATUSLINE_ARGVS)
def test_statusline_fast_args_equal_argparse(argv: list[str]) -> None:
    fast = statusline_cmd.fast_args(argv)
    assert fast is not None
    assert vars(fast) == _argparse(statusline_cmd, argv)


@pytest.mark.parametrize("argv", UNSURE)
def test_fast_args_leave_the_rest_to_argparse(argv: list[str]) -> None:
    assert statusline_cmd.fast_args(argv) is None
    if argv != ["Stop", "Extra"] and not argv[0].startswith(("--chain", "--preview", "--color")):
        assert hook_cmd.fast_args(argv) is None


# -- fastjson == json.loads -------------------------------------------------------------------------

JSON_INPUTS: list[Any] = [
    b'{"a": 1}', '{"a": [1, 2.5, -3e2, true, false, null, "x\\u00e9\\ud83d\\ude00"]}', b"  \n\t[1]\r\n ",
    b'"\xc3\xa9"', b"123456789012345678901234567890", b"NaN", b"[Infinity, -Infinity]", b'{"a":1,"a":2}',
    "\ufeff{}", b"\xef\xbb\xbf{}", '{"k": "v"}'.encode("utf-16"), '{"k": "v"}'.encode("utf-32-le"),
    '"x"'.encode("utf-16-be"), b"", b"   ", b"{", b'{"a": 1} x', b"[1,]", b'"\xff"', b'"\xed\xa0\x80"',
    b'"a\x01b"', b"1 2", bytearray(b"[1]"), "[]", 12, None, b"[" * 100_000 + b"]" * 100_000,
    b'{"nested": {"deep": [{"x": "' + b"y" * 5000 + b'"}]}}',
]  # fmt: skip


def _outcome(fn: Any, data: Any) -> tuple[str, Any]:
    try:
        value = fn(data)
    except BaseException as exc:  # noqa: BLE001 - comparing exactly what each raises
        return ("raise", (type(exc), str(exc)))
    return ("ok", json.dumps(value, sort_keys=True) if not _has_nan(value) else repr(value))


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


@pytest.mark.parametrize("data", JSON_INPUTS, ids=range(len(JSON_INPUTS)))
def test_fastjson_equals_json_loads(data: Any) -> None:
    assert _outcome(fastjson.loads, data) == _outcome(json.loads, data)


def test_fastjson_on_real_transcripts() -> None:
    for path in (FIXTURES / "claude-code-2.1.330" / "config").rglob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            assert _outcome(fastjson.loads, line) == _outcome(json.loads, line)


# -- default dirs == platformdirs -------------------------------------------------------------------

ENV_CASES = [
    {},
    {"XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c", "XDG_CACHE_HOME": "/k/"},
    {"XDG_CACHE_HOME": "k"},
    {"XDG_DATA_HOME": "/d/", "XDG_CONFIG_HOME": "/c/x/../y"},
    {"XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "  "},
    {"XDG_DATA_HOME": "rel/dir", "XDG_CONFIG_HOME": "./rel"},
    {"XDG_DATA_HOME": "/d//e", "XDG_CONFIG_HOME": "/c/./x"},
    {"XDG_DATA_HOME": "/d/.", "XDG_CONFIG_HOME": "//c"},
    {"HOME": "/"},
    {"HOME": "/home/u/"},
    {"HOME": "/home//u"},
    {"HOME": "relative"},
    {"HOME": ""},
    {"HOME": None},
    {"HOME": "/home/with space/ü"},
]


@pytest.mark.parametrize("env", ENV_CASES, ids=range(len(ENV_CASES)))
def test_user_dirs_equal_platformdirs(env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    try:
        want_data = str(platformdirs.user_data_path("cchooks"))
        want_config = str(platformdirs.user_config_path("cchooks"))
    except RuntimeError:  # platformdirs cannot tell either: then neither may we invent an answer
        with pytest.raises(RuntimeError):
            paths.user_data_dir()
        return
    assert paths.user_data_dir() == want_data
    assert paths.user_config_dir() == want_config
    assert paths.user_cache_dir() == str(platformdirs.user_cache_path("cchooks"))
    assert paths.default_ledger_file() == str(Path(want_data) / "ledger.sqlite3")
    assert paths.config_file_str() == str(Path(want_config) / "config.toml")
    assert paths.default_ledger_path() == Path(want_data) / "ledger.sqlite3"


def test_plain_layout_needs_no_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform != "linux":
        pytest.skip("the shortcut is Linux-only")
    monkeypatch.setenv("XDG_DATA_HOME", "/data")
    assert paths._xdg_user_dir("XDG_DATA_HOME", ".local/share") == "/data/cchooks"
    monkeypatch.setenv("XDG_DATA_HOME", "relative")
    assert paths._xdg_user_dir("XDG_DATA_HOME", ".local/share") is None


@pytest.mark.parametrize(
    "p",
    [
        "/a/b",
        "/a/b/",
        "/a//b",
        "//a/b",
        "///a",
        "/a/./b",
        "/a/.",
        "./a",
        "a/b",
        ".",
        "",
        "/",
        "/a/../b",
        "a/",
    ],
)
def test_clean_path_is_pathlib_normal_form(p: str) -> None:
    assert paths.clean_path(p) == str(Path(p))


def test_env_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CCHOOKS_LEDGER", "~/x//l.sqlite3")
    monkeypatch.setenv("CCHOOKS_CONFIG", str(tmp_path) + "/c.toml")
    assert paths.default_ledger_file() == str(Path("~/x//l.sqlite3").expanduser())
    assert paths.config_file_path() == tmp_path / "c.toml"


# -- the statusline's (cached) settings loader == settings straight from the TOML -------------------


def _uncached_settings(config: Path):  # type: ignore[no-untyped-def]
    """Settings straight from the schema (pydantic), no cache."""
    from cchooks.config import load_config
    from cchooks.statusline.settings import StatuslineSettings, settings_from_config

    try:
        return settings_from_config(load_config(config if config.is_file() else None).model_dump(mode="json"))
    except Exception as exc:
        s = StatuslineSettings()
        s.problems.append(str(exc))
        return s


@pytest.mark.parametrize(
    "text",
    [
        None,
        '[statusline]\nsegments = ["model", "cost"]\nicons = true\n[limits]\nplan = "max5"\n',
        "[statusline\nbroken",
        "[statusline]\ncolors = 'maybe'\n",
    ],
)
def test_statusline_settings_loader_equals_load_settings(text: str | None, tmp_path: Path) -> None:
    from cchooks.statusline.settings import load_settings

    config = tmp_path / "config.toml"
    if text is not None:
        config.write_text(text)
    for _ in range(2):  # the second read comes from the validated-config cache
        ours = load_settings(str(config) if text is not None else None)
        theirs = _uncached_settings(config)
        for name in type(theirs).__slots__:
            assert getattr(ours, name) == getattr(theirs, name), name


# -- the validated config, cached for the hot paths --------------------------------------------------


def test_config_cache(tmp_path: Path) -> None:
    from cchooks.config import CACHE_NAME, ConfigError, load_config, load_config_hot

    cache = Path(paths.user_cache_dir()) / CACHE_NAME
    config = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match="no such file"):  # an explicit path must exist
        load_config_hot(str(config))
    assert not cache.exists()
    config.write_text('[statusline]\nsegments = ["model"]\n[prices."m"]\ninput = 1.5\noutput = 2\n')
    first = load_config_hot(str(config))
    assert first == load_config(config).model_dump(mode="json") and cache.exists()
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    # a hit comes from the cache: prove it by editing the cache's copy
    entry = json.loads(cache.read_text())
    entry["config"]["statusline"]["segments"] = ["cached"]
    cache.write_text(json.dumps(entry))
    assert load_config_hot(str(config))["statusline"]["segments"] == ["cached"]
    # any change of the file (size, mtime, inode...) is a miss
    config.write_text('[statusline]\nsegments = ["cost", "model"]\n')
    assert load_config_hot(str(config))["statusline"]["segments"] == ["cost", "model"]
    # an unreadable cache is only a miss
    cache.write_bytes(b"\xff{not json")
    assert load_config_hot(str(config))["statusline"]["segments"] == ["cost", "model"]
    # a broken file raises every time, with load_config's message, and its error is cached
    config.write_text("[statusline\n")
    for _ in range(2):
        with pytest.raises(ConfigError) as err:
            load_config_hot(str(config))
        with pytest.raises(ConfigError) as slow:
            load_config(config)
        assert str(err.value) == str(slow.value)
    assert "error" in json.loads(cache.read_text())


def test_hot_path_with_a_config_file_skips_tomllib_once_cached(claude_dir: Path, tmp_path: Path) -> None:
    config = Path(paths.config_file_str())
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[statusline]\nsegments = ["model", "cost", "tokens"]\n')
    env = {**os.environ, "CCHOOKS_LEDGER": str(tmp_path / "ledger.sqlite3")}
    env.pop("PYTHONPATH", None)
    out1, modules1 = _modules_after(["statusline", "--color", "never"], _payload(claude_dir), env)
    out2, modules2 = _modules_after(["statusline", "--color", "never"], _payload(claude_dir), env)
    assert "tomllib" in modules1 and "tomllib" not in modules2
    assert out1 == out2 and out2.count(" | ") == 2, out2
    assert not modules2 & set(FORBIDDEN), sorted(modules2 & set(FORBIDDEN))


# -- end to end: the -S launcher, and what it imports -----------------------------------------------


def _payload(claude: Path) -> bytes:
    data = json.loads((FIXTURES / "statusline" / "0005-statusline.json").read_bytes())
    data["transcript_path"] = data["transcript_path"].replace(CAPTURE_HOME, str(claude))
    return json.dumps(data).encode()


def _modules_after(args: list[str], stdin: bytes, env: dict[str, str]) -> tuple[str, set[str]]:
    """Run `args` like hot.py does (python -S), then report sys.modules."""
    code = (
        "import sys, os\n"
        f"sys.path.append({str(ROOT)!r})\n"
        f"sys.path.extend({ic.hot_sys_path()!r})\n"
        "from cchooks.launch_hot import main\n"
        f"main({args!r})\n"
        "sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)))\n"
    )
    r = subprocess.run(
        [sys.executable, "-S", "-c", code], input=stdin, capture_output=True, env=env, timeout=60
    )
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    return r.stdout.decode(), set(err.split("MODULES ", 1)[1].split())


@pytest.mark.parametrize("kind", ["statusline", "hook"])
def test_hot_path_imports_nothing_heavy(kind: str, claude_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CCHOOKS_LEDGER": str(tmp_path / "ledger.sqlite3")}
    env.pop("PYTHONPATH", None)
    if kind == "statusline":
        out, modules = _modules_after(["statusline"], _payload(claude_dir), env)
        assert "$" in out
    else:
        event = json.loads(_payload(claude_dir))
        event["hook_event_name"] = "PostToolUse"
        out, modules = _modules_after(["hook", "PostToolUse"], json.dumps(event).encode(), env)
        assert out == ""
    assert {"cchooks.ledger.ingest", "_sqlite3"} <= modules
    # the driver itself: the sqlite3 package would add datetime and collections.abc (3 ms)
    assert "sqlite3" not in modules
    assert "cchooks.cli" not in modules  # the launcher runs the hot commands without its tables
    assert not modules & set(FORBIDDEN), sorted(modules & set(FORBIDDEN))
    # Once the ledger exists and is migrated, opening it loads no migrations; no bulk-load code ever.
    assert "cchooks.ledger.schema" in modules  # this first run created it
    stdin = _payload(claude_dir) if kind == "statusline" else json.dumps(event).encode()
    _, modules = _modules_after([kind] if kind == "statusline" else ["hook", "PostToolUse"], stdin, env)
    assert "_sqlite3" in modules or kind == "hook"  # the hook may skip SQLite (`<ledger>.seen`)
    assert not {"cchooks.ledger.schema", "cchooks.ledger.bulk_load"} & modules
    # the default ledger location (no CCHOOKS_LEDGER): still no platformdirs in the plain XDG layout
    env.pop("CCHOOKS_LEDGER")
    _, modules = _modules_after(["statusline"], _payload(claude_dir), env)
    assert "platformdirs" not in modules or sys.platform != "linux"
    assert Path(paths.default_ledger_file()).exists()


def test_schema_version_is_the_number_of_migrations() -> None:
    from cchooks.ledger.schema import MIGRATIONS
    from cchooks.ledger.store import SCHEMA_VERSION

    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_launcher_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """--sys-path and $CCHOOKS_SYS_PATH directories go after the standard library, in order."""
    from cchooks import launch_hot

    monkeypatch.setenv("CCHOOKS_SYS_PATH", os.pathsep.join(["/three", "", "/one"]))
    monkeypatch.setattr(sys, "path", ["/stdlib.zip", "/stdlib", "/one"])
    rest = launch_hot.setup(["--sys-path", "/one", "--sys-path=/two", "hook", "Stop", "--sys-path", "x"])
    assert rest == ["hook", "Stop", "--sys-path", "x"]
    assert sys.path == ["/stdlib.zip", "/stdlib", "/one", "/two", "/three"]


def test_launcher_check(tmp_path: Path) -> None:
    from cchooks import __version__

    prefix = ic.hot_command_prefix(verify=False)
    assert prefix is not None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(
        ["sh", "-c", f"{prefix} --check"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert (r.returncode, r.stdout.strip()) == (0, f"cchooks-hot-ok {__version__}"), r.stderr
    r = subprocess.run(
        ["sh", "-c", f"{prefix} --version"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert (r.returncode, r.stdout.strip()) == (0, f"cchooks {__version__}"), r.stderr


def test_launcher_runs_from_a_copied_package(tmp_path: Path) -> None:
    """A plain (non-editable) layout: cchooks next to its dependencies, no --sys-path needed."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "cchooks", site / "cchooks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(platformdirs.__file__).parent, site / "platformdirs")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CCHOOKS_SYS_PATH")}
    r = subprocess.run(
        [sys.executable, "-S", str(site / "cchooks" / "hot.py"), "--check"], capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith("cchooks-hot-ok"), r.stderr
    # without platformdirs next to it, the check fails (and `cchooks install` would not use this form)
    shutil.rmtree(site / "platformdirs")
    r = subprocess.run(
        [sys.executable, "-S", str(site / "cchooks" / "hot.py"), "--check"], capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert r.returncode != 0 and "platformdirs" in r.stderr
