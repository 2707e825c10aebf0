"""Structured logs: every line carries the request or reply it belongs to, and
no line carries a secret.

`request_id` is set per HTTP request by `RequestIdMiddleware` (taken from a sane
`X-Request-ID` header, e.g. from a proxy, or made up) and returned in the
response's `X-Request-ID`; `reply_id` is set by the generation for everything
logged while a reply is written. `LOG_FORMAT=json` gives one JSON object a line.
"""

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from conversations.live import current_reply

request_id: ContextVar[str] = ContextVar("request_id", default="")

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REDACTED = "[redacted]"
# Secrets that have a recognisable shape, whoever logs them (an SDK's repr, a
# traceback with a URL): bearer tokens, DashScope-style keys, URL passwords.
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(@)"),
)


def _secret_values() -> list[str]:
    """The configured secrets' exact values (read lazily: settings may change)."""
    from django.conf import settings

    values = [
        getattr(settings, "DASHSCOPE_API_KEY", ""),
        getattr(settings, "SECRET_KEY", ""),
    ]
    for database in getattr(settings, "DATABASES", {}).values():
        values.append(database.get("PASSWORD") or "")
    redis_url = getattr(settings, "REDIS_URL", "")
    if redis_url:
        values.append(urlsplit(redis_url).password or "")
    return [v for v in values if isinstance(v, str) and len(v) >= 6]


def redact(text: str) -> str:
    for value in _secret_values():
        text = text.replace(value, REDACTED)
    text = _PATTERNS[0].sub(lambda m: m.group(1) + REDACTED, text)
    text = _PATTERNS[1].sub(REDACTED, text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + REDACTED + m.group(2), text)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `reply_id`; replaces any secret in the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.reply_id = current_reply.get()
        # Format now, so neither args nor a traceback can carry a secret past us.
        message = redact(record.getMessage())
        if record.exc_info:
            formatter = logging.Formatter()
            message += "\n" + redact(formatter.formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            message += "\n" + redact(record.stack_info)
            record.stack_info = None
        record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "reply_id"):
            if value := getattr(record, key, ""):
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            f"{key}={value}"
            for key in ("request_id", "reply_id")
            if (value := getattr(record, key, ""))
        )
        record.ids = f" [{ids}]" if ids else ""
        return super().format(record)


Handler = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


class RequestIdMiddleware:
    """Gives each request an id for its log lines and its response header."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _begin(self, request: HttpRequest) -> str:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        request_id.set(rid)
        return rid

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        if self.is_async:
            return self._acall(request)
        rid = self._begin(request)
        response = self.get_response(request)
        response["X-Request-ID"] = rid  # type: ignore[index]
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        rid = self._begin(request)
        response = await self.get_response(request)  # type: ignore[misc]
        response["X-Request-ID"] = rid
        return response
