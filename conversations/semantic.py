"""Search by meaning: message embeddings, made in the background, and queries.

Vectors are float32 packed in a binary column and compared in Python (cosine):
pgvector is not installed everywhere, and a small install's messages fit in
memory. Embedding is idempotent (a message with a vector of the configured
model and dimension is skipped) and resumable (each chunk commits on its own),
so `manage.py embed_messages` can be stopped and run again at any time.
"""

import asyncio
import logging
import math
import queue
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import close_old_connections, transaction
from django.db.models import QuerySet

from conversations import access, gateway
from conversations.models import Message, MessageEmbedding

logger = logging.getLogger(__name__)

CHUNK = 10  # text-embedding-v4 takes at most 10 inputs per call
# Replies whose messages the background worker embeds together at most.
MAX_BATCHES = 50
# How long the worker waits for a call's worth of texts once one is queued.
GATHER_S = 0.5


def pack(vector: list[float]) -> bytes:
    """A unit vector as float32 bytes: a search is then one dot product per row."""
    scale = 1 / _norm(vector)
    return array("f", [v * scale for v in vector]).tobytes()


def unpack(data: bytes | memoryview) -> array:
    values = array("f")
    values.frombytes(bytes(data))
    return values


def _norm(values: list[float]) -> float:
    return math.sqrt(math.sumprod(values, values)) or 1.0


@dataclass(frozen=True, slots=True)
class EmbedOutcome:
    embedded: int
    remaining: int


def _stale_or_missing() -> QuerySet[Message]:
    return (
        Message.objects.filter(status=Message.Status.COMPLETED)
        .exclude(text="")
        .exclude(
            embedding__model=settings.QWEN_EMBEDDING_MODEL,
            embedding__dimensions=settings.QWEN_EMBEDDING_DIMENSIONS,
        )
        .order_by("pk")
    )


def messages_embed(
    *,
    limit: int | None = None,
    embed: Callable[[list[str]], list[list[float]]] | None = None,
) -> EmbedOutcome:
    """Embed messages that lack a current vector; raises `EmbeddingUnavailable`.

    What was stored before a failure stays stored: a rerun continues from there.
    `embed` calls the upstream (default: on an event loop of its own).
    """
    ids = list(_stale_or_missing().values_list("pk", flat=True)[:limit])
    done = _embed(ids, embed or async_to_sync(gateway.embed_texts))
    return EmbedOutcome(done, _stale_or_missing().count())


def _embed(ids: list[int], embed: Callable[[list[str]], list[list[float]]]) -> int:
    """Embed these messages if they lack a current vector; how many were."""
    pending = list(_stale_or_missing().filter(pk__in=ids).values_list("pk", "text"))
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        vectors = embed([text[:8000] for _, text in chunk])
        # One statement a chunk: the worker shares the process's GIL with
        # its streams as hundreds of replies end (bench/concurrency.py).
        MessageEmbedding.objects.bulk_create(
            [
                MessageEmbedding(
                    message_id=pk,
                    model=settings.QWEN_EMBEDDING_MODEL,
                    dimensions=len(vector),
                    vector=pack(vector),
                )
                for (pk, _), vector in zip(chunk, vectors, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["message"],
            update_fields=["model", "dimensions", "vector"],
        )
    return len(pending)


class _Worker:
    """One daemon thread embedding what the app stored, in order, off the loop.

    It keeps one event loop, and so one upstream client: a loop per call built
    a client and its TLS context for every reply (~20 ms of CPU each, holding
    the GIL while streams waited: bench/concurrency.py). What was queued
    meanwhile goes in the same calls, ten texts each.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[list[int]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, ids: list[int]) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="embed-messages", daemon=True
                )
                self.thread.start()
        self.queue.put(ids)

    def _run(self) -> None:
        with asyncio.Runner() as runner:
            while True:
                self._embed_queued(lambda texts: runner.run(gateway.embed_texts(texts)))

    def _embed_queued(self, embed: Callable[[list[str]], list[list[float]]]) -> None:
        batches = [self.queue.get()]
        # Replies ending one by one made a call each, two texts in it: with
        # three hundred ending within seconds, a call's fixed cost, paid under
        # the GIL, was half of what embedding them took (bench/concurrency.py).
        # A moment's wait fills a call; what is queued by then goes too.
        deadline = time.monotonic() + GATHER_S
        while len(batches) < MAX_BATCHES:
            wait = deadline - time.monotonic()
            try:
                if wait > 0 and sum(map(len, batches)) < CHUNK:
                    batches.append(self.queue.get(timeout=wait))
                else:
                    batches.append(self.queue.get_nowait())
            except queue.Empty:
                break
        ids = [pk for batch in batches for pk in batch]
        try:
            close_old_connections()
            _embed(ids, embed)
        except gateway.EmbeddingUnavailable as exc:
            # Text search keeps working; `embed_messages` catches up later.
            logger.warning("Embedding unavailable: %s", exc.failure.message)
        except Exception:
            logger.exception("Embedding messages %s failed.", ids)
        finally:
            close_old_connections()
            for _ in batches:
                self.queue.task_done()


_worker = _Worker()


def schedule_embedding(message_ids: list[int]) -> None:
    """Embed these messages in the background once the current transaction commits."""
    ids = [pk for pk in message_ids if pk]
    if not ids or not settings.EMBEDDINGS_AUTO:
        return
    transaction.on_commit(lambda: _worker.submit(ids))


def wait_for_background_embedding() -> None:
    """Block until queued embeddings are done (for the command and tests)."""
    _worker.queue.join()


@dataclass(frozen=True, slots=True)
class SimilarMessage:
    message: Message
    score: float


@dataclass(frozen=True, slots=True)
class SemanticResults:
    results: list[SimilarMessage]
    unavailable: bool = False


def semantic_search(
    user: AbstractBaseUser | AnonymousUser, query: str, limit: int = 10
) -> SemanticResults:
    """Messages of `user`'s threads closest in meaning to `query`."""
    query = query.strip()
    if not query or not user.is_authenticated:
        return SemanticResults([])
    try:
        [vector] = async_to_sync(gateway.embed_texts)([query[:8000]])
    except gateway.EmbeddingUnavailable as exc:
        logger.warning("Search by meaning unavailable: %s", exc.failure.message)
        return SemanticResults([], unavailable=True)
    norm = _norm(vector)
    unit = [v / norm for v in vector]
    rows = MessageEmbedding.objects.filter(
        message__thread__in=access.threads_visible_to(user),
        model=settings.QWEN_EMBEDDING_MODEL,
        dimensions=len(vector),
    ).values_list("message_id", "vector")
    scored = []
    for message_id, data in rows.iterator(chunk_size=500):
        # Both sides are unit vectors: the dot product is the cosine.
        # math.sumprod runs in C: ~8x a generator (bench/semantic_search.py).
        score = math.sumprod(unit, unpack(data))
        if score >= settings.SEMANTIC_MIN_SCORE:
            scored.append((score, message_id))
    scored.sort(reverse=True)
    top = scored[:limit]
    messages = Message.objects.select_related("thread").in_bulk([pk for _, pk in top])
    return SemanticResults(
        [SimilarMessage(messages[pk], score) for score, pk in top if pk in messages]
    )


def messages_similar_to(
    user: AbstractBaseUser | AnonymousUser, query: str, limit: int = 10
) -> list[SimilarMessage]:
    """The selector other pages use; empty when embeddings are unavailable."""
    return semantic_search(user, query, limit).results


def messages_matching_text(
    user: AbstractBaseUser | AnonymousUser, query: str, limit: int = 20
) -> list[Message]:
    """Exact-text matches, needing no upstream: search still works in an outage.

    A minimal stand-in beside the thread search of issue #10.
    """
    if not query.strip() or not user.is_authenticated:
        return []
    return list(
        Message.objects.filter(
            thread__in=access.threads_visible_to(user), text__icontains=query.strip()
        )
        .select_related("thread")
        .order_by("-created_at")[:limit]
    )
