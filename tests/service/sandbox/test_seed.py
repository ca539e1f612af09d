from __future__ import annotations

import copy
import re
from typing import Any

from service.sandbox import seed_workspace
from service.sandbox.contract import load_contract


def test_same_arguments_give_the_same_workspace() -> None:
    first, second = seed_workspace(entries=80, seed=3), seed_workspace(entries=80, seed=3)
    assert first.entries == second.entries
    assert first.projects == second.projects
    assert first.api_user == second.api_user
    assert seed_workspace(entries=80, seed=4).entries != first.entries


def test_the_catalogue_does_not_depend_on_the_number_of_entries() -> None:
    small, large = seed_workspace(entries=5, seed=3), seed_workspace(entries=500, seed=3)
    assert small.projects == large.projects
    assert small.types_of_work == large.types_of_work
    assert len(large.entries) == 500


def test_the_agency_has_clients_retainers_and_internal_work() -> None:
    ws = seed_workspace(entries=10)
    companies = {c["name"] for c in ws.companies.values()}
    assert "Our Agency GmbH" in companies
    assert 3 <= len(companies - {"Our Agency GmbH"}) <= 4
    types = {p["projectType"]["name"] for p in ws.projects.values()}
    assert {"Retainer", "Fixed price"} <= types
    names = [p["name"] for p in ws.projects.values()]
    assert any(name.startswith("RET ") for name in names)
    internal = [p for p in ws.projects.values() if p["company"]["name"] == "Our Agency GmbH"]
    assert internal
    assert all(p["isBillableByDefault"] is False for p in internal)
    assert {p["isBillableByDefault"] for p in ws.projects.values()} >= {True, False}
    active = {t["name"] for t in ws.types_of_work.values() if not t["isArchived"]}
    assert active == {"Development", "Design", "Meeting", "Consulting", "Internal"}
    assert len(ws.users) == 7  # six people and the API user
    assert ws.api_user["id"] in ws.users


def test_projects_carry_what_a_rule_may_read() -> None:
    ws = seed_workspace(entries=10)
    retainer = next(p for p in ws.projects.values() if p["name"].startswith("RET "))
    assert retainer["isRetainer"] is True
    assert retainer["tags"][0]["name"] == "retainer"
    assert retainer["projectStatus"]["type"] == "progress"
    definitions = ws.custom_field_definitions
    assert all(f["customFieldDefinitionId"] in definitions for f in retainer["customFields"])
    assert any(c["tags"] for c in ws.companies.values())
    assert any(t["customFields"] for t in ws.tasks.values())


def test_entries_look_like_real_payloads() -> None:
    entries = list(seed_workspace(entries=300, seed=7).entries.values())
    running = [e for e in entries if not e.get("endDateUtc") and not e.get("duration")]
    assert 1 <= len(running) <= 15
    assert all(e["duration"] == 0 and e["endTimeUtc"] is None for e in running)
    start_and_duration = [e for e in entries if "endDateUtc" not in e]
    assert start_and_duration
    assert all(e["duration"] > 0 for e in start_and_duration)
    assert any("key" in e.get("project", {}) and "projectKey" not in e["project"] for e in entries)
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{7}", e["startTimeUtc"]) for e in entries)
    assert any(re.search(r"(?i)\b(call|meeting)\b", e["note"] or "") for e in entries)
    assert 0 < sum(e["isBilled"] for e in entries) < sum(e["isBillable"] for e in entries)
    assert 0 < sum(e["isBillable"] for e in entries) < len(entries)
    assert len({e["typeOfWork"]["name"] for e in entries}) == 5
    assert any(e["projectId"] is None and "project" not in e for e in entries)


def test_every_entry_has_a_distinct_version_and_updated_on() -> None:
    entries = list(seed_workspace(entries=300).entries.values())
    versions = [e["resourceVersion"] for e in entries]
    assert len(set(versions)) == len(versions)
    assert all(re.fullmatch(r"\d{4}-.*\.\d{7}Z", e["updatedOn"]) for e in entries)


def test_seeded_models_match_the_published_schemas() -> None:
    ws = seed_workspace(entries=300)
    contract = load_contract()
    for entry in ws.entries.values():
        contract.check("TimeTracking", _without_old_key(entry))
    for schema, table in [
        ("Project", ws.projects),
        ("TaskModel", ws.tasks),
        ("Company", ws.companies),
        ("TypeOfWork", ws.types_of_work),
        ("UserAndWorkspace", ws.users),
    ]:
        for entity in table.values():
            contract.check(schema, entity)


def _without_old_key(entry: dict[str, Any]) -> dict[str, Any]:
    """`project.key` is a real-world deviation from the schema the seed reproduces on purpose."""
    entry = copy.deepcopy(entry)
    entry.get("project", {}).pop("key", None)
    return entry
