"""Chat Completions, Embedding, File and Batch: the `compatible-mode/v1` APIs.

These live under another base URL than the Responses API (`/compatible-mode/v1`
instead of `/api/v2/apps/protocols/compatible-mode/v1`), so they get their own
client. Which API a turn uses is decided here (`route_for`), not by callers:
a turn with images goes to a vision model, one about uploaded documents to the
long-context model, both through Chat Completions; everything else stays on
the Responses API.
"""

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from django.conf import settings

from chatsite.config import DASHSCOPE_REGIONS
from conversations.gateway.embedded import SIMULATOR_API_KEY, embedded_base_url
from conversations.gateway.events import (
    Completed,
    Event,
    Failed,
    FailureCategory,
    ReplyRequest,
    Started,
    TextDelta,
    Usage,
)
from conversations.gateway.sdk import sdk_client

logger = logging.getLogger(__name__)

RESPONSES_PATH = "/api/v2/apps/protocols/compatible-mode/v1"
COMPAT_PATH = "/compatible-mode/v1"


class CompatError(Exception):
    """An upstream call of these APIs failed; `failure` says how."""

    def __init__(self, failure: Failed) -> None:
        super().__init__(failure.message)
        self.failure = failure


class EmbeddingUnavailable(CompatError):
    """Embeddings could not be made now (outage, refusal): search falls back."""


@dataclass(frozen=True, slots=True)
class Route:
    api: str  # "responses" or "chat"
    model: str


def _compat_url(responses_url: str) -> str:
    if responses_url.rstrip("/").endswith(RESPONSES_PATH):
        return responses_url.rstrip("/")[: -len(RESPONSES_PATH)] + COMPAT_PATH
    return responses_url


def compat_target() -> tuple[str, str]:
    """The base URL and key of the compatible-mode APIs now in force."""
    key = settings.DASHSCOPE_API_KEY
    if settings.DASHSCOPE_COMPAT_BASE_URL:
        return settings.DASHSCOPE_COMPAT_BASE_URL, key or SIMULATOR_API_KEY
    if settings.DASHSCOPE_BASE_URL:
        return _compat_url(settings.DASHSCOPE_BASE_URL), key or SIMULATOR_API_KEY
    if key:
        return _compat_url(DASHSCOPE_REGIONS[settings.DASHSCOPE_REGION]), key
    return _compat_url(embedded_base_url()), SIMULATOR_API_KEY


def _client() -> openai.AsyncOpenAI:
    return sdk_client(*compat_target())


def route_for(request: ReplyRequest) -> Route:
    """Which API and model answer this turn."""
    if request.images:
        vision = list(settings.QWEN_VISION_MODELS)
        return Route("chat", request.model if request.model in vision else vision[0])
    if request.file_ids:
        return Route("chat", settings.QWEN_LONG_MODEL)
    return Route("responses", request.model)


def _user_content(text: str, images: tuple[str, ...]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": url}} for url in images
    ]
    parts.append({"type": "text", "text": text})
    return parts


def chat_messages(request: ReplyRequest) -> list[dict[str, Any]]:
    """The request as Chat Completions messages (the whole path is resent)."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    if request.file_ids and not request.images:
        # qwen-long reads uploaded documents named in a system message; a
        # vision model refuses `fileid://`, so a turn with images skips them.
        messages.append(
            {"role": "system", "content": "fileid://" + ",".join(request.file_ids)}
        )
    history: list[dict[str, Any]] = (
        [{"role": "user", "content": request.input}]
        if isinstance(request.input, str)
        else [dict(m) for m in request.input]
    )
    if request.images:
        for message in reversed(history):
            if message.get("role") == "user":
                message["content"] = _user_content(
                    str(message.get("content") or ""), request.images
                )
                break
    messages.extend(history)
    return messages


async def stream_chat(request: ReplyRequest) -> AsyncIterator[Event]:
    """One turn through Chat Completions, in the same events as `stream_reply`."""
    # Avoids an import cycle: client.py dispatches here.
    from conversations.gateway.client import failure_from_exception

    route = route_for(request)
    kwargs: dict[str, Any] = {
        "model": route.model,
        "messages": chat_messages(request),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.top_p is not None:
        kwargs["top_p"] = request.top_p
    completion_id = ""
    parts: list[str] = []
    usage = Usage()
    finished = False
    try:
        stream = await _client().chat.completions.create(**kwargs)
    except openai.APIError as exc:
        yield failure_from_exception(exc)
        return
    try:
        async with stream:
            async for chunk in stream:
                if not completion_id and chunk.id:
                    completion_id = chunk.id
                    yield Started(completion_id)
                if chunk.usage is not None:
                    usage = Usage(
                        input_tokens=chunk.usage.prompt_tokens or 0,
                        output_tokens=chunk.usage.completion_tokens or 0,
                        total_tokens=chunk.usage.total_tokens or 0,
                    )
                for choice in chunk.choices or []:
                    if choice.delta and choice.delta.content:
                        parts.append(choice.delta.content)
                        yield TextDelta(choice.delta.content)
                    if choice.finish_reason:
                        finished = True
    except openai.APIError as exc:
        yield failure_from_exception(exc, response_id=completion_id)
        return
    except (httpx2.HTTPError, OSError) as exc:
        yield Failed(
            FailureCategory.NETWORK,
            f"The connection to the model provider broke: {type(exc).__name__}.",
            response_id=completion_id,
        )
        return
    if not finished:
        yield Failed(
            FailureCategory.NO_TERMINAL_EVENT,
            "The model provider's stream ended before the reply was finished.",
            response_id=completion_id,
        )
        return
    yield Completed(
        response_id=completion_id, text="".join(parts), usage=usage, output=[]
    )


def _failure(exc: openai.APIError) -> Failed:
    from conversations.gateway.client import failure_from_exception

    return failure_from_exception(exc)


async def embed_texts(texts: list[str]) -> list[list[float]]:
    """Vectors for `texts` (at most 10 per call upstream: batched here)."""
    vectors: list[list[float]] = []
    for start in range(0, len(texts), 10):
        chunk = texts[start : start + 10]
        try:
            # The body is read as plain JSON: the SDK's model of it builds
            # every float of ten 1,024-wide vectors one by one (15 % of the
            # embedding thread's samples under load, bench/concurrency.py).
            raw = await _client().embeddings.with_raw_response.create(
                model=settings.QWEN_EMBEDDING_MODEL,
                input=chunk,
                dimensions=settings.QWEN_EMBEDDING_DIMENSIONS,
                encoding_format="float",
            )
            items = json.loads(raw.content)["data"]
            ordered = sorted(items, key=lambda item: item["index"])
            vectors.extend([float(x) for x in item["embedding"]] for item in ordered)
        except openai.APIError as exc:
            raise EmbeddingUnavailable(_failure(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingUnavailable(
                Failed(
                    FailureCategory.FAILED,
                    f"The model provider's embeddings were malformed: {exc!r}.",
                )
            ) from exc
    return vectors


async def file_upload(*, name: str, data: bytes, purpose: str = "file-extract") -> str:
    """Upload a document (or a batch input) and return its file id."""
    try:
        uploaded = await _client().files.create(
            file=(name, data),
            purpose=purpose,  # type: ignore[arg-type]
        )
    except openai.APIError as exc:
        raise CompatError(_failure(exc)) from exc
    return uploaded.id


async def file_delete(file_id: str) -> None:
    """Delete an uploaded file upstream; one already gone counts as deleted."""
    try:
        await _client().files.delete(file_id)
    except openai.NotFoundError:
        return
    except openai.APIError as exc:
        raise CompatError(_failure(exc)) from exc


async def file_content(file_id: str) -> bytes:
    try:
        response = await _client().files.content(file_id)
    except openai.APIError as exc:
        raise CompatError(_failure(exc)) from exc
    return response.content


async def batch_create(
    *, input_file_id: str, completion_window: str, metadata: dict[str, str]
) -> dict[str, Any]:
    try:
        batch = await _client().batches.create(
            input_file_id=input_file_id,
            endpoint="/v1/chat/completions",
            completion_window=completion_window,  # type: ignore[arg-type]
            metadata=metadata,
        )
    except openai.APIError as exc:
        raise CompatError(_failure(exc)) from exc
    return batch.to_dict(warnings=False)


async def batch_retrieve(batch_id: str) -> dict[str, Any]:
    try:
        batch = await _client().batches.retrieve(batch_id)
    except openai.APIError as exc:
        raise CompatError(_failure(exc)) from exc
    return batch.to_dict(warnings=False)


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
