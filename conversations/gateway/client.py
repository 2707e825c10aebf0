"""Calls to the Responses and Conversations APIs, translated into `events`."""

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx2
import openai
from django.conf import settings

from chatsite.config import DASHSCOPE_REGIONS
from conversations.gateway.embedded import SIMULATOR_API_KEY, embedded_base_url
from conversations.gateway.events import (
    ArgumentsDelta,
    Completed,
    Event,
    Failed,
    FailureCategory,
    ItemAdded,
    ItemDone,
    ReasoningDelta,
    ReplyRequest,
    Started,
    TextDelta,
    Usage,
)
from conversations.gateway.sdk import body_chunks, sdk_client
from conversations.gateway.sse import PayloadReader

if TYPE_CHECKING:
    from conversations.gateway.compat import Route

logger = logging.getLogger(__name__)


def route_for(request: ReplyRequest) -> "Route":
    # Imported late: compat.py imports this module's error mapping.
    from conversations.gateway.compat import route_for as route

    return route(request)


async def stream_chat(request: ReplyRequest) -> AsyncIterator[Event]:
    from conversations.gateway.compat import stream_chat as chat

    async for event in chat(request):
        yield event


class UpstreamError(Exception):
    def __init__(self, failure: Failed) -> None:
        super().__init__(failure.message)
        self.failure = failure


class ConversationGone(UpstreamError):
    """The upstream no longer knows a Conversation id."""


def upstream_target() -> tuple[str, str]:
    """The base URL and key in force: an override, a region, or the simulator."""
    key = settings.DASHSCOPE_API_KEY
    if settings.DASHSCOPE_BASE_URL:
        return settings.DASHSCOPE_BASE_URL, key or SIMULATOR_API_KEY
    if key:
        return DASHSCOPE_REGIONS[settings.DASHSCOPE_REGION], key
    return embedded_base_url(), SIMULATOR_API_KEY


def _client() -> openai.AsyncOpenAI:
    return sdk_client(*upstream_target())


def _request_kwargs(request: ReplyRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": request.model, "input": request.input}
    if request.instructions:
        kwargs["instructions"] = request.instructions
    if request.previous_response_id:
        kwargs["previous_response_id"] = request.previous_response_id
    if request.conversation:
        kwargs["conversation"] = request.conversation
    if request.tools:
        kwargs["tools"] = request.tools
    if request.tool_choice is not None:
        kwargs["tool_choice"] = request.tool_choice
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.top_p is not None:
        kwargs["top_p"] = request.top_p
    if request.enable_thinking is not None:
        # Not an OpenAI parameter: the SDK merges extra_body into the JSON body.
        kwargs["extra_body"] = {"enable_thinking": request.enable_thinking}
    if request.session_cache:
        kwargs["extra_headers"] = {"x-dashscope-session-cache": "enable"}
    return kwargs


async def stream_reply(request: ReplyRequest) -> AsyncIterator[Event]:
    """Stream one reply. Each upstream event is handed on as it arrives.

    The last event is always exactly one `Completed` or `Failed`; upstream
    errors never escape as exceptions. Cancelling the consumer closes the stream.
    """
    if route_for(request).api == "chat":
        async for chat_event in stream_chat(request):
            yield chat_event
        return
    state = _StreamState()
    try:
        # The SDK sends the request, retries it and raises for an error status;
        # the body's events are read as plain JSON (see sse.py).
        async with _client().responses.with_streaming_response.create(
            **_request_kwargs(request), stream=True
        ) as response:
            reader = PayloadReader()
            async for chunk in body_chunks(response):
                for event in state.events(reader.feed(chunk)):
                    yield event
                if state.ended or reader.done:
                    break
            else:
                for event in state.events(reader.feed(b"", final=True)):
                    yield event
            if state.ended:
                return
    except openai.APIError as exc:
        yield failure_from_exception(exc, request, response_id=state.response_id)
        return
    except (httpx2.HTTPError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        # A payload that is not JSON is a broken stream too.
        timeout = isinstance(exc, httpx2.TimeoutException)
        yield Failed(
            FailureCategory.TIMEOUT if timeout else FailureCategory.NETWORK,
            f"The connection to the model provider broke: {type(exc).__name__}.",
            response_id=state.response_id,
        )
        return
    # A close-delimited body that stops early simply ends.
    yield Failed(
        FailureCategory.NO_TERMINAL_EVENT,
        "The model provider's stream ended before the reply was finished.",
        response_id=state.response_id,
    )


class _StreamState:
    """Streamed payloads (dicts) to the app's events, dispatched on `type`."""

    def __init__(self) -> None:
        self.response_id = ""
        self.text_parts: list[str] = []
        self.ended = False

    def events(self, payloads: list[Any]) -> Iterator[Event]:
        """The events of one chunk's payloads; none after the stream ended."""
        for payload in payloads:
            event = self.translate(payload)
            if event is not None:
                yield event
            if self.ended:
                return

    def translate(self, payload: Any) -> Event | None:
        if not isinstance(payload, dict):
            return None
        kind = payload.get("type")
        if kind == "response.output_text.delta":
            delta = str(payload.get("delta") or "")
            self.text_parts.append(delta)
            return TextDelta(delta)
        if payload.get("error"):
            # What the SDK raises as a bare APIError: `{"error": {...}}`.
            self.ended = True
            error = payload["error"] if isinstance(payload["error"], dict) else {}
            return _failure_from_code(
                str(error.get("code") or ""),
                str(error.get("message") or "An error occurred during streaming"),
                self.response_id,
            )
        if kind == "response.reasoning_summary_text.delta":
            return ReasoningDelta(
                payload.get("item_id"), payload.get("output_index"), payload["delta"]
            )
        if kind in (
            "response.function_call_arguments.delta",
            "response.mcp_call_arguments.delta",
        ):
            return ArgumentsDelta(
                payload.get("item_id"), payload.get("output_index"), payload["delta"]
            )
        if kind == "response.output_item.added":
            return ItemAdded(payload.get("output_index"), payload.get("item") or {})
        if kind == "response.output_item.done":
            return ItemDone(payload.get("output_index"), payload.get("item") or {})
        if kind == "response.created":
            self.response_id = str((payload.get("response") or {}).get("id") or "")
            return Started(self.response_id)
        if kind == "response.completed":
            self.ended = True
            raw = payload.get("response") or {}
            return Completed(
                response_id=raw.get("id") or self.response_id,
                text=_output_text(raw) or "".join(self.text_parts),
                usage=Usage.from_raw(raw.get("usage")),
                output=raw.get("output") or [],
            )
        if kind in ("response.failed", "response.incomplete"):
            self.ended = True
            return _failure_from_response(
                payload.get("response") or {}, self.response_id
            )
        if kind == "error":
            self.ended = True
            return _failure_from_code(
                str(payload.get("code") or ""),
                str(payload.get("message") or ""),
                self.response_id,
            )
        return None


def _output_text(raw: dict[str, Any]) -> str:
    parts = []
    for item in raw.get("output") or []:
        if item.get("type") != "message":
            continue
        for content in item.get("content") or []:
            if content.get("type") == "output_text":
                parts.append(content.get("text") or "")
    return "".join(parts)


def _failure_from_response(raw: dict[str, Any], response_id: str) -> Failed:
    usage = Usage.from_raw(raw.get("usage")) if raw.get("usage") else None
    if raw.get("status") == "incomplete":
        reason = (raw.get("incomplete_details") or {}).get("reason") or "unknown"
        return Failed(
            FailureCategory.INCOMPLETE,
            f"The reply was cut short by the model provider ({reason}).",
            code=str(reason),
            response_id=raw.get("id") or response_id,
            usage=usage,
        )
    error = raw.get("error") or {}
    failure = _failure_from_code(
        str(error.get("code") or ""),
        str(error.get("message") or "The model provider could not finish the reply."),
        raw.get("id") or response_id,
    )
    return Failed(
        failure.category,
        failure.message,
        failure.code,
        None,
        failure.response_id,
        usage,
    )


def _failure_from_code(code: str, message: str, response_id: str) -> Failed:
    category = (
        FailureCategory.MODERATION
        if code == "DataInspectionFailed"
        else FailureCategory.FAILED
    )
    return Failed(category, message or code, code=code, response_id=response_id)


def _error_code(exc: openai.APIStatusError) -> str:
    body = exc.body
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    return str((error if isinstance(error, dict) else body).get("code") or "")


def _mentions_context(message: str, request: ReplyRequest | None) -> bool:
    if request is None:
        return False
    lowered = message.lower()
    if request.previous_response_id and (
        "previous_response" in lowered or "response" in lowered
    ):
        return True
    return bool(request.conversation and "conversation" in lowered)


def _timed_out(exc: BaseException) -> bool:
    """False for a "timeout" that was a refused or reset connection.

    aiohttp's transport reports every connection error as a connect timeout;
    the cause it was raised from says what really happened.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, TimeoutError):
            return False
        seen = seen.__cause__ or seen.__context__
    return True


def failure_from_exception(
    exc: openai.APIError, request: ReplyRequest | None = None, *, response_id: str = ""
) -> Failed:
    message = exc.message
    if isinstance(exc, openai.APITimeoutError) and _timed_out(exc):
        return Failed(
            FailureCategory.TIMEOUT, "The model provider did not answer in time."
        )
    if isinstance(exc, openai.APIConnectionError):
        return Failed(
            FailureCategory.NETWORK,
            "Could not reach the model provider.",
            response_id=response_id,
        )
    if not isinstance(exc, openai.APIStatusError):
        return Failed(FailureCategory.FAILED, message, response_id=response_id)
    code = _error_code(exc)
    status = exc.status_code
    retry_after = None
    if status == 429:
        try:
            retry_after = float(exc.response.headers.get("retry-after", ""))
        except ValueError:
            retry_after = None
    if code == "DataInspectionFailed":
        category = FailureCategory.MODERATION
    elif status == 401:
        category = FailureCategory.AUTH
        # Loud for operators; the key itself never reaches a log line.
        logger.error("The model provider refused the API key (HTTP 401, %s).", code)
    elif status == 403:
        category = FailureCategory.ACCESS_DENIED
        logger.error("The model provider denied access (HTTP 403, %s).", code)
    elif status == 429:
        category = FailureCategory.RATE_LIMIT
    elif status in (400, 404) and _mentions_context(message, request):
        category = FailureCategory.CONTEXT_LOST
    elif status == 404 and "model" in (code + message).lower():
        category = FailureCategory.MODEL_NOT_FOUND
    elif status >= 500:
        category = FailureCategory.SERVER_ERROR
    else:
        category = FailureCategory.BAD_REQUEST
    return Failed(
        category, message, code=code, retry_after=retry_after, response_id=response_id
    )


async def conversation_create(*, metadata: dict[str, str] | None = None) -> str:
    """Create a server-side Conversation and return its id."""
    try:
        conversation = await _client().conversations.create(metadata=metadata or {})
    except openai.APIError as exc:
        raise UpstreamError(failure_from_exception(exc)) from exc
    return conversation.id


async def conversation_items(conversation_id: str) -> list[dict[str, Any]]:
    """All items of a Conversation, oldest first."""
    items: list[dict[str, Any]] = []
    try:
        async for item in _client().conversations.items.list(
            conversation_id, order="asc"
        ):
            items.append(item.to_dict(warnings=False))
    except openai.NotFoundError as exc:
        raise ConversationGone(failure_from_exception(exc)) from exc
    except openai.APIError as exc:
        raise UpstreamError(failure_from_exception(exc)) from exc
    return items
