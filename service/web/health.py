"""Operational routes: `/livez`, `/readyz`, `/metrics` and `/queue` (ordinary Starlette)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.contract.queue import Queue


async def livez(request: Request) -> Response:
    """The process answers; Redis is not consulted (a Redis outage must not restart pods)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when Redis answers: without it no webhook can be accepted."""
    try:
        await request.state.redis.ping()
    except Exception as e:
        return JSONResponse({"status": "unavailable", "detail": type(e).__name__}, 503)
    return JSONResponse({"status": "ready"})


async def queue(request: Request) -> Response:
    """Queue depth as JSON (KEDA's metrics-api trigger scales workers on `ready_jobs`)."""
    try:
        stats = await _queue(request).stats()
    except Exception as e:
        return JSONResponse({"error": "queue unavailable", "detail": type(e).__name__}, 503)
    return JSONResponse(stats.__dict__)


async def metrics(request: Request) -> Response:
    """Prometheus text format; the queue gauges are read from Redis at scrape time."""
    web_metrics = request.state.metrics
    # the counters are still worth serving while Redis is away; the queue is then unknown
    try:
        stats = await _queue(request).stats()
    except Exception:
        stats = None
    web_metrics.observe_queue(stats)
    return Response(generate_latest(web_metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _queue(request: Request) -> Queue:
    queue: Queue = request.state.queue
    return queue
