"""The sandbox's in-memory awork workspace: plain dicts shaped exactly as awork's API returns them.

Tests inspect and arrange it directly (`ws.entries[id]["isBilled"] = True`,
`ws.unauthorized_ids.add(id)`); the HTTP routes change entries only through `add_entry`,
`update_entry`, `touch_entry` and `remove_entry`, which keep awork's bookkeeping: a new
`resourceVersion` (ticks, strictly increasing across the workspace), `updatedOn` and `updatedBy`,
the nested models that follow an id (`project` follows `projectId`, ...), and the `changes` list
a webhook carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from service.sandbox.clock import iso_ticks, now_ticks
from service.sandbox.models import (
    Entity,
    nested_project,
    nested_task,
    nested_type_of_work,
    nested_user,
    person,
)

Change = dict[str, Any]

ADMIN_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's own fake key, not a secret
"""The API key of the workspace's API user, an admin (awork's API keys are admin by default)."""
MEMBER_TOKEN = "sandbox-member-token"  # noqa: S105 - fake, public
"""The key of a workspace member who is not an admin (`Workspace.member_id`)."""
PERSON_TOKEN_PREFIX = "sandbox-token-"  # noqa: S105 - fake, public
"""`sandbox-token-<first name>` (e.g. `sandbox-token-carla`) acts as that person, not an admin."""

# Nested models of a time entry and the workspace table holding the full model.
_NESTED = {
    "project": "projects",
    "task": "tasks",
    "user": "users",
    "typeOfWork": "types_of_work",
}
# An id attribute, the nested model that follows it, its table and how it is cut.
_FOLLOWERS: dict[str, tuple[str, str, Callable[[Entity], Entity]]] = {
    "projectId": ("project", "projects", nested_project),
    "taskId": ("task", "tasks", nested_task),
    "userId": ("user", "users", nested_user),
    "typeOfWorkId": ("typeOfWork", "types_of_work", nested_type_of_work),
}


@dataclass(eq=False, repr=False)
class Workspace:
    """One awork workspace. Every dict maps an id (lower-case GUID) to an entity."""

    entries: dict[str, Entity] = field(default_factory=dict)
    """Time entries exactly as `GET /timeentries/{id}` returns them (v1 `TimeTracking`)."""
    projects: dict[str, Entity] = field(default_factory=dict)
    tasks: dict[str, Entity] = field(default_factory=dict)
    companies: dict[str, Entity] = field(default_factory=dict)
    types_of_work: dict[str, Entity] = field(default_factory=dict)
    users: dict[str, Entity] = field(default_factory=dict)
    custom_field_definitions: dict[str, Entity] = field(default_factory=dict)
    retainers: dict[str, Entity] = field(default_factory=dict)
    """Retainer contracts by id (`Retainer` without `retainerBudgets`, which `budgets` computes)."""
    api_user: Entity = field(default_factory=dict)
    """The API user the token belongs to: the author of every write made through the API."""
    api_token: str = ADMIN_TOKEN
    api_user_is_admin: bool = True
    """Only admins may un-bill entries or make billed entries unbillable (api-notes 2.1)."""
    member_token: str = MEMBER_TOKEN
    member_id: str | None = None
    """The person `member_token` acts as (None: no member key)."""
    unauthorized_ids: set[str] = field(default_factory=set)
    """Entries no caller may edit: `unauthorized` in a 207, 401 from legacy endpoints."""
    bad_request_ids: set[str] = field(default_factory=set)
    """Entries awork refuses for another reason: `badRequest` in a 207, 400 from legacy ones."""
    live_timers: set[str] = field(default_factory=set)
    """Timers started through the API: stopped automatically 24 h after their start."""
    touch_unchanged: bool = False
    """Whether a write setting a value an entry already has still gives it a new version (and
    so echoes a webhook). Off by default: the spec of the legacy `setbilled` says "entries
    already billed: no change"; switch on to model an awork that saves anyway."""
    id: str = "00000000-0000-4000-8000-000000000001"
    name: str = "Sandbox Agency"
    url: str = "https://sandbox.awork.com"
    last_version: int = 0
    """The newest `resourceVersion` handed out; the next one is strictly larger."""

    def __repr__(self) -> str:
        return (
            f"<Workspace {self.name!r}: {len(self.entries)} entries, {len(self.projects)} projects>"
        )

    def next_version(self) -> int:
        """A new `resourceVersion`: the current ticks, or one more than the last if not later."""
        self.last_version = max(now_ticks(), self.last_version + 1)
        return self.last_version

    def person(self, user_id: str) -> Entity:
        """`{id, firstName, lastName}` of a user, as a webhook's `triggeredBy` carries it."""
        return person(self.users[user_id])

    def add_entry(self, entry: Entity, *, by: Entity) -> Entity:
        """Store a new entry (its nested models filled in, created and updated now by `by`)."""
        version = self.next_version()
        stamp = iso_ticks(version)
        for key in _FOLLOWERS:
            self._follow(entry, key)
        entry.update(
            createdBy=by["id"],
            createdOn=stamp,
            updatedBy=by["id"],
            updatedOn=stamp,
            resourceVersion=version,
        )
        self.entries[entry["id"]] = entry
        return entry

    def update_entry(self, entry_id: str, values: dict[str, Any], *, by: Entity) -> list[Change]:
        """Set top-level attributes of an entry; returns the changes (empty if none changed).

        Setting an id attribute (`typeOfWorkId`, `projectId`, `taskId`, `userId`) also replaces
        the nested model (or removes it with the id). Each changed entry gets a new version,
        `updatedOn` and `updatedBy`.
        """
        entry = self.entries[entry_id]
        changes = []
        for key, new in values.items():
            old = entry.get(key)
            if old == new:
                continue
            entry[key] = new
            self._follow(entry, key)
            changes.append(change(key, old, new))
        if changes or self.touch_unchanged:
            changes += self.touch_entry(entry_id, by=by)
        return changes

    def touch_entry(self, entry_id: str, *, by: Entity | None = None) -> list[Change]:
        """Give an entry a new version and `updatedOn` (a nested model changed, say)."""
        entry = self.entries[entry_id]
        version = self.next_version()
        old = entry.get("updatedOn")
        entry["resourceVersion"] = version
        entry["updatedOn"] = iso_ticks(version)
        if by is not None:
            entry["updatedBy"] = by["id"]
        return [change("updatedOn", old, entry["updatedOn"])]

    def remove_entry(self, entry_id: str, *, by: Entity) -> Entity:
        """Delete an entry; returns it as a `timetracking_deleted` webhook carries it (with a new
        version, `deletedOn` and `deletedBy`)."""
        entry = self.entries.pop(entry_id)
        self.live_timers.discard(entry_id)
        version = self.next_version()
        stamp = iso_ticks(version)
        return {**entry, "resourceVersion": version, "deletedOn": stamp, "deletedBy": by["id"]}

    def filter_view(self, entry: Entity) -> Mapping[str, Any]:
        """The entry with its nested models completed from the full ones, for `filterby`.

        awork filters on its database model, where `project/companyId` exists although the
        nested project of a time entry does not carry it. Lazy: only what a filter reads.
        """
        return _FilterView(self, entry)

    def _follow(self, entry: Entity, key: str) -> None:
        """Refresh the nested model that follows id attribute `key` (no-op for other keys)."""
        if key not in _FOLLOWERS:
            return
        name, table, cut = _FOLLOWERS[key]
        full = getattr(self, table).get(entry.get(key) or "")
        if full is None:
            entry.pop(name, None)
        else:
            entry[name] = cut(full)


class _FilterView(Mapping[str, Any]):
    def __init__(self, ws: Workspace, entry: Entity) -> None:
        self._ws = ws
        self._entry = entry

    def __getitem__(self, key: str) -> Any:
        value = self._entry[key]
        if key in _NESTED:
            table: dict[str, Entity] = getattr(self._ws, _NESTED[key])
            full = table.get(self._entry.get(f"{key}Id") or "")
            if full is not None:
                return {**full, **(value or {})}
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry)

    def __len__(self) -> int:
        return len(self._entry)


def change(key: str, old: Any, new: Any) -> Change:
    """One `changes` item: PascalCase property, values as .NET prints them (`True`, ISO dates;
    a list such as `breaks` as JSON)."""
    return {"property": key[:1].upper() + key[1:], "old": _text(old), "new": _text(new)}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)
