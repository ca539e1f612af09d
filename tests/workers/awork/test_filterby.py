"""awork's `filterby` literals and expressions, as awork documents them (api-notes 2.3)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from workers.awork import filterby


def test_an_instant_is_written_in_utc_without_offset() -> None:
    moment = datetime(2026, 11, 1, 2, 0, tzinfo=timezone(timedelta(hours=1)))
    assert filterby.moment(moment) == "datetime'2026-11-01T01:00:00'"
    assert filterby.moment(moment.replace(microsecond=120)) == (
        "datetime'2026-11-01T01:00:00.000120'"
    )


def test_ids_text_and_days() -> None:
    assert filterby.ids_in(["a", "b"]) == "id in (guid'a',guid'b')"
    assert filterby.text("O'Brien") == "'O''Brien'"
    day = date(2026, 10, 1)
    assert filterby.both(
        filterby.ge("startDateUtc", filterby.day_start(day)),
        filterby.le("startDateUtc", filterby.day_end(day)),
        "",
    ) == (
        "startDateUtc ge datetime'2026-10-01T00:00:00' and "
        "startDateUtc le datetime'2026-10-01T23:59:59'"
    )
