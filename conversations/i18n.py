"""The language of a websocket connection.

Django's LocaleMiddleware serves pages only. What a socket sends (messages,
errors, a finished reply) is rendered in the language its page was shown in:
the language cookie set by the switch, else the browser's Accept-Language.
Messages broadcast to a thread are rendered once, in the language of the
person whose action produced them; other viewers get their own language on
their next page load or resync.
"""

from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

Scope = dict[str, Any]


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _supported(code: str) -> str | None:
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def language_from_scope(scope: Scope) -> str:
    cookie = SimpleCookie()
    try:
        cookie.load(_header(scope, b"cookie"))
    except Exception:  # a malformed cookie header: ignore it, as Django does
        cookie = SimpleCookie()
    chosen = cookie.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen is not None and (code := _supported(chosen.value)):
        return code
    for accepted, _quality in parse_accept_lang_header(
        _header(scope, b"accept-language")
    ):
        if accepted != "*" and (code := _supported(accepted)):
            return code
    return settings.LANGUAGE_CODE


class WebsocketLocaleMiddleware:
    """Activates the connection's language for the whole consumer.

    Translation state lives in context variables, so everything the consumer
    does (and the reply tasks it starts) sees the language set here.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        translation.activate(language_from_scope(scope))
        try:
            return await self.inner(scope, receive, send)
        finally:
            translation.deactivate()
