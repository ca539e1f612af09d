"""awork's list answers: `filterby`, `orderby`, `page`, `pageSize` in, `aw-*` headers out.

Query parameter names are matched case-insensitively (n8n sends `filterBy`, api-notes 2.3).
`pageSize` defaults to 10 as in the published spec; above 1000 is refused (awork's documented
maximum), as are pages and page sizes below 1.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from starlette.requests import Request

from service.sandbox.filters import FilterError, compile_filter
from service.sandbox.ordering import compile_order, sort_items, sort_key
from service.sandbox.responses import ApiError, JSONResponse

MAX_PAGE_SIZE = 1000


def query(request: Request) -> dict[str, str]:
    """Query parameters with lower-case names (the last value wins)."""
    return {key.lower(): value for key, value in request.query_params.multi_items()}


def list_response(
    request: Request,
    items: list[Any],
    *,
    fields: Collection[str] | None,
    view: Callable[[Any], Mapping[str, Any]] = lambda item: item,
    group: Callable[[Any], Any] | None = None,
    shape: Callable[[Any], Any] | None = None,
) -> JSONResponse:
    """Filter, order and page `items` as the request asks; `view(item)` is what filters see.

    `group(item)`: a key keeping items of one group together (the order inside a group stays);
    `shape(item)`: what the answer shows of an item (default: the item itself).
    """
    params = query(request)
    try:
        if params.get("filterby"):
            predicate = compile_filter(params["filterby"], fields)
            items = [item for item in items if predicate(view(item))]
        if params.get("orderby"):
            items = sort_items(items, compile_order(params["orderby"], fields), view)
    except FilterError as e:
        raise ApiError(400, "invalid-filter-or-order", str(e)) from e
    if group is not None:
        items = sorted(items, key=lambda item: sort_key(group(item)))
    page = _positive(params, "page", 1)
    size = _positive(params, "pageSize", 10)
    if size > MAX_PAGE_SIZE:
        raise ApiError(400, "value-out-of-range", f"pageSize must be at most {MAX_PAGE_SIZE}.")
    chunk = items[(page - 1) * size : page * size]
    if shape is not None:
        chunk = [shape(item) for item in chunk]
    headers = {
        "aw-page": str(page),
        "aw-pagesize": str(size),
        "aw-items": str(len(chunk)),
        "aw-totalitems": str(len(items)),
    }
    return JSONResponse(chunk, headers=headers)


def _positive(params: dict[str, str], name: str, default: int) -> int:
    text = params.get(name.lower())
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(
            400,
            "validation-failed",
            f"{name} must be a positive integer.",
            validation_errors=[{"property": name, "message": "Must be a positive integer."}],
        )
    return value
