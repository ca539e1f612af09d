"""The awork sandbox: a fake awork API speaking awork's published contract.

Used by the tests, by `make demo` and by operators to try rules safely:

    from service.sandbox import Faults, create_sandbox, running, seed_workspace

    ws = seed_workspace(entries=300, seed=7)
    app = create_sandbox(ws, faults=Faults(), webhook_url=None, webhook_headers=None)
    async with running(app, port=0) as base_url:
        ...  # GET {base_url}/timeentries with "Authorization: Bearer sandbox-token"

Keys: `ADMIN_TOKEN` (`sandbox-token`, the API user, an admin), `MEMBER_TOKEN`
(`sandbox-member-token`, a member who is no admin) and `PERSON_TOKEN_PREFIX + first name`
(`sandbox-token-carla`): see `permissions`. `create_sandbox(..., check_responses=True)` makes the
sandbox check its own answers against the published schemas (`conformance`).

Modules, by concern:
- state: `workspace` (the awork data), `state` (`SandboxState`: calls, webhooks, deliveries);
- seed data: `seed` (entries), `catalog` (companies, projects, ...), `agency` (their names),
  `retainerclient` (the opt-in budget data), `models` (the nested models an entry carries);
- contract: `contract` (published schemas), `conformance` (checking the answers), `filters` and
  `ordering` (`filterby`, `orderby`), `paging`, `responses` (JSON and `ErrorResponse`), `clock`
  (ticks, 7-digit timestamps);
- behaviour: `permissions` (keys, admin-only rules), `timing` (an entry's times), `forms` (POST
  and PUT), `billing` (bulk writes), `timekeeping` (timers), `budgets` (tracked time, retainers),
  `faults` (fault injection, rate limit), `gateway` (token, limits, call log), `envelopes` and
  `delivery` (webhooks);
- HTTP: `timeentries`, `bulk`, `timers`, `simplified`, `lookups`, `webhooks`, `control` (routes),
  `app` (`create_sandbox`), `server` (`running`).
"""

from service.sandbox.app import create_sandbox
from service.sandbox.delivery import DeliveryRecord, DeliveryReport, Hook
from service.sandbox.envelopes import envelope, project_updated
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
    "project_updated",
    "running",
    "seed_workspace",
]
