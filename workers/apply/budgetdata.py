"""The budgets of projects, read from awork only when a rule reads `budget.*`, and cached.

- A project's own budget (`timeBudget`, `deductNonBillableHours`, `isRetainer`) comes with the
  project, read in bulk and cached by `Workspace` like its tags (one read for ~150 projects).
- Retainer budgets: `GET /projects/{id}/retainers` — awork has no bulk form, so one read per
  project, and only for projects awork flags `isRetainer` (a project without the flag is read
  as having no retainer). Cached in Redis (`<prefix>:cache:retainers:<project>`) for
  `LOOKUP_CACHE_TTL_SECONDS`; `project_updated` drops it (`Workspace.invalidate`), and the
  reconciliation sweep reads them afresh (`fresh=True`) to see carry-over and changed budgets.

A read awork refuses for good (`AworkRejected`) fails only the projects it concerns.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from workers.apply.workspace import Workspace
from workers.awork.client import AworkClient
from workers.awork.concurrency import gather_limited
from workers.awork.errors import AworkRejected
from workers.rules.budgets import ProjectBudgets, project_budgets

PERIOD_FIELDS = ("startDate", "endDate", "timeBudget")


class BudgetData:
    """Bulk, cached reads of projects' budgets (module docstring)."""

    def __init__(
        self, client: AworkClient, redis: Redis, keys: Keys, workspace: Workspace, ttl: int
    ) -> None:
        self._client = client
        self._redis = redis
        self._keys = keys
        self._workspace = workspace
        self._ttl = ttl

    async def load(
        self, project_ids: Iterable[str], *, fresh: bool = False
    ) -> tuple[dict[str, ProjectBudgets], dict[str, AworkRejected]]:
        """The budgets of each of `project_ids` that awork knows, and the projects whose reads
        awork refused (with its error). `fresh`: bypass the caches."""
        wanted = sorted({p.lower() for p in project_ids if p})
        if not wanted:
            return {}, {}
        if fresh:
            for project_id in wanted:
                await self._workspace.invalidate("project", project_id)
        try:
            projects = await self._workspace.load("project", wanted)
        except AworkRejected as e:
            return {}, dict.fromkeys(wanted, e)
        retainer_projects = [p for p in wanted if (projects.get(p) or {}).get("isRetainer")]
        reads = (functools.partial(self._retainers, p) for p in retainer_projects)
        found = dict(zip(retainer_projects, await gather_limited(reads), strict=True))
        refused = {p: r for p, r in found.items() if isinstance(r, AworkRejected)}
        budgets = {
            p: project_budgets({**projects[p], "id": p}, _periods(found.get(p)))
            for p in wanted
            if p in projects and p not in refused
        }
        return budgets, refused

    async def _retainers(self, project_id: str) -> list[dict[str, Any]] | AworkRejected:
        """The project's retainers as cached (only their periods), or awork's refusal."""
        key = self._keys.cached("retainers", project_id)
        raw = await self._redis.get(key)
        if raw is not None:
            return list(orjson.loads(raw))
        try:
            retainers = await self._client.retainers(project_id)
        except AworkRejected as e:
            return e
        reduced = [_reduce(r) for r in retainers]
        if self._ttl:
            await self._redis.set(key, orjson.dumps(reduced), ex=self._ttl)
        return reduced


def _reduce(retainer: dict[str, Any]) -> dict[str, Any]:
    """What the workers keep of a retainer: its periods' dates and budgets."""
    periods = retainer.get("retainerBudgets") or []
    return {
        "retainerBudgets": [
            {name: p.get(name) for name in PERIOD_FIELDS} for p in periods if isinstance(p, dict)
        ]
    }


def _periods(found: list[dict[str, Any]] | AworkRejected | None) -> list[dict[str, Any]]:
    return found if isinstance(found, list) else []
