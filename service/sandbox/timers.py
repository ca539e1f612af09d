"""The timer routes and "last entry" reads (behaviour: `timekeeping`).

- `POST /me/timetracking/start|stop|pause|resume` (`?userId=` acts for another user) and
  `POST /users/{id}/timetracking/start|stop`: start answers the new timer; stop, pause and resume
  answer the timer, or 204 when the user has none running. Start and stop: "the user must be an
  admin or the creator"; pause and resume: the creator only (401 otherwise).
- `GET /me/timeentries/last` (`?userId=`), `GET /users/{id}/timeentries/last`: the user's last
  started entry, 204 when there is none; admin or the user.
- `GET /timetracking/settings`: the workspace's settings, shown but not enforced by the sandbox
  (nothing is "prevented on done projects", past days are allowed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import envelopes, timekeeping
from service.sandbox.paging import query
from service.sandbox.permissions import caller
from service.sandbox.responses import ApiError, JSONResponse, read_form
from service.sandbox.state import sandbox_of

SETTINGS = [
    {"type": "prevent-on-done-projects", "enabled": False, "dayCount": None},
    {"type": "allow-on-past-days", "enabled": True, "dayCount": None},
]

Endpoint = Callable[[Request], Awaitable[Response]]
TimerChange = Callable[..., list[dict[str, object]]]


def _user(request: Request, *, owner_only: bool = False) -> str:
    """The user a timer route acts for (path, `?userId=`, else the caller), checked."""
    state, actor = sandbox_of(request), caller(request)
    user_id = (request.path_params.get("id") or query(request).get("userid") or actor.id).lower()
    if user_id not in state.workspace.users:
        raise ApiError(404, "not-found", f"User {user_id} not found.")
    if owner_only and user_id != actor.id:
        raise ApiError(401, "unauthorized", "Only the user may pause or resume their timer.")
    actor.require_for(user_id)
    return user_id


async def start(request: Request) -> Response:
    user_id = _user(request)
    form = await read_form(request, "StartTimeTrackingForm")
    state, actor = sandbox_of(request), caller(request)
    ws = state.workspace
    old = timekeeping.running(ws, user_id)
    if old is not None:
        state.publish_changes([(old["id"], timekeeping.stop(ws, old, actor.user))], actor.person())
    entry = timekeeping.start(ws, user_id, form, actor.user)
    state.publish([envelopes.added(entry, triggered_by=actor.person())])
    return JSONResponse(entry)


async def stop(request: Request) -> Response:
    user_id = _user(request)
    if (await request.body()).strip():
        await read_form(request, "StopTimeTrackingForm")
    return _on_timer(request, user_id, timekeeping.stop)


def _change(change: TimerChange, *, owner_only: bool) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return _on_timer(request, _user(request, owner_only=owner_only), change)

    return endpoint


def _on_timer(request: Request, user_id: str, change: TimerChange) -> Response:
    """Apply `change(ws, timer, by)` to the user's running timer; 204 without one."""
    state, actor = sandbox_of(request), caller(request)
    timer = timekeeping.running(state.workspace, user_id)
    if timer is None:
        return Response(status_code=204)
    changes = change(state.workspace, timer, actor.user)
    state.publish_changes([(timer["id"], changes)], actor.person())
    return JSONResponse(state.workspace.entries[timer["id"]])


async def last(request: Request) -> Response:
    entry = timekeeping.last(sandbox_of(request).workspace, _user(request))
    return Response(status_code=204) if entry is None else JSONResponse(entry)


async def settings(request: Request) -> Response:
    return JSONResponse(SETTINGS)


routes = [
    Route("/me/timetracking/start", start, methods=["POST"]),
    Route("/me/timetracking/stop", stop, methods=["POST"]),
    Route("/me/timetracking/pause", _change(timekeeping.pause, owner_only=True), methods=["POST"]),
    Route(
        "/me/timetracking/resume", _change(timekeeping.resume, owner_only=True), methods=["POST"]
    ),
    Route("/users/{id}/timetracking/start", start, methods=["POST"]),
    Route("/users/{id}/timetracking/stop", stop, methods=["POST"]),
    Route("/me/timeentries/last", last, methods=["GET"]),
    Route("/users/{id}/timeentries/last", last, methods=["GET"]),
    Route("/timetracking/settings", settings, methods=["GET"]),
]
