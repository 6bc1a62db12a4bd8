"""``GET /metrics``: the process's series and the connectors' health, in Prometheus text format.

Unauthenticated, like the health probes: it carries counts by source, route and outcome, never
a person. Where the port is reachable from outside, keep ``/metrics`` to the internal network
at the load balancer or ingress.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from bot.context import AppContext
from bot.observability.metrics import REGISTRY
from bot.observability.sources import SourceStateCollector

router = APIRouter()


def scrape_registry(context: AppContext) -> CollectorRegistry:
    """The per-app registry of what is read at scrape time (the database's source_state)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SourceStateCollector(context.engine, context.clock))
    return registry


def exposition(context_registry: CollectorRegistry) -> bytes:
    return generate_latest(REGISTRY) + generate_latest(context_registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.scrape_registry
    body = await run_in_threadpool(exposition, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
