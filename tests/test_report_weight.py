"""A warm report is mostly its imports: keep the heavy ones off its path, and keep its JSON the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cchooks.installers.commands import hot_sys_path
from cchooks.reports.render import SMALL_DOCUMENT, dumps_indented

ROOT = Path(__file__).resolve().parent.parent

# What a warm `report daily --json` used to import and no longer needs (tens of ms together).
HEAVY = {"dataclasses", "inspect", "msgspec", "cchooks.pricing.learned", "pathlib", "shutil", "csv", "typing", "sqlite3"}


def _doc(rows: int) -> dict[str, object]:
    return {
        "schema_version": 1,
        "rows": [
            {"date": f"2026-01-{i % 28 + 1:02d}", "project": "/home/jürgen/✓ \"q\" \\ \u2028", "cost_usd": i * 0.1234567,
             "input_tokens": i * 1000, "long_context": None, "models": ["a", "b"], "breakdown": [], "extra": {}}
            for i in range(rows)
        ],
        "totals": {"cost_usd": 12345.678901, "responses": rows, "tiny_usd": 1.5e-05},
    }  # fmt: skip


def test_both_json_encoders_give_the_same_document() -> None:
    for rows in (0, 3, SMALL_DOCUMENT + 1):
        doc = _doc(rows)
        small = dumps_indented(doc, 0)  # the json module
        large = dumps_indented(doc, SMALL_DOCUMENT + 1)  # msgspec
        assert json.loads(small) == json.loads(large) == doc
        # Identical text except how a float below 1e-4 is spelled (1.5e-05 / 0.000015).
        assert small.replace("1.5e-05", "0.000015") == large
        assert small == json.dumps(doc, indent=2, ensure_ascii=False)


def test_warm_report_imports_nothing_heavy(claude_dir: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    args = ["report", "daily", "--json", "--ledger", str(ledger), "--claude-dir", str(claude_dir)]
    # -S and the package's paths by hand, as the installed command sees them: a development
    # (editable) install's finder would import pathlib itself at startup.
    code = (
        "import sys\n"
        f"sys.path.append({str(ROOT)!r})\n"
        f"sys.path.extend({hot_sys_path()!r})\n"
        "from cchooks.cli import main\n"
        f"rc = main({args!r})\n"
        "sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)))\n"
        "sys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for _ in range(2):  # the cold backfill, then the warm report
        r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rows"] and doc["totals"]["responses"] > 0
    modules = set(r.stderr.split("MODULES ", 1)[1].split())
    assert "cchooks.reports.render" in modules
    assert not modules & HEAVY, sorted(modules & HEAVY)
