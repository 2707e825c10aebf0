"""Who opened a websocket: the user of the session its cookie names.

Channels' `AuthMiddlewareStack` also wraps every message the socket sends, to
save a changed session on HTTP responses; a websocket's sends are never those,
yet each streamed frame paid for the check (bench/concurrency.py). Here the
session is read as it is there, and sends go straight to the server.
"""

from importlib import import_module
from typing import Any

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings


class SocketSessionMiddleware:
    """Puts the cookie's session in the scope (read lazily, never saved)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        return await self.inner(dict(scope, session=self.store(key)), receive, send)


def socket_auth_stack(inner: Any) -> Any:
    return CookieMiddleware(SocketSessionMiddleware(AuthMiddleware(inner)))
