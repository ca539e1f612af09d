"""Which flush job an ingest schedules: a person's first event after a quiet window gets a
leading-edge flush of its own, everything else the flush at the end of its coalescing window —
arq jobs either way, and every flush claims everything pending."""

from __future__ import annotations

import asyncio
import time

import pytest
from arq.jobs import deserialize_job
from redis.asyncio import Redis

from service.contract import FLUSH_FUNCTION, IngestItem, Keys, PendingRecord, Queue, deserialize
from service.contract.queue import HANDFUL
from service.contract.records import IngestRow, stored

WINDOW = 2.0
GRACE = 0.03
PERSON = "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10"
API_USER = "0c2d6e51-1111-4e5c-8f80-1e7b9d2c3b21"
ENTRIES = [f"00000000-0000-4000-8000-{n:012x}" for n in range(HANDFUL + 10)]


@pytest.fixture(autouse=True)
async def clear_of_the_window_end() -> None:
    """Each test starts at least half a second before its window ends: a window that ends within
    the grace, or between an ingest and the look at its jobs, is a case of its own (its flush is
    due before the leading edge's) and would make these checks depend on the clock."""
    left = WINDOW - time.time() % WINDOW
    if left < 0.5:
        await asyncio.sleep(left + 0.01)


@pytest.fixture
async def queue(redis: Redis, prefix: str) -> Queue:
    queue = Queue(redis, Keys(prefix), dedup_ttl=60, window_seconds=WINDOW, grace_seconds=GRACE)
    await redis.set(queue.keys.me, API_USER)
    return queue


def webhook(n: int, by: str = PERSON) -> IngestRow:
    """A webhook's row, as the web app writes it."""
    return (f"dedup-{n}-{by}", ENTRIES[n], by, stored(5, "timetracking_updated", [by], [], 1))


async def jobs(redis: Redis, queue: Queue) -> list[tuple[str, float]]:
    """The flush jobs queued: (job id, due in seconds from now)."""
    now = time.time()
    found = await redis.zrange(queue.keys.queue, 0, -1, withscores=True)
    return [(job.decode(), score / 1000 - now) for job, score in found]


async def test_a_lone_event_is_flushed_after_the_grace(redis: Redis, queue: Queue) -> None:
    assert await queue.add_rows([webhook(0)], leading=True) == [True]
    [(job_id, due)] = await jobs(redis, queue)
    assert job_id.startswith(f"{queue.keys.prefix}:flush:lead-")
    assert -0.5 < due <= GRACE
    job = deserialize_job(await redis.get(Keys.arq_job(job_id)), deserializer=deserialize)
    assert (job.function, list(job.args), job.kwargs) == (FLUSH_FUNCTION, [], {})
    ttl = await redis.pttl(queue.keys.coalescing)
    assert (WINDOW - 0.5) * 1000 < ttl <= round((WINDOW + GRACE) * 1000)  # 2.03 * 1000 < 2030


async def test_events_after_it_coalesce_into_their_window(redis: Redis, queue: Queue) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    await queue.add_rows([webhook(1)], leading=True)
    await queue.add_rows([webhook(2)], leading=True)
    lead, window = sorted(await jobs(redis, queue), key=lambda job: job[1])
    assert ":flush:lead-" in lead[0]
    assert window[0].split(":flush:")[1].isdigit()
    assert 0 < window[1] <= WINDOW
    # the leading-edge flush has not started: it claims them too, the marker stays as it set it
    assert await redis.pttl(queue.keys.coalescing) <= round((WINDOW + GRACE) * 1000)


async def test_an_event_once_the_leading_edge_flush_started_waits_a_window_more(
    redis: Redis, queue: Queue
) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    [(lead, _)] = await jobs(redis, queue)
    await redis.set(Keys.arq_in_progress(lead), "1", px=5000)  # a worker runs it
    await queue.add_rows([webhook(1)], leading=True)
    window = next(due for job, due in await jobs(redis, queue) if job != lead)
    # a person's event in the window keeps the marker until a window after the window's flush
    assert await redis.pttl(queue.keys.coalescing) > (window + WINDOW - 0.5) * 1000


async def test_the_first_flush_claims_everything_pending(redis: Redis, queue: Queue) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    await queue.add_rows([webhook(1), webhook(2)], leading=True)
    lead = next(job for job, _ in await jobs(redis, queue) if ":flush:lead-" in job)
    assert sorted(await queue.claim(lead)) == ENTRIES[:3]
    window = next(job for job, _ in await jobs(redis, queue) if job != lead)
    assert await queue.claim(window) == {}


async def test_a_handful_arriving_together_share_the_leading_edge(
    redis: Redis, queue: Queue
) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    await queue.add_rows([webhook(n) for n in range(1, HANDFUL)], leading=True)
    lead = next((job, due) for job, due in await jobs(redis, queue) if ":flush:lead-" in job)
    assert lead[1] <= GRACE


async def test_a_burst_moves_the_leading_edge_to_the_window_end(redis: Redis, queue: Queue) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    await queue.add_rows([webhook(n) for n in range(1, HANDFUL + 5)], leading=True)
    lead, window = sorted(await jobs(redis, queue), key=lambda job: ":flush:lead-" not in job[0])
    assert ":flush:lead-" in lead[0]
    assert lead[1] == pytest.approx(window[1], abs=0.01)  # both at the window's end
    assert sorted(await queue.claim(lead[0])) == sorted(ENTRIES[: HANDFUL + 5])


async def test_a_leading_edge_flush_that_started_stays_where_it_is(
    redis: Redis, queue: Queue
) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    [(lead, _)] = await jobs(redis, queue)
    await redis.zadd(queue.keys.queue, {lead: int(time.time() * 1000) - 5})  # due, not picked up
    await redis.set(Keys.arq_in_progress(lead), "1", px=5000)  # now a worker runs it
    await queue.add_rows([webhook(n) for n in range(1, HANDFUL + 5)], leading=True)
    assert dict(await jobs(redis, queue))[lead] < 0
    await redis.delete(Keys.arq_in_progress(lead))  # had it not started, it would wait
    await queue.add_rows([webhook(HANDFUL + 6)], leading=True)
    assert dict(await jobs(redis, queue))[lead] > 0


async def test_echoes_of_our_own_writes_wait_for_their_window(redis: Redis, queue: Queue) -> None:
    await queue.add_rows([webhook(0, by=API_USER), webhook(1, by=API_USER)], leading=True)
    [(job_id, due)] = await jobs(redis, queue)
    assert job_id.split(":flush:")[1].isdigit()
    assert 0 < due <= WINDOW
    assert not await redis.exists(queue.keys.coalescing)
    # and a person's change after them is still flushed at once
    await queue.add_rows([webhook(2)], leading=True)
    assert any(":flush:lead-" in job for job, _ in await jobs(redis, queue))


async def test_requeues_and_duplicates_get_no_leading_edge(redis: Redis, queue: Queue) -> None:
    await queue.add([IngestItem(ENTRIES[0], PendingRecord(version=3, by=[PERSON]))])
    [(job_id, _)] = await jobs(redis, queue)
    assert job_id.split(":flush:")[1].isdigit()
    await redis.delete(queue.keys.queue)
    await queue.add_rows([webhook(1)], leading=True)
    await redis.delete(queue.keys.queue, queue.keys.coalescing)
    assert await queue.add_rows([webhook(1)], leading=True) == [False]  # a redelivery
    assert await jobs(redis, queue) == []
    assert not await redis.exists(queue.keys.coalescing)


async def test_after_a_quiet_window_the_next_event_leads_again(redis: Redis, queue: Queue) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    await redis.delete(queue.keys.coalescing)  # as if its TTL ran out: a window was quiet
    await asyncio.sleep(0.005)  # lead jobs are named by the millisecond they are due
    await queue.add_rows([webhook(1)], leading=True)
    assert sum(":flush:lead-" in job for job, _ in await jobs(redis, queue)) == 2


async def test_without_a_leading_edge_every_event_waits_for_its_window(
    redis: Redis, prefix: str
) -> None:
    queue = Queue(redis, Keys(prefix), dedup_ttl=60, window_seconds=WINDOW)
    await queue.add_rows([webhook(0)], leading=True)
    [(job_id, due)] = await jobs(redis, queue)
    assert job_id.split(":flush:")[1].isdigit()
    assert 0 < due <= WINDOW
    assert not await redis.exists(queue.keys.coalescing)


async def test_the_sweep_still_schedules_the_window_flush(redis: Redis, queue: Queue) -> None:
    await queue.add_rows([webhook(0)], leading=True)
    await redis.delete(queue.keys.queue)  # the lead job got lost (a crashed web pod, say)
    assert await queue.ensure_flush()
    [(job_id, due)] = await jobs(redis, queue)
    assert job_id.split(":flush:")[1].isdigit()
    assert 0 < due <= WINDOW


async def test_queued_entries_are_pending_and_claimed(redis: Redis, prefix: str) -> None:
    """What workers scale on counts the claimed entries too: a backlog is one claimed job."""
    queue = Queue(redis, Keys(prefix), dedup_ttl=60, window_seconds=1)
    ids = [f"6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a{i:02d}" for i in range(10)]
    await queue.add([IngestItem(i, PendingRecord()) for i in ids[:7]])
    await queue.claim(f"{prefix}:flush:1")  # a flush took those seven
    await queue.add([IngestItem(i, PendingRecord()) for i in ids[7:]])
    stats = await queue.stats()
    assert (stats.pending_entries, stats.claimed_entries, stats.queued_entries) == (3, 7, 10)
