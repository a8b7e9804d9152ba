"""cchooks' statusline: segments, rendering and payload parsing (see docs/statusline.md).

`cchooks statusline` (cchooks.commands.statusline) reads Claude Code's statusline payload,
brings the ledger up to date for that session and prints e.g.::

    Opus 5.5 | $0.42 session / $3.10* today | 54,231✓ tok | 850* tok/min $6.47/h | 5h 62% 2h13m left | ctx 41%

Where each figure comes from, and how it is marked:

- no mark: Claude Code's own figure from this payload (`cost.total_cost_usd`,
  `rate_limits.*.used_percentage` / `resets_at`, `context_window.used_percentage`, the model);
- a trailing `*` (`[statusline] ledger_marker`): counted by cchooks from its ledger, i.e. the
  transcripts, plus the calls only OTLP saw, priced with the bundled price table (today's
  cost, tokens, burn rate, the
  session's cost when the payload has none), or an official rate-limit figure remembered in
  the ledger from an earlier refresh (`5h 62%*`: Claude Code said so, but not in this payload);
- a trailing `✓` (`[statusline] confirmed_marker`) instead of the `*` on the session's
  ledger figures (its tokens; its cost when the payload has none): OTLP agrees with them.
  Claude Code's telemetry reached the ledger (`cchooks otlp serve`) within the last 60 s
  and confirmed every response of the session since its first event: each one is either
  in a transcript and in an `api_request` event with the same request id, or known only to
  OTLP (the /compact summary call, which no transcript records, and which the ledger's
  figures include). A response only a transcript holds keeps the `*`;
- a leading `~` (`[statusline] estimate_marker`): a cchooks estimate, e.g. the 5-hour window
  by ccusage's block heuristic without official figures (`5h ~$4.20 2h13m left`, or `5h ~62%`
  against `[limits] five_hour_usd` / `five_hour_tokens` / a plan preset), or the context share
  from the ledger when the window size had to be assumed;
- `$?`: spend of models missing from the price table, shown with its tokens
  (`$? (54,231 tok)`); `$1.20+?` when only part is priced. Never a made-up `$0.00`.

Modules: `payload` (stdin -> StatusPayload), `settings` (the `[statusline]` config without
pydantic), `figures` (the ledger queries, via cchooks.ledger.live), `render` (segments,
colours, icons), `sample` (the bundled payload for `--preview`). Nothing here imports pydantic.
"""
