"""The tests' configuration: where Redis is, the sandbox's and the webhook's tokens, the default
rules, and `make_settings` (settings for one test's key prefix and rules file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from service.contract.settings import Settings, load_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
SANDBOX_TOKEN = "sandbox-token"
WEBHOOK_TOKEN = "test-webhook-token"

DEFAULT_RULES = """
version: 1
rules:
  - name: internal-work-is-unbillable
    when:
      project.company.name: "Our Agency GmbH"
    then:
      billable: false
  - name: retainers-are-billed
    when:
      any:
        - project.name: {startswith: "RET "}
        - project.projectType.name: "Retainer"
    then:
      billable: true
      billed: true
  - name: calls-are-meetings
    when:
      note: {matches: "(?i)\\\\b(meeting|call)\\\\b"}
    then:
      type_of_work: {name: "Meeting"}
  - name: client-work-is-billable
    when:
      project.company.name: {exists: true}
    then:
      billable: true
"""


def make_settings(prefix: str, rules_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "rules_file": str(rules_file),
        "awork_api_url": "http://127.0.0.1:9",
        "awork_api_token": SANDBOX_TOKEN,
        "webhook_token": WEBHOOK_TOKEN,
        "coalesce_window_seconds": 0.2,
    }
    values.update(overrides)
    return load_settings(**values)
