"""The ingest baseline: a bare Starlette endpoint that reads the body and answers 202.

    python -m tests.bench.bare --port 8001

Served with exactly the uvicorn arguments of `awork-billing serve` (`workers.cli._serve`: one
process, no access log, uvloop/httptools when installed, keep-alive 75 s), so that the ratio
service ÷ bare measures the service's own work per webhook and nothing else.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

QUEUED = b'{"status":"queued"}'


async def webhook(request: Request) -> Response:
    await request.body()
    return Response(QUEUED, status_code=202, media_type="application/json")


app = Starlette(routes=[Route("/webhooks/awork", webhook, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "tests.bench.bare:app",
        host=args.host,
        port=args.port,
        access_log=False,
        timeout_keep_alive=75,
        forwarded_allow_ips="127.0.0.1",
        log_config=None,
    )


if __name__ == "__main__":
    main()
