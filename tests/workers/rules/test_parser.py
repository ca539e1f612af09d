"""Loading the rules file: what it compiles to, and a clear, located error for every mistake."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from workers.rules import RulesError, RuleSet, TypeOfWork, load_rules, parse_rules

MEETING = "5b1c3d2e-0000-4000-8000-00000000000a"

SPEC_EXAMPLE = """\
version: 1
respect_manual_changes: true
rules:
  - name: internal-work-is-unbillable          # unique; letters, digits, - and _
    when:                                       # every key must hold (AND)
      project.company.name: "Our Agency GmbH"   # a bare value means eq
    then:
      billable: false
  - name: calls-are-meetings
    when:
      note: {matches: "(?i)\\\\b(meeting|call)\\\\b"}
    then:
      type_of_work: {name: "Meeting"}           # or {id: "<uuid>"}
  - name: retainers-are-billed
    when:
      any:
        - project.name: {startswith: "RET "}
        - project.projectType.name: "Retainer"
        - project.customFields.Contract: retainer
    then:
      billable: true
      billed: true
"""


def test_spec_example_compiles() -> None:
    rules = parse_rules(SPEC_EXAMPLE, "rules.yaml")
    assert rules.version == 1
    assert rules.respect_manual_changes is True
    assert [(r.name, r.line) for r in rules.rules] == [
        ("internal-work-is-unbillable", 4),
        ("calls-are-meetings", 9),
        ("retainers-are-billed", 14),
    ]
    assert rules.rules[1].then.type_of_work == TypeOfWork(None, "Meeting", 13)
    assert rules.rules[2].then.attributes == {"billable", "billed"}
    assert rules.type_of_work_names() == {"Meeting"}
    assert rules.fields() == {
        "project.company.name",
        "note",
        "project.name",
        "project.projectType.name",
        "project.customFields.Contract",
    }


def test_defaults() -> None:
    rules = parse_rules("version: 1\nrules: []\n")
    assert rules == RuleSet(version=1, rules=(), respect_manual_changes=False)
    assert rules.fields() == frozenset()
    assert rules.type_of_work_names() == frozenset()


def test_resolve_types_adds_ids_and_keeps_the_rest() -> None:
    rules = parse_rules(SPEC_EXAMPLE, "rules.yaml")
    resolved = rules.resolve_types({"Meeting": MEETING.upper()})
    assert resolved.rules[1].then.type_of_work == TypeOfWork(MEETING, "Meeting", 13)
    assert resolved.rules[1].then.values == {"type_of_work": MEETING}
    assert resolved.rules[0] is rules.rules[0]
    assert resolved.unresolved is None
    assert rules.unresolved is rules.rules[1]
    assert resolved.respect_manual_changes
    assert resolved.source == "rules.yaml"


def test_resolve_types_refuses_an_unknown_name() -> None:
    rules = parse_rules(SPEC_EXAMPLE, "rules.yaml")
    with pytest.raises(RulesError) as caught:
        rules.resolve_types({"meeting": MEETING, "Development": MEETING})
    assert str(caught.value) == (
        "rules.yaml:13: rule 'calls-are-meetings': unknown type of work 'Meeting'"
        " (did you mean 'meeting'?)"
    )


def test_type_of_work_by_id_is_lower_case() -> None:
    then = f"{{type_of_work: {{id: {MEETING.upper()}}}}}"
    rules = parse_rules(f"version: 1\nrules:\n- name: a\n  when: {{}}\n  then: {then}\n")
    assert rules.rules[0].then.values == {"type_of_work": MEETING}
    assert rules.unresolved is None


def test_load_rules_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    rules = load_rules(path)
    assert rules.source == str(path)
    assert [r.name for r in rules.rules] == [r.name for r in parse_rules(SPEC_EXAMPLE).rules]


def test_unreadable_file_is_a_rules_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(RulesError) as caught:
        load_rules(missing)
    assert str(caught.value) == f"{missing}: cannot read rules file: No such file or directory"
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\nrules: []\n# \xff\xfe\n")
    with pytest.raises(RulesError, match="not UTF-8"):
        load_rules(binary)


def test_rules_error_is_one_line_data_and_pickles() -> None:
    error = RulesError("bad\n  thing", "r.yaml", 3, "a-rule")
    assert (error.source, error.line, error.rule, error.message) == (
        "r.yaml",
        3,
        "a-rule",
        "bad thing",
    )
    assert str(error) == "r.yaml:3: rule 'a-rule': bad thing"
    assert str(RulesError("whole file")) == "<string>: whole file"
    assert str(pickle.loads(pickle.dumps(error))) == str(error)  # noqa: S301 (our own bytes)


def test_python_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"""version: 1
rules:
  - name: a
    when: {{note: !!python/object/apply:os.system ["touch {marker}"]}}
    then: {{billable: true}}
"""
    with pytest.raises(RulesError):
        parse_rules(text)
    scalar_tag = "version: 1\nrules:\n- name: a\n  when: {note: !!python/name:os.system ''}\n"
    with pytest.raises(RulesError, match="unsupported YAML tag"):
        parse_rules(scalar_tag + "  then: {billable: true}\n")
    assert not marker.exists()


def test_yaml_timestamps_stay_text() -> None:
    rules = parse_rules(
        "version: 1\nrules:\n- name: a\n  when: {startDateUtc: {ge: 2024-05-01}}\n"
        "  then: {billable: true}\n"
    )
    assert rules.rules[0].when({"startDateUtc": "2024-05-06T09:00:00Z"})
    assert not rules.rules[0].when({"startDateUtc": "2024-04-30T09:00:00Z"})


def rule(when: str = "{}", then: str = "{billable: true}", name: str = "r-1") -> str:
    """A file with one valid rule named `ok` (lines 3-5) and the rule under test (lines 6-8)."""
    return (
        "version: 1\nrules:\n"
        "  - name: ok\n    when: {}\n    then: {billed: false}\n"
        f"  - name: {name}\n    when: {when}\n    then: {then}\n"
    )


ERRORS = [
    # (text, line, rule, message)
    ("version: 2\nrules: []\n", 1, None, "unsupported version '2' (expected 1)"),
    ("version: '1'\nrules: []\n", 1, None, "unsupported version '1' (expected 1)"),
    ("rules: []\n", None, None, "missing 'version: 1'"),
    ("version: 1\n", None, None, "missing 'rules' (write 'rules: []' for none)"),
    ("version: 1\nrules:\n", 2, None, "'rules' must be a list, got nothing"),
    ("", None, None, "the rules file is empty"),
    ("- 1\n", 1, None, "the rules file must be a mapping, got a list"),
    (
        "version: 1\nrules: []\nrule: []\n",
        3,
        None,
        "unknown top-level key 'rule' (did you mean 'rules'?)",
    ),
    (
        "version: 1\nrules: []\nrespect_manual_changes: yes please\n",
        3,
        None,
        "must be true or false",
    ),
    ("version: 1\nversion: 1\nrules: []\n", 2, None, "duplicate key 'version' (first on line 1)"),
    ("version: 1\nrules: [\n", 3, None, "invalid YAML: while parsing a flow"),
    ("version: 1\nrules:\n - name: a\n  when: {}\n", 4, None, "invalid YAML:"),
    ("version: 1\nrules: []\n---\nversion: 1\n", 3, None, "expected a single document"),
    ("version: 1\nrules: []\n\x07\n", 3, None, "invalid YAML: special characters are not allowed"),
    ("version: 1\nrules:\n  - just text\n", 3, None, "a rule must be a mapping"),
    (rule(name="ok"), 6, "ok", "duplicate rule name (first on line 3)"),
    (rule(name="'no spaces'"), 6, None, "invalid rule name 'no spaces'"),
    (rule(name="'ünïcode'"), 6, None, "invalid rule name"),
    (
        "version: 1\nrules:\n  - when: {}\n    then: {billable: true}\n",
        3,
        None,
        "rule has no 'name'",
    ),
    (rule() + "    else: {billable: false}\n", 9, "r-1", "unknown rule key 'else'"),
    (rule() + "    then: {billable: false}\n", 9, "r-1", "duplicate key 'then' (first on line 8)"),
    (rule(when=""), 7, "r-1", "'when' is empty (write 'when: {}')"),
    ("version: 1\nrules:\n  - name: r-1\n    then: {billable: true}\n", 3, "r-1", "missing 'when'"),
    (rule(when="[]"), 7, "r-1", "a condition must be a mapping, got a list"),
    (
        rule(when="{projet.name: x}"),
        7,
        "r-1",
        "unknown field 'projet.name' (did you mean 'project.name'?)",
    ),
    (rule(when="{project.key: x}"), 7, "r-1", "(did you mean 'project.projectKey'?)"),
    (rule(when="{project: {name: x}}"), 7, "r-1", "to test a nested field, write 'project.name'"),
    (rule(when="{note: {regex: x}}"), 7, "r-1", "unknown operator 'regex'"),
    (rule(when="{note: {startwith: x}}"), 7, "r-1", "(did you mean 'startswith'?)"),
    (rule(when="{note: {}}"), 7, "r-1", "no operator for field 'note'"),
    (rule(when="{note: [a, b]}"), 7, "r-1", "a bare list for 'note' is ambiguous"),
    (
        rule(when="{note: {matches: '(unclosed'}}"),
        7,
        "r-1",
        "regular expression '(unclosed' is not accepted: missing ): (unclosed",
    ),
    (rule(when="{note: {matches: '(a)\\1'}}"), 7, "r-1", "no lookarounds or backreferences"),
    (rule(when="{note: {matches: '(?=a)'}}"), 7, "r-1", "invalid perl operator: (?="),
    (rule(when="{note: {matches: 1}}"), 7, "r-1", "'matches' needs a regular expression as text"),
    (rule(when="{note: {in: x}}"), 7, "r-1", "'in' needs a non-empty list, got text"),
    (rule(when="{note: {not_in: []}}"), 7, "r-1", "'not_in' needs a non-empty list"),
    (rule(when="{note: {in: [[a]]}}"), 7, "r-1", "must be a plain value, got a list"),
    (rule(when="{note: {eq: {a: 1}}}"), 7, "r-1", "'eq' needs a value, got a mapping"),
    (rule(when="{duration: {gt: true}}"), 7, "r-1", "'gt' needs a number or text, got a boolean"),
    (rule(when="{duration: {le: null}}"), 7, "r-1", "'le' needs a number or text, got null"),
    (rule(when="{note: {startswith: 1}}"), 7, "r-1", "'startswith' needs text, got a number"),
    (
        rule(when="{note: {contains: null}}"),
        7,
        "r-1",
        "'contains' needs text, a number or a boolean",
    ),
    (rule(when="{note: {exists: yes please}}"), 7, "r-1", "'exists' needs true or false, got text"),
    (rule(when="{note: a, note: b}"), 7, "r-1", "duplicate key 'note' (first on line 7)"),
    (rule(when="{any: []}"), 7, "r-1", "'any' needs at least one condition"),
    (rule(when="{all: []}"), 7, "r-1", "'all' needs at least one condition"),
    (rule(when="{not: {}}"), 7, "r-1", "'not: {}' never matches"),
    (rule(when="{any: {note: a}}"), 7, "r-1", "'any' must be a list, got a mapping"),
    (rule(when="{not: {all: [{nte: x}]}}"), 7, "r-1", "unknown field 'nte' (did you mean 'note'?)"),
    ("version: 1\nrules:\n  - name: r-1\n    when: {}\n", 3, "r-1", "missing 'then'"),
    (rule(then="{}"), 8, "r-1", "'then' sets nothing"),
    (rule(then=""), 8, "r-1", "'then' is empty"),
    (rule(then="{billable: yes please}"), 8, "r-1", "'billable' must be true or false"),
    (rule(then="{billed: 1}"), 8, "r-1", "'billed' must be true or false, got '1'"),
    (
        rule(then="{unbillable: true}"),
        8,
        "r-1",
        "unknown action 'unbillable' (did you mean 'billable'?)",
    ),
    (rule(then="{billable: false, billed: true}"), 8, "r-1", "contradict each other"),
    (rule(then="{type_of_work: Meeting}"), 8, "r-1", "'type_of_work' ({id: ...} or {name: ...})"),
    (
        rule(then="{type_of_work: {id: not-a-uuid}}"),
        8,
        "r-1",
        "type_of_work id 'not-a-uuid' is not a UUID",
    ),
    (rule(then="{type_of_work: {id: x, name: y}}"), 8, "r-1", "exactly one of 'id' or 'name'"),
    (rule(then="{type_of_work: {name: ''}}"), 8, "r-1", "type_of_work name must be non-empty text"),
    (rule(then="{type_of_work: {label: x}}"), 8, "r-1", "unknown type_of_work key 'label'"),
]


@pytest.mark.parametrize(("text", "line", "name", "message"), ERRORS)
def test_load_error_names_file_line_and_rule(
    text: str, line: int | None, name: str | None, message: str
) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    error = caught.value
    assert (error.source, error.line, error.rule) == ("rules.yaml", line, name)
    assert message in error.message
    where = "rules.yaml" if line is None else f"rules.yaml:{line}"
    assert str(error).startswith(f"{where}: rule '{name}': " if name else f"{where}: ")
    assert "\n" not in str(error)
