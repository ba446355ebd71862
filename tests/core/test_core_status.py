"""Intent status rules: known values, terminal statuses, RFC-0002 completion gates."""

from __future__ import annotations

import itertools

import pytest

from openintent.core.status import (
    ALLOWED_TRANSITIONS,
    KNOWN_STATUSES,
    TERMINAL_STATUSES,
    CompletionBlocker,
    can_transition,
    check_completion,
    check_transition,
    completion_blockers,
    dependencies_met,
    is_terminal,
    parse_status,
)
from openintent.exceptions import ValidationError
from openintent.models.enums import IntentStatus

S = IntentStatus
PAIRS = list(itertools.product(IntentStatus, repeat=2))


def test_known_and_terminal_sets() -> None:
    assert {s.value for s in KNOWN_STATUSES} == {
        "draft",
        "active",
        "blocked",
        "suspended_awaiting_input",
        "completed",
        "abandoned",
    }
    assert {S.COMPLETED, S.ABANDONED} == TERMINAL_STATUSES
    assert set(ALLOWED_TRANSITIONS) == KNOWN_STATUSES


def test_rules_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ALLOWED_TRANSITIONS[S.COMPLETED] = KNOWN_STATUSES  # type: ignore[index]


@pytest.mark.parametrize("value", [s.value for s in IntentStatus])
def test_parse_status_accepts_the_six_values(value: str) -> None:
    assert parse_status(value) is IntentStatus(value)


@pytest.mark.parametrize("value", ["whatever", "COMPLETED", "", " draft", None, 1, ["draft"]])
def test_parse_status_rejects_everything_else(value: object) -> None:
    with pytest.raises(ValidationError, match="not a known intent status") as info:
        parse_status(value)
    assert info.value.errors == [str(info.value)]


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_transition_matrix(current: IntentStatus, target: IntentStatus) -> None:
    allowed = current not in TERMINAL_STATUSES or current == target
    assert can_transition(current, target) is allowed
    assert (target in ALLOWED_TRANSITIONS[current]) is allowed
    if allowed:
        assert check_transition(current, target) is target
    else:
        with pytest.raises(ValidationError, match="terminal"):
            check_transition(current, target)


def test_terminal_error_message_names_both_statuses() -> None:
    with pytest.raises(ValidationError) as info:
        check_transition(S.COMPLETED, S.DRAFT)
    assert str(info.value) == (
        "status: intent is 'completed', a terminal status; it cannot become 'draft'"
    )
    blocker = CompletionBlocker("child", "c", S.ACTIVE)
    assert blocker.describe() == "child c is 'active', not completed"


def test_draft_goes_straight_to_completed() -> None:
    # The reference SDK flows and the project README do this.
    assert check_transition("draft", "completed") is S.COMPLETED


@pytest.mark.parametrize("status", ["completed", "abandoned"])
def test_same_status_on_a_terminal_intent_is_a_noop(status: str) -> None:
    assert check_transition(status, status) == status


def test_check_transition_takes_plain_strings_and_rejects_unknown_targets() -> None:
    assert check_transition("active", "blocked") is S.BLOCKED
    with pytest.raises(ValidationError, match="not a known intent status"):
        check_transition("active", "done")
    assert can_transition("active", "done") is False


def test_a_record_with_an_unknown_status_can_be_repaired() -> None:
    assert can_transition("legacy-value", "active")
    assert check_transition("legacy-value", "abandoned") is S.ABANDONED


def test_is_terminal() -> None:
    assert [s for s in IntentStatus if is_terminal(s)] == [S.COMPLETED, S.ABANDONED]
    assert not is_terminal("unknown")


@pytest.mark.parametrize(
    ("statuses", "met"),
    [
        ([], True),
        (["completed"], True),
        (["completed", "completed"], True),
        (["completed", "active"], False),
        (["abandoned"], False),
        ([None], False),
        (["mystery"], False),
    ],
)
def test_dependencies_met(statuses: list[str | None], met: bool) -> None:
    assert dependencies_met(statuses) is met


def test_completion_gate_open() -> None:
    assert completion_blockers({}, {}) == []
    assert completion_blockers({"d": "completed"}, {"c": "completed"}) == []
    check_completion({"d": "completed"}, {"c": "completed"})


def test_completion_blockers_in_order_with_reasons() -> None:
    blockers = completion_blockers(
        {"d1": "completed", "d2": "active", "ghost": None},
        {"c1": "abandoned", "c2": "completed", "c3": "draft"},
    )
    assert blockers == [
        CompletionBlocker("dependency", "d2", "active"),
        CompletionBlocker("dependency", "ghost", None),
        CompletionBlocker("child", "c1", "abandoned"),
        CompletionBlocker("child", "c3", "draft"),
    ]
    assert blockers[0].describe() == "dependency d2 is 'active', not completed"
    assert blockers[1].describe() == "dependency ghost does not exist"


def test_check_completion_lists_every_blocker() -> None:
    with pytest.raises(ValidationError) as info:
        check_completion({"d": "blocked"}, {"c": "active"})
    assert info.value.errors == [
        "dependency d is 'blocked', not completed",
        "child c is 'active', not completed",
    ]
    assert str(info.value).startswith("cannot complete: ")
