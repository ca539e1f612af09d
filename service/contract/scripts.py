"""The queue's Lua scripts: each is one atomic step of the protocol in `service.contract.queue`.

Versions are decimal strings (an int64 `resourceVersion` does not fit a Lua double): they are
compared by length, then as text.
"""

from __future__ import annotations

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
local function earliest(x, y)
  x, y = x or 0, y or 0
  if x == 0 then return y end
  if y == 0 then return x end
  return math.min(x, y)
end
-- The newer record's version, event and page (a new change restarts a re-evaluation); the
-- authors and changed properties of both; the earliest known first-seen time; the most failures.
local function merge(a, b)
  local hi, lo = a, b
  if not newer(a.v, b.v) then hi, lo = b, a end
  return {v = hi.v or "0", e = hi.e, by = union(hi.by, lo.by, 8), ch = union(hi.ch, lo.ch, 32),
          ts = earliest(a.ts, b.ts), f = math.max(a.f or 0, b.f or 0), pg = hi.pg}
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

# KEYS: pending, queue, arq job key, arq result key. ARGV: job score, job data, job expiry ms,
# job id. Schedules the window's flush job when entries wait and it does not exist yet (the
# sweep's safety net: a web pod that died between its write and the job, a skewed clock).
ENSURE_FLUSH_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('EXISTS', KEYS[3], KEYS[4]) == 0 then
  redis.call('PSETEX', KEYS[3], tonumber(ARGV[3]), ARGV[2])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[4])
  return 1
end
return 0
"""
