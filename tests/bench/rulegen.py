"""A generated 50-rule file for figure 5: 48 narrow rules of mixed operators, then 2 catch-alls.

Each narrow rule pairs one operator clause (eq, in, matches, startswith, gt, exists, any, not,
ne, not_in, le, endswith, in turn) with a person, a time zone and an early start, so that it
matches under 1 % of the entries: most entries are tested against nearly every rule before a
catch-all decides them, close to the worst case of first-match-wins evaluation. Deterministic,
so that ratios compare across runs.
"""

from __future__ import annotations

from service.sandbox.agency import PEOPLE, PROJECTS, TYPES_OF_WORK

NARROW = 48
CLAUSES = [
    ("eq", 'project.name: "{project}"'),
    ("in", 'task.name: {{in: ["Backend API", "Reporting", "{word}"]}}'),
    ("matches", r"note: {{matches: '(?i)\b({word}|review)\b'}}"),
    ("startswith", 'project.name: {{startswith: "{prefix}"}}'),
    ("gt", "duration: {{gt: {seconds}}}"),
    ("exists", "task.id: {{exists: true}}"),
    ("any", 'any: [{{note: {{contains: "{word}"}}}}, {{typeOfWork.name: "{type}"}}]'),
    ("not", 'not: {{project.company.name: "Our Agency GmbH"}}'),
    ("ne", 'typeOfWork.name: {{ne: "{type}"}}'),
    ("not_in", 'user.lastName: {{not_in: ["{last}", "Nobody"]}}'),
    ("le", 'startDateUtc: {{le: "2026-10-{day:02d}"}}'),
    ("endswith", 'project.projectType.name: {{endswith: "{suffix}"}}'),
]
WORDS = ["call", "meeting", "bug", "mockups", "workshop", "release", "invoicing", "sync"]
CATCH_ALLS = """
  - name: client-work-is-billable
    when:
      project.company.name: {exists: true}
    then:
      billable: true
      type_of_work: {name: "Development"}
  - name: everything-else-is-unbillable
    when: {}
    then:
      billable: false
"""


def fifty_rules() -> str:
    """The rules file's text."""
    return "version: 1\nrules:\n" + "".join(_rule(i) for i in range(NARROW)) + CATCH_ALLS


def _rule(i: int) -> str:
    kind, clause = CLAUSES[i % len(CLAUSES)]
    first, _, _ = PEOPLE[i % len(PEOPLE)]
    values = {
        "project": PROJECTS[(i * 7 + 3) % len(PROJECTS)][0],
        "prefix": PROJECTS[(i * 5) % len(PROJECTS)][0].split()[0],
        "word": WORDS[i % len(WORDS)],
        "seconds": 1800 + 600 * (i % 5),
        "type": _types()[i % len(_types())],
        "last": PEOPLE[(i + 1) % len(PEOPLE)][1],
        "day": 1 + i % 28,
        "suffix": ["price", "material", "Retainer", "nal"][i % 4],
    }
    return (
        f"  - name: rule-{i:02d}-{kind.replace('_', '-')}\n"
        "    when:\n"
        f"      {clause.format(**values)}\n"
        f'      user.firstName: "{first}"\n'
        '      timezone: {in: ["Europe/Berlin", "Europe/Vienna"]}\n'
        f"      project.id: {{exists: true}}\n"
        f'      startTimeUtc: {{lt: "{7 + i % 3:02d}:30:00"}}\n'
        "    then:\n"
        f"      {_action(i)}\n"
    )


def _types() -> list[str]:
    return [name for name, _, archived in TYPES_OF_WORK if not archived]


def _action(i: int) -> str:
    if i % 3 == 0:
        return f"billable: {'true' if i % 2 else 'false'}"
    if i % 3 == 1:
        return f'type_of_work: {{name: "{_types()[i % len(_types())]}"}}'
    return "billed: false"
