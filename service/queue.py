"""The queue contract shared by the web app and the workers.

Layout in Redis (every key starts with `REDIS_PREFIX`, `awb` by default):

    <p>:evt:<hash>          "1" with a TTL: a delivery already accepted (redelivery -> duplicate)
    <p>:pending             hash entry id -> PendingRecord JSON: entries waiting for a flush
    <p>:claimed:<job id>    hash, the pending entries one flush job took (survives a crash)
    <p>:claims              set of claimed keys (orphans are merged back by the sweeper)
    <p>:queue               arq's queue (sorted set) of flush jobs
    arq:job:<p>:flush:<n>   arq's job for coalescing window n (written here by Lua, arq's format)

and, written by the workers:

    <p>:ver:<entry>         newest resourceVersion read (stale reads are refused)
    <p>:fence:<entry>:<a>   version a write of attribute a was decided on (no double writes)
    <p>:manual:<entry>      attributes people set by hand (`respect_manual_changes`)
    <p>:cache:…             projects, tasks, companies, custom-field names (TTL)
    <p>:audit <p>:dead      the audit stream, the dead letters
    <p>:limiter:…           the shared rate limit; <p>:me the API user's id
    <p>:attempts:<job>      transient failures of one flush; <p>:due:<job> periodic job timers
    <p>:reconcile:…         the sweep's checkpoint and lock; <p>:backfill:<digest> checkpoints

A webhook costs one Lua call that (1) sets the dedup key, (2) merges the entry into `pending`
keeping the newest `resourceVersion`, and (3) makes sure a flush job exists for the end of the
current coalescing window — the same rule arq's `enqueue_job` follows (skip when the job or its
result exists, else PSETEX + ZADD), so arq workers run it like any other job. Calls from
concurrent requests are grouped into one Lua call (`service.ingest.Committer`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

FLUSH_FUNCTION = "flush"
"""Name of the arq job that drains `pending` (registered in `workers.main.WorkerSettings`)."""

JOB_EXPIRES_MS = 86_400_000
"""arq's default `expires_extra_ms`: a flush job not started within a day is dropped by arq."""


def serialize(obj: Any) -> bytes:
    """arq job serializer (JSON): the web side writes jobs from Lua, so both sides use JSON."""
    return orjson.dumps(obj)


def deserialize(data: bytes) -> Any:
    """arq job deserializer, the inverse of `serialize`."""
    return orjson.loads(data)


@dataclass(frozen=True)
class Keys:
    """Names of every Redis key the service uses, derived from one prefix."""

    prefix: str

    @property
    def pending(self) -> str:
        return f"{self.prefix}:pending"

    @property
    def claims(self) -> str:
        return f"{self.prefix}:claims"

    @property
    def queue(self) -> str:
        return f"{self.prefix}:queue"

    @property
    def audit(self) -> str:
        return f"{self.prefix}:audit"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    @property
    def me(self) -> str:
        return f"{self.prefix}:me"

    @property
    def limiter(self) -> str:
        return f"{self.prefix}:limiter"

    def dedup(self, key: str) -> str:
        return f"{self.prefix}:evt:{key}"

    def claimed(self, job_id: str) -> str:
        return f"{self.prefix}:claimed:{job_id}"

    def version(self, entry_id: str) -> str:
        return f"{self.prefix}:ver:{entry_id}"

    def manual(self, entry_id: str) -> str:
        return f"{self.prefix}:manual:{entry_id}"

    def attempts(self, job_id: str) -> str:
        return f"{self.prefix}:attempts:{job_id}"

    def fence(self, entry_id: str, attribute: str) -> str:
        return f"{self.prefix}:fence:{entry_id}:{attribute}"

    @property
    def cache(self) -> str:
        return f"{self.prefix}:cache"

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

    def flush_job_id(self, bucket: int) -> str:
        return f"{self.prefix}:flush:{bucket}"


@dataclass
class PendingRecord:
    """What the queue keeps per entry until a flush: the newest version seen and who changed it.

    `by` holds the authors of the merged events (the worker skips entries only its own API user
    touched: its own writes echoing back); `changed` the PascalCase properties people changed.
    """

    version: int = 0
    event: str = "timetracking_updated"
    by: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    first_seen_ms: int = 0

    def to_dict(self) -> dict[str, object]:
        # the version is a string: Lua numbers are doubles and int64 ticks would lose digits
        return {
            "v": str(self.version),
            "e": self.event,
            "by": self.by,
            "ch": self.changed,
            "ts": self.first_seen_ms,
        }

    @classmethod
    def from_json(cls, raw: bytes | str) -> PendingRecord:
        data = orjson.loads(raw)
        return cls(
            version=int(data.get("v", 0)),
            event=str(data.get("e", "timetracking_updated")),
            by=[str(b) for b in data.get("by", [])],
            changed=[str(c) for c in data.get("ch", [])],
            first_seen_ms=int(data.get("ts", 0)),
        )


@dataclass(frozen=True)
class FlushSlot:
    """The flush job of the coalescing window that `now` falls in (it runs at the window's end)."""

    job_id: str
    run_at_ms: int

    @classmethod
    def for_time(cls, keys: Keys, window_seconds: float, now: float | None = None) -> FlushSlot:
        now = time.time() if now is None else now
        bucket = math.floor(now / window_seconds) + 1
        return cls(job_id=keys.flush_job_id(bucket), run_at_ms=int(bucket * window_seconds * 1000))

    def job_data(self, now_ms: int) -> bytes:
        """The job as arq stores it (`arq.jobs.serialize_job`), in our JSON serializer."""
        return serialize({"t": None, "f": FLUSH_FUNCTION, "a": [], "k": {}, "et": now_ms})


# Versions are decimal strings (int64 does not fit a Lua double): compare by length, then text.
NEWER_LUA = """
local function newer(a, b)
  a = tostring(a or "0")
  b = tostring(b or "0")
  if #a ~= #b then return #a > #b end
  return a > b
end
"""

# KEYS: pending, queue, arq job key, arq result key
# ARGV: dedup ttl, job score, job data, job expiry ms, job id, dedup key prefix, and the batch:
#   a JSON array of [dedup suffix ("" = no dedup), entry id, record object] — one string, not
#   3N arguments: packing thousands of arguments costs the web app more CPU than the write.
# The dedup keys are built here from the prefix: arq does not support Redis Cluster anyway.
INGEST_LUA = (
    NEWER_LUA
    + """
local function union(first, second, limit)
  local seen, out = {}, {}
  for _, list in ipairs({first or {}, second or {}}) do
    for _, x in ipairs(list) do
      if not seen[x] and #out < limit then seen[x] = true; out[#out + 1] = x end
    end
  end
  return out
end
local function merge(a, b)
  local hi, lo = a, b
  if not newer(a.v, b.v) then hi, lo = b, a end
  local ts = math.min(a.ts or 0, b.ts or 0)
  return {v = hi.v or "0", e = hi.e, by = union(hi.by, lo.by, 8), ch = union(hi.ch, lo.ch, 32),
          ts = ts}
end
local ttl = tonumber(ARGV[1])
local items = cjson.decode(ARGV[7])
local out = {}
local added = 0
for i, item in ipairs(items) do
  local fresh = true
  if item[1] ~= "" then
    fresh = redis.call('SET', ARGV[6] .. item[1], '1', 'NX', 'EX', ttl)
  end
  if fresh then
    local rec = item[3]
    local old = redis.call('HGET', KEYS[1], item[2])
    if old then rec = merge(cjson.decode(old), rec) end
    redis.call('HSET', KEYS[1], item[2], cjson.encode(rec))
    out[i] = 1
    added = added + 1
  else
    out[i] = 0
  end
end
if added > 0 and redis.call('EXISTS', KEYS[3], KEYS[4]) == 0 then
  redis.call('PSETEX', KEYS[3], tonumber(ARGV[4]), ARGV[3])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[5])
end
return out
"""
)

# KEYS: pending, claimed, claims set. Returns the claimed hash (field, value, ...).
CLAIM_LUA = """
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[3], KEYS[2])
end
return redis.call('HGETALL', KEYS[2])
"""


async def busy(redis: Redis, keys: Keys) -> bool:
    """True while entries are pending or claimed, or a flush job is queued or running (arq
    keeps a job in its queue until it finished)."""
    if await redis.exists(keys.pending) or await redis.scard(keys.claims):  # type: ignore[misc]
        return True
    jobs = await redis.zrange(keys.queue, 0, -1)
    return any(b":flush:" in job for job in jobs)


@dataclass(frozen=True)
class IngestItem:
    """One entry to merge into `pending`; `dedup_key` None for re-queues without dedup."""

    entry_id: str
    record: PendingRecord
    dedup_key: str | None = None


def ingest_call(
    keys: Keys, items: list[IngestItem], *, dedup_ttl: int, window_seconds: float
) -> tuple[list[str], list[str | bytes]]:
    """The KEYS and ARGV of one `INGEST_LUA` call for `items` (see the script's header)."""
    now = time.time()
    slot = FlushSlot.for_time(keys, window_seconds, now)
    lua_keys = [keys.pending, keys.queue, f"arq:job:{slot.job_id}", f"arq:result:{slot.job_id}"]
    batch = [[i.dedup_key or "", i.entry_id, i.record.to_dict()] for i in items]
    argv: list[str | bytes] = [
        str(dedup_ttl),
        str(slot.run_at_ms),
        slot.job_data(int(now * 1000)),
        str(JOB_EXPIRES_MS),
        slot.job_id,
        keys.dedup(""),
        orjson.dumps(batch),
    ]
    return lua_keys, argv
