"""Workspace data a rule may read beyond the time entry: tags, custom fields, retainer flag,
budget figures.

awork removed tags and custom fields from the models nested in a time entry (api-notes 2.5), so
rules on `project.tags`, `project.customFields.<name>`, `project.isRetainer`,
`project.timeBudget`, `project.trackedDuration`, `project.deductNonBillableHours`,
`project.company.tags`, `task.tags` or `task.customFields.<name>` need the project, company or
task itself (`trackedDuration` is awork's figure as of that read: cached like the rest). They
are loaded only when a rule reads such a field, in bulk (`id in (…)`, ~150 ids a call), and
cached in Redis for `LOOKUP_CACHE_TTL_SECONDS` in a reduced form; `project_updated`,
`task_updated`, `company_updated`… webhooks drop a cached item at once (`invalidate`).

`Workspace.enrich` writes the values into the entry's nested `project` / `task` (tags as a list
of names, custom fields as a mapping of field name to value), where the rules engine reads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from workers.awork.client import AworkClient
from workers.awork.errors import AworkRejected

Kind = Literal["project", "task", "company"]
T = TypeVar("T")
PROJECT_FIELDS = (
    "project.tags",
    "project.customFields.",
    "project.isRetainer",
    "project.timeBudget",
    "project.trackedDuration",
    "project.deductNonBillableHours",
)
BUDGET_FIGURES = ("timeBudget", "trackedDuration", "deductNonBillableHours")
"""What the workers keep of a project's budget (`workers.apply.budgetdata` reads them too)."""
COMPANY_FIELDS = ("project.company.tags",)
TASK_FIELDS = ("task.tags", "task.customFields.")
CUSTOM = ("project.customFields.", "task.customFields.")
VALUE_KEYS = (
    "textValue",
    "numberValue",
    "dateValue",
    "booleanValue",
    "userIdValue",
    "clientIdValue",
)


def needed(fields: Iterable[str]) -> set[Kind]:
    """Which kinds of workspace data the rules' `fields` need."""
    fields = list(fields)

    def reads(prefixes: tuple[str, ...]) -> bool:
        return any(f.startswith(prefixes) for f in fields)

    kinds: set[Kind] = set()
    if reads(PROJECT_FIELDS) or reads(COMPANY_FIELDS):
        kinds.add("project")
    if reads(COMPANY_FIELDS):
        kinds.add("company")
    if reads(TASK_FIELDS):
        kinds.add("task")
    return kinds


class Workspace:
    """Bulk, cached reads of projects, companies, tasks and custom-field names."""

    def __init__(self, client: AworkClient, redis: Redis, keys: Keys, ttl: int) -> None:
        self._client = client
        self._redis = redis
        self._keys = keys
        self._ttl = ttl

    async def enrich(
        self, entries: Sequence[dict[str, Any]], fields: Iterable[str]
    ) -> dict[str, Exception]:
        """Add the data the rules' `fields` need to `entries` (in place). Returns the entries it
        could not complete, by id: awork refused a read they need (`AworkRejected`: no right to
        list tasks, say), or their data broke the merge — the others go on."""
        fields = list(fields)
        kinds = needed(fields)
        if not kinds or not entries:
            return {}
        failed: dict[str, Exception] = {}
        names: dict[str, dict[str, Any]] = {}
        if any(f.startswith(CUSTOM) for f in fields):
            names = await self._refusable(self._field_names(), {}, entries, failed, _linked)
        projects = await self._loaded("project", entries, failed, _project_of)
        companies: dict[str, dict[str, Any]] = {}
        if "company" in kinds:
            company_ids = {p["companyId"] for p in projects.values() if p.get("companyId")}
            companies = await self._refusable(
                self.load("company", company_ids), {}, entries, failed, _project_of
            )
        tasks = await self._loaded("task", entries, failed, _task_of) if "task" in kinds else {}
        for entry in entries:
            entry_id = str(entry.get("id"))
            if entry_id in failed:
                continue
            try:
                _apply(entry, projects, companies, tasks, names)
            except Exception as e:  # one entry's odd data must not stop the others
                failed[entry_id] = e
        return failed

    async def _loaded(
        self,
        kind: Kind,
        entries: Sequence[dict[str, Any]],
        failed: dict[str, Exception],
        concerns: Callable[[dict[str, Any]], bool],
    ) -> dict[str, dict[str, Any]]:
        key, nested = ("projectId", "project") if kind == "project" else ("taskId", "task")
        loading = self.load(kind, _ids(entries, key, nested))
        return await self._refusable(loading, {}, entries, failed, concerns)

    @staticmethod
    async def _refusable(
        loading: Awaitable[T],
        default: T,
        entries: Sequence[dict[str, Any]],
        failed: dict[str, Exception],
        concerns: Callable[[dict[str, Any]], bool],
    ) -> T:
        """`await loading`; when awork refuses it, the entries it `concerns` fail with that."""
        try:
            return await loading
        except AworkRejected as e:
            for entry in entries:
                if concerns(entry):
                    failed.setdefault(str(entry.get("id")), e)
            return default

    async def load(self, kind: Kind, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Reduced records of `ids` from the cache, the missing ones from awork in bulk."""
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        cached = await self._redis.mget([self._key(kind, i) for i in wanted])
        found = {i: orjson.loads(v) for i, v in zip(wanted, cached, strict=True) if v}
        missing = [i for i in wanted if i not in found]
        for start in range(0, len(missing), READ_CHUNK):
            fetched = await self._client.lookup(_PATHS[kind], missing[start : start + READ_CHUNK])
            fresh = {str(item["id"]).lower(): _reduce(kind, item) for item in fetched}
            await self._store(kind, fresh)
            found.update(fresh)
        return found

    async def invalidate(self, kind: str, entity_id: str) -> None:
        """Forget one cached project, task or company (a webhook said it changed); a project's
        retainers with it (`project_updated` is how a retainer's change shows)."""
        keys = [self._key(kind, entity_id.lower())]
        if kind == "project":
            keys.append(self._key("retainers", entity_id.lower()))
        await self._redis.delete(*keys)

    async def _field_names(self) -> dict[str, dict[str, Any]]:
        """Custom field definitions by id: {name, options: {option id: label}} (cached)."""
        key = self._keys.custom_fields
        raw = await self._redis.get(key)
        if raw:
            return dict(orjson.loads(raw))
        definitions = await self._client.custom_field_definitions()
        names = {str(d["id"]).lower(): _definition(d) for d in definitions}
        if self._ttl:
            await self._redis.set(key, orjson.dumps(names), ex=self._ttl)
        return names

    async def _store(self, kind: Kind, records: dict[str, dict[str, Any]]) -> None:
        if not self._ttl or not records:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for entity_id, record in records.items():
                pipe.set(self._key(kind, entity_id), orjson.dumps(record), ex=self._ttl)
            await pipe.execute()

    def _key(self, kind: str, entity_id: str) -> str:
        return self._keys.cached(kind, entity_id)


_PATHS: dict[Kind, str] = {"project": "/projects", "task": "/tasks", "company": "/companies"}
READ_CHUNK = 150
"""Ids per lookup read (keeps the URL under 8 KiB, SPEC 7.3)."""


def _definition(definition: dict[str, Any]) -> dict[str, Any]:
    """A custom field definition as cached: its name and its options' labels by id."""
    options = definition.get("selectionOptions") or []
    labels = {str(o.get("id")).lower(): o.get("value") for o in options}
    return {"name": definition.get("name"), "options": labels}


def _project_of(entry: dict[str, Any]) -> bool:
    return bool(_ids([entry], "projectId", "project"))


def _task_of(entry: dict[str, Any]) -> bool:
    return bool(_ids([entry], "taskId", "task"))


def _linked(entry: dict[str, Any]) -> bool:
    return _project_of(entry) or _task_of(entry)


def _ids(entries: Sequence[dict[str, Any]], key: str, nested: str) -> set[str]:
    """The ids of the projects (or tasks) of `entries`: `projectId`, else `project.id`."""
    found = set()
    for entry in entries:
        model = entry.get(nested)
        value = entry.get(key) or (model.get("id") if isinstance(model, dict) else None)
        if isinstance(value, str):
            found.add(value.lower())
    return found


def _reduce(kind: Kind, item: dict[str, Any]) -> dict[str, Any]:
    """What the rules may read of a project, task or company (small enough to cache)."""
    record: dict[str, Any] = {
        "tags": sorted({str(t["name"]) for t in item.get("tags") or [] if t.get("name")}),
        "customFields": item.get("customFields") or [],
    }
    if kind == "project":
        company = item.get("companyId") or (item.get("company") or {}).get("id")
        record["isRetainer"] = bool(item.get("isRetainer"))
        record["companyId"] = str(company).lower() if company else None
        record.update({name: item.get(name) for name in BUDGET_FIGURES})
    return record


def _custom(values: list[dict[str, Any]], names: dict[str, dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for value in values:
        definition = names.get(str(value.get("customFieldDefinitionId")).lower())
        if not definition or not definition.get("name"):
            continue
        option = value.get("selectionOptionIdValue")
        if option:
            fields[definition["name"]] = definition["options"].get(str(option).lower(), option)
            continue
        fields[definition["name"]] = next(
            (value[k] for k in VALUE_KEYS if value.get(k) is not None), None
        )
    return fields


def _apply(
    entry: dict[str, Any],
    projects: dict[str, dict[str, Any]],
    companies: dict[str, dict[str, Any]],
    tasks: dict[str, dict[str, Any]],
    names: dict[str, dict[str, Any]],
) -> None:
    project_id = next(iter(_ids([entry], "projectId", "project")), None)
    project = projects.get(project_id or "")
    if project is not None:
        nested = entry.setdefault("project", {}) or {}
        entry["project"] = nested
        nested["tags"] = project["tags"]
        nested["isRetainer"] = project["isRetainer"]
        nested.update({name: project.get(name) for name in BUDGET_FIGURES})
        nested["customFields"] = _custom(project["customFields"], names)
        company = companies.get(project.get("companyId") or "")
        if company is not None:
            nested_company = nested.get("company") or {}
            nested["company"] = {**nested_company, "tags": company["tags"]}
    task_id = next(iter(_ids([entry], "taskId", "task")), None)
    task = tasks.get(task_id or "")
    if task is not None:
        nested_task = entry.get("task") or {}
        custom = _custom(task["customFields"], names)
        entry["task"] = {**nested_task, "tags": task["tags"], "customFields": custom}
