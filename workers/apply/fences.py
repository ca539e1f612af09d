"""Write fences: each change is written once per version of an entry, whoever computes it.

Two writers can decide the same change from the same read: two flushes whose windows both held
an entry, or the reconciliation sweep and a flush. Writes are idempotent, so the end state is
right either way, but the second call is wasted and the audit log would show the change twice.

`<prefix>:fence:<entry>:<attribute>` is claimed atomically before the write (one Lua call for a
whole bulk call): it then holds `<version>:<writer>` for a while, and after awork confirmed the
write, `<version>`. A writer whose decision is not newer than a written or claimed version
skips that change (counted as `already_written`); the same writer (a re-run of its job) may
claim again; a failed write releases its claims. A person changing the entry makes a newer
version, so the rules apply again as they should.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.scripts import NEWER_LUA
from workers.apply.batch import Write

DONE_TTL_SECONDS = 86_400

# KEYS: fences. ARGV: writer, claim TTL ms, one version per key. Returns per key the previous
# value when claimed ("" for none), or false when another writer has it.
CLAIM_LUA = (
    NEWER_LUA
    + """
local out = {}
for i, key in ipairs(KEYS) do
  local v = ARGV[i + 2]
  local cur = redis.call('GET', key)
  local ok = not cur
  if cur then
    local written = string.match(cur, '^(%d+)$')
    local claimed, writer = string.match(cur, '^(%d+):(.+)$')
    if written then ok = newer(v, written)
    elseif writer == ARGV[1] then ok = true
    elseif claimed then ok = newer(v, claimed) end
  end
  if ok then
    redis.call('SET', key, v .. ':' .. ARGV[1], 'PX', tonumber(ARGV[2]))
    out[i] = cur or ''
  else
    out[i] = false
  end
end
return out
"""
)

# KEYS: fences. ARGV: writer, done TTL s, then pairs (version, previous value). `done`: the
# claim becomes the written version; else it is undone (the previous value restored).
SETTLE_LUA = """
local done = ARGV[3] == '1'
for i, key in ipairs(KEYS) do
  local v, before = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
  if redis.call('GET', key) == v .. ':' .. ARGV[1] then
    if done then redis.call('SET', key, v, 'EX', tonumber(ARGV[2]))
    elseif before ~= '' then redis.call('SET', key, before, 'EX', tonumber(ARGV[2]))
    else redis.call('DEL', key) end
  end
end
return 1
"""


class Claim:
    """Writes one writer claimed, with the fence values they replaced."""

    def __init__(self, writer: str, writes: list[Write], before: list[str]) -> None:
        self.writer = writer
        self.writes = writes
        self.before = dict(zip((id(w) for w in writes), before, strict=True))


class Fences:
    """The fences of one installation; a claim lives `claim_seconds` unless settled."""

    def __init__(self, redis: Redis, keys: Keys, claim_seconds: float = 120) -> None:
        self._redis = redis
        self._keys = keys
        self._claim_ms = int(claim_seconds * 1000)
        self._claim: Any = redis.register_script(CLAIM_LUA)
        self._settle: Any = redis.register_script(SETTLE_LUA)

    async def claim(self, writes: Sequence[Write], writer: str) -> Claim:
        """Claim the writes no writer made or holds for (at least) their version."""
        if not writes:
            return Claim(writer, [], [])
        keys = [self._key(w) for w in writes]
        args = [writer, self._claim_ms, *(str(w.version) for w in writes)]
        answers = await self._claim(keys=keys, args=args)
        claimed = [(w, a) for w, a in zip(writes, answers, strict=True) if a is not None]
        return Claim(writer, [w for w, _ in claimed], [_text(a) for _, a in claimed])

    async def written(self, claim: Claim, writes: Sequence[Write]) -> None:
        """`writes` (of `claim`) were made: their fences hold the version now."""
        await self._settled(claim, writes, done=True)

    async def release(self, claim: Claim, writes: Sequence[Write]) -> None:
        """`writes` (of `claim`) were not made: their fences are as before."""
        await self._settled(claim, writes, done=False)

    async def _settled(self, claim: Claim, writes: Sequence[Write], *, done: bool) -> None:
        if not writes:
            return
        pairs = [x for w in writes for x in (str(w.version), claim.before.get(id(w), ""))]
        args = [claim.writer, DONE_TTL_SECONDS, "1" if done else "0", *pairs]
        await self._settle(keys=[self._key(w) for w in writes], args=args)

    def _key(self, write: Write) -> str:
        return self._keys.fence(write.entry_id, write.change.attribute)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
