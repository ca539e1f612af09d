"""Run the sandbox on its own: `python -m service.sandbox --port 8081 --webhook-url …`.

Point the service at it with `AWORK_API_URL=http://127.0.0.1:8081` and
`AWORK_API_TOKEN=sandbox-token`; act as a member with `sandbox-member-token` (or as any person
with `sandbox-token-<first name>`, see `GET /_sandbox/keys`); steer it with the `/_sandbox/`
control routes.
"""

from __future__ import annotations

import argparse

import uvicorn

from service.sandbox.app import create_sandbox
from service.sandbox.faults import Faults
from service.sandbox.seed import seed_workspace
from service.sandbox.workspace import ADMIN_TOKEN


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--entries", type=int, default=300, help="seeded time entries")
    parser.add_argument("--seed", type=int, default=7, help="seed of the workspace and faults")
    parser.add_argument("--token", default=ADMIN_TOKEN, help="the admin API key it accepts")
    parser.add_argument(
        "--retainer-client",
        action="store_true",
        help="add a retainer client whose current month is nearly used up",
    )
    parser.add_argument(
        "--project-budgets", action="store_true", help="give two projects a time budget"
    )
    parser.add_argument("--webhook-url", help="where to deliver time-entry webhooks")
    parser.add_argument(
        "--webhook-header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="header sent with every delivery (repeatable)",
    )
    args = parser.parse_args(argv)
    headers = {}
    for item in args.webhook_header:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--webhook-header {item!r}: expected NAME=VALUE")
        headers[name] = value
    workspace = seed_workspace(
        entries=args.entries,
        seed=args.seed,
        retainer_client=args.retainer_client,
        project_budgets=args.project_budgets,
    )
    workspace.api_token = args.token
    app = create_sandbox(workspace, Faults(seed=args.seed), args.webhook_url, headers or None)
    uvicorn.run(app, host=args.host, port=args.port, ws="none")


if __name__ == "__main__":
    main()
