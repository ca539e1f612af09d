from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.service.sandbox.helpers import UNKNOWN_ID, Sandbox, entry_ids, put_form

BATCH = "/timeentries/batch/{}"


async def test_listing_pages_with_awork_headers(sandbox: Sandbox) -> None:
    response = await sandbox.client.get("/timeentries", params={"page": 2, "pageSize": 25})
    assert response.status_code == 200
    headers = {
        k: response.headers[k] for k in ("aw-page", "aw-pagesize", "aw-items", "aw-totalitems")
    }
    assert headers == {"aw-page": "2", "aw-pagesize": "25", "aw-items": "25", "aw-totalitems": "60"}
    assert [e["id"] for e in response.json()] == list(sandbox.ws.entries)[25:50]
    last = await sandbox.client.get("/timeentries", params={"page": 3, "pageSize": 25})
    assert last.headers["aw-items"] == "10"
    default = await sandbox.client.get("/timeentries")
    assert default.headers["aw-pagesize"] == "10"
    assert len(default.json()) == 10


@pytest.mark.parametrize(
    "params", [{"pageSize": 1001}, {"pageSize": 0}, {"page": 0}, {"page": "x"}]
)
async def test_bad_paging_is_refused(sandbox: Sandbox, params: dict[str, Any]) -> None:
    response = await sandbox.client.get("/timeentries", params=params)
    assert response.status_code == 400


async def test_filter_by_ids(sandbox: Sandbox) -> None:
    wanted = list(sandbox.ws.entries)[3:6]
    literals = ", ".join(f"guid'{i.upper()}'" for i in wanted)
    response = await sandbox.client.get(
        "/timeentries", params={"filterby": f"id in ({literals})", "pageSize": 100}
    )
    assert sorted(e["id"] for e in response.json()) == sorted(wanted)
    assert response.headers["aw-totalitems"] == "3"


async def test_filter_by_updated_on_finds_what_changed(sandbox: Sandbox) -> None:
    newest = max(e["updatedOn"] for e in sandbox.ws.entries.values())
    changed = entry_ids(sandbox, 2, isBillable=False)
    await sandbox.client.post(
        BATCH.format("setIsBillable"), json={"timeEntryIds": changed, "isBillable": True}
    )
    params: dict[str, str | int] = {
        "filterby": f"updatedOn gt datetime'{newest}'",
        "orderby": "updatedOn desc",
        "pageSize": 100,
    }
    response = await sandbox.client.get("/timeentries", params=params)
    assert [e["id"] for e in response.json()] == changed[::-1]


async def test_filter_with_and_or_not_and_nested_properties(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    agency = next(c["id"] for c in ws.companies.values() if c["name"] == "Our Agency GmbH")
    expression = (
        f"project/companyId ne guid'{agency}' and (isBillable eq false or not (isBilled eq false))"
    )
    response = await sandbox.client.get(
        "/timeentries", params={"filterby": expression, "pageSize": 1000}
    )
    expected = [
        i
        for i, e in ws.entries.items()
        if ws.projects.get(e["projectId"] or "", {}).get("companyId") != agency
        and (not e["isBillable"] or e["isBilled"])
    ]
    assert [e["id"] for e in response.json()] == expected
    assert 0 < len(expected) < len(ws.entries)


@pytest.mark.parametrize(
    "expression",
    ["isBillable eq", "noSuchField eq 1", "id eq guid'123'", "isBillable eq true) or (1"],
)
async def test_a_bad_filter_is_invalid_filter_or_order(sandbox: Sandbox, expression: str) -> None:
    response = await sandbox.client.get("/timeentries", params={"filterby": expression})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid-filter-or-order"


async def test_query_names_are_case_insensitive(sandbox: Sandbox) -> None:
    response = await sandbox.client.get(
        "/timeentries", params={"filterBy": "isBilled eq true", "PAGESIZE": 500}
    )
    assert response.headers["aw-pagesize"] == "500"
    assert all(e["isBilled"] for e in response.json())


async def test_get_one_entry(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    response = await sandbox.client.get(f"/timeentries/{entry_id.upper()}")
    assert response.json() == sandbox.ws.entries[entry_id]
    missing = await sandbox.client.get(f"/timeentries/{UNKNOWN_ID}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not-found"


def _post_form(sandbox: Sandbox, **changes: Any) -> dict[str, Any]:
    form = {
        "timezone": "Europe/Berlin",
        "typeOfWorkId": sandbox.named("types_of_work", "Design"),
        "userId": sandbox.named("users", "Carla"),
        "projectId": sandbox.named("projects", "Nordlicht Webshop"),
        "startDateLocal": "2026-11-23T00:00:00",
        "startTimeLocal": "09:00:00",
        "endDateLocal": "2026-11-23T00:00:00",
        "endTimeLocal": "10:30:00",
        "note": "Homepage mockups",
    }
    return {**form, **changes}


async def test_create_derives_times_and_defaults(sandbox: Sandbox) -> None:
    before = sandbox.ws.last_version
    response = await sandbox.client.post("/timeentries", json=_post_form(sandbox))
    assert response.status_code == 200
    entry = response.json()
    assert sandbox.ws.entries[entry["id"]] == entry
    assert (entry["startDateUtc"], entry["startTimeUtc"]) == ("2026-11-23T00:00:00Z", "08:00:00")
    assert (entry["endTimeUtc"], entry["duration"]) == ("09:30:00", 5400)
    assert (entry["isBillable"], entry["isBilled"]) == (True, False)  # the project's default
    assert entry["project"]["name"] == "Nordlicht Webshop"
    assert (entry["typeOfWork"]["name"], entry["user"]["firstName"]) == ("Design", "Carla")
    assert (entry["taskId"], "task" in entry) == (None, False)
    assert entry["createdBy"] == entry["updatedBy"] == sandbox.ws.api_user["id"]
    assert entry["resourceVersion"] > before
    assert (entry["breaks"], entry["breakDuration"]) == ([], 0)


@pytest.mark.parametrize(
    ("project", "billable"),
    [("Internal: Admin & Ops", False), ("Kiezkind Brand Refresh", True), (None, False)],
)
async def test_billable_defaults_from_the_project(
    sandbox: Sandbox, project: str | None, billable: bool
) -> None:
    project_id = sandbox.named("projects", project) if project else None
    response = await sandbox.client.post(
        "/timeentries", json=_post_form(sandbox, projectId=project_id)
    )
    assert response.json()["isBillable"] is billable
    explicit = await sandbox.client.post(
        "/timeentries", json=_post_form(sandbox, projectId=project_id, isBillable=not billable)
    )
    assert explicit.json()["isBillable"] is not billable


async def test_a_task_sets_the_project(sandbox: Sandbox) -> None:
    task = next(t for t in sandbox.ws.tasks.values() if t["name"] == "UI design")
    response = await sandbox.client.post(
        "/timeentries", json=_post_form(sandbox, projectId=None, taskId=task["id"])
    )
    entry = response.json()
    assert (entry["projectId"], entry["task"]["name"]) == (task["projectId"], "UI design")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"userId": None}, "userId"),
        ({"typeOfWorkId": UNKNOWN_ID}, "typeOfWorkId"),
        ({"projectId": UNKNOWN_ID}, "projectId"),
        ({"taskId": UNKNOWN_ID}, "taskId"),
        ({"userId": UNKNOWN_ID}, "userId"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"breakDuration": 600}, "breakDuration"),
        ({"startDateUtc": "2026-11-23T08:00:00Z"}, "startDateLocal"),
        ({"endDateLocal": None, "endTimeLocal": None}, "duration"),
        ({"endTimeLocal": "08:00:00"}, "endTimeUtc"),
    ],
)
async def test_create_names_what_is_missing_or_wrong(
    sandbox: Sandbox, changes: dict[str, Any], named: str
) -> None:
    form = {k: v for k, v in _post_form(sandbox, **changes).items() if v is not None}
    count = len(sandbox.ws.entries)
    response = await sandbox.client.post("/timeentries", json=form)
    assert response.status_code == 400
    assert named in [e["property"] for e in response.json()["validationErrors"]]
    assert len(sandbox.ws.entries) == count


async def test_a_task_of_another_project_is_refused(sandbox: Sandbox) -> None:
    task = next(t for t in sandbox.ws.tasks.values() if t["name"] == "Bug fixing")
    response = await sandbox.client.post(
        "/timeentries", json=_post_form(sandbox, taskId=task["id"])
    )
    assert response.json()["validationErrors"][0]["property"] == "projectId"


async def test_put_is_a_full_replace(sandbox: Sandbox) -> None:
    (entry_id,) = entry_ids(sandbox, 1, isBilled=False, isBillable=True)
    entry = sandbox.ws.entries[entry_id]
    form = {k: v for k, v in put_form(entry, note="Rewritten").items() if k != "isBillable"}
    form.pop("taskId")
    response = await sandbox.client.put(f"/timeentries/{entry_id}", json=form)
    assert response.status_code == 200
    body = response.json()
    assert body == sandbox.ws.entries[entry_id]
    assert (body["note"], body["isBillable"], body["taskId"]) == ("Rewritten", False, None)
    assert "task" not in body


async def test_put_moves_the_times(sandbox: Sandbox) -> None:
    (entry_id,) = entry_ids(sandbox, 1, isBilled=False)
    entry = sandbox.ws.entries[entry_id]
    form = {k: v for k, v in put_form(entry).items() if "Local" not in k and "Utc" not in k}
    moved = {**form, "startDateUtc": "2026-11-02T00:00:00Z", "startTimeUtc": "07:00:00"}
    body = (await sandbox.client.put(f"/timeentries/{entry_id}", json=moved)).json()
    assert (body["startTimeLocal"], body["duration"]) == ("08:00:00", entry["duration"])
    end = {**form, "duration": 1800, "endDateUtc": "2026-11-02T00:00:00Z", "endTimeUtc": "10:00:00"}
    body = (await sandbox.client.put(f"/timeentries/{entry_id}", json=end)).json()
    assert (body["startTimeUtc"], body["endTimeLocal"]) == ("09:30:00", "11:00:00")


async def test_put_of_what_was_read_changes_nothing(sandbox: Sandbox) -> None:
    for entry_id in entry_ids(sandbox, 10):
        entry = dict(sandbox.ws.entries[entry_id])
        response = await sandbox.client.put(f"/timeentries/{entry_id}", json=put_form(entry))
        assert response.json() == entry


async def test_put_on_a_running_timer_moves_only_its_start(sandbox: Sandbox) -> None:
    start = {"timezone": "Europe/Berlin", "typeOfWorkId": sandbox.named("types_of_work", "Meeting")}
    running = (await sandbox.client.post("/me/timetracking/start", json=start)).json()
    # An hour before it started: in the past, and within the 24 h after which a timer the API
    # started is stopped (a start of yesterday 06:00 was stopped on the next call after 06:00)
    began = datetime.fromisoformat(running["startDateUtc"][:10] + "T" + running["startTimeUtc"])
    earlier, later = began - timedelta(hours=1), began - timedelta(minutes=30)
    day, at = f"{earlier.date()}T00:00:00Z", earlier.strftime("%H:%M:%S")
    form = put_form(
        running,
        startDateUtc=day,
        startTimeUtc=at,
        startDateLocal=None,
        startTimeLocal=None,
    )
    body = (await sandbox.client.put(f"/timeentries/{running['id']}", json=form)).json()
    moved = (body["startDateUtc"], body["startTimeUtc"], body["endTimeUtc"], body["duration"])
    assert moved == (day, at, None, 0)
    ended = {
        **form,
        "endDateUtc": f"{later.date()}T00:00:00Z",
        "endTimeUtc": later.strftime("%H:%M:%S"),
    }
    refused = await sandbox.client.put(f"/timeentries/{running['id']}", json=ended)
    assert refused.status_code == 400


async def test_put_and_delete_an_unknown_entry(sandbox: Sandbox) -> None:
    entry = next(iter(sandbox.ws.entries.values()))
    assert (
        await sandbox.client.put(f"/timeentries/{UNKNOWN_ID}", json=put_form(entry))
    ).status_code == 404
    assert (await sandbox.client.delete(f"/timeentries/{UNKNOWN_ID}")).status_code == 404


async def test_put_needs_timezone_and_type_of_work(sandbox: Sandbox) -> None:
    entry = next(iter(sandbox.ws.entries.values()))
    form = {k: v for k, v in put_form(entry).items() if k not in ("timezone", "typeOfWorkId")}
    response = await sandbox.client.put(f"/timeentries/{entry['id']}", json=form)
    assert response.status_code == 400
    assert {e["property"] for e in response.json()["validationErrors"]} == {
        "timezone",
        "typeOfWorkId",
    }


async def test_delete_one_entry(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    assert (await sandbox.client.delete(f"/timeentries/{entry_id}")).status_code == 204
    assert entry_id not in sandbox.ws.entries
    assert (await sandbox.client.get(f"/timeentries/{entry_id}")).status_code == 404


async def test_remove_breaks_gives_the_time_back(sandbox: Sandbox) -> None:
    (entry_id,) = entry_ids(sandbox, 1, isBilled=False)
    entry = sandbox.ws.entries[entry_id]
    entry.update(breakDuration=600, duration=entry["duration"] - 600)
    entry["breaks"] = [
        {"startDate": "2026-11-02T10:00:00Z", "endDate": "2026-11-02T10:10:00Z", "duration": 600}
    ]
    response = await sandbox.client.post(f"/timeentries/{entry_id}/removebreaks")
    body = response.json()
    assert (body["breaks"], body["breakDuration"]) == ([], 0)
    assert (
        body["duration"]
        == (await sandbox.client.get(f"/timeentries/{entry_id}")).json()["duration"]
    )
    again = await sandbox.client.post(f"/timeentries/{entry_id}/removebreaks")
    assert again.json()["resourceVersion"] == body["resourceVersion"]


@pytest.mark.parametrize(
    ("path", "table", "key"), [("projects", "projects", "projectId"), ("tasks", "tasks", "taskId")]
)
async def test_entries_of_a_project_or_task(
    sandbox: Sandbox, path: str, table: str, key: str
) -> None:
    ws = sandbox.ws
    owner = max(getattr(ws, table), key=lambda i: sum(e.get(key) == i for e in ws.entries.values()))
    mine = [i for i, e in ws.entries.items() if e.get(key) == owner]
    response = await sandbox.client.get(
        f"/{path}/{owner}/timeentries", params={"pageSize": 2, "orderby": "duration desc"}
    )
    assert response.headers["aw-totalitems"] == str(len(mine))
    durations = [e["duration"] for e in response.json()]
    assert durations == sorted(durations, reverse=True)[:2]
    billed = await sandbox.client.get(
        f"/{path}/{owner}/timeentries", params={"filterby": "isBilled eq true", "pageSize": 100}
    )
    assert all(e["isBilled"] and e[key] == owner for e in billed.json())
    missing = await sandbox.client.get(f"/{path}/{UNKNOWN_ID}/timeentries")
    assert missing.status_code == 404
