"""The sandbox's in-memory awork workspace: plain dicts shaped exactly as awork's API returns them.

Tests inspect and arrange it directly (`ws.entries[id]["isBilled"] = True`,
`ws.unauthorized_ids.add(id)`); the HTTP routes change entries only through `update_entry` and
`touch_entry`, which keep awork's bookkeeping: a new `resourceVersion` (ticks, strictly increasing
across the workspace), `updatedOn` and `updatedBy`, and the `changes` list a webhook carries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.sandbox.clock import iso_ticks, now_ticks

Entity = dict[str, Any]
Change = dict[str, Any]

# Nested models of a time entry and the workspace table holding the full model.
_NESTED = {
    "project": "projects",
    "task": "tasks",
    "user": "users",
    "typeOfWork": "types_of_work",
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
    api_user: Entity = field(default_factory=dict)
    """The API user the token belongs to: the author of every write made through the API."""
    api_token: str = "sandbox-token"  # noqa: S105 - the sandbox's own fake key, not a secret
    api_user_is_admin: bool = True
    """Only admins may un-bill entries or make billed entries unbillable (api-notes 2.1)."""
    unauthorized_ids: set[str] = field(default_factory=set)
    """Entries the API user may not edit: `unauthorized` in a 207, 401 from legacy endpoints."""
    bad_request_ids: set[str] = field(default_factory=set)
    """Entries awork refuses for another reason: `badRequest` in a 207, 400 from legacy ones."""
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
        user = self.users[user_id]
        return {key: user.get(key) for key in ("id", "firstName", "lastName")}

    def update_entry(self, entry_id: str, values: dict[str, Any], *, by: Entity) -> list[Change]:
        """Set top-level attributes of an entry; returns the changes (empty if none changed).

        Setting `typeOfWorkId` also replaces the nested `typeOfWork`. Each changed entry gets a
        new version, `updatedOn` and `updatedBy`.
        """
        entry = self.entries[entry_id]
        changes = []
        for key, new in values.items():
            old = entry.get(key)
            if old == new:
                continue
            entry[key] = new
            if key == "typeOfWorkId":
                entry["typeOfWork"] = nested_type_of_work(self.types_of_work[new])
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

    def filter_view(self, entry: Entity) -> Mapping[str, Any]:
        """The entry with its nested models completed from the full ones, for `filterby`.

        awork filters on its database model, where `project/companyId` exists although the
        nested project of a time entry does not carry it. Lazy: only what a filter reads.
        """
        return _FilterView(self, entry)


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


def nested_type_of_work(type_of_work: Entity) -> Entity:
    return {key: type_of_work.get(key) for key in ("id", "name", "icon", "isArchived")}


def change(key: str, old: Any, new: Any) -> Change:
    """One `changes` item: PascalCase property, values as .NET prints them (`True`, ISO dates)."""
    return {"property": key[:1].upper() + key[1:], "old": _text(old), "new": _text(new)}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
