"""`/healthz`: is this process able to serve? (the database and the channel layer)

Answered by a middleware placed first, so a probe from a container runtime or a
load balancer needs neither an allowed `Host` nor HTTPS: it reaches the process
directly, on its private address, by plain HTTP.
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PATH = "/healthz"
LAYER_TIMEOUT = 2.0


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _channel_layer() -> None:
    # A round trip through the layer: what a broadcast to viewers relies on.
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    # The default prefix, like consumers (see conversations/control.py).
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    message = await asyncio.wait_for(layer.receive(channel), LAYER_TIMEOUT)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


async def health() -> tuple[bool, dict[str, str]]:
    """Check each dependency; reasons are logged, not shown (they may name hosts)."""
    results: dict[str, str] = {}
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "database": sync_to_async(_database),
        "channel_layer": _channel_layer,
    }
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), LAYER_TIMEOUT + 1)
        except Exception:
            logger.exception("Health check %s failed.", name)
            results[name] = "failing"
        else:
            results[name] = "ok"
            logger.debug(
                "Health check %s took %.1f ms",
                name,
                (time.perf_counter() - started) * 1000,
            )
    return all(v == "ok" for v in results.values()), results


def _loop() -> str:
    """Which event loop serves: "uvloop" as deployed (chatsite/serve.py)."""
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]


class HealthCheckMiddleware:
    sync_capable = False
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], Awaitable[HttpResponse]]
    ) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != PATH:
            return await self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        ok, results = await health()
        body = {"status": "ok" if ok else "failing", **results, "event_loop": _loop()}
        return HttpResponse(
            json.dumps(body),
            status=200 if ok else 503,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
