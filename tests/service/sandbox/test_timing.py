from __future__ import annotations

from typing import Any

import pytest

from service.sandbox import seed_workspace, timing
from service.sandbox.responses import ApiError

BERLIN = timing.zone("Europe/Berlin")
HOUR = 3600 * timing.SECOND


def _read(form: dict[str, Any], *, mixing: bool = False) -> timing.Given:
    return timing.read(form, BERLIN, mixing=mixing)


def _fields(form: dict[str, Any], breaks: int = 0) -> dict[str, Any]:
    start, end, duration = timing.finish(_read(form), breaks)
    return {**timing.fields(start, end, BERLIN), "duration": duration}


def _refused(form: dict[str, Any], *, mixing: bool = False, breaks: int = 0) -> str:
    with pytest.raises(ApiError) as refused:
        timing.finish(_read(form, mixing=mixing), breaks)
    assert refused.value.status == 400
    return refused.value.validation_errors[0]["property"]


def test_seeded_entries_round_trip_exactly() -> None:
    for entry in seed_workspace(entries=300, seed=7).entries.values():
        derived = timing.fields(timing.start_of(entry), timing.end_of(entry), BERLIN)
        assert {k: v for k, v in derived.items() if k in entry} == {
            k: entry[k] for k in derived if k in entry
        }


@pytest.mark.parametrize(
    ("day", "utc"),
    [("2026-01-15", "08:00:00"), ("2026-07-15", "07:00:00"), ("2026-03-30", "07:00:00")],
)
def test_local_times_are_read_in_the_time_zone(day: str, utc: str) -> None:
    form = {"startDateLocal": f"{day}T00:00:00", "startTimeLocal": "09:00", "duration": 1800}
    fields = _fields(form)
    assert (fields["startDateUtc"], fields["startTimeUtc"]) == (f"{day}T00:00:00Z", utc)
    assert (fields["startDateLocal"], fields["startTimeLocal"]) == (f"{day}T00:00:00", "09:00:00")
    assert fields["endTimeLocal"] == "09:30:00"


def test_utc_times_give_the_local_ones_across_midnight() -> None:
    form = {"startDateUtc": "2026-11-20T23:30:00Z", "endDateUtc": "2026-11-21T00:30:00Z"}
    fields = _fields(form)
    assert fields["startTimeUtc"] == "23:30:00"
    assert (fields["startDateLocal"], fields["startTimeLocal"]) == (
        "2026-11-21T00:00:00",
        "00:30:00",
    )
    assert fields["duration"] == 3600


def test_an_end_time_without_a_date_is_on_the_next_day_when_needed() -> None:
    form = {"startDateLocal": "2026-11-20", "startTimeLocal": "22:00", "endTimeLocal": "01:00"}
    fields = _fields(form)
    assert (fields["endDateLocal"], fields["endTimeLocal"]) == ("2026-11-21T00:00:00", "01:00:00")
    assert fields["duration"] == 3 * 3600


def test_seven_fractional_digits_are_kept() -> None:
    form = {"startDateUtc": "2026-11-20", "startTimeUtc": "09:15:00.1234567", "duration": 60}
    fields = _fields(form)
    assert fields["startTimeUtc"] == "09:15:00.1234567"
    assert fields["endTimeLocal"] == "10:16:00.1234567"


def test_start_and_end_win_over_a_duration() -> None:
    form = {"startDateUtc": "2026-11-20T09:00:00Z", "endDateUtc": "2026-11-20T10:00:00Z"}
    assert _fields({**form, "duration": 99})["duration"] == 3600


def test_end_and_duration_give_the_start() -> None:
    fields = _fields({"endDateUtc": "2026-11-20T10:00:00Z", "duration": 5400})
    assert fields["startTimeUtc"] == "08:30:00"


def test_breaks_are_not_worked_time() -> None:
    form = {"startDateUtc": "2026-11-20T09:00:00Z", "endDateUtc": "2026-11-20T11:00:00Z"}
    assert _fields(form, breaks=1800)["duration"] == 5400
    with_duration = _fields({"startDateUtc": "2026-11-20T09:00:00Z", "duration": 3600}, 1800)
    assert with_duration["endTimeUtc"] == "10:30:00"
    assert _refused(form, breaks=7200) == "duration"


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"startDateUtc": "2026-11-20T09:00:00Z"}, "duration"),
        ({"duration": 3600}, "duration"),
        ({"startDateUtc": "2026-11-20T09:00:00Z", "duration": 0}, "duration"),
        ({"startDateUtc": "2026-11-20T09:00Z", "endDateUtc": "2026-11-20T08:00Z"}, "endTimeUtc"),
        ({"startDateUtc": "2026-11-20", "startTimeUtc": "25:00", "duration": 60}, "startTimeUtc"),
        ({"startDateUtc": "yesterday", "duration": 60}, "startDateUtc"),
        ({"startTimeUtc": "09:00", "duration": 60}, "startDateUtc"),
        ({"startDateUtc": "2026-11-20T09:00Z", "endDateLocal": "2026-11-20T11:00"}, "endDateLocal"),
    ],
)
def test_what_is_missing_or_inconsistent_is_named(form: dict[str, Any], named: str) -> None:
    assert _refused(form) == named


def test_both_groups_must_agree_when_mixing_is_allowed() -> None:
    same = {"startDateUtc": "2026-11-20", "startTimeUtc": "08:00", "startDateLocal": "2026-11-20"}
    agreed = _read({**same, "startTimeLocal": "09:00"}, mixing=True)
    assert agreed.start == _read({k: v for k, v in same.items() if "Utc" in k}).start
    with pytest.raises(ApiError) as refused:
        _read({**same, "startTimeLocal": "10:00"}, mixing=True)
    assert refused.value.validation_errors[0]["property"] == "startTimeLocal"


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(ApiError) as refused:
        timing.zone("Europe/Atlantis")
    assert refused.value.validation_errors[0]["property"] == "timezone"


def test_running_means_no_end_and_no_duration() -> None:
    start = {"startDateUtc": "2026-11-20T00:00:00Z", "startTimeUtc": "09:00:00"}
    assert timing.is_running({**start, "endDateUtc": None, "endTimeUtc": None, "duration": 0})
    assert not timing.is_running({**start, "duration": 3600})
    end = {"endDateUtc": "2026-11-20T00:00:00Z", "endTimeUtc": "10:00:00", "duration": 0}
    assert not timing.is_running({**start, **end})
    assert timing.start_of({"startDateUtc": "2026-11-20T00:00:00Z"}) == timing.start_of(
        {**start, "startTimeUtc": "00:00:00"}
    )
    assert timing.end_of(start) is None
    eight = timing.start_of({"startDateUtc": "2026-11-20T00:00:00Z", "startTimeUtc": "08:00:00"})
    assert eight is not None
    assert timing.start_of(start) == eight + HOUR
