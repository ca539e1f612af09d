"""`make bench` (`python -m tests.bench`): the service's figures, each a ratio to a baseline
measured in the same run, printed as one table and written to `var/bench/results.md`.

1. ingest (`ingest`): webhooks/s accepted ÷ a bare Starlette endpoint, same uvicorn, A/B/B/A;
2. API frugality (`pipeline`, `naive`): awork calls per event of a 5,000-event burst ÷ a naive
   per-event consumer;
3. convergence (`pipeline`): first webhook → the rules' outcome ÷ the rate-limit floor;
4. latency (`latency`): one webhook → its bulk write ÷ the coalescing window;
5. rules engine (`engine`, `rulegen`): entries/CPU-second with 50 rules ÷ with 1 trivial rule.

Benchmarks print figures; they are not tests (pytest ignores this package). They need Redis at
`TEST_REDIS_URL` (db 9 by default) and use their own key prefix, deleted afterwards.
"""
