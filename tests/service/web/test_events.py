"""The webhook decoder: the typed fast path (msgspec, only the fields needed) decides exactly as
the liberal full parse (orjson) for every body — the same event, or the same error and detail."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from service.contract.webhooks import ENTITY_EVENTS, TIME_ENTRY_EVENTS
from service.sandbox import envelope, seed_workspace
from service.web.events import (
    EventError,
    WebhookEvent,
    _parse_liberally,
    parse_event,
)

PERSON = {"id": "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Jürgen", "lastName": "Ö"}
ENTRIES = list(seed_workspace(entries=10, seed=4).entries.values())
EVENT_TYPES = [*TIME_ENTRY_EVENTS, *ENTITY_EVENTS, "task_added", "", " "]


def outcome(decode: Any, body: bytes) -> WebhookEvent | tuple[str, object]:
    try:
        event: WebhookEvent = decode(body)
    except EventError as e:
        return (e.error, e.detail)
    return event


def both(body: bytes) -> tuple[object, object]:
    return outcome(parse_event, body), outcome(_parse_liberally, body)


odd_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 + 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["123", "00", "", " ", "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
FIELDS = {
    "top": ["eventType", "entityId", "timestamp", "entity", "triggeredBy", "changes"],
    "entity": ["id", "resourceVersion", "note"],
}


def encode(value: object) -> bytes:
    """JSON as awork might send it: raw UTF-8, integers of any size (orjson writes 64 bits)."""
    return json.dumps(value, ensure_ascii=False).encode()


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A real envelope (non-ASCII names included) with some fields the service reads deleted or
    replaced by values of any type, changes included."""
    changes = [{"property": p, "old": "a", "new": "ö"} for p in ("Note", "IsBillable", "Note")]
    body = copy.deepcopy(
        envelope(
            draw(st.sampled_from(EVENT_TYPES)),
            draw(st.sampled_from(ENTRIES)),
            triggered_by=PERSON,
            changes=changes,
        )
    )
    for target, names in ((body, FIELDS["top"]), (body["entity"], FIELDS["entity"])):
        for key in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
            if draw(st.booleans()):
                target.pop(key, None)
            else:
                target[key] = draw(odd_values)
    if draw(st.booleans()) and isinstance(body.get("changes"), list):
        body["changes"].append(draw(odd_values))
    return encode(body)


@hypothesis_settings(max_examples=400, deadline=None, database=None)
@given(body=bodies())
def test_the_fast_path_decides_as_the_full_parse(body: bytes) -> None:
    fast, full = both(body)
    assert fast == full


@hypothesis_settings(max_examples=200, deadline=None, database=None)
@given(body=st.binary(max_size=200) | odd_values.map(encode))
def test_the_fast_path_agrees_on_anything(body: bytes) -> None:
    fast, full = both(body)
    assert fast == full


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventType":"timetracking_added","entityId":"x","entity":{"id":"\xff"}}',
        b'{"eventType":"timetracking_added","entityId":"x","note":"\xc3\x28"}',
        b'{"eventType":"a\\ud800","entityId":"x"}',
        b'{"eventType":"project_updated","entityId":"x","entity":[]}',
        b'{"eventType":"timetracking_added","entityId":"x","entity":{"id":"x","id":5}}',
        b'{"eventType":"project_updated","entityId":"x","entity":{"resourceVersion":"17"}}',
        b'{"eventType":"project_updated","entityId":"x",'
        b'"entity":{"resourceVersion":18446744073709551615}}',
        b"\xef\xbb\xbf{}",
        b" {} ",
    ],
)
def test_edge_cases_agree(body: bytes) -> None:
    fast, full = both(body)
    assert fast == full


def test_the_fast_path_reads_the_fields_needed() -> None:
    entry = ENTRIES[0]
    changes: list[dict[str, Any]] = [
        {"property": "Note", "old": "a", "new": "b"},
        {"property": "IsBillable", "old": "False", "new": "True"},
        {"property": "Note", "old": None, "new": "c"},
        {"property": "TypeOfWorkId", "old": "x", "new": "x"},  # the same value: no change
        {"old": 1},
    ]
    body = orjson.dumps(
        envelope("timetracking_updated", entry, triggered_by=PERSON, changes=changes)
    )
    event = parse_event(body)
    assert event.entry_id == entry["id"]
    assert event.resource_version == entry["resourceVersion"]
    assert event.triggered_by == PERSON["id"]
    assert event.changed == ("IsBillable",)  # only what can lock an attribute
    assert event == _parse_liberally(body)


def test_a_change_that_locks_is_never_cut_off() -> None:
    """However many properties an update lists, those a lock is taken for are kept."""
    changes: list[dict[str, Any]] = [
        {"property": f"Custom{n:02d}", "old": "a", "new": "b"} for n in range(40)
    ]
    changes.append({"property": "TypeOfWorkId", "old": "x", "new": "y"})
    body = orjson.dumps(
        envelope("timetracking_updated", ENTRIES[0], triggered_by=PERSON, changes=changes)
    )
    event = parse_event(body)
    assert event.changed == ("TypeOfWorkId",)
    assert event == _parse_liberally(body)
