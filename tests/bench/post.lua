-- wrk script of `make bench` (tests/bench/load.py): POST one awork webhook per request, each for a
-- distinct time entry, count the answers by status, and print one JSON line at the end.
--
--   wrk -t1 -c50 -d8s -s post.lua URL -- <body template file> <run number> <webhook token>
--
-- The template holds the marker @ID@ wherever the entry id goes; the id is the run number plus
-- a per-thread counter, so no request is a duplicate of another, in this run or an earlier one.

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local template = file:read("*a")
  file:close()
  parts = {}
  for piece in (template .. "@ID@"):gmatch("(.-)@ID@") do
    parts[#parts + 1] = piece
  end
  run = tonumber(args[2])
  sent = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Webhook-Token"] = args[3]
end

function request()
  sent = sent + 1
  local id = string.format("%08x-%04x-4000-8000-%012x", run, thread_no, sent)
  return wrk.format(nil, nil, nil, table.concat(parts, id))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, by_status, counts = 0, {}, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("sent")
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  for status, n in pairs(by_status) do
    counts[#counts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"seconds": %.6f, "requests": %d, "sent": %d, "p50_ms": %.3f, ' ..
    '"p99_ms": %.3f, "socket_errors": %d, "statuses": {%s}}\n',
    summary.duration / 1e6, summary.requests, total, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.connect + e.read + e.write + e.timeout,
    table.concat(counts, ", ")))
end
