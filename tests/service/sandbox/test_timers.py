from __future__ import annotations

from typing import Any

from service.sandbox import timing
from service.sandbox.clock import now_ticks
from tests.service.sandbox.helpers import MEMBER, Receiver, Sandbox

DAY = 86_400


def _form(sandbox: Sandbox, **changes: Any) -> dict[str, Any]:
    form = {"timezone": "Europe/Berlin", "typeOfWorkId": sandbox.named("types_of_work", "Meeting")}
    return {**form, **changes}


def _rewind(entry: dict[str, Any], seconds: int) -> None:
    """Move a running timer's start `seconds` into the past (arranging, not through the API)."""
    start = now_ticks() - seconds * timing.SECOND
    entry.update(timing.fields(start, None, timing.zone(entry["timezone"])))


async def test_start_pause_resume_stop(hooked: Sandbox, receiver: Receiver) -> None:
    project = hooked.named("projects", "Hafenkante Dashboard")
    started = await hooked.client.post(
        "/me/timetracking/start", json=_form(hooked, projectId=project, note="Weekly sync")
    )
    timer = started.json()
    assert (timer["duration"], timer["endTimeUtc"], timer["isBillable"]) == (0, None, True)
    assert timer["userId"] == hooked.ws.api_user["id"]
    paused = (await hooked.client.post("/me/timetracking/pause")).json()
    assert paused["breaks"][0]["endDate"] is None
    again = await hooked.client.post("/me/timetracking/pause")
    assert again.json()["resourceVersion"] == paused["resourceVersion"]  # nothing happens
    resumed = (await hooked.client.post("/me/timetracking/resume")).json()
    assert resumed["breaks"][0]["duration"] == resumed["breakDuration"] == 0
    _rewind(hooked.ws.entries[timer["id"]], 3600)
    stopped = (await hooked.client.post("/me/timetracking/stop", json={})).json()
    assert stopped["endTimeUtc"] is not None
    assert 3590 <= stopped["duration"] <= 3610
    assert (await hooked.client.post("/me/timetracking/stop")).status_code == 204
    assert (await hooked.client.post("/me/timetracking/pause")).status_code == 204
    await hooked.state.settle()
    kinds = [e["eventType"] for e in receiver.events]
    assert kinds[0] == "timetracking_added"
    assert kinds.count("timetracking_updated") == 3  # pause, resume, stop


async def test_starting_stops_the_running_timer(sandbox: Sandbox) -> None:
    first = (await sandbox.client.post("/me/timetracking/start", json=_form(sandbox))).json()
    second = (await sandbox.client.post("/me/timetracking/start", json=_form(sandbox))).json()
    assert sandbox.ws.entries[first["id"]]["endTimeUtc"] is not None
    assert timing.is_running(sandbox.ws.entries[second["id"]])


async def test_remove_breaks_resumes_a_paused_timer(sandbox: Sandbox) -> None:
    timer = (await sandbox.client.post("/me/timetracking/start", json=_form(sandbox))).json()
    await sandbox.client.post("/me/timetracking/pause")
    resumed = (await sandbox.client.post(f"/timeentries/{timer['id']}/removebreaks")).json()
    assert (resumed["breaks"], resumed["duration"]) == ([], 0)


async def test_acting_for_another_user_needs_admin(sandbox: Sandbox) -> None:
    carla = sandbox.named("users", "Carla")
    path = f"/users/{carla}/timetracking/start"
    assert (await sandbox.client.post(path, json=_form(sandbox), headers=MEMBER)).status_code == 401
    timer = (await sandbox.client.post(path, json=_form(sandbox))).json()
    assert timer["userId"] == carla
    pause = await sandbox.client.post("/me/timetracking/pause", params={"userId": carla})
    assert pause.status_code == 401  # pausing: the creator only
    mine = await sandbox.client.post("/me/timetracking/start", json=_form(sandbox), headers=MEMBER)
    assert mine.json()["userId"] == sandbox.ws.member_id
    stopped = await sandbox.client.post(f"/users/{carla}/timetracking/stop")
    assert stopped.json()["id"] == timer["id"]


async def test_a_timer_stops_by_itself_after_24_hours(hooked: Sandbox, receiver: Receiver) -> None:
    timer = (await hooked.client.post("/me/timetracking/start", json=_form(hooked))).json()
    _rewind(hooked.ws.entries[timer["id"]], DAY + 600)
    await hooked.client.get("/typeofwork")  # any call
    entry = hooked.ws.entries[timer["id"]]
    assert entry["duration"] == DAY
    begin = timing.start_of(entry)
    assert begin is not None
    assert timing.end_of(entry) == begin + DAY * timing.SECOND
    await hooked.state.settle()
    assert receiver.events[-1]["triggeredBy"]["id"] == hooked.ws.api_user["id"]


async def test_a_seeded_running_timer_stays_until_stopped(sandbox: Sandbox) -> None:
    carla = sandbox.named("users", "Carla")
    started = (
        await sandbox.client.post(f"/users/{carla}/timetracking/start", json=_form(sandbox))
    ).json()
    sandbox.ws.live_timers.clear()  # as if seeded
    _rewind(sandbox.ws.entries[started["id"]], 3 * DAY)
    await sandbox.client.get("/typeofwork")
    assert timing.is_running(sandbox.ws.entries[started["id"]])
    stopped = (await sandbox.client.post(f"/users/{carla}/timetracking/stop")).json()
    assert stopped["duration"] == DAY  # never longer than 24 h


async def test_the_last_entry_is_the_last_started(sandbox: Sandbox) -> None:
    carla = sandbox.named("users", "Carla")
    mine = [e for e in sandbox.ws.entries.values() if e["userId"] == carla]
    newest = max(mine, key=lambda e: timing.start_of(e) or 0)
    last = await sandbox.client.get(f"/users/{carla}/timeentries/last")
    assert last.json()["id"] == newest["id"]
    future = dict(newest, id="0f0f0f0f-0000-4000-8000-0000000000ff")
    future.update(timing.fields(now_ticks() + DAY * timing.SECOND, None, timing.zone("UTC")))
    sandbox.ws.entries[future["id"]] = future
    again = await sandbox.client.get("/me/timeentries/last", params={"userId": carla})
    assert again.json()["id"] == newest["id"]  # started in the future: ignored
    assert (await sandbox.client.get("/me/timeentries/last")).status_code == 204  # the API user
    denied = await sandbox.client.get(f"/users/{carla}/timeentries/last", headers=MEMBER)
    assert denied.status_code == 401


async def test_settings(sandbox: Sandbox) -> None:
    settings = (await sandbox.client.get("/timetracking/settings")).json()
    assert {s["type"] for s in settings} == {"prevent-on-done-projects", "allow-on-past-days"}
