/* cchooks dashboard: plain JS, no build step. Every number comes from the JSON API, which is
   the CLI's `--json` output (docs/api.md); this file only lays it out. */
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const VIEWS = ["overview", "sessions", "breakdowns", "entries", "team"];
  const state = {
    view: "overview", preset: "30", since: "", until: "", tz: "",
    sort: { key: "last_ms", dir: -1 }, search: "", selected: null, editing: null,
    docs: {}, loading: 0, seq: 0,
  };
  let chart = null;

  // -- formatting ------------------------------------------------------------------------
  const int = (n) => (n == null ? "–" : Number(n).toLocaleString("en-US"));
  const usd = (c, unpriced) => (c == null ? "?" : "$" + Number(c).toFixed(2) + (unpriced ? "+?" : ""));
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch]));
  const base = (p) => (p || "").replace(/\/+$/, "").split("/").pop() || p || "–";
  function duration(ms) {
    if (ms == null || ms < 0) return "–";
    const m = Math.round(ms / 60000);
    if (m < 60) return m + " min";
    const h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  const formats = {};
  function when(ms) {
    if (ms == null) return "–";
    const zone = state.tz || "";
    if (!(zone in formats)) {  // building a DateTimeFormat is slow: one per zone
      const opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false };
      if (zone) opts.timeZone = zone;
      try { formats[zone] = new Intl.DateTimeFormat("sv-SE", opts); } catch (e) { formats[zone] = null; }
    }
    const f = formats[zone];
    return f ? f.format(new Date(ms)) : new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  }
  const isoDay = (d) => d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");

  // -- URL state (#view?since=...&until=...&tz=...&preset=...) ---------------------------
  function readHash() {
    const [view, query] = location.hash.replace(/^#/, "").split("?");
    state.view = VIEWS.includes(view) ? view : "overview";
    const p = new URLSearchParams(query || "");
    if (p.has("preset")) state.preset = p.get("preset");
    if (p.has("since") || p.has("until")) { state.preset = p.get("preset") || "custom"; }
    state.since = p.get("since") || "";
    state.until = p.get("until") || "";
    state.tz = p.get("tz") || "";
    state.selected = p.get("session") || null;
    if (state.preset !== "custom") applyPreset();
  }
  function writeHash() {
    const p = new URLSearchParams();
    if (state.preset !== "30") p.set("preset", state.preset);
    if (state.preset === "custom") { if (state.since) p.set("since", state.since); if (state.until) p.set("until", state.until); }
    if (state.tz) p.set("tz", state.tz);
    if (state.view === "sessions" && state.selected) p.set("session", state.selected);
    const h = "#" + state.view + (p.toString() ? "?" + p.toString() : "");
    if (location.hash !== h) history.replaceState(null, "", h);
  }
  function applyPreset() {
    if (state.preset === "all") { state.since = ""; state.until = ""; return; }
    const days = parseInt(state.preset, 10);
    if (!days) return;
    const d = new Date();
    d.setDate(d.getDate() - (days - 1));
    state.since = isoDay(d);
    state.until = "";
  }
  function rangeQuery(extra) {
    const p = new URLSearchParams();
    if (state.since) p.set("since", state.since);
    if (state.until) p.set("until", state.until);
    if (state.tz) p.set("tz", state.tz);
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  // -- fetching --------------------------------------------------------------------------
  async function api(path, options) {
    // The page may arrive with the default view's documents (see Dashboard.index): used once.
    const pre = window.CCHOOKS_PRELOAD;
    const key = path.includes("?") ? path : path + "?";
    if (!options && pre && key in pre) { const doc = pre[key]; delete pre[key]; return doc; }
    const resp = await fetch(path, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}));
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) throw new Error((body && body.error) || resp.status + " " + resp.statusText);
    return body;
  }
  function showError(err) {
    const box = $("#error");
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = String(err.message || err);
  }

  // -- limits ----------------------------------------------------------------------------
  const WINDOW_NAMES = { five_hour: "5-hour window", week: "Week", month: "Month" };
  function limitCard(key, w) {
    const name = WINDOW_NAMES[key];
    if (!w) return `<div class="limit" data-window="${key}"><div class="title">${name}</div><div class="bar"><div class="fill none"></div></div><div class="muted">no window</div></div>`;
    const pct = w.percent;
    const cls = pct == null ? "none" : pct >= 80 ? "red" : pct >= 60 ? "yellow" : "";
    const width = pct == null ? 100 : Math.max(0, Math.min(100, pct));
    const pctText = pct == null ? "no limit known" : pct.toFixed(1) + "%";
    const src = w.percent_source || w.token_limit_source || w.cost_limit_source;
    const used = `${int(w.used_tokens)} tokens` + (w.token_limit != null ? ` of ${int(w.token_limit)}` : "");
    const cost = usd(w.used_cost_usd) + (w.cost_limit_usd != null ? ` of ${usd(w.cost_limit_usd)}` : "");
    // Counted from reset_at_ms now, not from the document's remaining_ms (it may be a few minutes old).
    const left = w.reset_at_ms != null ? w.reset_at_ms - Date.now() : null;
    const reset = left != null && left > 0 ? `resets in ${duration(left)} (${when(w.reset_at_ms)})` : (w.active ? "" : "no active window");
    return `<div class="limit" data-window="${key}" data-percent="${pct == null ? "" : pct}">
      <div class="title"><span>${name}</span><span data-role="percent">${pctText}${src ? `<span class="source" title="limit source">${esc(src)}</span>` : ""}</span></div>
      <div class="bar"><div class="fill ${cls}" style="width:${width}%"></div></div>
      <div class="muted">${used} · ${cost}${w.used_source ? ` <span class="source">${esc(w.used_source)}</span>` : ""}</div>
      <div class="muted">${reset}${w.limit_basis ? " · " + esc(w.limit_basis) : ""}</div></div>`;
  }
  function renderLimits(doc) {
    $("#limits").innerHTML = ["five_hour", "week", "month"].map((k) => limitCard(k, doc[k])).join("");
    $("#limits-note").textContent = "plan: " + (doc.plan || "auto") + " · zone " + (doc.tz || "");
  }

  // -- overview --------------------------------------------------------------------------
  function card(label, value, key, raw, cls) {
    return `<div class="card ${cls || ""}" data-key="${key}" data-value="${raw == null ? "" : raw}"><div class="label">${label}</div><div class="value">${value}</div></div>`;
  }
  function renderCards(doc) {
    const t = doc.totals;
    const m = doc.manual;
    let html = card("Tokens", int(t.total_tokens), "total_tokens", t.total_tokens)
      + card("Cost", usd(t.cost_usd, t.unpriced_tokens), "cost_usd", t.cost_usd)
      + card("Responses", int(t.responses), "responses", t.responses)
      + card("Input / output", int(t.input_tokens) + " / " + int(t.output_tokens), "io", t.input_tokens + t.output_tokens);
    if (m) {
      html += card(`Manual entries (${m.entries})`, int(m.totals.total_tokens) + " · " + usd(m.totals.cost_usd, m.totals.unpriced_tokens), "manual_total_tokens", m.totals.total_tokens, "manual");
      html += card("With manual", usd(doc.totals_with_manual.cost_usd, doc.totals_with_manual.unpriced_tokens), "with_manual_cost_usd", doc.totals_with_manual.cost_usd, "manual");
    }
    $("#cards").innerHTML = html;
  }
  const TOKEN_SERIES = [
    ["input_tokens", "Input", "#4c6ef5"], ["output_tokens", "Output", "#15aabf"],
    ["cache_creation_tokens", "Cache write", "#fab005"], ["cache_read_tokens", "Cache read", "#ced4da"],
  ];
  // The chart library is loaded once the first numbers are painted (they do not wait for its
  // 200 KB to be parsed); a chart asked for before that is drawn when it arrives.
  let pendingChart = null;
  let chartLib = null;
  function loadChartLib() {
    if (chartLib || window.Chart) return;
    chartLib = document.createElement("script");
    chartLib.src = "/static/vendor/chart.umd.min.js";
    chartLib.addEventListener("load", () => { if (pendingChart) { const [l, d] = pendingChart; pendingChart = null; drawChart(l, d); } });
    document.head.appendChild(chartLib);
  }
  function drawChart(labels, datasets) {
    if (!window.Chart) { pendingChart = [labels, datasets]; return; }
    if (chart) { chart.data.labels = labels; chart.data.datasets = datasets; chart.update("none"); }
    else {
      chart = new window.Chart($("#daily-chart"), {
        data: { labels, datasets },
        options: {
          maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
          scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "tokens" } }, y1: { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "USD" } } },
          plugins: { legend: { position: "bottom" } },
        },
      });
    }
    performance.mark("chart");
  }
  function renderDaily(doc) {
    const rows = doc.rows;
    const labels = rows.map((r) => r.date);
    const datasets = TOKEN_SERIES.map(([k, label, color]) => ({ type: "bar", label, data: rows.map((r) => r[k]), backgroundColor: color, stack: "tokens", yAxisID: "y", order: 2, maxBarThickness: 64 }));
    datasets.push({ type: "line", label: "Cost (USD)", data: rows.map((r) => r.cost_usd), borderColor: "#e03131", backgroundColor: "#e03131", yAxisID: "y1", tension: 0.2, pointRadius: rows.length > 60 ? 0 : 2, order: 1 });
    drawChart(labels, datasets);
    const head = "<thead><tr><th>Date</th><th>Responses</th><th>Input</th><th>Output</th><th>Cache write</th><th>Cache read</th><th>Total</th><th>Cost</th></tr></thead>";
    const line = (r, key, cls) => `<tr class="${cls || ""}" data-key="${esc(key)}"><td>${esc(key)}</td><td>${int(r.responses)}</td><td>${int(r.input_tokens)}</td><td>${int(r.output_tokens)}</td><td>${int(r.cache_creation_tokens)}</td><td>${int(r.cache_read_tokens)}</td><td data-col="total_tokens">${int(r.total_tokens)}</td><td data-col="cost_usd">${usd(r.cost_usd, r.unpriced_tokens)}</td></tr>`;
    let body = rows.slice().reverse().map((r) => line(r, r.date)).join("");
    body += line(doc.totals, "Total", "total");
    if (doc.manual) body += line(doc.manual.totals, "Manual entries", "manual");
    $("#daily-table").innerHTML = head + "<tbody>" + body + "</tbody>";
  }

  // -- sessions --------------------------------------------------------------------------
  const SESSION_COLS = [
    ["session_id", "Session", (r) => `<code>${esc(r.session_id.slice(0, 8))}</code>`, "text"],
    ["project", "Project", (r) => esc(base(r.project)), "text"],
    ["models", "Models", (r) => esc((r.models || []).join(", ")), "text"],
    ["first_ms", "Started", (r) => when(r.first_ms)],
    ["duration", "Duration", (r) => duration(r.last_ms - r.first_ms)],
    ["responses", "Responses", (r) => int(r.responses)],
    ["total_tokens", "Tokens", (r) => int(r.total_tokens)],
    ["cost_usd", "Cost", (r) => usd(r.cost_usd, r.unpriced_tokens)],
  ];
  function sessionRows() {
    const doc = state.docs.session;
    if (!doc) return [];
    const q = state.search.trim().toLowerCase();
    let rows = doc.rows.map((r) => Object.assign({ duration: (r.last_ms || 0) - (r.first_ms || 0) }, r));
    if (q) rows = rows.filter((r) => (r.session_id + " " + (r.project || "") + " " + (r.models || []).join(" ")).toLowerCase().includes(q));
    const { key, dir } = state.sort;
    rows.sort((a, b) => {
      let x = a[key], y = b[key];
      if (Array.isArray(x)) { x = x.join(","); y = (y || []).join(","); }
      if (x == null) return 1; if (y == null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    return rows;
  }
  function renderSessions() {
    const rows = sessionRows();
    const head = "<thead><tr>" + SESSION_COLS.map(([k, label, , cls]) => `<th data-sort="${k}" class="${cls || ""} ${state.sort.key === k ? (state.sort.dir > 0 ? "asc" : "desc") : ""}">${label}</th>`).join("") + "</tr></thead>";
    const body = rows.map((r) => `<tr class="clickable ${r.session_id === state.selected ? "selected" : ""}" data-session="${esc(r.session_id)}">` + SESSION_COLS.map(([k, , f, cls]) => `<td class="${cls || ""}" data-col="${k}">${f(r)}</td>`).join("") + "</tr>").join("");
    const doc = state.docs.session;
    const foot = doc ? `<tr class="total"><td>Total</td><td class="text">${rows.length} of ${doc.rows.length} sessions</td><td></td><td></td><td></td><td>${int(doc.totals.responses)}</td><td data-col="total_tokens">${int(doc.totals.total_tokens)}</td><td data-col="cost_usd">${usd(doc.totals.cost_usd, doc.totals.unpriced_tokens)}</td></tr>` : "";
    $("#sessions-table").innerHTML = head + "<tbody>" + body + "</tbody><tfoot>" + foot + "</tfoot>";
  }
  async function loadSessionDetail() {
    const box = $("#session-detail");
    if (!state.selected) { box.hidden = true; return; }
    const seq = state.seq;
    const doc = await api("/api/sessions/" + encodeURIComponent(state.selected));
    if (seq !== state.seq) return;
    state.docs.sessionDetail = doc;
    const t = doc.totals;
    const sub = doc.subagents.map((a) => `<tr><td class="text"><code>${esc(a.agent_id)}</code></td><td class="text">${esc(a.agent_type || "–")}</td><td>${int(a.responses)}</td><td>${int(a.total_tokens)}</td><td>${usd(a.cost_usd, a.unpriced_tokens)}</td></tr>`).join("");
    const resp = doc.responses.slice(0, 500).map((r) => `<tr><td>${when(r.ts_ms)}</td><td class="text">${esc(r.model)}</td><td class="text">${r.agent_id ? esc(r.agent_type || "subagent") : "main"}</td><td class="text">${r.source === "otlp" ? '<span class="badge otlp">OTLP only</span>' : esc(r.source)}</td><td>${int(r.input_tokens)}</td><td>${int(r.output_tokens)}</td><td>${int(r.cache_creation_5m_tokens + r.cache_creation_1h_tokens)}</td><td>${int(r.cache_read_tokens)}</td><td>${usd(r.cost_usd)}</td></tr>`).join("");
    box.hidden = false;
    box.innerHTML = `<h3>Session <code>${esc(doc.session_id)}</code> · ${esc(doc.project)}</h3>
      <div class="cards">${card("Tokens", int(t.total_tokens), "total_tokens", t.total_tokens)}${card("Cost", usd(t.cost_usd, t.unpriced_tokens), "cost_usd", t.cost_usd)}
      ${card("Main agent", int(doc.main.total_tokens) + " · " + usd(doc.main.cost_usd), "main_tokens", doc.main.total_tokens)}
      ${card("Subagents (" + doc.subagents.length + ")", int(t.total_tokens - doc.main.total_tokens), "subagent_tokens", t.total_tokens - doc.main.total_tokens)}
      ${card("OTLP-only calls", int(doc.otlp_only.responses) + " · " + usd(doc.otlp_only.cost_usd), "otlp_only", doc.otlp_only.responses)}</div>
      <h3>Subagents</h3><table class="data compact"><thead><tr><th>Agent</th><th class="text">Type</th><th>Responses</th><th>Tokens</th><th>Cost</th></tr></thead><tbody>${sub || '<tr><td class="text" colspan="5">none</td></tr>'}</tbody></table>
      <h3>Responses${doc.responses_truncated ? " (first " + doc.responses.length + ")" : ""}</h3>
      <table class="data compact"><thead><tr><th>Time</th><th class="text">Model</th><th class="text">Agent</th><th class="text">Source</th><th>Input</th><th>Output</th><th>Cache write</th><th>Cache read</th><th>Cost</th></tr></thead><tbody>${resp}</tbody></table>`;
  }

  // -- breakdowns ------------------------------------------------------------------------
  function renderBreakdown(group, keyName, label) {
    const doc = state.docs[group];
    const max = Math.max(1e-9, ...doc.rows.map((r) => r.cost_usd || 0));
    const head = `<thead><tr><th>${label}</th><th>Responses</th><th>Tokens</th><th>Cost</th></tr></thead>`;
    const body = doc.rows.map((r) => `<tr data-key="${esc(r[keyName])}"><td class="text" title="${esc(r[keyName])}"><span class="share" style="width:${Math.round(60 * (r.cost_usd || 0) / max)}px"></span>${esc(group === "project" ? base(r[keyName]) : r[keyName])}</td><td>${int(r.responses)}</td><td data-col="total_tokens">${int(r.total_tokens)}</td><td data-col="cost_usd">${usd(r.cost_usd, r.unpriced_tokens)}</td></tr>`).join("");
    let foot = `<tr class="total"><td>Total</td><td>${int(doc.totals.responses)}</td><td data-col="total_tokens">${int(doc.totals.total_tokens)}</td><td data-col="cost_usd">${usd(doc.totals.cost_usd, doc.totals.unpriced_tokens)}</td></tr>`;
    if (doc.manual) foot += `<tr class="manual"><td>Manual entries <span class="badge">manual</span></td><td>${int(doc.manual.entries)}</td><td>${int(doc.manual.totals.total_tokens)}</td><td>${usd(doc.manual.totals.cost_usd, doc.manual.totals.unpriced_tokens)}</td></tr>`;
    $("#" + group + "-table").innerHTML = head + "<tbody>" + body + "</tbody><tfoot>" + foot + "</tfoot>";
  }

  // -- manual entries --------------------------------------------------------------------
  function renderEntries() {
    const doc = state.docs.entries;
    const head = "<thead><tr><th>#</th><th class=\"text\">When</th><th>Input</th><th>Output</th><th class=\"text\">Model</th><th class=\"text\">Note</th><th></th></tr></thead>";
    const body = doc.entries.slice().reverse().map((e) => `<tr data-entry="${e.id}"><td>${e.id}</td><td class="text">${when(e.ts_ms)}</td><td>${int(e.input_tokens)}</td><td>${int(e.output_tokens)}</td><td class="text">${esc(e.model || "–")}</td><td class="text">${esc(e.note)}</td><td><button type="button" data-edit="${e.id}">Edit</button> <button type="button" data-delete="${e.id}">Delete</button></td></tr>`).join("");
    $("#entries-table").innerHTML = head + "<tbody>" + (body || '<tr><td class="text" colspan="7">No manual entries yet.</td></tr>') + "</tbody>";
    const audit = state.docs.audit.audit.slice(0, 50).map((a) => `<tr><td>${when(a.at_ms)}</td><td>#${a.entry_id}</td><td class="text">${esc(a.action)}</td><td class="text">${esc(a.origin)}</td><td class="text">${esc(a.after ? int(a.after.input_tokens) + " in / " + int(a.after.output_tokens) + " out" : "deleted")}${a.after && a.after.note ? " · " + esc(a.after.note) : ""}</td></tr>`).join("");
    $("#audit-table").innerHTML = "<thead><tr><th>When</th><th>Entry</th><th class=\"text\">Change</th><th class=\"text\">By</th><th class=\"text\">Now</th></tr></thead><tbody>" + (audit || '<tr><td colspan="5">nothing yet</td></tr>') + "</tbody>";
  }
  function resetEntryForm() {
    state.editing = null;
    $("#entry-form").reset();
    $("#entry-save").textContent = "Add entry";
    $("#entry-cancel").hidden = true;
  }
  function localInput(ms) {
    const d = new Date(ms);
    return isoDay(d) + "T" + String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }
  async function saveEntry(ev) {
    ev.preventDefault();
    const body = {
      input_tokens: parseInt($("#entry-input").value, 10), output_tokens: parseInt($("#entry-output").value, 10),
      model: $("#entry-model").value.trim() || null, note: $("#entry-note").value,
    };
    if ($("#entry-at").value) body.ts_ms = new Date($("#entry-at").value).getTime();
    try {
      const path = state.editing ? "/api/entries/" + state.editing : "/api/entries";
      await api(path, { method: state.editing ? "PUT" : "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
      resetEntryForm();
      showError(null);
      await refresh();
    } catch (err) { showError(err); }
  }
  async function entryAction(ev) {
    const edit = ev.target.getAttribute("data-edit");
    const del = ev.target.getAttribute("data-delete");
    if (edit) {
      const e = state.docs.entries.entries.find((x) => String(x.id) === edit);
      if (!e) return;
      state.editing = e.id;
      $("#entry-input").value = e.input_tokens; $("#entry-output").value = e.output_tokens;
      $("#entry-model").value = e.model || ""; $("#entry-note").value = e.note; $("#entry-at").value = localInput(e.ts_ms);
      $("#entry-save").textContent = "Save entry #" + e.id; $("#entry-cancel").hidden = false;
    } else if (del) {
      try { await api("/api/entries/" + del, { method: "DELETE" }); showError(null); await refresh(); } catch (err) { showError(err); }
    }
  }

  // -- team (the shared PostgreSQL ledger; the tab shows only when a team is configured) ---
  const TEAM_WINDOWS = [["today", "Today"], ["five_hour", "Last 5 hours"], ["seven_day", "Last 7 days"]];
  function renderTeam(doc) {
    const s = doc.sync || {};
    const synced = s.last_sync_ms ? "synced " + when(s.last_sync_ms) + " · " + int(s.pushed) + " pushed since start" : "not synced yet";
    $("#team-note").textContent = doc.team + " · " + synced + (s.last_error ? " · last error: " + s.last_error : "");
    if (doc.pending) {
      $("#team-pool").innerHTML = '<div class="muted">waiting for the first sync…</div>';
      $("#team-hosts").innerHTML = ""; $("#team-by-host").innerHTML = "";
      return;
    }
    $("#team-pool").innerHTML = TEAM_WINDOWS.map(([k, label]) => { const t = doc.pool[k]; return card(label, usd(t.cost_usd, t.unpriced_tokens) + " · " + int(t.total_tokens), k, t.cost_usd); }).join("")
      + card("Machines", int(doc.hosts.length), "machines", doc.hosts.length);
    const head = "<thead><tr><th class=\"text\">Machine</th><th class=\"text\">User</th><th class=\"text\">Last seen</th><th>Responses</th><th>Tokens</th><th>Cost</th></tr></thead>";
    const body = doc.hosts.map((h) => `<tr data-host="${esc(h.machine_id)}" data-label="${esc(h.label)}"><td class="text">${esc(h.label)}${h.this_machine ? ' <span class="badge">this machine</span>' : ""}</td><td class="text">${esc(h.user)}</td><td class="text">${when(h.last_seen_ms)}</td><td data-col="responses">${int(h.responses)}</td><td data-col="total_tokens">${int(h.total_tokens)}</td><td data-col="cost_usd">${usd(h.cost_usd, h.unpriced_tokens)}</td></tr>`).join("");
    const t = doc.totals;
    const foot = `<tr class="total"><td>Total</td><td></td><td></td><td data-col="responses">${int(t.responses)}</td><td data-col="total_tokens">${int(t.total_tokens)}</td><td data-col="cost_usd">${usd(t.cost_usd, t.unpriced_tokens)}</td></tr>`;
    $("#team-hosts").innerHTML = head + "<tbody>" + body + "</tbody><tfoot>" + foot + "</tfoot>";
    const cells = (w) => `<td data-col="tokens">${int(w.total_tokens)}</td><td data-col="cost_usd">${usd(w.cost_usd, w.unpriced_tokens)}</td>`;
    const head2 = "<thead><tr><th class=\"text\">Machine</th>" + TEAM_WINDOWS.map(([, label]) => `<th>${label}: tokens</th><th>cost</th>`).join("") + "</tr></thead>";
    const body2 = doc.by_host.map((h) => `<tr data-host="${esc(h.machine_id)}"><td class="text">${esc(h.label)}</td>` + TEAM_WINDOWS.map(([k]) => cells(h[k]).replace(/data-col="/g, `data-window="${k}" data-col="`)).join("") + "</tr>").join("");
    const foot2 = '<tr class="total"><td>Pool</td>' + TEAM_WINDOWS.map(([k]) => cells(doc.pool[k])).join("") + "</tr>";
    $("#team-by-host").innerHTML = head2 + "<tbody>" + body2 + "</tbody><tfoot>" + foot2 + "</tfoot>";
  }
  async function detectTeam() {
    try {
      const doc = await api("/api/team");
      $("#team-tab").hidden = !doc.team;
      if (!doc.team && state.view === "team") { state.view = "overview"; show(); }
    } catch (e) { /* an older server without /api/team: no tab */ }
  }

  // -- export ----------------------------------------------------------------------------
  function exportData(what) {
    if (what === "daily") return state.docs.daily;
    if (what === "sessions") return Object.assign({}, state.docs.session, { rows: sessionRows() });
    if (what === "entries") return state.docs.entries;
    return state.docs[what];
  }
  function toCsv(rows) {
    if (!rows.length) return "";
    const keys = Object.keys(rows[0]).filter((k) => k !== "breakdown");
    const cell = (v) => { const s = Array.isArray(v) ? v.join(";") : v == null ? "" : String(v); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    return keys.join(",") + "\n" + rows.map((r) => keys.map((k) => cell(r[k])).join(",")).join("\n") + "\n";
  }
  function download(what, format) {
    const doc = exportData(what);
    if (!doc) return;
    const rows = doc.rows || doc.entries || [];
    const text = format === "csv" ? toCsv(rows) : JSON.stringify(doc, null, 2);
    const blob = new Blob([text], { type: format === "csv" ? "text/csv" : "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `cchooks-${what}${state.since ? "-" + state.since : ""}.${format}`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // -- loading ---------------------------------------------------------------------------
  async function refresh() {
    const seq = ++state.seq;
    const q = rangeQuery();
    document.body.setAttribute("data-loading", "1");
    try {
      if (state.view === "overview") {
        const [limits, daily] = await Promise.all([api("/api/limits" + (state.tz ? "?tz=" + encodeURIComponent(state.tz) : "")), api("/api/report/daily" + q)]);
        if (seq !== state.seq) return;
        state.docs.limits = limits; state.docs.daily = daily;
        renderLimits(limits); renderCards(daily); renderDaily(daily);
      } else if (state.view === "sessions") {
        const doc = await api("/api/report/session" + q);
        if (seq !== state.seq) return;
        state.docs.session = doc;
        renderSessions();
        await loadSessionDetail();
      } else if (state.view === "breakdowns") {
        const [p, m, a] = await Promise.all(["project", "model", "agent"].map((g) => api("/api/report/" + g + q)));
        if (seq !== state.seq) return;
        state.docs.project = p; state.docs.model = m; state.docs.agent = a;
        renderBreakdown("project", "project", "Project"); renderBreakdown("model", "model", "Model"); renderBreakdown("agent", "agent", "Agent type");
      } else if (state.view === "team") {
        const doc = await api("/api/team");
        if (seq !== state.seq) return;
        state.docs.team = doc;
        if (!doc.team) { $("#team-tab").hidden = true; state.view = "overview"; show(); return; }
        renderTeam(doc);
      } else {
        const [entries, audit] = await Promise.all([api("/api/entries" + q), api("/api/entries/audit")]);
        if (seq !== state.seq) return;
        state.docs.entries = entries; state.docs.audit = audit;
        renderEntries();
      }
      showError(null);
      if (seq === state.seq) {
        if (!performance.getEntriesByName("ready").length) performance.mark("ready");  // first paint with data
        document.body.setAttribute("data-ready", String(seq));
        loadChartLib();
        $("#footer").textContent = "updated " + new Date().toLocaleTimeString() + " · range " + (state.since || "start") + " – " + (state.until || "now") + (state.tz ? " · " + state.tz : "");
      }
    } catch (err) {
      if (seq === state.seq) showError(err);
    } finally {
      if (seq === state.seq) document.body.removeAttribute("data-loading");
    }
  }
  function show() {
    for (const v of VIEWS) $("#view-" + v).hidden = v !== state.view;
    for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.getAttribute("data-view") === state.view);
    $("#preset").value = state.preset;
    $("#since").value = state.since; $("#until").value = state.until; $("#tz").value = state.tz;
    writeHash();
    refresh();
  }

  // -- live updates: server-sent events, re-fetch the open view on every ledger change -----
  let pending = null;
  function live() {
    if (!window.EventSource) return;
    const es = new EventSource("/api/events");
    const dot = $("#live");
    es.addEventListener("hello", () => { dot.classList.add("on"); dot.title = "live: connected"; });
    es.addEventListener("change", () => {
      dot.classList.add("flash");
      clearTimeout(pending);
      pending = setTimeout(() => { dot.classList.remove("flash"); refresh(); }, 100);
    });
    es.onerror = () => { dot.classList.remove("on"); dot.title = "live: reconnecting"; };
  }

  // -- wiring ----------------------------------------------------------------------------
  function init() {
    $("#tz").addEventListener("focus", () => {  // ~400 zones: built when first needed, not before the first paint
      if ($("#zones").children.length) return;
      const zones = (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : []);
      $("#zones").innerHTML = ["UTC"].concat(zones).map((z) => `<option value="${esc(z)}">`).join("");
    });
    readHash();
    $("#tabs").addEventListener("click", (ev) => {
      const v = ev.target.getAttribute && ev.target.getAttribute("data-view");
      if (!v) return;
      ev.preventDefault(); state.view = v; show();
    });
    $("#preset").addEventListener("change", () => { state.preset = $("#preset").value; if (state.preset !== "custom") applyPreset(); show(); });
    for (const id of ["since", "until"]) $("#" + id).addEventListener("change", () => { state.preset = "custom"; state.since = $("#since").value; state.until = $("#until").value; show(); });
    $("#tz").addEventListener("change", () => { state.tz = $("#tz").value.trim(); show(); });
    $("#range").addEventListener("submit", (ev) => ev.preventDefault());
    $("#session-search").addEventListener("input", () => { state.search = $("#session-search").value; renderSessions(); });
    $("#sessions-table").addEventListener("click", (ev) => {
      const th = ev.target.closest("th[data-sort]");
      if (th) {
        const k = th.getAttribute("data-sort");
        state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : (k === "project" || k === "session_id" || k === "models" ? 1 : -1) };
        renderSessions(); return;
      }
      const tr = ev.target.closest("tr[data-session]");
      if (tr) { state.selected = tr.getAttribute("data-session"); writeHash(); renderSessions(); loadSessionDetail().catch(showError); }
    });
    $("#entry-form").addEventListener("submit", saveEntry);
    $("#entry-cancel").addEventListener("click", resetEntryForm);
    $("#entries-table").addEventListener("click", entryAction);
    document.addEventListener("click", (ev) => {
      const b = ev.target.closest && ev.target.closest("button[data-export]");
      if (b) download(b.getAttribute("data-export"), b.getAttribute("data-format"));
    });
    window.addEventListener("hashchange", () => { readHash(); show(); });
    show();
    detectTeam();
    live();
    // Windows move with the clock even when nothing is written: look again every minute.
    setInterval(() => { if (!document.hidden) refresh(); }, 60000);
  }
  init();
})();
