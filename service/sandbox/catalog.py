"""The seeded agency around the time entries: companies, projects, tasks, users, types of work.

Shapes follow the published schemas `Company`, `Project`, `TaskModel`, `TypeOfWork` and
`UserAndWorkspace`, so `GET /projects/{id}` and friends answer what awork would.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.sandbox.agency import COMPANIES, PEOPLE, PROJECT_TYPES, PROJECTS, TASKS, TYPES_OF_WORK
from service.sandbox.clock import iso7
from service.sandbox.models import Entity, nested_task, nested_type_of_work

TAG_COLORS = ["red", "orange", "green", "blue", "purple"]


@dataclass
class Catalog:
    created: str
    created_by: str = ""
    companies: dict[str, Entity] = field(default_factory=dict)
    projects: dict[str, Entity] = field(default_factory=dict)
    tasks: dict[str, Entity] = field(default_factory=dict)
    types_of_work: dict[str, Entity] = field(default_factory=dict)
    users: dict[str, Entity] = field(default_factory=dict)
    custom_field_definitions: dict[str, Entity] = field(default_factory=dict)
    api_user: Entity = field(default_factory=dict)
    people: list[Entity] = field(default_factory=list)
    project_weights: list[Entity] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def tasks_of(self, project_id: str) -> list[Entity]:
        return [t for t in self.tasks.values() if t["projectId"] == project_id]

    def nested_task(self, task: Entity) -> Entity:
        """The `task` a time entry carries (`TaskModelForTimeTrackings`)."""
        return nested_task(task)

    def stamp(self, rng: random.Random) -> dict[str, Any]:
        """createdOn/By, updatedOn/By and resourceVersion of a catalogue entity."""
        return {
            "createdOn": self.created,
            "createdBy": self.created_by,
            "updatedOn": self.created,
            "updatedBy": self.created_by,
            "resourceVersion": rng.randrange(10**17, 10**18),
        }

    def tag_list(self, names: list[str], entity_id: str | None = None) -> list[Entity]:
        tags = [{"id": self.tags[n], "name": n, "color": _color(n)} for n in names]
        if entity_id is not None:
            for tag in tags:
                tag["entityId"] = entity_id
        return tags


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_catalog(rng: random.Random, created: datetime) -> Catalog:
    catalog = Catalog(created=iso7(created))
    _users(rng, catalog)
    names = sorted({t for c in COMPANIES for t in c[2]} | {t for p in PROJECTS for t in p[7]})
    catalog.tags = {name: new_id(rng) for name in names}
    for kind in TYPES_OF_WORK:
        add_type_of_work(rng, catalog, kind)
    for name, industry, tags in COMPANIES:
        rows = [p for p in PROJECTS if COMPANIES[p[2]][0] == name]
        add_company(rng, catalog, (name, industry, tags), rows)
    definitions = _definitions(rng, catalog)
    for row in PROJECTS:
        add_project(rng, catalog, row, definitions)
    return catalog


def add_type_of_work(rng: random.Random, catalog: Catalog, row: tuple[str, str, bool]) -> None:
    """A type of work from a (name, icon, archived) row."""
    name, icon, archived = row
    tid = new_id(rng)
    catalog.types_of_work[tid] = {
        "id": tid,
        "name": name,
        "icon": icon,
        "isArchived": archived,
        **_audit(catalog),
    }


def add_company(
    rng: random.Random, catalog: Catalog, row: tuple[Any, ...], projects: list[tuple[Any, ...]]
) -> Entity:
    """A company from a `COMPANIES` row; `projects`: its `PROJECTS` rows (for the counts)."""
    name, industry, tags = row
    cid = new_id(rng)
    catalog.companies[cid] = {
        "id": cid,
        "name": name,
        "industry": industry,
        "hasImage": False,
        "isExternal": False,
        "tags": catalog.tag_list(tags),
        "companyContactInfos": [],
        "projectsCount": len(projects),
        "projectsInProgressCount": sum(1 for p in projects if not p[6]),
        **catalog.stamp(rng),
    }
    return catalog.companies[cid]


def _audit(catalog: Catalog) -> dict[str, Any]:
    return {
        "createdOn": catalog.created,
        "createdBy": catalog.created_by,
        "updatedOn": catalog.created,
        "updatedBy": catalog.created_by,
    }


def _users(rng: random.Random, catalog: Catalog) -> None:
    rows = [("awork-billing", "API", "API user"), *PEOPLE]
    for first, last, position in rows:
        uid = new_id(rng)
        catalog.created_by = catalog.created_by or uid
        catalog.users[uid] = {
            "id": uid,
            "firstName": first,
            "lastName": last,
            "position": position,
            "hasImage": False,
            "isExternal": False,
            "isArchived": False,
            "isDeactivated": False,
            "isAgent": False,
            "language": "de",
            "gender": None,
            "title": None,
            "status": {"invitationAccepted": True, "isDeactivated": False},
            "tags": [],
            "teams": [],
            "userContactInfos": [],
            **catalog.stamp(rng),
        }
    catalog.api_user, *catalog.people = catalog.users.values()


def definitions_by_name(catalog: Catalog) -> dict[str, Entity]:
    return {d["name"]: d for d in catalog.custom_field_definitions.values()}


def _definitions(rng: random.Random, catalog: Catalog) -> dict[str, Entity]:
    """Custom field definitions (`GET /customfielddefinitions`): two for projects, one for tasks."""
    options = [
        {"id": new_id(rng), "value": name, "color": color, "order": float(i)}
        for i, (name, color) in enumerate(zip(PROJECT_TYPES, TAG_COLORS, strict=False))
    ]
    rows = [
        ("Billing model", "select", "project", options),
        ("Cost center", "text", "project", []),
        ("Billable override", "boolean", "task", []),
    ]
    for name, kind, entity, selection in rows:
        did = new_id(rng)
        catalog.custom_field_definitions[did] = {
            "id": did,
            "name": name,
            "type": kind,
            "entity": entity,
            "isArchived": False,
            "selectionOptions": selection,
            **_audit(catalog),
        }
    return definitions_by_name(catalog)


def _field(definition: Entity, **value: Any) -> Entity:
    empty = dict.fromkeys(
        (
            "textValue",
            "numberValue",
            "dateValue",
            "booleanValue",
            "selectionOptionIdValue",
            "userIdValue",
            "clientIdValue",
        )
    )
    return {"customFieldDefinitionId": definition["id"], **empty, **value}


def add_project(
    rng: random.Random, catalog: Catalog, row: tuple[Any, ...], defs: dict[str, Entity]
) -> Entity:
    """A project (and its tasks) from a `PROJECTS` row; `defs`: custom field definitions."""
    name, key, company_index, type_name, billable, weight, closed, tags = row
    company = list(catalog.companies.values())[company_index]
    pid, type_id, status_id = new_id(rng), new_id(rng), new_id(rng)
    option = next(o for o in defs["Billing model"]["selectionOptions"] if o["value"] == type_name)
    project: Entity = {
        "id": pid,
        "name": name,
        "projectKey": key,
        "isProjectKeyVisible": True,
        "isBillableByDefault": billable,
        "isRetainer": type_name == "Retainer",
        "deductNonBillableHours": False,
        "isPrivate": False,
        "isExternal": False,
        "hasImage": False,
        "color": "blue",
        "timeBudget": 40 * 3600 if type_name == "Retainer" else None,
        "companyId": company["id"],
        "company": {
            "id": company["id"],
            "name": company["name"],
            "hasImage": False,
            "tags": catalog.tag_list([t["name"] for t in company["tags"]], company["id"]),
        },
        "projectTypeId": type_id,
        "projectType": {"id": type_id, "name": type_name, "icon": "folder", "isArchived": False},
        "projectStatusId": status_id,
        "projectStatus": {
            "id": status_id,
            "name": "Done" if closed else "In progress",
            "type": "closed" if closed else "progress",
            "isArchived": False,
            "isExternal": False,
            "typeOrder": 3 if closed else 1,
        },
        "tags": catalog.tag_list(tags),
        "customFields": [
            _field(
                defs["Billing model"], selectionOptionIdValue=option["id"], selectionOption=option
            ),
            _field(defs["Cost center"], textValue="CC-100" if company_index == 0 else "CC-200"),
        ],
        "members": [],
        "teams": [],
        **catalog.stamp(rng),
    }
    catalog.projects[pid] = project
    catalog.project_weights += [project] * weight
    by_name = {t["name"]: t for t in catalog.types_of_work.values()}
    for number, (task_name, type_of_work) in enumerate(TASKS[type_name], start=1):
        _task(rng, catalog, project, number, task_name, by_name[type_of_work], defs)
    return project


def _task(
    rng: random.Random,
    catalog: Catalog,
    project: Entity,
    number: int,
    name: str,
    type_of_work: Entity,
    defs: dict[str, Entity],
) -> None:
    tid, status_id = new_id(rng), new_id(rng)
    override = [_field(defs["Billable override"], booleanValue=False)] if number == 4 else []
    catalog.tasks[tid] = {
        "id": tid,
        "name": name,
        "baseType": "projecttask",
        "taskNumber": number,
        "taskIdentifier": f"{project['projectKey']}-{number}",
        "isPrio": False,
        "projectId": project["id"],
        "project": {
            k: project[k]
            for k in ("id", "name", "projectKey", "companyId", "isBillableByDefault", "projectType")
        },
        "typeOfWorkId": type_of_work["id"],
        "typeOfWork": nested_type_of_work(type_of_work),
        "taskStatusId": status_id,
        "taskStatus": {
            "id": status_id,
            "name": "In progress",
            "type": "progress",
            "icon": "play",
            "order": 1.0,
            "projectId": project["id"],
        },
        "plannedDuration": 8 * 3600,
        "closedOn": None,
        "parentId": None,
        "correlationId": new_id(rng),
        "tags": [],
        "customFields": override,
        "lists": [],
        "assignees": [],
        **catalog.stamp(rng),
    }


def _color(name: str) -> str:
    return TAG_COLORS[sum(map(ord, name)) % len(TAG_COLORS)]
