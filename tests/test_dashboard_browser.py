"""The dashboard in a real browser: Playwright driving Debian's Chromium against a real `cchooks serve`.

Chromium comes from `tests/deps/chromium.sh` (apt); no browser is downloaded. Without it the tests
skip locally and fail under CI (tests/conftest.py). Screenshots of every view go to
$CCHOOKS_ARTIFACTS (default `.artifacts/dashboard` in the repo, git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.serve_process import Serve

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("CCHOOKS_ARTIFACTS") or ROOT / ".artifacts" / "dashboard")
VIEWS = ["overview", "sessions", "breakdowns", "entries"]

sync_api = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed (tests/deps/chromium.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp = tmp_path_factory.mktemp("serve")
    claude = tmp / "claude"
    shutil.copytree(ROOT / "fixtures" / "claude-code-2.1.330" / "config", claude)
    s = Serve(tmp, claude=claude)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()
    pw.stop()


class Page:
    """A page with every console error and page error collected."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, view: str, query: str = "preset=all&tz=UTC") -> Any:
        self.page.goto(f"{self.base}/#{view}?{query}")
        return self.ready()

    def ready(self, timeout: float = 10_000) -> Any:
        self.page.wait_for_selector("body[data-ready]:not([data-loading])", timeout=timeout)
        return self.page

    def view(self, view: str) -> Any:
        before = self.page.get_attribute("body", "data-ready")
        self.page.click(f"#tabs a[data-view={view}]")
        self.page.wait_for_function(
            f"document.body.getAttribute('data-ready') !== {json.dumps(before)} && !document.body.hasAttribute('data-loading')"
        )
        return self.page

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def page(chromium: Any, served: Serve) -> Iterator[Page]:
    p = Page(chromium, served.base)
    yield p
    p.close()
    assert p.errors == [], p.errors


def _num(text: str) -> int:
    return int(text.replace(",", "").strip())


def _usd(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.2f}"


# -- the views ------------------------------------------------------------------------------


def test_every_view_renders_without_errors(page: Page, served: Serve) -> None:
    p = page.open("overview")
    assert p.locator("#limits .limit").count() == 3
    assert p.locator("#error").is_hidden()
    page.shot("overview")
    # Export: the view's rows as CSV, the API document as JSON.
    with p.expect_download() as dl:
        p.click("button[data-export=daily][data-format=csv]")
    lines = Path(dl.value.path()).read_text().splitlines()
    assert lines[0].startswith("date,responses,input_tokens,") and len(lines) == 1 + len(served.report("daily")["rows"])
    with p.expect_download() as dl:
        p.click("button[data-export=daily][data-format=json]")
    assert json.loads(Path(dl.value.path()).read_text()) == served.report("daily")
    for view in VIEWS[1:]:
        page.view(view)
        assert p.locator(f"#view-{view}").is_visible()
        assert p.locator("#error").is_hidden(), p.locator("#error").text_content()
        page.shot(view)
    page.view("sessions")
    p.locator("#sessions-table tbody tr").first.click()
    p.wait_for_selector("#session-detail:not([hidden]) table")
    page.shot("session-detail")
    # Sorting and searching work on the real rows.
    p.click("#sessions-table th[data-sort=total_tokens]")
    tokens = [_num(t) for t in p.locator("#sessions-table tbody td[data-col=total_tokens]").all_text_contents()]
    assert tokens == sorted(tokens, reverse=True) and len(tokens) > 1
    sid = served.report("session")["rows"][0]["session_id"]
    p.fill("#session-search", sid[:8])
    assert p.locator("#sessions-table tbody tr").count() == 1


def test_page_numbers_equal_the_cli(page: Page, served: Serve) -> None:
    p = page.open("overview")
    daily = served.report("daily")
    rows = {r["date"]: r for r in daily["rows"]}
    shown = p.locator("#daily-table tbody tr[data-key]")
    assert shown.count() == len(rows) + 1  # + the total row
    for tr in shown.all():
        key = tr.get_attribute("data-key")
        want = daily["totals"] if key == "Total" else rows[key]
        assert _num(tr.locator("td[data-col=total_tokens]").text_content()) == want["total_tokens"]
        assert tr.locator("td[data-col=cost_usd]").text_content() == _usd(want["cost_usd"])
    card = p.locator("#cards .card[data-key=total_tokens] .value").text_content()
    assert _num(card) == daily["totals"]["total_tokens"]

    page.view("sessions")
    sessions = served.report("session")
    assert p.locator("#sessions-table tbody tr").count() == len(sessions["rows"])
    for r in sessions["rows"]:
        tr = p.locator(f"#sessions-table tr[data-session='{r['session_id']}']")
        assert _num(tr.locator("td[data-col=total_tokens]").text_content()) == r["total_tokens"]
        assert tr.locator("td[data-col=cost_usd]").text_content() == _usd(r["cost_usd"])

    page.view("breakdowns")
    for group in ("project", "model", "agent"):
        doc = served.report(group)
        trs = p.locator(f"#{group}-table tbody tr")
        assert trs.count() == len(doc["rows"])
        for r in doc["rows"]:
            tr = p.locator(f"#{group}-table tbody tr[data-key='{r[group]}']")
            assert _num(tr.locator("td[data-col=total_tokens]").text_content()) == r["total_tokens"]
        foot = p.locator(f"#{group}-table tfoot tr.total td[data-col=total_tokens]").text_content()
        assert _num(foot) == doc["totals"]["total_tokens"]


def test_api_report_is_the_cli_report(served: Serve) -> None:
    for group, query in (("daily", "tz=UTC"), ("weekly", "tz=UTC&since=2026-11-01"), ("session", "tz=UTC"),
                         ("model", "tz=UTC&until=2026-12-31"), ("blocks", "tz=UTC")):  # fmt: skip
        with urllib.request.urlopen(f"{served.base}/api/report/{group}?{query}") as resp:
            api = json.loads(resp.read())
        extra = [a for kv in query.split("&") if not kv.startswith("tz=") for a in (f"--{kv.split('=')[0]}", kv.split("=")[1])]
        cli = served.report(group, *extra)
        if group == "blocks":  # "now" moves between the two calls
            for d in (api, cli):
                d.pop("now"), d.pop("now_ms")
                for b in d["blocks"]:
                    b.pop("remaining_ms", None)
                    b.pop("burn", None), b.pop("projection", None)
        assert api == cli, group


def test_manual_entry_added_in_the_page_shows_in_the_cli_and_goes_away(page: Page, served: Serve) -> None:
    before = served.report("daily")
    assert "manual" not in before
    p = page.open("entries")
    p.fill("#entry-input", "12345")
    p.fill("#entry-output", "678")
    p.fill("#entry-model", "claude-opus-5-5")
    p.fill("#entry-note", "claude.ai chat, by hand")
    p.click("#entry-save")
    row = p.locator("#entries-table tr[data-entry]")
    row.first.wait_for()
    assert "claude.ai chat, by hand" in row.first.text_content()
    page.shot("entries-added")
    after = served.report("daily")
    assert after["manual"]["totals"]["input_tokens"] == 12345 and after["manual"]["totals"]["output_tokens"] == 678
    assert after["totals"] == before["totals"]  # measured figures unchanged
    assert after["totals_with_manual"]["total_tokens"] == before["totals"]["total_tokens"] + 12345 + 678
    # Edit it in the page.
    p.click("#entries-table button[data-edit]")
    p.fill("#entry-output", "700")
    p.click("#entry-save")
    p.wait_for_function("document.querySelector('#entries-table').textContent.includes('700')")
    assert served.report("daily")["manual"]["totals"]["output_tokens"] == 700
    # The overview shows it apart.
    page.view("overview")
    assert p.locator("#cards .card.manual").count() == 2
    assert p.locator("#daily-table tr.manual").count() == 1
    page.shot("overview-with-manual")
    page.view("entries")
    p.click("#entries-table button[data-delete]")
    p.wait_for_selector("#entries-table tr[data-entry]", state="detached")
    final = served.report("daily")
    assert "manual" not in final and final["totals"] == before["totals"]
    audit = served.cli("entries", "audit", "--json")["audit"]
    assert [a["action"] for a in audit][:3] == ["delete", "edit", "add"]


def _append_response(claude: Path, n: int) -> int:
    """Append one new assistant response to a fixture transcript; returns its total tokens."""
    path = max((claude / "projects").rglob("*.jsonl"), key=lambda f: f.stat().st_size)
    with path.open() as f:
        line = next(json.loads(x) for x in f if '"usage"' in x and '"assistant"' in x and "requestId" in x)
    line["uuid"] = f"live-{n}-{time.time_ns()}"
    line["requestId"] = f"req_live_{n}_{time.time_ns()}"
    line["message"]["id"] = f"msg_live_{n}_{time.time_ns()}"
    line["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    u = line["message"]["usage"]
    with path.open("a") as f:
        f.write(json.dumps(line) + "\n")
    cc = u.get("cache_creation_input_tokens", 0)
    return int(u.get("input_tokens", 0) + u.get("output_tokens", 0) + cc + u.get("cache_read_input_tokens", 0))


def test_a_transcript_append_shows_within_two_seconds(page: Page, served: Serve) -> None:
    p = page.open("overview")
    card = p.locator("#cards .card[data-key=total_tokens]")
    before = int(card.get_attribute("data-value") or 0)
    p.wait_for_selector("#live.on")
    added = _append_response(served.claude, 1)
    t0 = time.monotonic()
    p.wait_for_function(
        f"Number(document.querySelector('#cards .card[data-key=total_tokens]').dataset.value) === {before + added}",
        timeout=5000,
    )
    took = time.monotonic() - t0
    print(f"transcript append -> page updated in {took * 1000:.0f} ms")
    assert took <= 2.0, took
    assert _num(card.locator(".value").text_content()) == served.report("daily")["totals"]["total_tokens"]


# -- security -------------------------------------------------------------------------------


class _Evil(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802
        body = f"""<!doctype html><body><form id=f method=POST action="{self.target}/api/entries" enctype="text/plain">
<input name='{{"input_tokens":1,"output_tokens":1,"x":"' value='"}}'></form>
<script>
fetch("{self.target}/api/entries", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{input_tokens: 5, output_tokens: 5}})}}).catch(() => {{}}).finally(() => {{
  document.title = "fetched"; document.getElementById("f").submit(); }});
</script></body>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a: Any) -> None:
        pass


def test_a_cross_site_post_is_refused(chromium: Any, served: Serve) -> None:
    _Evil.target = served.base
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        ctx = chromium.new_context()
        pg = ctx.new_page()
        # Another origin (localhost vs 127.0.0.1, another port): a different site for the browser.
        pg.goto(f"http://localhost:{evil.server_address[1]}/")
        pg.wait_for_url(f"{served.base}/api/entries", timeout=10_000)  # the form posted and got an answer
        assert "cross-site" in pg.content()
        ctx.close()
    finally:
        evil.shutdown()
        evil.server_close()
    assert served.cli("entries", "list", "--json")["entries"] == []
    # And without a browser: a foreign Origin or Sec-Fetch-Site is refused too.
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        req = urllib.request.Request(f"{served.base}/api/entries", data=b'{"input_tokens":1,"output_tokens":1}',
                                     headers={"Content-Type": "application/json", **headers}, method="POST")  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 403
    assert served.cli("entries", "list", "--json")["entries"] == []


def test_beyond_loopback_the_token_is_required(chromium: Any, served: Serve, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "cchooks", "serve", "--host", "0.0.0.0", "--port", "0",
                        "--ledger", str(tmp_path / "l.db"), "--no-watch"],
                       env=served.env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2 and "token" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    s = Serve(tmp_path, "--host", "0.0.0.0", "--token", "s3cret", "--no-watch", claude=served.claude)
    try:
        for path in ("/", "/api/report/daily", "/api/limits", "/api/entries", "/healthz", "/static/app.js"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(s.base + path)
            assert exc.value.code == 401, path
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(s.base + "/?token=wrong")
        assert exc.value.code == 401
        req = urllib.request.Request(s.base + "/api/report/daily", headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(req) as resp:
            assert json.loads(resp.read())["group"] == "daily"
        # The browser: the printed URL carries the token once and trades it for a cookie.
        p = Page(chromium, s.base)
        try:
            p.page.goto(s.base + "/?token=s3cret")
            p.ready()
            assert "token" not in p.page.url
            assert p.page.locator("#limits .limit").count() == 3
            p.shot("token-login")
            assert p.errors == []
        finally:
            p.close()
    finally:
        s.stop()


# -- a generated corpus ---------------------------------------------------------------------


def test_page_numbers_equal_the_cli_on_a_generated_corpus(chromium: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_corpus.py"), "--out", str(corpus),
                    "--size-mb", "3", "--seed", "5", "--end", "2026-11-22"],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    s = Serve(tmp_path, claude=corpus)
    try:
        # The watcher's catch-up ingest is done when the ledger stops growing.
        subprocess.run([sys.executable, "-m", "cchooks", "ingest", "--ledger", str(s.ledger), "--claude-dir",
                        str(corpus)], env=s.env, check=True, capture_output=True, timeout=300)  # fmt: skip
        p = Page(chromium, s.base)
        try:
            p.open("overview")
            daily = s.report("daily")
            assert len(daily["rows"]) >= 5
            rows = {r["date"]: r for r in daily["rows"]}
            for tr in p.page.locator("#daily-table tbody tr[data-key]").all():
                key = tr.get_attribute("data-key")
                want = daily["totals"] if key == "Total" else rows.pop(key)
                assert _num(tr.locator("td[data-col=total_tokens]").text_content()) == want["total_tokens"]
                assert tr.locator("td[data-col=cost_usd]").text_content() == _usd(want["cost_usd"])
            assert not rows
            p.shot("corpus-overview")
            p.view("sessions")
            sessions = s.report("session")
            assert p.page.locator("#sessions-table tbody tr").count() == len(sessions["rows"])
            foot = p.page.locator("#sessions-table tfoot td[data-col=total_tokens]").text_content()
            assert _num(foot) == sessions["totals"]["total_tokens"]
            p.shot("corpus-sessions")
            assert p.errors == []
        finally:
            p.close()
    finally:
        s.stop()
