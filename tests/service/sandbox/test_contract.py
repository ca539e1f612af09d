from __future__ import annotations

import pytest

from service.sandbox.contract import ContractError, load_contract

GUID = "6f1a2b3c-0000-4000-8000-000000000001"


def test_nullable_properties_accept_null() -> None:
    form = {"timeEntryIds": [GUID], "isBillable": None, "newTypeOfWorkId": None}
    assert load_contract().errors("TimeEntryBatchOperationForm", form) == []


def test_an_unknown_property_is_named() -> None:
    errors = load_contract().errors("TimeEntryBatchOperationForm", {"timeEntryIds": [], "ids": []})
    assert errors == [{"property": "ids", "message": "Unknown property 'ids'."}]


def test_a_bad_uuid_is_named_with_its_index() -> None:
    errors = load_contract().errors("SetTimeEntryBillableForm", {"ids": [GUID, "not-a-guid"]})
    assert [e["property"] for e in errors] == ["ids[1]"]


def test_a_missing_required_property_is_named() -> None:
    errors = load_contract().errors("SetTimeEntryTypeOfWork", {"ids": [GUID]})
    assert [e["property"] for e in errors] == ["typeOfWorkId"]


def test_a_wrong_type_is_named() -> None:
    errors = load_contract().errors("TimeEntryBatchOperationForm", {"timeEntryIds": GUID})
    assert [e["property"] for e in errors] == ["timeEntryIds"]


def test_error_response_keeps_its_description() -> None:
    body = {"code": "not-found", "description": "gone", "link": "x", "traceId": None}
    load_contract().check("ErrorResponse", body)
    with pytest.raises(ContractError, match="description"):
        load_contract().check("ErrorResponse", {"code": "not-found", "link": "x"})
