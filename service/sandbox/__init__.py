"""The awork sandbox: a fake awork API speaking awork's published contract.

Used by the tests, by `make demo` and by operators to try rules safely:

    from service.sandbox import Faults, create_sandbox, running, seed_workspace

    ws = seed_workspace(entries=300, seed=7)
    app = create_sandbox(ws, faults=Faults(), webhook_url=None, webhook_headers=None)
    async with running(app, port=0) as base_url:
        ...  # GET {base_url}/timeentries with "Authorization: Bearer sandbox-token"

Modules, by concern:
- state: `workspace` (the awork data), `state` (`SandboxState`: calls, webhooks, deliveries);
- seed data: `seed` (entries), `catalog` (companies, projects, ...), `agency` (their names);
- contract: `contract` (published schemas), `filters` and `ordering` (`filterby`, `orderby`),
  `paging`, `responses` (JSON and `ErrorResponse`), `clock` (ticks, 7-digit timestamps);
- behaviour: `billing` (write semantics), `faults` (fault injection, rate limit), `gateway`
  (token, limits, call log), `envelopes` and `delivery` (webhooks);
- HTTP: `timeentries`, `lookups`, `webhooks`, `control` (routes), `app` (`create_sandbox`),
  `server` (`running`).
"""

from service.sandbox.app import create_sandbox
from service.sandbox.delivery import DeliveryRecord, DeliveryReport, Hook
from service.sandbox.envelopes import envelope
from service.sandbox.faults import Faults
from service.sandbox.seed import seed_workspace
from service.sandbox.server import running
from service.sandbox.state import CallRecord, SandboxState
from service.sandbox.workspace import ADMIN_TOKEN, MEMBER_TOKEN, PERSON_TOKEN_PREFIX, Workspace

__all__ = [
    "ADMIN_TOKEN",
    "MEMBER_TOKEN",
    "PERSON_TOKEN_PREFIX",
    "CallRecord",
    "DeliveryRecord",
    "DeliveryReport",
    "Faults",
    "Hook",
    "SandboxState",
    "Workspace",
    "create_sandbox",
    "envelope",
    "running",
    "seed_workspace",
]
