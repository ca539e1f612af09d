"""Settings: read once from the environment at start-up, passed in everywhere, secrets hidden.

Every field is documented in the README ("Configuration"). A missing or invalid value stops the
process with one line naming the variable (`load_settings`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """A setting is missing or invalid; `str()` is one line naming the variable."""


class Settings(BaseSettings):
    """Configuration of the web app and the worker (SPEC section 3, plus documented extras)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    awork_api_url: str = Field(
        "https://api.awork.com/api/v1", description="Base URL of the awork API."
    )
    awork_api_token: SecretStr | None = Field(
        None, description="awork API key (Bearer). Required by the worker."
    )
    redis_url: str = Field("redis://localhost:6379/0", description="Redis for queue and state.")
    rules_file: str = Field("rules.yaml", description="Path of the billing rules (YAML).")
    webhook_token: SecretStr | None = Field(
        None, description="Shared secret(s) awork sends; comma-separated. Required by the web app."
    )
    webhook_token_header: str = Field("X-Webhook-Token", description="Header carrying the token.")
    webhook_max_bytes: int = Field(1_048_576, gt=0, description="Largest accepted webhook body.")
    dry_run: bool = Field(False, description="Evaluate and audit, but call no write endpoint.")
    awork_bulk_api: Literal["batch", "legacy"] = Field(
        "batch", description="batch = /timeentries/batch/{op}; legacy = set* endpoints."
    )
    awork_rate_per_second: float = Field(40, gt=0, description="Share of awork's 50/s limit.")
    awork_rate_per_minute: float = Field(900, gt=0, description="Share of awork's 1000/min limit.")

    # Extras (documented in the README).
    redis_prefix: str = Field(
        "awb", pattern=r"^[A-Za-z0-9_.-]+$", description="Prefix of every Redis key and job id."
    )
    coalesce_window_seconds: float = Field(
        2.0, gt=0, le=60, description="Events arriving within this window share one flush."
    )
    coalesce_leading_edge: bool = Field(
        True,
        description="A person's first event after a quiet window is flushed at once (after the "
        "grace), not at the window's end.",
    )
    coalesce_grace_seconds: float = Field(
        0.03,
        ge=0,
        le=1,
        description="How long a leading-edge flush waits, so that events arriving together "
        "share it.",
    )
    awork_bulk_chunk_size: int = Field(250, ge=1, le=1000, description="Ids per bulk write.")
    awork_read_chunk_size: int = Field(
        150, ge=1, le=170, description="Ids per bulk read (keeps URLs under 8 KiB)."
    )
    awork_timeout_seconds: float = Field(30, gt=0, description="Read timeout of awork calls.")
    awork_max_connections: int = Field(
        20,
        ge=1,
        le=200,
        description="Connections to awork per process; more calls wait for one (never for "
        "httpx's pool timeout) before the rate limit is asked.",
    )
    awork_max_attempts: int = Field(
        8, ge=1, description="Tries of a failing step of an operator's command (backfill, …)."
    )
    awork_give_up_after_seconds: float = Field(
        21_600,
        gt=0,
        description="How long a flush keeps retrying while awork fails (5xx, timeouts) before "
        "its entries are dead-lettered (6 h: awork outages last longer than minutes).",
    )
    dedup_ttl_seconds: int = Field(
        21_600,
        gt=0,
        description="How long a delivered event is remembered as a duplicate: awork's redelivery "
        "window (10 retries), with room; a later redelivery is merely queued again.",
    )
    audit_max_len: int = Field(100_000, gt=0, description="Audit stream length (approximate).")
    worker_max_jobs: int = Field(20, ge=1, description="Concurrent jobs per worker process.")
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the worker's Prometheus /metrics (0 = off)."
    )
    worker_job_completion_wait_seconds: int = Field(
        25, ge=0, description="On SIGTERM, how long running jobs may finish (< grace period)."
    )
    flush_timeout_seconds: int = Field(
        60,
        ge=5,
        description="Longest flush job; a killed worker's batch re-runs after this + 10 s.",
    )
    uvicorn_timeout_graceful_shutdown: int = Field(
        20, ge=0, description="On SIGTERM, how long the web app waits for open requests."
    )
    reconcile_interval_seconds: int = Field(
        300, ge=0, description="Reconciliation sweep period (0 = off)."
    )
    reconcile_lookback_hours: float = Field(
        24, gt=0, description="First sweep: entries changed this long ago or later."
    )
    awork_webhook_id: str | None = Field(
        None, description="awork's id of our webhook: checked for pauses, exported as a metric."
    )
    awork_webhook_auto_reenable: bool = Field(
        False, description="Re-enable the webhook when awork has paused it."
    )
    webhook_check_interval_seconds: int = Field(
        60, ge=5, description="How often the webhook's state is checked."
    )
    lookup_cache_ttl_seconds: int = Field(
        600, ge=0, description="How long projects, tasks and companies are cached in Redis."
    )
    rules_reload_seconds: float = Field(
        10, ge=0, description="How often the worker checks the rules file for changes (0 = off)."
    )
    worker_heartbeat_file: str | None = Field(
        None,
        description="The file a worker's event loop touches (`awork-billing healthcheck`); "
        "default: $XDG_RUNTIME_DIR/awork-billing/worker.alive, else a folder of this user's "
        "under the temp dir.",
    )
    log_level: str = Field("INFO", description="Python log level.")
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")

    # The month-end close (issue 12, README "Month-end close").
    rates_file: str | None = Field(
        None,
        description="Rates, rounding and surcharges for `close preview` (YAML); none: minutes.",
    )
    close_snapshot_ttl_days: int = Field(
        7, ge=1, le=90, description="How long a close preview's snapshot can be committed (days)."
    )
    close_guard_restore: bool = Field(
        False, description="When a person un-bills an entry of a close, set it billed again."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("awork_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def heartbeat_path(self) -> Path:
        """Where the worker's heartbeat lives: `WORKER_HEARTBEAT_FILE`, else a per-user place
        (one user's worker never blocks another's: a fixed /tmp path did)."""
        if self.worker_heartbeat_file:
            return Path(self.worker_heartbeat_file)
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = Path(runtime) if runtime else Path(tempfile.gettempdir()) / f"user-{os.getuid()}"
        return base / "awork-billing" / "worker.alive"

    def webhook_tokens(self) -> list[str]:
        """The accepted webhook tokens (comma-separated in WEBHOOK_TOKEN), empty ones dropped."""
        if self.webhook_token is None:
            return []
        return [t.strip() for t in self.webhook_token.get_secret_value().split(",") if t.strip()]


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; raise `SettingsError` with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None


def require(settings: Settings, *names: str) -> None:
    """Raise `SettingsError` naming the first of `names` that is not set."""
    for name in names:
        value = getattr(settings, name)
        if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
            raise SettingsError(f"missing setting {name.upper()}: required here")
