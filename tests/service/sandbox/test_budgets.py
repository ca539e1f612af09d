from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.sandbox import seed_workspace
from service.sandbox.contract import load_contract
from tests.service.sandbox.helpers import UNKNOWN_ID, Sandbox, open_sandbox

HOUR = 3600


@pytest.fixture
async def retainer_box() -> AsyncIterator[Sandbox]:
    ws = seed_workspace(entries=60, seed=11, retainer_client=True, project_budgets=True)
    async with open_sandbox(ws) as box:
        yield box


async def _budgets(box: Sandbox) -> list[dict[str, object]]:
    project = box.named("projects", "RET Seeblick Kliniken")
    (retainer,) = (await box.client.get(f"/projects/{project}/retainers")).json()
    load_contract().check("Retainer", retainer)
    budgets: list[dict[str, object]] = retainer["retainerBudgets"]
    return budgets


async def test_tracked_duration_follows_the_entries(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    project = sandbox.named("projects", "Nordlicht Webshop")
    expected = sum(e["duration"] for e in ws.entries.values() if e["projectId"] == project)
    body = (await sandbox.client.get(f"/projects/{project}")).json()
    assert body["trackedDuration"] == expected
    some = next(i for i, e in ws.entries.items() if e["projectId"] == project)
    gone = ws.entries[some]["duration"]
    await sandbox.client.delete(f"/timeentries/{some}")
    listed = await sandbox.client.get("/projects", params={"filterby": "projectKey eq 'NWS'"})
    assert listed.json()[0]["trackedDuration"] == expected - gone


async def test_the_default_seed_has_no_retainers_and_no_new_budgets(sandbox: Sandbox) -> None:
    retainer_project = next(p for p in sandbox.ws.projects.values() if p["isRetainer"])
    assert (await sandbox.client.get(f"/projects/{retainer_project['id']}/retainers")).json() == []
    budgeted = {p["name"] for p in sandbox.ws.projects.values() if p["timeBudget"]}
    assert budgeted == {"RET Nordlicht Brauerei", "RET Alpenblick Hotels"}


async def test_the_retainer_client_is_nearly_used_up(retainer_box: Sandbox) -> None:
    budgets = await _budgets(retainer_box)
    months = [(b["startDate"], b["timeBudget"], b["trackedDuration"]) for b in budgets]
    assert months[:3] == [
        ("2026-08-31T22:00:00Z", 20 * HOUR, 35 * HOUR // 2),
        ("2026-09-30T22:00:00Z", 45 * HOUR // 2, 45 * HOUR // 2),  # 2.5 h rolled over
        ("2026-10-31T23:00:00Z", 20 * HOUR, 19 * HOUR),  # the seed's current month: 95 %
    ]
    assert [b["endDate"] for b in budgets[:3]] == [b["startDate"] for b in budgets[1:4]]
    project = retainer_box.ws.projects[retainer_box.named("projects", "RET Seeblick Kliniken")]
    assert (project["isRetainer"], project["timeBudget"]) == (True, None)


async def test_non_billable_hours_count_when_deducted(retainer_box: Sandbox) -> None:
    project = retainer_box.named("projects", "RET Seeblick Kliniken")
    retainer_box.ws.projects[project]["deductNonBillableHours"] = True
    october = (await _budgets(retainer_box))[1]
    assert october["trackedDuration"] == 45 * HOUR // 2 + 2 * HOUR


async def test_a_new_entry_counts_in_its_period(retainer_box: Sandbox) -> None:
    ws = retainer_box.ws
    project = retainer_box.named("projects", "RET Seeblick Kliniken")
    form = {
        "timezone": "Europe/Berlin",
        "typeOfWorkId": retainer_box.named("types_of_work", "Development"),
        "userId": retainer_box.named("users", "Ben"),
        "projectId": project,
        "startDateUtc": "2026-10-31T23:00:00Z",  # the first instant of November (Berlin)
        "duration": 2 * HOUR,
    }
    assert (await retainer_box.client.post("/timeentries", json=form)).status_code == 200
    november = (await _budgets(retainer_box))[2]
    assert november["trackedDuration"] == 21 * HOUR  # over its 20 h budget
    assert len(ws.retainers) == 1


async def test_one_retainer_by_id(retainer_box: Sandbox) -> None:
    project = retainer_box.named("projects", "RET Seeblick Kliniken")
    retainer_id = next(iter(retainer_box.ws.retainers))
    one = await retainer_box.client.get(f"/projects/{project}/retainers/{retainer_id}")
    assert one.json()["id"] == retainer_id
    other = retainer_box.named("projects", "Nordlicht Webshop")
    assert (
        await retainer_box.client.get(f"/projects/{other}/retainers/{retainer_id}")
    ).status_code == 404
    assert (await retainer_box.client.get(f"/projects/{UNKNOWN_ID}/retainers")).status_code == 404


async def test_project_budgets_are_opt_in(retainer_box: Sandbox) -> None:
    project = retainer_box.named("projects", "Nordlicht Webshop")
    body = (await retainer_box.client.get(f"/projects/{project}")).json()
    assert body["timeBudget"] == 60 * HOUR
    assert body["trackedDuration"] > 0
