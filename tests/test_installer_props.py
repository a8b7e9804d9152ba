"""Property tests of the settings editor: whatever the user already has, install is idempotent, our
entries appear exactly once, and uninstall gives back the original (key order included)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as hs

from cchooks.installers import settings as st
from cchooks.installers.telemetry import telemetry_env

PREFIXES = [
    "/opt/venv/bin/python -m cchooks",
    "'/home/u/my venv/bin/python3' -m cchooks",
    "/home/u/.local/bin/cchooks",
    "'/tmp/it'\"'\"'s/cchooks'",
]
EVENTS = [*st.HOOK_EVENTS, *st.GUARD_EVENTS, "Notification", "PostToolBatch", "MessageDisplay"]

json_scalars = hs.none() | hs.booleans() | hs.integers(-(10**6), 10**6) | hs.text(max_size=8)
json_values = hs.recursive(
    json_scalars,
    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(hs.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
foreign_commands = hs.sampled_from(
    [
        "echo hi",
        "python3 /tmp/ccwork/bin/capture_hook.py hook Stop",
        "ccusage statusline",
        "sh -c 'cchooks hook Stop'",
        "npx something",
        "echo 'unbalanced",
    ]
) | hs.text(min_size=1, max_size=20).filter(lambda c: c.strip() and not st.is_our_command(c))
handler = hs.fixed_dictionaries(
    {"type": hs.just("command"), "command": foreign_commands},
    optional={"timeout": hs.integers(1, 600)},
)
group = hs.one_of(
    hs.fixed_dictionaries(
        {"hooks": hs.lists(handler, max_size=2)}, optional={"matcher": hs.text(max_size=5)}
    ),
    hs.just({"matcher": "x"}),  # odd shapes a user may have: left alone
    hs.just("not a group"),
)
hooks_obj = hs.dictionaries(hs.sampled_from(EVENTS), hs.lists(group, max_size=3), max_size=6)
statuslines = hs.fixed_dictionaries(
    {"type": hs.just("command"), "command": foreign_commands},
    optional={"padding": hs.integers(0, 3), "refreshInterval": hs.integers(1, 60)},
)
env_obj = hs.dictionaries(
    hs.sampled_from([*telemetry_env(), "FOO", "ANTHROPIC_MODEL"]), hs.text(max_size=6), max_size=4
)
other_keys = hs.dictionaries(
    hs.text(min_size=1, max_size=8).filter(lambda k: k not in ("hooks", "statusLine", "env")),
    json_values,
    max_size=4,
)


@hs.composite
def user_settings(draw: hs.DrawFn) -> dict[str, Any]:
    parts: list[tuple[str, Any]] = list(draw(other_keys).items())
    if draw(hs.booleans()):
        parts.append(("hooks", draw(hooks_obj)))
    if draw(hs.booleans()):
        parts.append(("statusLine", draw(statuslines)))
    if draw(hs.booleans()):
        parts.append(("env", draw(env_obj)))
    order = draw(hs.permutations(range(len(parts))))
    return {parts[i][0]: parts[i][1] for i in order}


@hs.composite
def install_options(draw: hs.DrawFn) -> st.InstallOptions:
    return st.InstallOptions(
        command=draw(hs.sampled_from(PREFIXES)),
        statusline=draw(hs.booleans()),
        statusline_mode=draw(hs.sampled_from(["replace", "chain"])),
        budget_guard=draw(hs.sampled_from([None, True, False])),
        telemetry=draw(hs.sampled_from([None, True, False])),
    )


def ordered(data: Any) -> str:
    return json.dumps(data)


def check_ours_once(data: dict[str, Any], options: st.InstallOptions) -> None:
    entries = st.installed_entries(data)
    wanted = set(st.HOOK_EVENTS) | (set(st.GUARD_EVENTS) if options.budget_guard else set())
    if options.budget_guard is None:
        wanted |= set(st.GUARD_EVENTS) & set(entries.hooks)
    assert set(entries.hooks) == wanted
    for event, commands in entries.hooks.items():
        assert commands == [st.hook_command(options.command, event)]
    if options.statusline:
        assert entries.statusline is not None and entries.statusline.startswith(
            options.command + " statusline"
        )
    else:
        assert entries.statusline is None


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(user_settings(), install_options())
def test_install_then_uninstall_restores(original: dict[str, Any], options: st.InstallOptions) -> None:
    before = ordered(original)
    plan = st.plan_install(original, options)
    assert ordered(original) == before  # the input is not mutated
    check_ours_once(plan.settings, options)
    back = st.plan_uninstall(plan.settings, plan.state)
    assert ordered(back.settings) == before
    assert not st.installed_entries(back.settings).installed


@PROPS
@given(user_settings(), install_options(), install_options())
def test_install_is_idempotent_and_reinstall_replaces(
    original: dict[str, Any], first: st.InstallOptions, second: st.InstallOptions
) -> None:
    one = st.plan_install(original, first)
    again = st.plan_install(one.settings, first, one.state)
    assert ordered(again.settings) == ordered(one.settings)
    assert again.state == one.state
    # a second install with other options (moved venv, other flags) keeps ours exactly once
    two = st.plan_install(one.settings, second, one.state)
    check_ours_once(two.settings, second)
    assert ordered(st.plan_uninstall(two.settings, two.state).settings) == ordered(original)


@PROPS
@given(user_settings(), install_options())
def test_uninstall_without_record_removes_all_of_ours(
    original: dict[str, Any], options: st.InstallOptions
) -> None:
    plan = st.plan_install(original, options)
    back = st.plan_uninstall(plan.settings, None)
    assert not st.installed_entries(back.settings).installed
    # everything of the user's is still there
    for key, value in original.items():
        if key not in ("hooks", "statusLine", "env"):
            assert back.settings[key] == value
    if (
        isinstance(original.get("statusLine"), dict)
        and options.statusline
        and options.statusline_mode == "chain"
    ):
        assert back.settings["statusLine"]["command"] == original["statusLine"]["command"]


@PROPS
@given(user_settings(), install_options(), hs.sampled_from([2, 4, "\t"]), hs.booleans())
def test_files_round_trip_bytes(
    original: dict[str, Any], options: st.InstallOptions, indent: int | str, compact: bool
) -> None:
    text = (
        json.dumps(original, separators=(",", ":")) if compact else json.dumps(original, indent=indent) + "\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.json"
        path.write_text(text)
        st.install(path, options)
        installed = path.read_bytes()
        assert st.installed_entries(json.loads(installed)).hooks
        st.install(path, options)
        assert path.read_bytes() == installed
        st.uninstall(path)
        assert path.read_text() == text
        assert not (Path(tmp) / st.STATE_FILE_NAME).exists()


@PROPS
@given(user_settings(), hs.sampled_from(PREFIXES), hs.sampled_from(PREFIXES))
def test_stale_entries_from_an_old_venv_are_replaced(original: dict[str, Any], old: str, new: str) -> None:
    hooks = original.get("hooks")
    assume(hooks is None or isinstance(hooks, dict))
    seeded = json.loads(json.dumps(original))
    seeded.setdefault("hooks", {})
    for event in ("Stop", "PostToolUse"):
        seeded["hooks"].setdefault(event, []).append(
            {"hooks": [{"type": "command", "command": st.hook_command(old, event)}]}
        )
        seeded["hooks"][event].append(
            {"hooks": [{"type": "command", "command": st.hook_command(old, event)}]}
        )
    options = st.InstallOptions(command=new, statusline=False)
    plan = st.plan_install(seeded, options)
    check_ours_once(plan.settings, options)
