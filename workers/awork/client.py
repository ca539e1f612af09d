"""The awork calls the billing work needs: time entries (bulk reads, pages, bulk writes — batch
or legacy), the projects, tasks, companies and retainers rules read, types of work, the API user.

Every call goes through one `Transport` (rate limit, retries, errors): see
`workers.awork.transport`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from workers.awork import filterby
from workers.awork.transport import PAGE_SIZE, Transport, decode

Attribute = Literal["billable", "billed", "type_of_work"]

ENTRY_ORDER = "startDateUtc asc,startTimeUtc asc,id asc"
"""A listing order the service's own writes cannot change (they set billing attributes only)."""

BATCH_OPERATIONS: dict[Attribute, tuple[str, str]] = {
    "billable": ("setIsBillable", "isBillable"),
    "billed": ("setIsBilled", "isBilled"),
    "type_of_work": ("setTypeOfWork", "newTypeOfWorkId"),
}


@dataclass
class BatchResult:
    """Per-id outcome of a bulk write (awork's 207 MultiStatusResult; legacy 204 = all ok)."""

    ok: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    unauthorized: list[str] = field(default_factory=list)
    bad_request: list[str] = field(default_factory=list)


@dataclass
class EntryPage:
    """One page of a time-entry listing: its entries, its number, awork's total (if sent)."""

    items: list[dict[str, Any]]
    page: int
    total: int | None


class AworkClient:
    """Typed calls to the awork endpoints of time tracking and the lookups rules need."""

    def __init__(
        self, transport: Transport, *, bulk_api: Literal["batch", "legacy"] = "batch"
    ) -> None:
        self._transport = transport
        self._bulk_api = bulk_api

    async def me(self) -> dict[str, Any]:
        """The API user behind the token: the author of this service's own writes."""
        data = await self._transport.json("GET", "/me", operation="me")
        return data if isinstance(data, dict) else {}

    async def types_of_work(self) -> list[dict[str, Any]]:
        """Every type of work (archived ones too: a rule may name one)."""
        params = {"showArchived": "true", "pageSize": str(PAGE_SIZE)}
        return await self._all("/typeofwork", params, operation="typeofwork")

    async def entries_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Current state of `ids` in one read (`id in (…)`); missing ids are absent."""
        params = {"filterby": filterby.ids_in(ids), "pageSize": str(PAGE_SIZE)}
        found = await self._all("/timeentries", params, operation="timeentries")
        return {str(e["id"]): e for e in found if "id" in e}

    async def lookup(self, path: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Projects, tasks or companies (`path`) by id, in one filtered read."""
        params = {"filterby": filterby.ids_in(ids), "pageSize": str(PAGE_SIZE)}
        found = await self._all(path, params, operation=path.strip("/"))
        return [item for item in found if "id" in item]

    async def retainers(self, project_id: str) -> list[dict[str, Any]]:
        """The project's retainers with their monthly `retainerBudgets` (api-notes 6): awork has
        no bulk form of this read, so it is one call per project."""
        params = {"pageSize": str(PAGE_SIZE)}
        path = f"/projects/{project_id}/retainers"
        found = await self._all(path, params, operation="retainers")
        return [item for item in found if isinstance(item, dict)]

    async def entries_matching(self, expression: str) -> list[dict[str, Any]]:
        """Every entry matching `expression`, 1000 a page in start order, stopping at awork's
        total (`aw-totalitems`) — a budget of 1,000 entries is one read, not two."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            chunk = await self.entries_page(expression, page)
            found += [e for e in chunk.items if "id" in e]
            last = chunk.total is not None and chunk.total <= page * PAGE_SIZE
            if len(chunk.items) < PAGE_SIZE or last:
                return found
            page += 1

    async def custom_field_definitions(self) -> list[dict[str, Any]]:
        """Every custom field definition (names of project and task custom fields)."""
        params = {"pageSize": str(PAGE_SIZE)}
        return await self._all("/customfielddefinitions", params, operation="customfields")

    async def list_entries(
        self, expression: str, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of entries matching `expression` (a `filterby`), by `updatedOn`."""
        params = {"filterby": expression, "pageSize": str(page_size), "orderby": "updatedOn asc"}
        async for page in self._transport.pages("/timeentries", params, operation="timeentries"):
            yield page

    async def entries_page(
        self, expression: str, page: int, *, page_size: int = PAGE_SIZE, orderby: str = ENTRY_ORDER
    ) -> EntryPage:
        """One page of entries matching `expression`, with awork's total (`aw-totalitems`).

        For reading a period page by page and resuming at a page (`awork-billing backfill`): the
        default order (start, then id) is not changed by this service's own writes, so pages stay
        put while they are being fixed.
        """
        params = {
            "filterby": expression,
            "orderby": orderby,
            "page": str(page),
            "pageSize": str(page_size),
        }
        response = await self._transport.send(
            "GET", "/timeentries", params=params, operation="timeentries"
        )
        data = decode(response, "timeentries")
        items = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
        total = response.headers.get("aw-totalitems", "")
        return EntryPage(items, page, int(total) if total.isdigit() else None)

    async def set_attribute(
        self, attribute: Attribute, value: bool | str, ids: Sequence[str]
    ) -> BatchResult:
        """Set `attribute` to `value` on `ids` with one bulk call (batch or legacy endpoint)."""
        if self._bulk_api == "legacy":
            return await self._legacy(attribute, value, ids)
        operation, name = BATCH_OPERATIONS[attribute]
        body = {"timeEntryIds": list(ids), name: value}
        path = f"/timeentries/batch/{operation}"
        data = await self._transport.json("POST", path, json=body, operation=operation)
        return _batch_result(data if isinstance(data, dict) else {})

    async def _legacy(
        self, attribute: Attribute, value: bool | str, ids: Sequence[str]
    ) -> BatchResult:
        body: dict[str, Any] = {"ids": list(ids)}
        if attribute == "type_of_work":
            path = "settypeofwork"
            body["typeOfWorkId"] = value
        else:
            word = "billable" if attribute == "billable" else "billed"
            path = f"set{word}" if value else f"setun{word}"
        await self._transport.json("POST", f"/timeentries/{path}", json=body, operation=path)
        return BatchResult(ok=list(ids))

    async def _all(
        self, path: str, params: dict[str, str], *, operation: str
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for page in self._transport.pages(path, params, operation=operation):
            found += page
        return found


def _batch_result(data: dict[str, Any]) -> BatchResult:
    def ids(name: str) -> list[str]:
        part = data.get(name) or {}
        return [str(i) for i in (part.get("ids") or [])] if isinstance(part, dict) else []

    return BatchResult(
        ok=ids("ok"),
        not_found=ids("notFound"),
        unauthorized=ids("unauthorized"),
        bad_request=ids("badRequest"),
    )
