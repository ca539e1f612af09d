from __future__ import annotations

import time

import httpx
import pytest

from service.sandbox import Faults, Workspace
from tests.service.sandbox.helpers import Sandbox, open_sandbox


def test_settings_are_checked() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="Unknown fault"):
        faults.update({"error_rat": 0.5})
    with pytest.raises(ValueError, match="error_rate"):
        faults.update({"error_rate": 1.5})
    with pytest.raises(ValueError, match="rate_per_second"):
        Faults(rate_per_second=0)
    faults.update({"rate_per_minute": None, "force_429": 2})
    assert (faults.rate_per_minute, faults.force_429) == (None, 2)


def test_random_faults_follow_the_seed() -> None:
    first, second = Faults(error_rate=0.5, seed=9), Faults(error_rate=0.5, seed=9)
    rolls = [first.roll_error() for _ in range(50)]
    assert rolls == [second.roll_error() for _ in range(50)]
    assert {500, 503, None} == set(rolls)
    second.update({"seed": 9})
    assert [second.roll_error() for _ in range(50)] == rolls


async def test_forced_429s_answer_the_next_calls(workspace: Workspace) -> None:
    async with open_sandbox(workspace, faults=Faults(force_429=2, reset_seconds=7)) as box:
        first, second, third = [await box.client.get("/me") for _ in range(3)]
        assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
        assert first.headers["ratelimit-reset"] == "7"
        assert first.headers["ratelimit-remaining"] == "0"
        assert third.headers["x-ratelimit-remaining-second"] == "49"  # forced 429s do not count


async def test_injected_errors_change_nothing(workspace: Workspace) -> None:
    async with open_sandbox(workspace, faults=Faults(error_rate=1.0)) as box:
        entry_id = next(i for i, e in box.ws.entries.items() if not e["isBillable"])
        form = {"timeEntryIds": [entry_id], "isBillable": True}
        response = await box.client.post("/timeentries/batch/setIsBillable", json=form)
        assert response.status_code in (500, 503)
        assert response.json()["code"] == "server-error"
        assert box.ws.entries[entry_id]["isBillable"] is False
        box.state.faults.error_rate = 0.0
        assert (
            await box.client.post("/timeentries/batch/setIsBillable", json=form)
        ).status_code == 207
        assert box.ws.entries[entry_id]["isBillable"] is True


async def test_a_slow_answer_still_makes_the_change(workspace: Workspace) -> None:
    async with open_sandbox(workspace, faults=Faults(slow_rate=1.0, slow_seconds=0.4)) as box:
        entry_id = next(i for i, e in box.ws.entries.items() if not e["isBillable"])
        form = {"timeEntryIds": [entry_id], "isBillable": True}
        with pytest.raises(httpx.ReadTimeout):
            await box.client.post("/timeentries/batch/setIsBillable", json=form, timeout=0.1)
        assert box.ws.entries[entry_id]["isBillable"] is True
        started = time.monotonic()
        assert (await box.client.get("/me")).status_code == 200
        assert time.monotonic() - started >= 0.4


async def test_faults_can_be_set_over_http(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/_sandbox/faults", json={"force_429": 1, "seed": 4})
    assert response.status_code == 200
    assert response.json()["force_429"] == 1
    assert (await sandbox.client.get("/me")).status_code == 429
    assert (await sandbox.client.get("/me")).status_code == 200
    bad = await sandbox.client.post("/_sandbox/faults", json={"error_rate": "high"})
    assert bad.status_code == 400
    assert "error_rate" in bad.json()["description"]
    assert (await sandbox.client.get("/_sandbox/faults")).json()["seed"] == 4
