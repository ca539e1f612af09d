"""The field paths a rule may read: awork's time-entry model, as dotted camelCase paths.

`TIME_ENTRY_FIELDS` was generated once from the `TimeTracking` schema in
`../shared/awork/openapi-v1-subset.json` (what `GET /timeentries/{id}` and webhook `entity`
carry), following `$ref`s into the nested models (`project`, `project.company`,
`project.projectType`, `project.projectStatus`, `task`, `task.project`, `task.taskStatus`,
`task.parentTask`, `typeOfWork`, `user`) three levels deep. Arrays (`breaks`) are one field; their
items are not addressable. The runtime never reads `../shared`: when awork's model changes,
regenerate this literal by hand.

`EXTRA_FIELDS` and `WILDCARD_PREFIXES` are not on the time entry itself: they are loaded from the
project, company or task (`GET /projects/{id}`, `GET /tasks/{id}`) when a rule reads them (see
`RuleSet.fields()`), or, for `budget.*`, computed from the entries of the entry's budget. Custom
fields are addressed by name after the prefix, e.g. `project.customFields.Budget`; everything
after the prefix is one key, so names may contain dots.

`FIELD_ALIASES` maps a field to older names awork still sends in real payloads: `project.key`
next to or instead of `projectKey` (SPEC 7.1). A reader tries the aliases in order when the
field itself is absent or null.

`getter(path)` compiles a path into a reader that returns `ABSENT` where the path does not exist
on an entry (a key missing, or a step that is not a mapping, such as `project: null`).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Mapping
from typing import Any, Final

TIME_ENTRY_FIELDS: frozenset[str] = frozenset(
    {
        "breakDuration",
        "breaks",
        "createdBy",
        "createdOn",
        "duration",
        "endDateLocal",
        "endDateUtc",
        "endTimeLocal",
        "endTimeUtc",
        "id",
        "isBillable",
        "isBilled",
        "isExternal",
        "note",
        "project",
        "project.company",
        "project.company.hasImage",
        "project.company.id",
        "project.company.name",
        "project.createdBy",
        "project.hasImage",
        "project.id",
        "project.isBillableByDefault",
        "project.isExternal",
        "project.isPrivate",
        "project.name",
        "project.projectKey",
        "project.projectStatus",
        "project.projectStatus.id",
        "project.projectStatus.isArchived",
        "project.projectStatus.name",
        "project.projectStatus.type",
        "project.projectType",
        "project.projectType.icon",
        "project.projectType.id",
        "project.projectType.isArchived",
        "project.projectType.name",
        "projectId",
        "resourceVersion",
        "startDateLocal",
        "startDateUtc",
        "startTimeLocal",
        "startTimeUtc",
        "task",
        "task.baseType",
        "task.closedOn",
        "task.correlationId",
        "task.createdBy",
        "task.id",
        "task.name",
        "task.parentId",
        "task.parentTask",
        "task.parentTask.id",
        "task.parentTask.name",
        "task.plannedDuration",
        "task.project",
        "task.project.company",
        "task.project.company.hasImage",
        "task.project.company.id",
        "task.project.company.name",
        "task.project.createdBy",
        "task.project.hasImage",
        "task.project.id",
        "task.project.isBillableByDefault",
        "task.project.isExternal",
        "task.project.isPrivate",
        "task.project.name",
        "task.project.projectKey",
        "task.project.projectStatus",
        "task.project.projectStatus.id",
        "task.project.projectStatus.isArchived",
        "task.project.projectStatus.name",
        "task.project.projectStatus.type",
        "task.project.projectType",
        "task.project.projectType.icon",
        "task.project.projectType.id",
        "task.project.projectType.isArchived",
        "task.project.projectType.name",
        "task.projectId",
        "task.taskIdentifier",
        "task.taskStatus",
        "task.taskStatus.icon",
        "task.taskStatus.id",
        "task.taskStatus.name",
        "task.taskStatus.order",
        "task.taskStatus.type",
        "task.taskStatusId",
        "task.typeOfWorkId",
        "taskId",
        "timezone",
        "typeOfWork",
        "typeOfWork.icon",
        "typeOfWork.id",
        "typeOfWork.isArchived",
        "typeOfWork.name",
        "typeOfWorkId",
        "updatedBy",
        "updatedOn",
        "user",
        "user.firstName",
        "user.hasImage",
        "user.id",
        "user.isExternal",
        "user.lastName",
        "userId",
    }
)
"""Every path of the `TimeTracking` model, generated from the OpenAPI schema (see above)."""

PROJECT_BUDGET_FIELDS: frozenset[str] = frozenset(
    {"project.timeBudget", "project.trackedDuration", "project.deductNonBillableHours"}
)
"""A project's budget figures as awork keeps them (`GET /projects`), loaded like its tags."""

BUDGET_FIELDS: frozenset[str] = frozenset(
    {"budget.kind", "budget.seconds", "budget.usedBefore", "budget.within", "budget.usedPercent"}
)
"""What the entry's budget looks like at this entry (SPEC 6a): computed while a budget's entries
are evaluated in order (`workers.rules.ordered`), never read from awork as such."""

EXTRA_FIELDS: frozenset[str] = (
    frozenset({"project.company.tags", "project.isRetainer", "project.tags", "task.tags"})
    | PROJECT_BUDGET_FIELDS
    | BUDGET_FIELDS
)
"""Paths loaded from the project, company or task on demand, or computed (`budget.*`).

(`project.projectStatus.type` and `task.typeOfWorkId`, also wanted by that feature, are already
part of the time-entry model above.)
"""

WILDCARD_PREFIXES: tuple[str, ...] = ("project.customFields.", "task.customFields.")
"""Any non-empty name after one of these prefixes is a known field (custom fields by name)."""

FIELD_ALIASES: Mapping[str, tuple[str, ...]] = {
    "project.projectKey": ("project.key",),
    "task.project.projectKey": ("task.project.key",),
}
"""Older names to fall back to when a field is absent or null on an entry."""

KNOWN_FIELDS: frozenset[str] = TIME_ENTRY_FIELDS | EXTRA_FIELDS
"""Every exact field path a rule may name (wildcards aside)."""

_OLD_NAMES = {old: new for new, olds in FIELD_ALIASES.items() for old in olds}


def is_known(path: str) -> bool:
    """Whether a rule may read `path`."""
    if path in KNOWN_FIELDS:
        return True
    return any(path.startswith(p) and len(path) > len(p) for p in WILDCARD_PREFIXES)


def suggest(path: str) -> str | None:
    """The known field a misspelt or outdated `path` most likely means, if any."""
    if path in _OLD_NAMES:
        return _OLD_NAMES[path]
    matches = difflib.get_close_matches(path, KNOWN_FIELDS, n=1, cutoff=0.75)
    return matches[0] if matches else None


class Absent(enum.Enum):
    """The type of `ABSENT`: the value of a path that does not exist on an entry."""

    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent.ABSENT

Getter = Callable[[Mapping[str, Any]], Any]
"""Reads one path from an entry: the value, or `ABSENT`."""


def getter(path: str) -> Getter:
    """A function reading `path` from an entry (`ABSENT` where it does not exist).

    A field with older names (`FIELD_ALIASES`) falls back to them, in order, when it is absent
    or null on the entry. Any path works here, known or not; rules are checked at load time.
    """
    primary = _walker(_split(path))
    fallbacks = tuple(_walker(_split(alias)) for alias in FIELD_ALIASES.get(path, ()))
    if not fallbacks:
        return primary

    def get(entry: Mapping[str, Any]) -> Any:
        value = primary(entry)
        if value is None or value is ABSENT:
            for fallback in fallbacks:
                older = fallback(entry)
                if older is not None and older is not ABSENT:
                    return older
        return value

    return get


def _split(path: str) -> tuple[str, ...]:
    # A custom field's name is one key, dots and all.
    for prefix in WILDCARD_PREFIXES:
        if path.startswith(prefix):
            return (*prefix[:-1].split("."), path[len(prefix) :])
    return tuple(path.split("."))


def _walker(keys: tuple[str, ...]) -> Getter:
    if len(keys) == 1:
        (key,) = keys
        return lambda entry: entry.get(key, ABSENT)

    def walk(entry: Mapping[str, Any]) -> Any:
        value: Any = entry
        for key in keys:
            # `type(...) is dict` first: payloads are plain dicts, and isinstance against the
            # Mapping ABC is several times slower.
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(key, ABSENT)
            else:
                return ABSENT
        return value

    return walk
