"""Build deploy/grafana/dashboards/cchooks.json from the panel list below (the one place the panels
and their PromQL are written): `python deploy/grafana/build_dashboard.py`.

tests/test_metrics_prometheus.py evaluates every target's `expr` on a real Prometheus scraping
cchooks and compares it with the ledger figure named by its `expect`; docs/prometheus.md shows the
same expressions (a test keeps the JSON, this list and the page in step).

Amounts "in the range" are exact differences of the ledger's counters, `now - (range ago)`, not
`increase()`: increase() extrapolates to the range's edges and misses the first value of a series
that appears inside the range, while these counters never reset, so the difference is the figure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards" / "cchooks.json"
DATASOURCE = {"type": "prometheus", "uid": "cchooks-prometheus"}


def added(selector: str, by: str = "", window: str = "$__range") -> str:
    """What a counter added over `window`, summed (by the labels `by`); a series younger than the
    window counts whole."""
    metric, _, labels = selector.partition("{")
    labels = "{" + labels if labels else ""
    agg = f"sum by ({by}) " if by else "sum "
    now = f"{agg}({metric}{labels})"
    then = f"{agg}({metric}{labels} offset {window})"
    return f"{now} - ({then} or {now} * 0)" if by else f"{now} - ({then} or vector(0))"


def per_interval(selector: str, by: str) -> str:
    return added(selector, by, "$__interval")


# Each target: expr, legend, mode, expect.
#   mode:   range    - an amount over the dashboard's range (instant query at its end)
#           interval - an amount per graph step ($__interval); the steps add up to the range's amount
#           instant  - a gauge, as it is now
#   expect: the ledger figure the test compares it with (tests/test_metrics_prometheus.py)
def T(expr: str, legend: str, mode: str, expect: str) -> dict[str, str]:
    return {"expr": expr, "legend": legend, "mode": mode, "expect": expect}


CACHE_READ = 'cchooks_tokens_total{type="cache_read"}'
INPUT_SIDE = 'cchooks_tokens_total{type!="output"}'

PANELS: list[dict[str, Any]] = [
    {"row": "Spend in the selected range (the deduplicated ledger)"},
    {"title": "Cost", "type": "stat", "unit": "currencyUSD", "w": 4,
     "targets": [T(added("cchooks_cost_usd_total"), "USD", "range", "total:cost_usd")]},
    {"title": "Tokens", "type": "stat", "unit": "short", "w": 4,
     "targets": [T(added("cchooks_tokens_total"), "tokens", "range", "total:total_tokens")]},
    {"title": "Responses", "type": "stat", "unit": "short", "w": 4,
     "targets": [T(added("cchooks_responses_total"), "responses", "range", "total:responses")]},
    {"title": "Cache hit rate", "type": "stat", "unit": "percentunit", "w": 4,
     "description": "Cache reads over all input-side tokens (input, cache writes, cache reads).",
     "targets": [T(f"({added(CACHE_READ)}) / ({added(INPUT_SIDE)})",
                   "cache hit rate", "range", "cache_hit")]},
    {"title": "Sessions", "type": "stat", "unit": "short", "w": 8,
     "targets": [T(added("cchooks_ledger_sessions_total"), "with responses (ledger)", "range", "sessions"),
                 T(added("cchooks_claude_code_sessions_total"), "started (Claude Code)", "range",
                   "otlp:claude_code.session.count")]},
    {"title": "Cost by model", "type": "timeseries", "unit": "currencyUSD", "w": 12, "stack": True,
     "targets": [T(per_interval("cchooks_cost_usd_total", "model"), "{{model}}", "interval", "by_model:cost_usd")]},
    {"title": "Tokens by type", "type": "timeseries", "unit": "short", "w": 12, "stack": True,
     "targets": [T(per_interval("cchooks_tokens_total", "type"), "{{type}}", "interval", "by_type")]},
    {"title": "Cost by model (range)", "type": "bargauge", "unit": "currencyUSD", "w": 8,
     "targets": [T(added("cchooks_cost_usd_total", "model"), "{{model}}", "range", "by_model:cost_usd")]},
    {"title": "Tokens by model and type (range)", "type": "bargauge", "unit": "short", "w": 16,
     "targets": [T(added("cchooks_tokens_total", "model, type"), "{{model}} {{type}}", "range", "by_model_type")]},
    {"row": "Windows against limits"},
    {"title": "Window used", "type": "bargauge", "unit": "percentunit", "w": 8, "max": 1,
     "description": "Claude Code's official percentage when reported, else the ledger against the plan's limits.",
     "targets": [T("cchooks_window_used_ratio", "{{window}}", "instant", "window:percent")]},
    {"title": "Used and limit (USD)", "type": "timeseries", "unit": "currencyUSD", "w": 8,
     "targets": [T("cchooks_window_used_usd", "{{window}} used", "instant", "window:used_cost_usd"),
                 T("cchooks_window_limit_usd", "{{window}} limit", "instant", "window:cost_limit_usd")]},
    {"title": "Used and limit (tokens)", "type": "timeseries", "unit": "short", "w": 8,
     "targets": [T("cchooks_window_used_tokens", "{{window}} used", "instant", "window:used_tokens"),
                 T("cchooks_window_limit_tokens", "{{window}} limit", "instant", "window:token_limit")]},
    {"title": "Window resets", "type": "stat", "unit": "dateTimeFromNow", "w": 8,
     "targets": [T("cchooks_window_reset_timestamp_seconds * 1000", "{{window}}", "instant", "window:reset_at_ms")]},
    {"title": "Official rate limits (Claude Code)", "type": "timeseries", "unit": "percentunit", "w": 8, "max": 1,
     "targets": [T("cchooks_rate_limit_used_ratio", "{{window}}", "instant", "official:used_percentage")]},
    {"title": "Burn rate (last hour)", "type": "timeseries", "unit": "currencyUSD", "w": 8,
     "description": "USD per hour over the last 60 minutes.",
     "targets": [T("cchooks_burn_usd_per_hour", "USD per hour", "instant", "burn:cost_per_hour_usd")]},
    {"row": "Claude Code's activity (its own OTLP metrics, each point counted once)"},
    {"title": "Active time", "type": "stat", "unit": "s", "w": 6,
     "targets": [T(added("cchooks_claude_code_active_time_seconds_total", "type"), "{{type}}", "range",
                   "otlp_by:claude_code.active_time.total:type")]},
    {"title": "Lines of code", "type": "stat", "unit": "short", "w": 6,
     "targets": [T(added("cchooks_claude_code_lines_of_code_total", "type"), "{{type}}", "range",
                   "otlp_by:claude_code.lines_of_code.count:type")]},
    {"title": "Commits and pull requests", "type": "stat", "unit": "short", "w": 6,
     "targets": [T(added("cchooks_claude_code_commits_total"), "commits", "range", "otlp:claude_code.commit.count"),
                 T(added("cchooks_claude_code_pull_requests_total"), "pull requests", "range",
                   "otlp:claude_code.pull_request.count")]},
    {"title": "Edit-tool decisions", "type": "bargauge", "unit": "short", "w": 6,
     "targets": [T(added("cchooks_claude_code_code_edit_tool_decisions_total", "tool_name, decision"),
                   "{{tool_name}} {{decision}}", "range", "otlp_by:claude_code.code_edit_tool.decision:tool_name,decision")]},
]  # fmt: skip


def targets() -> list[dict[str, str]]:
    return [t for p in PANELS for t in p.get("targets", [])]


def _panel(p: dict[str, Any], pid: int, x: int, y: int) -> dict[str, Any]:
    if "row" in p:
        return {"type": "row", "title": p["row"], "id": pid, "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}  # fmt: skip
    is_range = all(t["mode"] != "interval" for t in p["targets"])
    defaults: dict[str, Any] = {"unit": p["unit"], "color": {"mode": "palette-classic"}}
    if "max" in p:
        defaults.update({"min": 0, "max": p["max"]})
    if p["type"] == "timeseries":
        defaults["custom"] = {
            "drawStyle": "bars" if not is_range else "line", "fillOpacity": 60 if not is_range else 10,
            "stacking": {"mode": "normal" if p.get("stack") else "none", "group": "A"},
        }  # fmt: skip
    out: dict[str, Any] = {
        "type": p["type"], "title": p["title"], "id": pid, "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": p["w"], "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": t["expr"], "legendFormat": t["legend"],
             "instant": p["type"] != "timeseries", "range": p["type"] == "timeseries"}
            for i, t in enumerate(p["targets"])
        ],
    }  # fmt: skip
    if p.get("description"):
        out["description"] = p["description"]
    if p["type"] in ("stat", "bargauge"):
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "orientation": "horizontal" if p["type"] == "bargauge" else "auto"}  # fmt: skip
    if p["type"] == "timeseries":
        out["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["sum"]
                                     if not is_range else ["lastNotNull"]}}  # fmt: skip
    return out


def dashboard() -> dict[str, Any]:
    panels, x, y, height = [], 0, 0, 0
    for pid, p in enumerate(PANELS, start=1):
        if "row" in p:
            y += height
            x, height = 0, 0
            panels.append(_panel(p, pid, 0, y))
            y += 1
            continue
        if x + p["w"] > 24:
            x, y = 0, y + height
        panels.append(_panel(p, pid, x, y))
        x += p["w"]
        height = 8
    return {
        "uid": "cchooks", "title": "cchooks: Claude Code spend and activity",
        "description": "From the cchooks ledger (every API response and OTLP point once). docs/prometheus.md",
        "tags": ["cchooks", "claude-code"], "timezone": "browser", "editable": True,
        "schemaVersion": 39, "version": 1, "refresh": "30s", "graphTooltip": 1,
        "time": {"from": "now-7d", "to": "now"},
        "templating": {"list": []}, "annotations": {"list": []}, "links": [],
        "panels": panels,
    }  # fmt: skip


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def markdown() -> str:
    """The panels section of docs/prometheus.md."""
    lines = []
    for p in PANELS:
        if "row" in p:
            lines += [f"### {p['row']}", ""]
            continue
        lines.append(f"**{p['title']}** ({p['type']}, {p['unit']})")
        lines.append("")
        for t in p["targets"]:
            lines += ["```promql", t["expr"], "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if OUT.read_text() == render() else 1)
    if sys.argv[1:] == ["--markdown"]:
        print(markdown())
        sys.exit(0)
    OUT.write_text(render())
