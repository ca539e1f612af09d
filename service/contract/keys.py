"""Every Redis key the service uses, derived from one prefix (`REDIS_PREFIX`, `awb` by default).

Written by the web app:

    <p>:evt:<hash>          "1" with a TTL: a delivery already accepted (redelivery -> duplicate)
    <p>:pending             hash entry id -> PendingRecord JSON: entries waiting for a flush
    <p>:queue               arq's queue (sorted set) of flush jobs
    arq:job:<p>:flush:<n>   arq's job for coalescing window n (written by Lua, in arq's format)
    arq:job:<p>:flush:lead-<ms>  a leading-edge flush: the first event after a quiet window
    <p>:coalescing          set (with a TTL) while people's events coalesce into windows

Written by the workers:

    <p>:claimed:<job id>    hash, the pending entries one flush job took (survives a crash)
    <p>:claims              set of claimed keys (orphans are merged back by the sweep)
    <p>:ver:<entry>         newest resourceVersion read (stale reads are refused)
    <p>:fence:<entry>:<a>   version a write of attribute a was decided on (no double writes)
    <p>:manual:<entry>      attributes people set by hand (`respect_manual_changes`)
    <p>:cache:<kind>:<id>   projects, tasks, companies as the rules read them (TTL)
    <p>:cache:customfields  custom-field names (TTL)
    <p>:audit  <p>:dead     the audit stream, the dead letters
    <p>:limiter:log:s|m     the shared rate limit's sliding windows; <p>:limiter:pause
    <p>:me                  the API user's id (the author of the service's own writes)
    <p>:cache:typesofwork   type-of-work names -> ids, as a worker last read them
    <p>:attempts:<job>      transient failures of one flush; <p>:due:<job> periodic job timers
    <p>:reconcile:…         the sweep's checkpoint and lock; <p>:backfill:<digest> checkpoints
    <p>:closed:<entry>      an entry of a month-end close: its close and what was closed (guard)
    <p>:budgets             hash budget key -> its last use (seconds, used, percent), for the
                            gauge, the thresholds passed and the sweep's look at budget changes
    <p>:budget:of:<entry>   the budget an entry was last evaluated in (moved out, deleted)
    <p>:cache:retainers:<project>  a project's retainer periods (TTL)

Written by `awork-billing close` (the month-end close):

    <p>:close:snapshot:<id> a preview: its parameters and priced entries with versions (TTL)
    <p>:close:claim:<id>    the reference a preview is being committed as (TTL)
    <p>:close:record:<ref>  the close record (a business record: no TTL)
    <p>:close:index         hash reference -> a summary of its record (`close list`)
    <p>:close:lock:<ref>    held while a commit or reopen of <ref> runs (TTL)

and arq's own keys of a job (`arq.constants`): `arq:job:<id>`, `arq:result:<id>`,
`arq:in-progress:<id>`, `arq:retry:<id>`. Job ids start with the prefix, so installations
sharing a Redis never meet.
"""

from __future__ import annotations

from dataclasses import dataclass

ARQ_JOB = "arq:job:"
ARQ_RESULT = "arq:result:"
ARQ_IN_PROGRESS = "arq:in-progress:"
ARQ_RETRY = "arq:retry:"
"""arq's key prefixes (`arq.constants`; the web app writes arq jobs without importing arq)."""


@dataclass(frozen=True)
class Keys:
    """Names of every Redis key of one installation."""

    prefix: str

    # the queue (service.contract.queue)
    @property
    def pending(self) -> str:
        return f"{self.prefix}:pending"

    @property
    def claims(self) -> str:
        return f"{self.prefix}:claims"

    @property
    def queue(self) -> str:
        return f"{self.prefix}:queue"

    def dedup(self, key: str) -> str:
        return f"{self.prefix}:evt:{key}"

    def claimed(self, job_id: str) -> str:
        return f"{self.prefix}:claimed:{job_id}"

    def job_of_claim(self, claim_key: str) -> str:
        """The flush job id a `claimed(job_id)` key belongs to."""
        return claim_key.split(":claimed:", 1)[1]

    def flush_job_id(self, bucket: int) -> str:
        return f"{self.prefix}:flush:{bucket}"

    def lead_flush_job_id(self, now_ms: int) -> str:
        """A leading-edge flush, scheduled at `now_ms` (+ the grace)."""
        return f"{self.prefix}:flush:lead-{now_ms}"

    @property
    def coalescing(self) -> str:
        """Present while people's events coalesce into windows: a flush of their changes ran or
        is due within the last window, so the next event waits for its window's flush."""
        return f"{self.prefix}:coalescing"

    def job_id(self, function: str, suffix: str) -> str:
        """The id of a job this installation enqueues (`<p>:<function>:<suffix>`)."""
        return f"{self.prefix}:{function}:{suffix}"

    def cron_name(self, function: str) -> str:
        """The name of a cron job (arq's job ids are `cron:<p>:<function>:<run ms>`), so that
        installations sharing a Redis do not block each other's runs."""
        return f"cron:{self.prefix}:{function}"

    # the records of what was done
    @property
    def audit(self) -> str:
        return f"{self.prefix}:audit"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    def version(self, entry_id: str) -> str:
        return f"{self.prefix}:ver:{entry_id}"

    def fence(self, entry_id: str, attribute: str) -> str:
        return f"{self.prefix}:fence:{entry_id}:{attribute}"

    def manual(self, entry_id: str) -> str:
        return f"{self.prefix}:manual:{entry_id}"

    @property
    def manual_pattern(self) -> str:
        """Every entry's manual locks (for `SCAN`); the entry id follows the last colon."""
        return f"{self.prefix}:manual:*"

    # what the workers keep about awork
    @property
    def me(self) -> str:
        return f"{self.prefix}:me"

    @property
    def types_of_work(self) -> str:
        """Type-of-work names -> ids as last read at a worker's start (used while awork is away)."""
        return f"{self.prefix}:cache:typesofwork"

    def cached(self, kind: str, entity_id: str) -> str:
        """A cached project, task or company (`kind`) as the rules read it."""
        return f"{self.prefix}:cache:{kind}:{entity_id}"

    @property
    def custom_fields(self) -> str:
        return f"{self.prefix}:cache:customfields"

    @property
    def limiter_second(self) -> str:
        return f"{self.prefix}:limiter:log:s"

    @property
    def limiter_minute(self) -> str:
        return f"{self.prefix}:limiter:log:m"

    @property
    def limiter_pause(self) -> str:
        return f"{self.prefix}:limiter:pause"

    # the workers' own bookkeeping
    def attempts(self, job_id: str) -> str:
        return f"{self.prefix}:attempts:{job_id}"

    def due(self, function: str) -> str:
        return f"{self.prefix}:due:{function}"

    @property
    def reconcile_checkpoint(self) -> str:
        return f"{self.prefix}:reconcile:checkpoint"

    @property
    def reconcile_lock(self) -> str:
        return f"{self.prefix}:reconcile:lock"

    def backfill(self, digest: str) -> str:
        return f"{self.prefix}:backfill:{digest}"

    # the month-end close (workers.close) and its guard (workers.apply.guard)
    def closed(self, entry_id: str) -> str:
        return f"{self.prefix}:closed:{entry_id}"

    def close_snapshot(self, close_id: str) -> str:
        return f"{self.prefix}:close:snapshot:{close_id}"

    def close_claim(self, close_id: str) -> str:
        return f"{self.prefix}:close:claim:{close_id}"

    def close_record(self, reference: str) -> str:
        return f"{self.prefix}:close:record:{reference}"

    @property
    def close_index(self) -> str:
        return f"{self.prefix}:close:index"

    def close_lock(self, reference: str) -> str:
        return f"{self.prefix}:close:lock:{reference}"

    # budgets (workers.apply.budgets, issue 13)
    @property
    def budgets(self) -> str:
        return f"{self.prefix}:budgets"

    def budget_of(self, entry_id: str) -> str:
        return f"{self.prefix}:budget:of:{entry_id}"

    # arq's keys of one job
    @staticmethod
    def arq_job(job_id: str) -> str:
        return f"{ARQ_JOB}{job_id}"

    @staticmethod
    def arq_result(job_id: str) -> str:
        return f"{ARQ_RESULT}{job_id}"

    @staticmethod
    def arq_in_progress(job_id: str) -> str:
        return f"{ARQ_IN_PROGRESS}{job_id}"

    @property
    def arq_patterns(self) -> tuple[str, ...]:
        """Patterns of every key of this installation (for `purge_prefix`)."""
        return (f"{self.prefix}:*", f"arq:*:{self.prefix}:*")
