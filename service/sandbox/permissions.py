"""Who is calling, and what they may do (api-notes 2.1, 2.2, 4.1, 4.3; SPEC 7.2).

The keys the sandbox accepts (`Authorization: Bearer <key>`):
- `Workspace.api_token` (`sandbox-token`): the API user, an admin as awork's API keys are by
  default — unless a test switches `Workspace.api_user_is_admin` off to model a service whose API
  user has a member role;
- `Workspace.member_token` (`sandbox-member-token`): the person `Workspace.member_id` (the seed:
  Ben Müller), not an admin — as that person's own OAuth token would act;
- `sandbox-token-<first name>` (`sandbox-token-carla`, ...): any seeded person, not an admin.
Every write is authored by the caller: `updatedBy`, `createdBy` and the webhooks' `triggeredBy`.

What only an admin may do, in awork's words: make a billed entry unbillable, turn a billed entry
back to unbilled, change the project, task or user of a billed entry, delete a billed entry;
manage webhooks; act for another user on the timer and "last entry" routes ("the user must be an
admin or the creator"). A refusal is `unauthorized` in a 207, 401 on single-entry routes
("permission failures are 401, not 403"), and 400 on the legacy routes for an admin-only change
(`setunbillable`, `setunbilled`, `delete`: api-notes 2.2); `setunbilled` and `delete` publish no
401 or 404 at all, so every refusal there is a 400.

Assumptions where awork is silent:
- every key's role has `project-timetracking` write in every project, so apart from the admin-only
  rules a member may edit, create and delete anyone's unbilled entries;
- changing the type of work of a billed entry is allowed (the spec still says "TODO: check if only
  admins should be able to change for billed"), and so are edits of its note and times;
- ids in `Workspace.unauthorized_ids` are refused for every caller, admins included (a test knob
  for entries of projects the key cannot see).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from service.sandbox.models import Entity, person
from service.sandbox.responses import ApiError
from service.sandbox.workspace import PERSON_TOKEN_PREFIX, Workspace

_MOVES = ("projectId", "taskId", "userId")


@dataclass(frozen=True)
class Actor:
    """The caller: a user of the workspace and whether their role is admin."""

    user: Entity
    is_admin: bool

    @property
    def id(self) -> str:
        user_id: str = self.user["id"]
        return user_id

    def person(self) -> Entity:
        return person(self.user)

    def may_act_for(self, user_id: str) -> bool:
        return self.is_admin or user_id.lower() == self.id

    def require_for(self, user_id: str) -> None:
        """401 unless the caller is an admin or the user in question."""
        if not self.may_act_for(user_id):
            raise ApiError(401, "unauthorized", "Only admins may act for another user.")

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise ApiError(401, "unauthorized", f"{what} needs admin rights.")


def caller(request: Request) -> Actor:
    """The actor `Gateway` found for this request's token."""
    actor: Actor = request.scope["state"]["actor"]
    return actor


def resolve(ws: Workspace, token: bytes) -> Actor | None:
    """The actor a bearer token stands for, or None (compared in constant time)."""
    if hmac.compare_digest(token, ws.api_token.encode()):
        return Actor(ws.api_user, ws.api_user_is_admin)
    if ws.member_id in ws.users and hmac.compare_digest(token, ws.member_token.encode()):
        return Actor(ws.users[ws.member_id], False)
    prefix = PERSON_TOKEN_PREFIX.encode()
    if token.startswith(prefix):
        name = token[len(prefix) :].decode("utf-8", "replace")
        for user_id, user in ws.users.items():
            if user_id != ws.api_user.get("id") and (user.get("firstName") or "").lower() == name:
                return Actor(user, False)
    return None


def known_keys(ws: Workspace) -> list[dict[str, Any]]:
    """Every key the sandbox accepts, with whom it acts as (for `GET /_sandbox/keys`)."""
    keys = [_key(ws.api_token, ws.api_user, ws.api_user_is_admin)]
    if ws.member_id in ws.users:
        keys.append(_key(ws.member_token, ws.users[ws.member_id], False))
    for user_id, user in ws.users.items():
        if user_id != ws.api_user.get("id") and user.get("firstName"):
            keys.append(_key(PERSON_TOKEN_PREFIX + user["firstName"].lower(), user, False))
    return keys


def verdict(
    ws: Workspace, actor: Actor, entry_id: str, values: dict[str, Any], *, delete: bool = False
) -> str:
    """`ok`, `notFound`, `unauthorized`, `needsAdmin` or `badRequest` for writing `values` to
    (or, with `delete`, deleting) an entry."""
    entry = ws.entries.get(entry_id)
    if entry is None:
        return "notFound"
    if entry_id in ws.unauthorized_ids:
        return "unauthorized"
    if entry.get("isBilled") and not actor.is_admin and _admin_only(entry, values, delete):
        return "needsAdmin"
    if entry_id in ws.bad_request_ids:
        return "badRequest"
    return "ok"


def require_single(
    ws: Workspace, actor: Actor, entry_id: str, values: dict[str, Any], *, delete: bool = False
) -> None:
    """The answer of a single-entry route: 404, 401 (any permission failure) or 400."""
    found = verdict(ws, actor, entry_id, values, delete=delete)
    if found == "notFound":
        raise ApiError(404, "not-found", f"Time entry {entry_id} not found.")
    if found == "unauthorized":
        raise ApiError(401, "unauthorized", f"Not allowed to edit time entry {entry_id}.")
    if found == "needsAdmin":
        raise ApiError(
            401, "unauthorized", "Only admins may un-bill, move or delete a billed time entry."
        )
    if found == "badRequest":
        raise ApiError(400, "invalid-operation", f"Time entry {entry_id} cannot be changed.")


def _admin_only(entry: Entity, values: dict[str, Any], delete: bool) -> bool:
    """On a billed entry: un-billing, making it unbillable, moving it, deleting it."""
    if delete or values.get("isBillable") is False or values.get("isBilled") is False:
        return True
    return any(key in values and values[key] != entry.get(key) for key in _MOVES)


def _key(token: str, user: Entity, admin: bool) -> dict[str, Any]:
    return {"token": token, "userId": user.get("id"), "name": _name(user), "isAdmin": admin}


def _name(user: Entity) -> str:
    return " ".join(part for part in (user.get("firstName"), user.get("lastName")) if part)
