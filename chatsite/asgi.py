import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Initialise Django (apps, models) before importing anything that uses them.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from conversations import workers  # noqa: E402
from conversations.i18n import WebsocketLocaleMiddleware  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402
from conversations.socket_auth import socket_auth_stack  # noqa: E402
from conversations.sweep import maintenance_start  # noqa: E402


class StartMaintenance:
    """Starts this process's heartbeats, reply sweep and send workers on its
    first connection.

    Daphne has no lifespan events, so the first request or websocket (a health
    probe, typically) is the earliest moment there is an event loop to run on.
    """

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        maintenance_start()
        workers.warm()
        return await self.app(scope, receive, send)


router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            WebsocketLocaleMiddleware(
                socket_auth_stack(URLRouter(websocket_urlpatterns))
            )
        ),
    }
)
application = StartMaintenance(router)

# What is loaded by now lives as long as the process: the collector need not
# scan it again. And a streaming process makes many short-lived objects:
# collecting the young less often (they are mostly gone by then) makes full
# collections rare. Before this, full collections paused every stream of the
# process for 120-200 ms (bench/concurrency.py, README "Benchmarks").
gc.freeze()
gc.set_threshold(50_000, 50, 100)
