"""One rate limit for every worker process and pod, kept in Redis.

awork allows 50 requests/s and 1,000/min per workspace, shared by every integration (SPEC 7.4).
This service takes a share of both (`AWORK_RATE_PER_SECOND`, `AWORK_RATE_PER_MINUTE`) with two
sliding-window logs (a sorted set of grant times per window) checked and charged together in one
Lua call, on Redis's clock so that pods with skewed clocks agree: in every 1 s and every 60 s
window, all workers together get at most the configured number of calls. (A GCRA bucket with a
window's worth of burst lets nearly twice the rate through in one second, which awork answers
with 429s; a sliding log is exact whether awork counts in sliding or clock-aligned windows.)
A 429 from awork pauses everyone until `ratelimit-reset` (`pause`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from service.contract.keys import Keys

# KEYS: second window, minute window, pause key. ARGV: span (ms) and limit of both windows, and
# a unique member for this call. Returns 0 when a call may go now (and records it), else the
# milliseconds until the oldest call that fills a window leaves it.
ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return math.ceil(pause - now) end
local wait = 0
for i = 1, 2 do
  local span, limit = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - span)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + span - now)
  end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i - 1]) + 1000)
end
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

    def __init__(self, redis: Redis, keys: Keys, rates: Rates) -> None:
        self._keys = [keys.limiter_second, keys.limiter_minute, keys.limiter_pause]
        per_second, per_minute = max(1, int(rates.per_second)), max(1, int(rates.per_minute))
        self._args = ["1000", str(per_second), "60000", str(per_minute)]
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._pause = redis.register_script(PAUSE_LUA)

    async def acquire(self) -> float:
        """Take one call from both windows if both allow it now; else the wait in seconds."""
        wait_ms = await self._acquire(keys=self._keys, args=[*self._args, secrets.token_hex(8)])
        return int(wait_ms) / 1000.0

    async def pause(self, seconds: float) -> None:
        """Hold every worker's calls for `seconds` (after a 429, or when awork's budget is low)."""
        await self._pause(keys=self._keys[2:], args=[max(1, int(seconds * 1000))])
