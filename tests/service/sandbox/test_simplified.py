from __future__ import annotations

import pytest

from service.sandbox.contract import load_contract
from tests.service.sandbox.helpers import Sandbox

PATH = "/timeentries/simplified"


async def test_entries_in_the_simplified_model(sandbox: Sandbox) -> None:
    response = await sandbox.client.get(PATH, params={"pageSize": 1000})
    items = response.json()
    assert [i["id"] for i in items] == list(sandbox.ws.entries)
    for item in items:
        load_contract().check("SimplifiedTimeTracking", item)
        entry = sandbox.ws.entries[item["id"]]
        assert (item["duration"], item["startTimeLocal"]) == (
            entry["duration"],
            entry["startTimeLocal"],
        )
        assert "note" not in item
    with_project = next(i for i in items if i["projectId"])
    assert set(with_project["project"]) == {"id", "name", "hasImage", "company"}


@pytest.mark.parametrize(
    ("grouping", "key"),
    [("project", "projectId"), ("user", "userId"), ("TypeOfWork", "typeOfWorkId")],
)
async def test_grouping_keeps_groups_together(sandbox: Sandbox, grouping: str, key: str) -> None:
    params: dict[str, str | int] = {
        "grouping": grouping,
        "pageSize": 1000,
        "orderby": "duration desc",
    }
    items = (await sandbox.client.get(PATH, params=params)).json()
    assert len(items) == len(sandbox.ws.entries)
    groups = [i[key] for i in items]
    runs = [g for n, g in enumerate(groups) if n == 0 or g != groups[n - 1]]
    assert len(runs) == len(set(groups))  # each group in one run
    first = [i["duration"] for i in items if i[key] == groups[-1]]
    assert first == sorted(first, reverse=True)  # orderby inside a group


async def test_filter_and_paging_apply(sandbox: Sandbox) -> None:
    params: dict[str, str | int] = {"filterby": "isBillable eq true", "pageSize": 5, "page": 2}
    response = await sandbox.client.get(PATH, params=params)
    billable = [i for i, e in sandbox.ws.entries.items() if e["isBillable"]]
    assert response.headers["aw-totalitems"] == str(len(billable))
    assert [i["id"] for i in response.json()] == billable[5:10]


async def test_an_unknown_grouping_is_refused(sandbox: Sandbox) -> None:
    response = await sandbox.client.get(PATH, params={"grouping": "company"})
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["property"] == "grouping"
