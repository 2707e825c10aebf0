"""The SDK clients: one per event loop and upstream, on aiohttp's transport.

An SDK client is bound to the event loop it first ran on (its connection pool
is), so each loop gets its own; a dead loop takes its clients with it. The SDK
offers aiohttp as its transport "for improved concurrency": its C parser reads
a streamed body at a fraction of httpx's cost per chunk.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator

import aiohttp
import httpx2
import openai

# Imported with the app, not by the first reply: building these resources'
# models takes a fifth of a second, a stall for every stream of the process.
import openai.resources.conversations.conversations
import openai.resources.responses.responses
from django.conf import settings
from httpx2._client import BoundAsyncStream
from openai._vendor.httpx_aiohttp.transport import (
    AiohttpResponseStream,
    map_aiohttp_exceptions,
)

_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple, openai.AsyncOpenAI]
] = weakref.WeakKeyDictionary()


def sdk_client(base_url: str, api_key: str) -> openai.AsyncOpenAI:
    """This loop's client for `base_url` with the timeouts now configured."""
    options = (
        base_url,
        api_key,
        settings.UPSTREAM_TIMEOUT,
        settings.UPSTREAM_CONNECT_TIMEOUT,
        settings.UPSTREAM_MAX_RETRIES,
    )
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(options)
    if client is None:
        # The read timeout bounds the silence between two chunks, which is
        # what cuts a hung upstream; the whole reply may take far longer.
        timeout = httpx2.Timeout(
            settings.UPSTREAM_TIMEOUT, connect=settings.UPSTREAM_CONNECT_TIMEOUT
        )
        client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=settings.UPSTREAM_MAX_RETRIES,
            http_client=openai.DefaultAioHttpClient(timeout=timeout),
        )
        per_loop[options] = client
    return client


def body_chunks(response: openai.AsyncAPIResponse) -> AsyncIterator[bytes]:
    """A streamed response's body, as it arrives.

    On aiohttp's transport the chunks are read from aiohttp's own stream: the
    SDK's `iter_bytes` passes each one through four more async generators
    (the SDK's, httpx's two and the transport's), a fifth of what reading an
    upstream event cost (bench/concurrency.py). The transport asks aiohttp not
    to decompress, so an encoded body keeps the SDK's path, which decodes it.
    Errors are those the SDK's path raises (httpx's, mapped by the transport).
    """
    http = response.http_response
    stream = http.stream
    if isinstance(stream, BoundAsyncStream):  # the client's timing of the body
        stream = stream._stream
    encoding = http.headers.get("content-encoding", "").strip().lower()
    if isinstance(stream, AiohttpResponseStream) and encoding in ("", "identity"):
        return _aiohttp_chunks(stream._aiohttp_response.content)
    return response.iter_bytes()


async def _aiohttp_chunks(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    with map_aiohttp_exceptions():
        while chunk := await content.readany():
            yield chunk
