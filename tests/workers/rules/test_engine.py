"""The rules engine: operators, combinators, precedence, safety, locks — entry in, outcome out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.rules import (
    ABSENT,
    Change,
    Decision,
    Evaluation,
    RulesError,
    RuleSet,
    evaluate,
    field_value,
    is_running_timer,
    parse_rules,
    plan,
)

MEETING = "5b1c3d2e-0000-4000-8000-00000000000a"
DEVELOPMENT = "5b1c3d2e-0000-4000-8000-00000000000b"


def entry(**fields: Any) -> dict[str, Any]:
    """A finished, unbilled, billable entry on a client project; keyword arguments override."""
    base: dict[str, Any] = {
        "id": "e-1",
        "note": "Weekly call with ACME",
        "duration": 3600,
        "startDateUtc": "2024-05-06T09:00:00Z",
        "endDateUtc": "2024-05-06T10:00:00Z",
        "endTimeUtc": "10:00:00.8220632",
        "isBillable": True,
        "isBilled": False,
        "typeOfWorkId": DEVELOPMENT,
        "typeOfWork": {"id": DEVELOPMENT, "name": "Development"},
        "user": {"firstName": "Ada", "lastName": "Lovelace"},
        "project": {
            "name": "ACME Website",
            "projectKey": "ACME",
            "isBillableByDefault": True,
            "company": {"name": "ACME Corp"},
            "projectType": {"name": "Fixed price"},
            "tags": ["web", "priority"],
        },
        "task": {"name": "Homepage"},
    }
    base.update(fields)
    return base


def when(condition: str) -> RuleSet:
    """A rule set with one rule `probe` that makes matching entries unbillable."""
    rule = f"  - name: probe\n    when: {condition}\n    then: {{billable: false}}\n"
    return parse_rules(f"version: 1\nrules:\n{rule}")


def holds(condition: str, subject: dict[str, Any]) -> bool:
    return when(condition).rules[0].when(subject)


# --- operators: true / false / absent / type mismatch ------------------------------------------

OPERATOR_CASES = [
    # (condition, entry overrides, expected)
    ("{note: 'Weekly call with ACME'}", {}, True),
    ("{note: 'weekly call with acme'}", {}, False),
    ("{note: {eq: 'Weekly call with ACME'}}", {}, True),
    ("{duration: 3600}", {}, True),
    ("{duration: 3600.0}", {}, True),
    ("{duration: '3600'}", {}, False),
    ("{isBillable: true}", {}, True),
    ("{isBillable: 1}", {}, False),
    ("{duration: true}", {"duration": 1}, False),
    ("{note: null}", {"note": None}, True),
    ("{note: {eq: null}}", {}, False),
    ("{project.tags: {eq: [web, priority]}}", {}, True),
    ("{note: {ne: 'x'}}", {}, True),
    ("{note: {ne: 'Weekly call with ACME'}}", {}, False),
    ("{note: {ne: null}}", {"note": None}, False),
    ("{note: {ne: 'x'}}", {"note": None}, True),
    ("{user.firstName: {in: [Ada, Grace]}}", {}, True),
    ("{user.firstName: {in: [Grace]}}", {}, False),
    ("{duration: {in: [60, 3600]}}", {}, True),
    ("{isBillable: {in: [1]}}", {}, False),
    ("{note: {in: [null, x]}}", {"note": None}, True),
    ("{project.tags: {in: [priority, internal]}}", {}, True),
    ("{project.tags: {in: [internal]}}", {}, False),
    ("{user.firstName: {not_in: [Grace]}}", {}, True),
    ("{user.firstName: {not_in: [Ada]}}", {}, False),
    ("{project.tags: {not_in: [internal]}}", {}, True),
    ("{project.tags: {not_in: [web]}}", {}, False),
    ("{note: {matches: '(?i)\\bcall\\b'}}", {}, True),
    ("{note: {matches: '^call'}}", {}, False),
    ("{duration: {matches: '36'}}", {}, False),
    ("{project.name: {startswith: ACME}}", {}, True),
    ("{project.name: {startswith: Website}}", {}, False),
    ("{duration: {startswith: '3'}}", {}, False),
    ("{project.name: {endswith: Website}}", {}, True),
    ("{project.name: {endswith: ACME}}", {}, False),
    ("{duration: {endswith: '0'}}", {}, False),
    ("{duration: {ne: '3600'}}", {}, True),
    ("{note: {lt: 5}}", {}, False),
    ("{duration: {ge: '0'}}", {}, False),
    ("{note: {le: 5}}", {}, False),
    ("{duration: {exists: true}}", {"duration": 0}, True),
    ("{note: {contains: call}}", {}, True),
    ("{note: {contains: Call}}", {}, False),
    ("{project.tags: {contains: web}}", {}, True),
    ("{project.tags: {contains: we}}", {}, False),
    ("{duration: {contains: 3}}", {}, False),
    ("{duration: {gt: 3599}}", {}, True),
    ("{duration: {gt: 3600}}", {}, False),
    ("{duration: {ge: 3600}}", {}, True),
    ("{duration: {lt: 3600}}", {}, False),
    ("{duration: {le: 3600}}", {}, True),
    ("{duration: {gt: 0, lt: 7200}}", {}, True),
    ("{duration: {gt: 0, lt: 60}}", {}, False),
    ("{duration: {gt: '1'}}", {}, False),
    ("{note: {gt: 1}}", {}, False),
    ("{isBillable: {gt: 0}}", {}, False),
    ("{startDateUtc: {ge: 2024-05-01}}", {}, True),
    ("{startDateUtc: {lt: '2024-05-01'}}", {}, False),
    ("{note: {exists: true}}", {}, True),
    ("{note: {exists: true}}", {"note": None}, False),
    ("{note: {exists: false}}", {"note": None}, True),
    ("{note: {exists: false}}", {}, False),
    ("{project.projectKey: ACME}", {}, True),
]


@pytest.mark.parametrize(("condition", "overrides", "expected"), OPERATOR_CASES)
def test_operator(condition: str, overrides: dict[str, Any], expected: bool) -> None:
    assert holds(condition, entry(**overrides)) is expected


ABSENT_CASES = [
    ("{eq: x}", False),
    ("{ne: x}", False),
    ("{in: [x]}", False),
    ("{not_in: [x]}", False),
    ("{matches: '.*'}", False),
    ("{startswith: ''}", False),
    ("{endswith: ''}", False),
    ("{contains: ''}", False),
    ("{gt: 0}", False),
    ("{ge: ''}", False),
    ("{lt: 0}", False),
    ("{le: zzz}", False),
    ("{exists: true}", False),
    ("{exists: false}", True),
    ("{eq: null}", True),
    ("null", True),
    ("{ne: null}", False),
]


@pytest.mark.parametrize(("operators", "expected"), ABSENT_CASES)
@pytest.mark.parametrize("path", ["project.company.name", "task.customFields.Budget"])
def test_absent_path_fails_every_operator_but_exists_false_and_eq_null(
    path: str, operators: str, expected: bool
) -> None:
    no_company = entry(project={"name": "Internal"}, task=None)
    assert holds(f"{{{path}: {operators}}}", no_company) is expected
    assert holds(f"{{{path}: {operators}}}", entry(project=None, task={})) is expected


def test_absent_is_distinct_from_null() -> None:
    assert field_value(entry(), "project.company.id") is ABSENT
    assert field_value(entry(note=None), "note") is None
    assert field_value(entry(project=None), "project.name") is ABSENT
    assert field_value(entry(project="not an object"), "project.name") is ABSENT


def test_custom_field_names_are_one_key() -> None:
    subject = entry(project={"customFields": {"Cost centre 1.2": "X-9"}})
    assert field_value(subject, "project.customFields.Cost centre 1.2") == "X-9"
    assert holds("{project.customFields.Cost centre 1.2: X-9}", subject)


def test_project_key_falls_back_to_the_older_name() -> None:
    older = entry(project={"key": "OLD"})
    assert field_value(older, "project.projectKey") == "OLD"
    assert holds("{project.projectKey: OLD}", older)
    both = entry(project={"projectKey": "NEW", "key": "OLD"})
    assert field_value(both, "project.projectKey") == "NEW"
    assert field_value(entry(project={"projectKey": None, "key": "OLD"}), "project.projectKey") == (
        "OLD"
    )
    assert field_value(entry(project={}), "project.projectKey") is ABSENT


# --- combinators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{}", True),
        ("{note: {contains: call}, duration: {gt: 60}}", True),
        ("{note: {contains: call}, duration: {gt: 7200}}", False),
        ("{all: [{note: {contains: call}}, {duration: 3600}]}", True),
        ("{all: [{note: {contains: call}}, {duration: 1}]}", False),
        ("{any: [{note: nope}, {duration: 3600}]}", True),
        ("{any: [{note: nope}, {duration: 1}]}", False),
        ("{any: [{note: nope}]}", False),
        ("{not: {note: nope}}", True),
        ("{not: {duration: 3600}}", False),
        ("{not: {project.company.name: X}}", True),
        ("{any: [{not: {all: [{duration: 3600}, {note: {contains: call}}]}}, {note: x}]}", False),
        (
            "{all: [{any: [{note: x}, {project.name: {startswith: ACME}}]}, {not: {duration: 0}}]}",
            True,
        ),
    ],
)
def test_combinators(condition: str, expected: bool) -> None:
    assert holds(condition, entry()) is expected


def test_empty_when_matches_every_entry() -> None:
    assert holds("{}", {}) is True
    assert plan({"id": "x", "duration": 5}, when("{}")) == [
        Change("x", "billable", None, False, "probe")
    ]


# --- precedence and changes ----------------------------------------------------------------------

PRECEDENCE = f"""
version: 1
rules:
  - name: internal-is-unbillable
    when: {{project.company.name: "Our Agency GmbH"}}
    then: {{billable: false}}
  - name: calls-are-meetings
    when: {{note: {{matches: "(?i)\\\\bcall\\\\b"}}}}
    then: {{type_of_work: {{id: "{MEETING.upper()}"}}}}
  - name: everything-is-billable
    when: {{}}
    then: {{billable: true, type_of_work: {{id: "{DEVELOPMENT}"}}}}
"""


def test_first_matching_rule_decides_each_attribute() -> None:
    rules = parse_rules(PRECEDENCE)
    internal = entry(project={"company": {"name": "Our Agency GmbH"}})
    result = evaluate(internal, rules)
    assert result.decisions == (
        Decision("billable", False, "internal-is-unbillable"),
        Decision("type_of_work", MEETING, "calls-are-meetings"),
    )
    assert result.changes == (
        Change("e-1", "billable", True, False, "internal-is-unbillable"),
        Change("e-1", "type_of_work", DEVELOPMENT, MEETING, "calls-are-meetings"),
    )
    assert result.skipped is None


def test_later_rules_decide_what_earlier_ones_left_open() -> None:
    result = evaluate(entry(note="coding", isBillable=False), parse_rules(PRECEDENCE))
    assert result.decisions == (
        Decision("billable", True, "everything-is-billable"),
        Decision("type_of_work", DEVELOPMENT, "everything-is-billable"),
    )
    assert result.changes == (Change("e-1", "billable", False, True, "everything-is-billable"),)


def test_change_only_where_the_value_differs() -> None:
    rules = parse_rules(PRECEDENCE)
    already = entry(typeOfWorkId=MEETING.upper())  # ids compare case-insensitively
    assert evaluate(already, rules) == Evaluation(
        "e-1",
        (
            Decision("billable", True, "everything-is-billable"),
            Decision("type_of_work", MEETING, "calls-are-meetings"),
        ),
        (),
        None,
    )
    assert plan(entry(isBillable=None, typeOfWorkId=None), rules) == [
        Change("e-1", "billable", None, True, "everything-is-billable"),
        Change("e-1", "type_of_work", None, MEETING, "calls-are-meetings"),
    ]


def test_changes_are_ordered_billable_billed_type_of_work() -> None:
    rules = parse_rules(
        f"""
version: 1
rules:
  - name: t
    when: {{}}
    then: {{type_of_work: {{id: "{MEETING}"}}}}
  - name: b
    when: {{}}
    then: {{billed: true, billable: true}}
"""
    )
    result = evaluate(entry(isBillable=False), rules)
    assert [c.attribute for c in result.changes] == ["billable", "billed", "type_of_work"]


def test_no_rules_no_changes() -> None:
    assert evaluate(entry(), parse_rules("version: 1\nrules: []")) == Evaluation(
        "e-1", (), (), None
    )


# --- safety ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"endDateUtc": None, "endTimeUtc": None, "duration": 0},
        {"endDateUtc": None, "endTimeUtc": None, "duration": None},
        {"endDateUtc": None, "endTimeUtc": None},
        {"duration": 0},
        {},
    ],
)
def test_running_timer_is_left_alone(overrides: dict[str, Any]) -> None:
    running = {
        k: v for k, v in entry().items() if k not in ("endDateUtc", "endTimeUtc", "duration")
    }
    running.update(overrides)
    assert is_running_timer(running)
    assert evaluate(running, when("{}")) == Evaluation("e-1", (), (), "running-timer")


@pytest.mark.parametrize(
    "overrides",
    [
        {"endDateUtc": None, "endTimeUtc": None},  # start and duration only (SPEC 7.1)
        {"endTimeUtc": None},
        {"endDateUtc": None, "duration": 0},
        {"duration": None},
    ],
)
def test_finished_entries_are_evaluated(overrides: dict[str, Any]) -> None:
    finished = entry(**overrides)
    assert not is_running_timer(finished)
    assert evaluate(finished, when("{}")).changes == (
        Change("e-1", "billable", True, False, "probe"),
    )


BILLED = """
version: 1
rules:
  - name: internal-is-unbillable
    when: {project.company.name: "Our Agency GmbH"}
    then: {billable: false}
  - name: unbill-drafts
    when: {note: {startswith: DRAFT}}
    then: {billed: false}
"""


def test_billed_entry_is_not_changed_without_a_billed_rule() -> None:
    billed = entry(isBilled=True, project={"company": {"name": "Our Agency GmbH"}})
    result = evaluate(billed, parse_rules(BILLED))
    assert result.decisions == (Decision("billable", False, "internal-is-unbillable"),)
    assert result.changes == ()
    assert result.skipped == "billed"
    assert evaluate(entry(isBilled=True), parse_rules(BILLED)).skipped == "billed"


def test_billed_entry_takes_all_decisions_when_a_rule_decides_billed() -> None:
    billed = entry(isBilled=True, note="DRAFT", project={"company": {"name": "Our Agency GmbH"}})
    assert plan(billed, parse_rules(BILLED)) == [
        Change("e-1", "billable", True, False, "internal-is-unbillable"),
        Change("e-1", "billed", True, False, "unbill-drafts"),
    ]


def test_billed_true_is_dropped_for_an_entry_that_ends_up_unbillable() -> None:
    rules = parse_rules(
        """
version: 1
rules:
  - name: internal
    when: {project.company.name: Internal}
    then: {billable: false}
  - name: retainers
    when: {project.name: {startswith: "RET "}}
    then: {billable: true, billed: true}
"""
    )
    internal_retainer = entry(project={"name": "RET x", "company": {"name": "Internal"}})
    assert plan(internal_retainer, rules) == [Change("e-1", "billable", True, False, "internal")]
    retainer = entry(project={"name": "RET x"})
    assert plan(retainer, rules) == [Change("e-1", "billed", False, True, "retainers")]
    assert plan(entry(isBillable=False, project={"name": "RET x"}), rules) == [
        Change("e-1", "billable", False, True, "retainers"),
        Change("e-1", "billed", False, True, "retainers"),
    ]


# --- locked attributes -------------------------------------------------------------------------


def test_locked_attribute_gets_no_decision_and_no_change() -> None:
    rules = parse_rules(PRECEDENCE)
    result = evaluate(entry(isBillable=False), rules, locked=frozenset({"billable"}))
    assert [d.attribute for d in result.decisions] == ["type_of_work"]
    assert result.changes == (
        Change("e-1", "type_of_work", DEVELOPMENT, MEETING, "calls-are-meetings"),
    )


def test_locked_billed_keeps_a_billed_entry_safe() -> None:
    billed = entry(isBilled=True, note="DRAFT")
    result = evaluate(billed, parse_rules(BILLED), locked=frozenset({"billed"}))
    assert result.skipped == "billed"
    assert result.changes == ()


# --- type of work ---------------------------------------------------------------------------------

BY_NAME = """
version: 1
rules:
  - name: calls-are-meetings
    when: {note: {contains: call}}
    then: {type_of_work: {name: Meeting}}
"""


def test_type_of_work_by_name_after_resolving() -> None:
    rules = parse_rules(BY_NAME).resolve_types({"Meeting": MEETING.upper(), "Other": DEVELOPMENT})
    assert plan(entry(), rules) == [
        Change("e-1", "type_of_work", DEVELOPMENT, MEETING, "calls-are-meetings")
    ]


def test_evaluating_unresolved_names_is_a_programming_error() -> None:
    with pytest.raises(RulesError, match="resolve_types") as caught:
        evaluate(entry(), parse_rules(BY_NAME))
    assert (caught.value.rule, caught.value.line) == ("calls-are-meetings", 4)


# --- robustness ---------------------------------------------------------------------------------

EVERYTHING = f"""
version: 1
rules:
  - name: every-operator
    when:
      note: {{matches: "a", contains: "a", startswith: "", endswith: "", ne: "b"}}
      duration: {{gt: 0, ge: 0, lt: 99999999, le: 99999999, in: [1, 2.5, "x", true, null]}}
      project.tags: {{contains: "x", not_in: [1], eq: ["x"]}}
      any: [{{project.name: {{exists: true}}}}, {{not: {{task.name: null}}}}]
    then: {{billable: true, billed: true}}
  - name: names
    when: {{all: [{{startDateUtc: {{ge: "2024"}}}}, {{project.projectKey: {{exists: false}}}}]}}
    then: {{billable: false, type_of_work: {{id: "{MEETING}"}}}}
  - name: rest
    when: {{}}
    then: {{billed: false}}
"""

KEYS = st.sampled_from(
    ("id", "note", "duration", "isBilled", "isBillable", "typeOfWorkId", "project", "name"),
) | st.sampled_from(("tags", "key", "projectKey", "task", "endDateUtc", "endTimeUtc"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=20,
)


EVERYTHING_RULES = parse_rules(EVERYTHING)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS | st.text(max_size=3), JSON, max_size=10))
def test_evaluate_never_raises(subject: dict[str, Any]) -> None:
    result = evaluate(subject, EVERYTHING_RULES)
    decided = {(d.attribute, d.value, d.rule) for d in result.decisions}
    assert {(c.attribute, c.new, c.rule) for c in result.changes} <= decided
    assert result.skipped is None or not result.changes
    assert plan(subject, EVERYTHING_RULES) == list(result.changes)


def test_a_pattern_with_catastrophic_backtracking_runs_in_linear_time() -> None:
    """`(a+)+$` on 50,000 a's and a '!' takes Python's `re` longer than the universe has left;
    a note is anyone's to write, so rules search with RE2."""
    rules = parse_rules(
        "version: 1\nrules:\n  - name: r\n    when: {note: {matches: '(a+)+$'}}\n"
        "    then: {billable: false}\n"
    )
    entry = {"id": "e", "note": "a" * 50_000 + "!", "duration": 60, "isBillable": True}
    assert plan(entry, rules) == []  # at once (with Python's `re`: never; the test's timeout)
