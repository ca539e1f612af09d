"""What can go wrong talking to awork (raised by `workers.awork.transport.Transport`):

    AworkError                      anything that went wrong talking to awork
     ├── AworkRetryable             worth another try later: 5xx, timeouts, connection errors
     │    └── AworkRateLimited      429, or the shared limiter says wait (`retry_after` seconds)
     └── AworkRejected              permanent for this request: 400, 401 (permission), 403, 404

Every error carries the HTTP `status` (0 when there was no answer), awork's error `code`, and the
`Trace-Id` that awork's support asks for. Retryable failures become `arq.Retry(defer=…)` in the
jobs; permanent ones are dead-lettered for an operator.
"""

from __future__ import annotations

from typing import Any


class AworkError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.trace_id = trace_id


class AworkRetryable(AworkError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class AworkRateLimited(AworkRetryable):
    pass


class AworkRejected(AworkError):
    pass
