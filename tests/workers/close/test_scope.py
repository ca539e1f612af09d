"""What a close covers: its period in local dates, its scope, and the awork filter that reads it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from workers.close import Period, Scope, Selection

NORDLICHT = "12bd4ace-faec-4d38-9be4-bcfc49b64a08"


def entry(local_day: str, utc_day: str, company: str = "Nordlicht Brauerei GmbH") -> dict[str, Any]:
    return {
        "startDateLocal": f"{local_day}T00:00:00",
        "startTimeLocal": "00:30:00",
        "startDateUtc": f"{utc_day}T00:00:00Z",
        "startTimeUtc": "23:30:00",
        "projectId": "aaaaaaaa-0000-4000-8000-000000000001",
        "project": {"company": {"id": NORDLICHT, "name": company}},
    }


def test_a_month_is_its_first_to_last_day() -> None:
    assert Period.month("2026-02") == Period(date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert Period.month("2028-02").end == date(2028, 2, 29)
    for bad in ("2026-13", "2026-1", "26-01", "2026/01", "nope"):
        with pytest.raises(ValueError, match="invalid month"):
            Period.month(bad)


def test_the_utc_read_window_is_a_day_wider_on_each_side() -> None:
    selection = Selection(Scope.company(NORDLICHT.upper()), Period.month("2026-11"))
    assert selection.filterby() == (
        "startDateUtc ge datetime'2026-10-31T00:00:00' and "
        "startDateUtc le datetime'2026-12-01T23:59:59' and "
        f"project/companyId eq guid'{NORDLICHT}'"
    )


def test_half_past_midnight_on_the_first_belongs_to_the_local_month() -> None:
    early = entry("2026-11-01", "2026-10-31")
    assert Selection(Scope.company("nordlicht brauerei gmbh"), Period.month("2026-11")).holds(early)
    assert not Selection(Scope.company("Nordlicht Brauerei GmbH"), Period.month("2026-10")).holds(
        early
    )


def test_a_company_matches_by_id_or_name_ignoring_case() -> None:
    e = entry("2026-10-05", "2026-10-04")
    october = Period.month("2026-10")
    assert Selection(Scope.company(NORDLICHT), october).holds(e)
    assert Selection(Scope.company("NORDLICHT brauerei gmbh"), october).holds(e)
    assert not Selection(Scope.company("Nordlicht"), october).holds(e)
    other = entry("2026-10-05", "2026-10-04", company="Kiezkind Bakery")
    assert not Selection(Scope.company("Nordlicht Brauerei GmbH"), october).holds(other)
    name = Scope.company("O'Brien & Co").filterby()
    assert name == "tolower(project/company/name) eq 'o''brien & co'"


def test_projects_are_a_scope_of_their_own() -> None:
    scope = Scope(projects=("aaaaaaaa-0000-4000-8000-000000000001",))
    assert scope.filterby() == "projectId in (guid'aaaaaaaa-0000-4000-8000-000000000001')"
    assert scope.holds(entry("2026-10-05", "2026-10-04"))
    assert not scope.holds({**entry("2026-10-05", "2026-10-04"), "projectId": None})


def test_a_selection_round_trips_through_json() -> None:
    selection = Selection(Scope.company("Kiezkind Bakery"), Period.month("2026-10"))
    assert Selection.from_dict(selection.to_dict()) == selection
    projects = Selection(Scope(projects=("p1", "p2")), Period(date(2026, 10, 3), date(2026, 10, 9)))
    assert Selection.from_dict(projects.to_dict()) == projects
