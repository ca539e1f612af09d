"""The sandbox checking its own answers against awork's published response schemas.

Switched on per sandbox (`create_sandbox(..., check_responses=True)`; the sandbox's own tests do)
or for a whole run with the environment variable `SANDBOX_CHECK_RESPONSES=1`. For each API answer
of a route the published file describes (path templates compared without placeholder names):
- a status the operation lists: its JSON schema must match the body (no schema: no body);
- an error status it does not list (404, 414, 415, 429, 5xx …): the body must be an
  `ErrorResponse`, awork's one error shape;
- a success status it does not list: a violation.
Routes the file does not describe (`/customfielddefinitions`, the `/_sandbox/` controls) are not
checked. Tolerated, because the seed reproduces it on purpose (SPEC 7.1): `project.key`, the older
name of `projectKey`, in time entries.

A violation fails loudly: the answer becomes a 500 `server-error` naming what is wrong, the
problem is logged and kept in `SandboxState.violations`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import Message, Send

from service.sandbox.contract import Contract, load_contract
from service.sandbox.responses import ApiError, error_response

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_TOLERATED = re.compile(r"(^|[.\]])project\.key$")


def _shape(template: str) -> str:
    return _PLACEHOLDER.sub("{}", template)


class Conformance:
    """The published responses of every operation, by `(METHOD, path shape)`."""

    def __init__(self, contract: Contract | None = None) -> None:
        self.contract = contract or load_contract()
        self.operations: dict[tuple[str, str], dict[str, Any]] = {
            (method.upper(), _shape(path)): operation.get("responses", {})
            for path, item in self.contract.paths.items()
            for method, operation in item.items()
            if isinstance(operation, dict)
        }

    def describes(self, method: str, template: str | None) -> bool:
        return template is not None and (method, _shape(template)) in self.operations

    def problems(self, method: str, template: str, status: int, body: bytes) -> list[str]:
        """What is wrong with an answer (empty: it matches the published contract)."""
        responses = self.operations[(method, _shape(template))]
        documented = responses.get(str(status))
        if documented is None and status < 400:
            return [f"status {status} is not documented for {method} {template}"]
        schema = _json_schema(documented) if documented is not None else None
        if documented is None:
            schema = {"$ref": "#/components/schemas/ErrorResponse"}
        if schema is None:
            return [] if not body else [f"status {status} documents no body, got {len(body)} bytes"]
        try:
            instance = orjson.loads(body)
        except orjson.JSONDecodeError:
            return [f"status {status}: the body is not JSON"]
        key = f"{method} {_shape(template)} {status if documented is not None else 'error'}"
        errors = self.contract.fragment_errors(key, schema, instance)
        return [
            f"{e['property']}: {e['message']}"
            for e in errors
            if not (_TOLERATED.search(e["property"]) and e["message"].startswith("Unknown"))
        ]


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    schema: dict[str, Any] | None = (media or {}).get("schema")
    return schema


class CheckedSend:
    """An ASGI `send` holding the answer back until it is checked (see the module docstring)."""

    def __init__(
        self,
        conformance: Conformance,
        where: tuple[str, str],
        send: Send,
        on_violation: Callable[[str], None],
        trace: str,
    ) -> None:
        self._conformance = conformance
        self._where = where
        self._send = send
        self._on_violation = on_violation
        self._trace = trace
        self._start: Message | None = None
        self._body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body.extend(message.get("body", b""))
        if not message.get("more_body"):
            await self._finish(self._start)

    async def _finish(self, start: Message) -> None:
        method, template = self._where
        status = start["status"]
        problems = self._conformance.problems(method, template, status, bytes(self._body))
        if not problems:
            await self._send(start)
            await self._send({"type": "http.response.body", "body": bytes(self._body)})
            return
        text = f"{method} {template} {status}: " + "; ".join(problems[:5])
        logger.error("sandbox answer breaks the published contract: %s", text)
        self._on_violation(text)
        error = error_response(
            ApiError(500, "server-error", f"Contract violation: {text}"), self._trace
        )
        await self._send(
            {"type": "http.response.start", "status": 500, "headers": error.raw_headers}
        )
        await self._send({"type": "http.response.body", "body": error.body})
