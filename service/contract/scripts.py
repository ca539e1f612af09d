"""The queue's Lua scripts: each is one atomic step of the protocol in `service.contract.queue`.

Versions are decimal strings (an int64 `resourceVersion` does not fit a Lua double): they are
compared by length, then as text.
"""

from __future__ import annotations

from service.contract.keys import ARQ_IN_PROGRESS

NEWER_LUA = """
local function newer(a, b)
  a = tostring(a or "0")
  b = tostring(b or "0")
  if #a ~= #b then return #a > #b end
  return a > b
end
"""

# KEYS: pending, queue, the window's arq job and result keys, a leading-edge flush's arq job and
#   result keys, the coalescing marker, the API user's id (`me`)
# ARGV: dedup ttl, dedup key prefix, job data, job expiry ms, the window's job id and score, the
#   leading-edge job id and score ("" = no leading edge for this call), the marker's ms after a
#   leading-edge flush and after the window's flush, a handful (entries), and the
#   batch: one flat JSON array of strings, four per entry: dedup suffix ("" = no dedup), entry
#   id, author ("" = none or several), record (JSON text) — one argument, not 4N: packing
#   thousands of arguments costs the web app more CPU than the write. A new entry's record is
#   stored as it came (HSETNX); only an entry already pending is decoded and merged.
# The dedup keys are built here from the prefix: arq does not support Redis Cluster anyway.
#
# Which flush: the first event of a person (not the API user's own write echoing back) while
# no marker is set gets a flush of its own at once (after a grace that lets a handful arriving
# together share it); the marker, holding that job's id, lasts a window after it. Any other
# event joins the flush at the end of its coalescing window, as before; a person's extends the
# marker to a window after that flush, so that a burst, and what arrives while its flushes run,
# coalesces — unless the leading-edge flush has not started yet and will claim it too. When
# more than a handful wait while the leading-edge job has not started yet, this is a burst, not
# a lone change: that job moves to the window's end too (it will claim the lot; should a worker
# start it meanwhile, it claims what is there and the window's job the rest).
INGEST_LUA = (
    NEWER_LUA
    + f"local ARQ_IN_PROGRESS = '{ARQ_IN_PROGRESS}'\n"
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
local function schedule(job_key, result_key, job_id, score)
  if redis.call('EXISTS', job_key, result_key) == 1 then return false end
  redis.call('PSETEX', job_key, tonumber(ARGV[4]), ARGV[3])
  redis.call('ZADD', KEYS[2], tonumber(score), job_id)
  return true
end
local function extend_marker(ms)
  local left = redis.call('PTTL', KEYS[7])
  if left == -2 then
    redis.call('SET', KEYS[7], '', 'PX', ms)
  elseif left < tonumber(ms) then
    redis.call('PEXPIRE', KEYS[7], ms)
  end
end
-- The marker's leading-edge flush while it has not started and is due before the window's end
-- (a worker marks a job in progress before it runs it): its id, else nil.
local function waiting_lead()
  local lead = redis.call('GET', KEYS[7])
  if not lead or lead == '' then return nil end
  local due = redis.call('ZSCORE', KEYS[2], lead)
  if not due or tonumber(due) >= tonumber(ARGV[6])
      or redis.call('EXISTS', ARQ_IN_PROGRESS .. lead) == 1 then return nil end
  return lead
end
local function burst_joins_the_window()
  if redis.call('HLEN', KEYS[1]) <= tonumber(ARGV[11]) then return end
  local lead = waiting_lead()
  if lead then redis.call('ZADD', KEYS[2], 'XX', tonumber(ARGV[6]), lead) end
end
local ttl = tonumber(ARGV[1])
local me = redis.call('GET', KEYS[8])
local items = cjson.decode(ARGV[12])
local out = {}
local added, people = 0, 0
for i = 1, #items, 4 do
  local dedup, id, author, rec = items[i], items[i + 1], items[i + 2], items[i + 3]
  local fresh = dedup == "" or redis.call('SET', ARGV[2] .. dedup, '1', 'NX', 'EX', ttl)
  if fresh then
    if author ~= me then people = people + 1 end
    if redis.call('HSETNX', KEYS[1], id, rec) == 0 then
      local merged = merge(cjson.decode(redis.call('HGET', KEYS[1], id)), cjson.decode(rec))
      redis.call('HSET', KEYS[1], id, cjson.encode(merged))
    end
    added = added + 1
  end
  out[#out + 1] = fresh and 1 or 0
end
if added > 0 then
  local leading = ARGV[8] ~= "" and people > 0
  if leading and redis.call('EXISTS', KEYS[7]) == 0
      and schedule(KEYS[5], KEYS[6], ARGV[7], ARGV[8]) then
    redis.call('SET', KEYS[7], ARGV[7], 'PX', ARGV[9])
  else
    schedule(KEYS[3], KEYS[4], ARGV[5], ARGV[6])
    if leading then
      burst_joins_the_window()
      -- a waiting leading-edge flush claims these too (a handful arriving together, such as the
      -- two webhooks of one change of a type of work): the marker stays as that flush set it
      if not waiting_lead() then extend_marker(ARGV[10]) end
    end
  end
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
