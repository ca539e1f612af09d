"""One rate limit for every worker process and pod, kept in Redis.

awork allows 50 requests/s and 1,000/min per workspace, shared by every integration (SPEC 7.4).
This service takes a share of both (`AWORK_RATE_PER_SECOND`, `AWORK_RATE_PER_MINUTE`) with two
GCRA buckets checked and charged together in one Lua call, on Redis's clock so that pods with
skewed clocks agree. A 429 from awork pauses everyone until `ratelimit-reset` (`pause`).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: second bucket, minute bucket, pause key. ARGV: interval/tolerance (ms) of both buckets.
# Returns 0 when a call may go now (and charges it), else the milliseconds to wait.
ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return pause - now end
local function check(key, interval, tolerance)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval
  local wait = new_tat - tolerance - now
  if wait > 0 then return wait, tat end
  return 0, new_tat
end
local i1, tol1 = tonumber(ARGV[1]), tonumber(ARGV[2])
local i2, tol2 = tonumber(ARGV[3]), tonumber(ARGV[4])
local w1, tat1 = check(KEYS[1], i1, tol1)
local w2, tat2 = check(KEYS[2], i2, tol2)
local wait = math.max(w1, w2)
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], tat1, 'PX', math.ceil(tol1 + i1) + 1000)
redis.call('SET', KEYS[2], tat2, 'PX', math.ceil(tol2 + i2) + 1000)
return 0
"""

# KEYS: pause key. ARGV: milliseconds. Extends (never shortens) a pause of every worker.
PAUSE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > cur then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return until_ms
"""


@dataclass(frozen=True)
class Rates:
    """The service's share of awork's limits."""

    per_second: float
    per_minute: float


class Limiter:
    """Shared limiter: `acquire()` returns 0.0 when a call may go now, else seconds to wait."""

    def __init__(self, redis: Redis, key_prefix: str, rates: Rates) -> None:
        self._keys = [f"{key_prefix}:s", f"{key_prefix}:m", f"{key_prefix}:pause"]
        second = 1000.0 / rates.per_second
        minute = 60_000.0 / rates.per_minute
        # tolerance = window - interval: a full window's worth may go at once, then the rate holds
        self._args = [second, 1000.0 - second, minute, 60_000.0 - minute]
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._pause = redis.register_script(PAUSE_LUA)

    async def acquire(self) -> float:
        """Take one call from both buckets if both allow it now; else the wait in seconds."""
        wait_ms = await self._acquire(keys=self._keys, args=[f"{a:.3f}" for a in self._args])
        return int(wait_ms) / 1000.0

    async def pause(self, seconds: float) -> None:
        """Hold every worker's calls for `seconds` (after a 429, or when awork's budget is low)."""
        await self._pause(keys=self._keys[2:], args=[max(1, int(seconds * 1000))])
