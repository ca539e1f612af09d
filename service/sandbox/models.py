"""The nested models a time entry carries, cut from the workspace's full entities.

`GET /timeentries/{id}` (v1 `TimeTracking`) embeds `project` (`ProjectModelForTimeTrackings`),
`task` (`TaskModelForTimeTrackings`), `user` (`UserModelForTimeTrackings`) and `typeOfWork`
(`NestedTypeModel`); `GET /timeentries/simplified` embeds smaller ones (`SimplifiedProjectModel`,
`SimplifiedTaskModel`, `NestedUserModel`, `NestedBaseTypeModel`). Each builder takes the full
entity from the workspace and keeps exactly the keys its schema declares, in a fixed order (the
seed's JSON must stay byte-for-byte the same).
"""

from __future__ import annotations

from typing import Any

Entity = dict[str, Any]

_TASK_KEYS = (
    "id",
    "name",
    "baseType",
    "taskIdentifier",
    "taskStatusId",
    "typeOfWorkId",
    "projectId",
    "plannedDuration",
    "closedOn",
    "parentId",
    "correlationId",
    "createdBy",
)
_SIMPLE_TASK_KEYS = (
    "id",
    "name",
    "baseType",
    "taskStatusId",
    "projectId",
    "parentId",
    "correlationId",
    "createdBy",
)


def nested_type_of_work(type_of_work: Entity) -> Entity:
    return {key: type_of_work.get(key) for key in ("id", "name", "icon", "isArchived")}


def nested_project(project: Entity) -> Entity:
    """The `project` of a time entry (the seed may rename `projectKey` to the older `key`)."""
    return {
        "id": project["id"],
        "name": project["name"],
        "projectKey": project["projectKey"],
        "isPrivate": False,
        "isExternal": False,
        "hasImage": False,
        "isBillableByDefault": project["isBillableByDefault"],
        "projectStatus": {
            k: project["projectStatus"][k] for k in ("id", "name", "type", "isArchived")
        },
        "company": {k: project["company"][k] for k in ("id", "name", "hasImage")},
        "projectType": dict(project["projectType"]),
        "createdBy": project["createdBy"],
    }


def nested_task(task: Entity) -> Entity:
    nested = {key: task[key] for key in _TASK_KEYS}
    nested["taskStatus"] = {
        k: task["taskStatus"][k] for k in ("id", "name", "type", "icon", "order")
    }
    return nested


def nested_user(user: Entity) -> Entity:
    return {k: user[k] for k in ("id", "firstName", "lastName", "hasImage", "isExternal")}


def person(user: Entity) -> Entity:
    """`{id, firstName, lastName}`, as a webhook's `triggeredBy` carries a user."""
    return {key: user.get(key) for key in ("id", "firstName", "lastName")}


def simple_project(project: Entity) -> Entity:
    nested: Entity = {
        "id": project["id"],
        "name": project["name"],
        "hasImage": bool(project.get("hasImage")),
    }
    company = project.get("company")
    if company:
        nested["company"] = {"id": company["id"], "hasImage": bool(company.get("hasImage"))}
    return nested


def simple_task(task: Entity) -> Entity:
    nested = {key: task[key] for key in _SIMPLE_TASK_KEYS}
    nested["taskStatus"] = {
        k: task["taskStatus"][k] for k in ("id", "name", "type", "icon", "order")
    }
    return nested


def simple_user(user: Entity) -> Entity:
    return {k: user[k] for k in ("id", "firstName", "lastName", "hasImage")}


def simple_type_of_work(type_of_work: Entity) -> Entity:
    return {key: type_of_work.get(key) for key in ("id", "name", "icon")}
