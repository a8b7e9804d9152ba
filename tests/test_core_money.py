"""Issue #9: one config pipeline, one cost function, one totals type, one ledger boundary.

Each test here is a bullet of the issue: it failed on the code before the core was unified.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cchooks.api import ingest, open_ledger, price_table, report
from cchooks.cli import main
from cchooks.config import ConfigError, load_config, load_config_hot
from cchooks.pricing import PriceError, load_price_table
from cchooks.records import UsageRecord

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def _big(model: str, inp: int = 250_000, out: int = 1_000) -> UsageRecord:
    return UsageRecord("m1", "r1", "s1", 1_796_000_000_000, model, inp, out)


# -- prices: overrides merge field by field ----------------------------------------------------


def test_partial_override_keeps_the_entrys_other_rates() -> None:
    bundled = load_price_table().lookup("claude-opus-5-5")
    over = load_price_table({"claude-opus-5-5": {"output": 20}}).lookup("claude-opus-5-5")
    assert bundled is not None and over is not None
    assert over.cache_read == bundled.cache_read == 0.20  # was 0.40 (0.1x input) before
    assert (over.cache_write_5m, over.cache_write_1h) == (5.0, 8.0)


def test_partial_override_keeps_long_context_rates() -> None:
    rec = _big("claude-sonnet-4-5")
    base = load_price_table().record_cost(rec)
    over = load_price_table({"claude-sonnet-4-5": {"output": 15}}).record_cost(rec)
    assert base == over == pytest.approx(250_000 * 6 / 1e6 + 1_000 * 22.5 / 1e6)  # 1.5225, was 0.765


def test_override_by_alias_changes_the_model_itself() -> None:
    table = load_price_table({"opus-5-5": {"input": 5}})
    price = table.lookup("claude-opus-5-5")
    assert price is not None and price.input == 5 and price.cache_read == 0.20


def test_new_model_needs_input_and_output(tmp_path: Path) -> None:
    with pytest.raises(PriceError, match="no input rate"):
        load_price_table({"new-model": {"output": 3}})
    cfg = _write(tmp_path, '[prices."new-model"]\noutput = 3\n')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    msg = str(err.value)
    assert str(cfg) in msg and "new-model" in msg and "input" in msg and "\n" not in msg


def test_fixture_cost_unchanged_by_an_output_override(claude_dir: Path, ledger_path: Path, tmp_path: Path) -> None:
    cfg = _write(tmp_path, '[prices."claude-opus-5-5"]\noutput = 20\n')
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        plain = report(led, "total", tz="UTC", prices=price_table(led, {}))
        over = report(led, "total", tz="UTC", config=cfg)
    assert over.totals.cost_usd == pytest.approx(plain.totals.cost_usd, rel=1e-12)
    assert plain.totals.cost_usd > 0


# -- one cost function, one long-context rule ------------------------------------------------------


def test_threshold_is_per_price_entry(ledger_path: Path) -> None:
    rec = UsageRecord("m1", "r1", "s1", 1_796_000_000_000, "claude-sonnet-4-5", 150_000, 0)
    custom = load_price_table({"claude-sonnet-4-5": {"long_context_threshold": 100_000}})
    assert custom.record_cost(rec) == pytest.approx(150_000 * 6 / 1e6)  # long rate above 100k
    assert load_price_table().record_cost(rec) == pytest.approx(150_000 * 3 / 1e6)
    with open_ledger(ledger_path) as led:
        with led.write():
            led.upsert_records([rec])
        assert report(led, "daily", tz="UTC", prices=custom).totals.cost_usd == pytest.approx(0.9)
        assert report(led, "session", tz="UTC", prices=custom).totals.cost_usd == pytest.approx(0.9)
        assert report(led, "daily", tz="UTC", prices=load_price_table()).totals.cost_usd == pytest.approx(0.45)


def test_a_custom_threshold_elsewhere_in_the_ledger_keeps_every_period_exact(ledger_path: Path) -> None:
    # The rollups' split fits a period only if it fits every model the ledger holds (the check reads
    # the few rows of source_totals, not a year of rollup rows): a model with its own threshold on
    # another day sends this day's query to the responses, which must still be exact.
    day = 86_400_000
    t0 = 1_796_000_000_000 // day * day
    recs = [
        UsageRecord("m1", "r1", "s1", t0 + 1000, "claude-sonnet-4-5", 150_000, 0),
        UsageRecord("m2", "r2", "s2", t0 + day + 1000, "claude-opus-4-5", 250_000, 10),
    ]
    custom = load_price_table({"claude-sonnet-4-5": {"long_context_threshold": 100_000}})
    with open_ledger(ledger_path) as led:
        with led.write():
            led.upsert_records(recs)
        days = [time.strftime("%Y-%m-%d", time.gmtime((t0 + n * day) / 1000)) for n in (0, 1)]
        second = report(led, "daily", tz="UTC", prices=custom, since=days[1])
        assert second.totals.cost_usd == pytest.approx(custom.record_cost(recs[1]))
        first = report(led, "daily", tz="UTC", prices=custom, until=days[0])
        assert first.totals.cost_usd == pytest.approx(150_000 * 6 / 1e6)
        for group in ("session", "model", "project", "agent"):
            assert report(led, group, tz="UTC", prices=custom).totals.cost_usd == pytest.approx(
                150_000 * 6 / 1e6 + (custom.record_cost(recs[1]) or 0)
            )


def test_reports_and_statusline_sums_agree_on_long_context(ledger_path: Path) -> None:
    from cchooks.ledger.live import spend_between

    recs = [
        UsageRecord(f"m{i}", f"r{i}", "s1", 1_796_000_000_000 + i, "claude-sonnet-4-5", inp, 100)
        for i, inp in enumerate((1_000, 250_000, 199_999, 200_001))
    ]
    table = load_price_table()
    with open_ledger(ledger_path) as led:
        with led.write():
            led.upsert_records(recs)
        want = sum(table.record_cost(r) or 0 for r in recs)
        for group in ("daily", "session", "model", "total"):
            assert report(led, group, tz="UTC", prices=table).totals.cost_usd == pytest.approx(want)
        assert spend_between(led, table, 0).cost_usd == pytest.approx(want)


def _multiplications_of_prices(path: Path) -> list[str]:
    """`x * price.<rate>`-like expressions: where code multiplies tokens by a price attribute."""
    rates = {"input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "long_input", "long_output"}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                if isinstance(side, ast.Attribute) and side.attr in rates:
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_other_code_multiplies_tokens_by_prices() -> None:
    offenders = []
    for path in (ROOT / "cchooks").rglob("*.py"):
        if path.relative_to(ROOT).as_posix() in ("cchooks/pricing/__init__.py", "cchooks/pricing/learned.py"):
            continue
        offenders += _multiplications_of_prices(path)
    assert offenders == []


def test_threshold_200000_is_written_once() -> None:
    hits = []
    for path in (ROOT / "cchooks").rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if ("200_000" in line or "200000" in line) and not line.lstrip().startswith("#"):
                hits.append(f"{path.relative_to(ROOT)}:{i}")
    # pricing's default threshold, the rollup's split (a storage detail), the statusline's
    # default context window size (not a price rule).
    assert sorted(h.split(":")[0] for h in hits) == [
        "cchooks/ledger/derived.py", "cchooks/pricing/__init__.py", "cchooks/statusline/figures.py",
    ], hits  # fmt: skip


# -- one totals type ------------------------------------------------------------------------------


def test_one_totals_type() -> None:
    sums = []
    for path in (ROOT / "cchooks").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names = {
                    t.id if isinstance(t, ast.Name) else getattr(t, "attr", "")
                    for n in ast.walk(node) if isinstance(n, ast.AnnAssign | ast.Assign)
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                }  # fmt: skip
                slots = {
                    e.value for n in node.body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name) and t.id == "__slots__"
                    for e in ast.walk(n.value) if isinstance(e, ast.Constant)
                }  # fmt: skip
                fields = names | slots
                if {"input_tokens", "output_tokens", "cache_read_tokens"} <= fields and not any(
                    f in fields for f in ("message_id", "ekey", "request_id")
                ):
                    sums.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert sums == ["cchooks/totals.py:Totals"]


def test_blocks_and_daily_json_share_names_and_rounding(claude_dir: Path, ledger_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["--ledger", str(ledger_path), "--claude-dir", str(claude_dir), "--tz", "UTC"]
    assert main(["report", "daily", "--json", *args]) == 0
    daily = json.loads(capsys.readouterr().out)
    assert main(["report", "blocks", "--json", *args]) == 0
    blocks = json.loads(capsys.readouterr().out)
    block = next(b for b in blocks["blocks"] if not b["is_gap"])
    row = daily["rows"][0]
    for key in ("responses", "cost_usd", "first_ms", "last_ms", "unpriced_responses"):
        assert key in block and key in row
    assert "records" not in block
    for cost in (block["cost_usd"], row["cost_usd"]):
        assert cost == round(cost, 6)


def test_daily_first_last_are_real_times(claude_dir: Path, ledger_path: Path) -> None:
    with open_ledger(ledger_path) as led:
        ingest(led, claude_dir)
        times = [r.timestamp_ms for r in led.records()]
        rep = report(led, "daily", tz="UTC", prices=price_table(led, {}))
    assert rep.totals.first_ms == min(times) and rep.totals.last_ms == max(times)
    assert min(times) % 900_000 != 0 or max(times) % 900_000 != 899_999


# -- one config pipeline ---------------------------------------------------------------------------


def test_unknown_key_fails_every_command_alike(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = _write(tmp_path, "[report]\ntimezon = 'UTC'\n")
    led = str(tmp_path / "l.db")
    errors = set()
    for argv in (["report", "daily"], ["limits"], ["report", "blocks"], ["reconcile"], ["monitor", "--once"]):
        code = main([*argv, "--config", str(cfg), "--ledger", led, "--no-ingest"])
        err = capsys.readouterr().err.strip()
        assert code == 1, argv
        assert len(err.splitlines()) == 1, err
        errors.add(err)
    (line,) = errors
    assert str(cfg) in line and "[report] timezon" in line and "unknown key" in line
    with pytest.raises(ConfigError) as hot:
        load_config_hot(str(cfg))
    assert str(hot.value) in line


def test_hot_loader_equals_the_schema(tmp_path: Path) -> None:
    cfg = _write(tmp_path, '[statusline]\nsegments = ["model", "cost"]\n[prices."claude-opus-5-5"]\noutput = 20\n')
    assert load_config_hot(str(cfg)) == load_config(cfg).model_dump(mode="json")
    assert load_config_hot(str(cfg)) == load_config(cfg).model_dump(mode="json")  # the cached form
    from cchooks.config import DEFAULTS_FILE
    from cchooks.config.model import Config

    assert json.loads(Path(DEFAULTS_FILE).read_text()) == Config().model_dump(mode="json")


def test_no_color_honoured_without_a_config_file(tmp_path: Path) -> None:
    env = dict(os.environ, NO_COLOR="1", CCHOOKS_LEDGER=str(tmp_path / "l.db"), CCHOOKS_CONFIG=str(tmp_path / "none.toml"))
    payload = json.dumps({"session_id": "s", "model": {"display_name": "Opus"}, "cost": {"total_cost_usd": 1.5}})
    out = subprocess.run(
        [sys.executable, "-m", "cchooks", "statusline", "--color", "auto"], input=payload, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0 and "Opus" in out.stdout
    assert "\x1b[" not in out.stdout
    from cchooks.statusline.settings import load_settings

    os.environ["NO_COLOR"] = "1"
    try:
        assert load_settings(str(tmp_path / "missing.toml")).colors is False
    finally:
        del os.environ["NO_COLOR"]


def test_api_report_uses_the_config_time_zone(tmp_path: Path, ledger_path: Path) -> None:
    cfg = _write(tmp_path, "[report]\ntimezone = 'Pacific/Auckland'\n")
    from datetime import UTC, datetime

    ts = int(datetime(2026, 12, 1, 22, 13, tzinfo=UTC).timestamp() * 1000)  # 2026-12-02 in Auckland
    rec = UsageRecord("m1", "r1", "s1", ts, "claude-opus-5-5", 10, 10)
    with open_ledger(ledger_path) as led:
        with led.write():
            led.upsert_records([rec])
        assert [r.key for r in report(led, "daily", config=cfg).rows] == ["2026-12-02"]
        assert [r.key for r in report(led, "daily", tz="UTC", config=cfg).rows] == ["2026-12-01"]


def test_bad_config_values_are_one_line(tmp_path: Path) -> None:
    for text, where in (
        ("[limits]\nplan = 'giant'\n", "[limits] plan"),
        ("[statusline]\nsegments = ['nope']\n", "[statusline] segments"),
        ("[prices.'x']\ninput = -1\noutput = 1\n", '[prices."x"] input'),
        ("[report]\ntimezone = 'Mars/Olympus'\n", "[report]"),
        ("not toml = = 1\n", "not valid TOML"),
    ):
        with pytest.raises(ConfigError) as err:
            load_config(_write(tmp_path, text))
        assert where in str(err.value) and "\n" not in str(err.value), str(err.value)


# -- the ledger boundary -------------------------------------------------------------------------


def test_no_sql_outside_the_ledger() -> None:
    offenders = []
    for path in (ROOT / "cchooks").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("cchooks/ledger/"):
            continue
        text = path.read_text()
        if ".conn." in text or ".conn)" in text or "ledger.conn" in text:
            offenders.append(rel)
    assert offenders == []


def test_pricing_does_not_import_the_ledger() -> None:
    for path in (ROOT / "cchooks" / "pricing").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("cchooks.ledger"), path


def test_new_model_without_input_is_one_line_in_report(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = _write(tmp_path, '[prices."new-model"]\noutput = 3\n')
    assert main(["report", "daily", "--config", str(cfg), "--ledger", str(tmp_path / "l.db"), "--no-ingest"]) == 1
    err = capsys.readouterr().err
    assert "KeyError" not in err and len(err.strip().splitlines()) == 1
    assert '[prices."new-model"]' not in err or "input" in err
    assert "new-model" in err and "no input rate" in err
