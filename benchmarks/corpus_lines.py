# ruff: noqa: UP031  (%-templates on purpose: they are the fast path for writing lines)
"""The line templates and vocabulary of gen_corpus.py: compact JSON in Claude Code's key order
(shared/fixtures/claude-code-2.1.330; the older versions' layout where marked), filled with %-formatting."""

from __future__ import annotations

import json
import re

# usage objects: 2.1.x layout and the older one
U_NEW = (
    '{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,'
    '"output_tokens":%d,"output_tokens_details":{"thinking_tokens":%d},'
    '"server_tool_use":{"web_search_requests":%d,"web_fetch_requests":0},"service_tier":"standard",'
    '"cache_creation":{"ephemeral_1h_input_tokens":%d,"ephemeral_5m_input_tokens":%d},'
    '"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null}'
)
U_OLD = (
    '{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,'
    '"cache_creation":{"ephemeral_5m_input_tokens":%d,"ephemeral_1h_input_tokens":%d},'
    '"output_tokens":%d,"service_tier":"standard"}'
)
U_ZERO_NEW = U_NEW % (0, 0, 0, 0, 0, 0, 0, 0)
U_ZERO_OLD = U_OLD % (0, 0, 0, 0, 0, 0)

# assistant line, 2.1.x: parentUuid, isSidechain, [agentId], message{...}, extras, apiBlockIndex,
# requestId, requestRef, requestedModel, promptCacheRequested, [attributionAgent], type, uuid,
# timestamp, effort..., tail(userType, entrypoint, cwd, sessionId, version, gitBranch)
A_NEW = (
    '{"parentUuid":%s,"isSidechain":%s,%s"message":{"id":"%s","type":"message","role":"assistant",'
    '"model":"%s","content":[%s],"stop_reason":"%s","stop_sequence":null,"usage":%s,'
    '"stop_details":null},%s"apiBlockIndex":%d,"requestId":"%s","requestRef":"%s",'
    '"requestedModel":"%s","promptCacheRequested":"%s",%s"type":"assistant","uuid":"%s",'
    '"timestamp":"%s","effort":"medium","perTurnEffort":"medium","madeBy":"model"%s}\n'
)
# older layout: session fields first, requestId after message, no apiBlockIndex
A_OLD = (
    '{"parentUuid":%s,"isSidechain":%s,"userType":"external","cwd":"%s","sessionId":"%s",'
    '"version":"%s","gitBranch":"%s",%s"message":{"id":"%s","type":"message","role":"assistant",'
    '"model":"%s","content":[%s],"stop_reason":%s,"stop_sequence":null,"usage":%s},'
    '"requestId":"%s","type":"assistant","uuid":"%s","timestamp":"%s"}\n'
)
# synthetic assistant lines (API errors, "No response requested."): no requestId
A_SYN = (
    '{"parentUuid":"%s","isSidechain":%s,%s"message":{"id":"%s","container":null,"model":"<synthetic>",'
    '"role":"assistant","stop_reason":"stop_sequence","stop_sequence":"","type":"message",'
    '"usage":%s,"content":[{"type":"text","text":"%s"}],"context_management":null},'
    '"type":"assistant","uuid":"%s","timestamp":"%s"%s%s}\n'
)
U_PROMPT = (
    '{"parentUuid":%s,"isSidechain":%s,%s"promptId":"%s","type":"user","message":{"role":"user",'
    '"content":"%s"},"uuid":"%s","timestamp":"%s","permissionMode":"%s","promptSource":"%s",'
    '"turnOrigin":"%s"%s}\n'
)
U_TOOL = (
    '{"parentUuid":"%s","isSidechain":%s,%s"promptId":"%s","type":"user","message":{"role":"user",'
    '"content":[{"tool_use_id":"%s","type":"tool_result","content":%s,"is_error":%s}]},'
    '"uuid":"%s","timestamp":"%s","toolUseResult":%s,"sourceToolAssistantUUID":"%s"%s}\n'
)
ATT = (
    '{"parentUuid":"%s","isSidechain":%s,%s"attachment":%s,"type":"attachment","uuid":"%s",'
    '"timestamp":"%s"%s}\n'
)
SYS_STOP = (
    '{"parentUuid":"%s","isSidechain":false,"type":"system","subtype":"stop_hook_summary",'
    '"hookCount":1,"hookInfos":[{"command":"%s","durationMs":%d}],"hookErrors":[],'
    '"failedHookErrorIndexes":[],"hookAdditionalContext":[],"preventedContinuation":false,'
    '"stopReason":"","hasOutput":false,"level":"suggestion","timestamp":"%s","uuid":"%s",'
    '"toolUseID":"%s"%s}\n'
)
SYS_TURN = (
    '{"parentUuid":"%s","isSidechain":false,"type":"system","subtype":"turn_duration",'
    '"durationMs":%d,"messageCount":%d,"timestamp":"%s","uuid":"%s","isMeta":false%s}\n'
)
SYS_COMPACT = (
    '{"parentUuid":null,"logicalParentUuid":"%s","isSidechain":false,"type":"system",'
    '"subtype":"compact_boundary","content":"Conversation compacted","level":"info",'
    '"compactMetadata":{"trigger":"%s","preTokens":%d,"postTokens":%d,"durationMs":%d},'
    '"uuid":"%s","timestamp":"%s"%s}\n'
)
COST_STATE = (
    '{"type":"cost-state","sessionId":"%s","totalCostUSD":%r,"totalAPIDuration":%d,'
    '"totalAPIDurationWithoutRetries":%d,"totalToolDuration":%d,"totalLinesAdded":%d,'
    '"totalLinesRemoved":%d,"totalDuration":%d,"startTime":%d,"modelUsage":{%s},'
    '"hasUnknownModelCost":false}\n'
)
COST_MODEL = (
    '"%s":{"inputTokens":%d,"outputTokens":%d,"thinkingTokens":0,"cacheReadInputTokens":%d,'
    '"cacheCreationInputTokens":%d,"cacheCreationEphemeral5mInputTokens":%d,'
    '"cacheCreationEphemeral1hInputTokens":%d,"webSearchRequests":0,"costUSD":%r}'
)

TOOLS = ["Read", "Bash", "Edit", "Grep", "Glob", "Write", "TodoWrite", "WebFetch", "Agent"]
TOOL_W = [30, 28, 15, 8, 5, 4, 4, 2, 2.2]

PROMPTS = [
    "fix the failing test in %s",
    "can you refactor %s so it streams instead of loading everything?",
    "why does %s crash on empty input",
    "add type hints to %s and run mypy",
    "review the diff and tell me what's risky",
    "write a benchmark for %s",
    "the CI is red again — look at the logs and fix it",
    "rename %s everywhere and update the docs",
    "explain how %s works, step by step",
    "implement the TODOs in %s",
    "continue",
    "yes, go ahead",
    "no, revert that and try the other approach",
    "make the error message clearer when the config is missing",
    "port %s to the new API (see the migration notes)",
]
WORDS = (  # noqa: SIM905
    "alpha beta gamma delta ledger token usage cache read write parse stream record session "
    "request response model price cost total daily report config path file line index hash "
    "buffer chunk offset reader writer table schema migrate commit rollback event hook status "
    "metric export span trace batch queue worker thread async await future result error retry "
    "timeout limit window block budget quota user agent project branch merge rebase diff patch"
).split()
UNICODE_BITS = ["—", "→", "é", "ü", "✓", "…", "日本語", "Ω", "🙂", "«»", "ß", "ñ"]


def encode_cwd(cwd: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]", "-", cwd)


def esc(s: str) -> str:
    """JSON string body (no quotes), UTF-8 kept raw like JSON.stringify does."""
    return json.dumps(s, ensure_ascii=False)[1:-1]
