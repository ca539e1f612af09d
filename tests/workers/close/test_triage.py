"""Which entries a close bills, on what the rules decide, and which anomalies it holds back."""

from __future__ import annotations

from typing import Any

import pytest

from workers.close.triage import as_ruled, judge
from workers.rules import Change, evaluate, parse_rules

MEETING = "5b1c3d2e-0000-4000-8000-00000000000a"
RULES = parse_rules(
    f"""
version: 1
rules:
  - name: internal-is-unbillable
    when: {{project.name: Internal}}
    then: {{billable: false}}
  - name: retainer-is-billed
    when: {{project.name: Retainer}}
    then: {{billable: true, billed: true}}
  - name: client-is-billable
    when: {{project.name: {{exists: true}}}}
    then: {{billable: true}}
  - name: calls-are-meetings
    when: {{note: {{matches: "(?i)call"}}}}
    then: {{type_of_work: {{id: "{MEETING}"}}}}
"""
)


def entry(**values: Any) -> dict[str, Any]:
    base = {
        "id": "E1",
        "isBillable": False,
        "isBilled": False,
        "duration": 3600,
        "endDateUtc": "2026-10-05T00:00:00Z",
        "note": "Code review",
        "projectId": "p1",
        "project": {"name": "Webshop"},
        "typeOfWorkId": "t-dev",
        "typeOfWork": {"id": "t-dev", "name": "Development"},
    }
    return {**base, **values}


def verdict(include: bool = False, **values: Any) -> Any:
    e = entry(**values)
    return judge(e, evaluate(e, RULES), {MEETING: "Meeting"}, include_anomalies=include)


def test_an_entry_the_rules_make_billable_is_closed_as_it_will_be() -> None:
    v = verdict(note="Call with client")
    assert v.fate == "close"
    assert [(c.attribute, c.new) for c in v.changes] == [
        ("billable", True),
        ("type_of_work", MEETING),
    ]
    assert v.ruled["isBillable"] is True
    assert v.ruled["typeOfWork"] == {"id": MEETING, "name": "Meeting"}


@pytest.mark.parametrize(
    ("values", "fate"),
    [
        ({"project": {"name": "Internal"}, "isBillable": True}, "unbillable"),
        ({"project": {"name": "Retainer"}}, "billed"),  # the rules will bill it
        ({"isBillable": True, "isBilled": True}, "billed"),
    ],
)
def test_unbillable_and_billed_entries_are_left_alone(values: dict[str, Any], fate: str) -> None:
    assert verdict(**values).fate == fate


def test_making_an_entry_unbillable_unbills_it() -> None:
    e = entry(isBillable=True, isBilled=True)
    change = Change("E1", "billable", True, False, "some-rule")
    assert as_ruled(e, (change,), {})["isBilled"] is False  # as awork does
    assert e["isBilled"] is True  # a copy: the entry read stays as read


def test_a_running_timer_is_held_back_even_when_anomalies_are_included() -> None:
    v = verdict(True, duration=0, endDateUtc=None, isBillable=True)
    assert (v.fate, v.reasons) == ("held", ("running_timer",))


@pytest.mark.parametrize(
    ("values", "fate", "reasons"),
    [
        ({"isBillable": True}, "held", ("already_closed",)),  # un-billed since its close
        ({"isBillable": True, "isBilled": True}, "billed", ()),
        ({"isBillable": False, "project": {"name": "Retainer"}}, "unbillable", ()),
    ],
)
def test_an_entry_of_another_close_is_judged_as_awork_holds_it(
    values: dict[str, Any], fate: str, reasons: tuple[str, ...]
) -> None:
    """The rules never change a closed entry, and billing it again would invoice it twice."""
    e = entry(**values)
    v = judge(e, evaluate(e, RULES), {}, include_anomalies=True, closed_by="2026-10-NL")
    assert (v.fate, v.reasons, v.changes, v.closed_by) == (fate, reasons, (), "2026-10-NL")


def test_a_rule_error_is_held_back() -> None:
    e = entry()
    v = judge(e, RuntimeError("boom"), {}, include_anomalies=True)
    assert (v.fate, v.reasons) == ("held", ("rule_error",))


@pytest.mark.parametrize(
    ("values", "reasons"),
    [
        ({"duration": 0}, ("no_duration",)),
        ({"duration": None}, ("no_duration",)),
        ({"note": None}, ("no_note",)),
        ({"note": "   "}, ("no_note",)),
        ({"duration": 36_001}, ("over_10h",)),
        ({"projectId": None, "project": None, "isBillable": True}, ("no_project",)),
        ({"note": "", "duration": 40_000}, ("no_note", "over_10h")),
    ],
)
def test_anomalies_are_held_back_unless_included(
    values: dict[str, Any], reasons: tuple[str, ...]
) -> None:
    held = verdict(**values)
    assert (held.fate, held.reasons) == ("held", reasons)
    included = verdict(True, **values)
    assert (included.fate, included.reasons) == ("close", reasons)


def test_exactly_ten_hours_is_not_an_anomaly() -> None:
    assert verdict(duration=36_000).fate == "close"
