"""The awork adapter: every call the service makes to awork, and nothing about rules or jobs.

    transport    the one way a request goes out: shared rate limit, retries, errors, metrics
    client       `AworkClient`: time entries (bulk reads and writes), lookups, the API user
    webhooks     `WebhookApi`: the webhook configuration (admin)
    limiter      the rate limit every worker and pod shares, in Redis
    retry        `RetryPolicy`: one policy for every call that may be tried again
    filterby     awork's `filterby` expressions
    concurrency  several calls in flight within one job
    errors       `AworkError` and its tree

It never imports the rules, applying, jobs or the CLI.
"""

from workers.awork.client import AworkClient, BatchResult, EntryPage
from workers.awork.errors import AworkError, AworkRateLimited, AworkRejected, AworkRetryable
from workers.awork.limiter import Limiter, Rates
from workers.awork.retry import POLICY, RetryPolicy
from workers.awork.transport import Transport, http_client
from workers.awork.webhooks import WebhookApi

__all__ = [
    "POLICY",
    "AworkClient",
    "AworkError",
    "AworkRateLimited",
    "AworkRejected",
    "AworkRetryable",
    "BatchResult",
    "EntryPage",
    "Limiter",
    "Rates",
    "RetryPolicy",
    "Transport",
    "WebhookApi",
    "http_client",
]
