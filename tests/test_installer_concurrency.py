"""Several processes installing and uninstalling at once never corrupt settings.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cchooks.installers import settings as st

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = (ROOT / "fixtures" / "hooks" / "settings" / "settings.json.after-run").read_text()

WORKER = """
import sys
from cchooks.installers import settings as st
path, worker, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
prefixes = ["/venv-a/bin/python -m cchooks", "'/venv b/bin/python' -m cchooks"]
for i in range(rounds):
    opts = st.InstallOptions(command=prefixes[(worker + i) % 2], statusline_mode="chain",
                             telemetry=bool(worker % 2), budget_guard=bool(i % 2))
    if (worker + i) % 3 == 2:
        st.uninstall(path)
    else:
        st.install(path, opts)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_eight_processes_never_leave_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(ORIGINAL)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(n), "15"],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    reads = 0
    while any(p.poll() is None for p in procs):
        data = json.loads(path.read_text())  # always a whole file: writes are atomic renames
        entries = st.installed_entries(data)
        assert all(len(cmds) == 1 for cmds in entries.hooks.values()), entries.hooks
        reads += 1
        time.sleep(0.002)
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert reads > 0
    final = json.loads(path.read_text())
    original = json.loads(ORIGINAL)
    for key in ("permissions", "cleanupPeriodDays", "includeCoAuthoredBy"):
        assert final[key] == original[key]
    for event, groups in original["hooks"].items():
        assert final["hooks"][event][: len(groups)] == groups
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # whatever the interleaving, the record stayed consistent: one uninstall gives back the original
    st.uninstall(path)
    assert path.read_text() == ORIGINAL


def test_cli_processes_at_once(tmp_path: Path) -> None:
    cdir = tmp_path / "cfg"
    cdir.mkdir()
    (cdir / "settings.json").write_text(ORIGINAL)
    commands = [
        ["install", "--statusline-chain", "--telemetry"],
        ["uninstall"],
        ["install", "--statusline-replace"],
        ["install", "--statusline-chain", "--budget-guard"],
    ] * 2
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cchooks", *args, "--settings-dir", str(cdir)],
            env=_env(),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    json.loads((cdir / "settings.json").read_text())
    assert (
        subprocess.run(
            [sys.executable, "-m", "cchooks", "uninstall", "--settings-dir", str(cdir)],
            env=_env(),
            cwd=tmp_path,
        ).returncode
        == 0
    )
    assert (cdir / "settings.json").read_text() == ORIGINAL
