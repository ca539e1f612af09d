"""How the sandbox answers: JSON via orjson, awork's `ErrorResponse`, request bodies checked
against the published schema.

Errors are one exception, `ApiError(status, code, description, ...)`, raised by handlers and
rendered by the app's exception handler as awork's error body (api-notes 5.1):
`{code, description, link, traceId, details, validationErrors}`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from service.sandbox.contract import load_contract

ERROR_LINK = "https://developers.awork.com/error-handling"


class ApiError(Exception):
    """An error answer in awork's format."""

    def __init__(
        self,
        status: int,
        code: str,
        description: str,
        *,
        details: list[str] | None = None,
        validation_errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description
        self.details = details or []
        self.validation_errors = validation_errors or []
        self.headers = headers or {}


def invalid(name: str, message: str, *, code: str = "validation-failed") -> ApiError:
    """A 400 naming one offending form property, as awork's `validationErrors` do."""
    return ApiError(400, code, message, validation_errors=[{"property": name, "message": message}])


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_body(error: ApiError, trace_id: str | None) -> dict[str, Any]:
    return {
        "code": error.code,
        "description": error.description,
        "link": ERROR_LINK,
        "traceId": trace_id,
        "details": error.details,
        "validationErrors": error.validation_errors,
    }


def error_response(error: ApiError, trace_id: str | None) -> JSONResponse:
    return JSONResponse(error_body(error, trace_id), error.status, headers=error.headers)


def trace_id(request: Request) -> str | None:
    trace: str | None = request.scope.get("state", {}).get("trace_id")
    return trace


async def read_form(request: Request, schema: str) -> dict[str, Any]:
    """The JSON body, validated against schema `schema`; `ApiError` 400/415 otherwise."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() not in ("application/json", "text/json"):
        raise ApiError(415, "invalid-model", "The request body must be JSON (application/json).")
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        problem = "A request body is required." if not raw.strip() else f"Invalid JSON: {e}"
        raise ApiError(
            400,
            "validation-failed",
            problem,
            validation_errors=[{"property": "$", "message": problem}],
        ) from e
    errors = load_contract().errors(schema, body)
    if errors:
        raise ApiError(
            400,
            "validation-failed",
            f"The request body does not match {schema}.",
            validation_errors=errors,
        )
    assert isinstance(body, dict)  # every form schema is an object
    return body
