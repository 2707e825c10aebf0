"""What the simulated upstream remembers: responses, conversations, cache, clock."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import errors
from .directives import strip_directives

# A response id links turns for 7 days (001); session cache entries live 5 minutes
# and need at least 1024 tokens (002).
RESPONSE_TTL = 7 * 24 * 3600
CACHE_TTL = 5 * 60
CACHE_MIN_TOKENS = 1024
# Stand-in for the hidden system prompt DashScope counts in input_tokens.
PROMPT_OVERHEAD = 20
PER_MESSAGE_OVERHEAD = 4

Item = dict[str, Any]
Context = list[dict[str, str]]


class DeltaRecord(NamedTuple):
    response_id: str
    sequence_number: int
    text: str
    t_wall: float


@dataclass
class StoredResponse:
    id: str
    created_at: float
    model: str
    input_items: list[Item]
    instructions: str | None
    context: Context
    previous_response_id: str | None = None
    conversation_id: str | None = None
    output: list[Item] = field(default_factory=list)
    status: str = "in_progress"
    body: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)
    # Set when moderation flagged the turn: every turn chained onto it fails too.
    flagged: bool = False

    @property
    def chainable(self) -> bool:
        # A stream that never reached a terminal event is not persisted upstream,
        # so it cannot be continued with previous_response_id.
        return self.status in ("completed", "incomplete", "failed")


@dataclass
class Conversation:
    id: str
    created_at: int
    metadata: dict[str, Any]
    items: list[Item] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4()}"


def count_tokens(text: str) -> int:
    """Rough tokenizer: a CJK character is a token, otherwise ~4 chars a token."""
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk + 3) // 4


def context_tokens(context: Context) -> int:
    return PROMPT_OVERHEAD + sum(
        PER_MESSAGE_OVERHEAD + count_tokens(m["text"]) for m in context
    )


def normalize_input(raw: Any) -> list[Item]:
    """Turn `input` (string or item array) into stored items with ids."""
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise errors.invalid_parameter("input must be a string or an array.", "input")
    items: list[Item] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise errors.invalid_parameter(
                "Each input item must be an object.", "input"
            )
        kind = entry.get("type", "message")
        if kind == "message":
            items.append(_normalize_message(entry))
        elif kind == "function_call_output":
            if "call_id" not in entry:
                raise errors.invalid_parameter(
                    "function_call_output requires call_id.", "input"
                )
            output = entry.get("output", "")
            items.append(
                {
                    "type": "function_call_output",
                    "id": entry.get("id") or new_id("fco_"),
                    "call_id": entry["call_id"],
                    "output": output if isinstance(output, str) else str(output),
                    "status": "completed",
                }
            )
        else:
            # Output items replayed by the client (function_call, reasoning, ...).
            items.append({**entry, "id": entry.get("id") or new_id("item_")})
    return items


def _normalize_message(entry: Item) -> Item:
    role = entry.get("role", "user")
    if role not in ("user", "assistant", "system", "developer"):
        raise errors.invalid_parameter(f"Invalid role '{role}'.", "input")
    part_type = "output_text" if role == "assistant" else "input_text"
    content = entry.get("content", "")
    if isinstance(content, str):
        parts: list[dict[str, Any]] = [{"type": part_type, "text": content}]
    elif isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or "text" not in part:
                raise errors.invalid_parameter(
                    "Only text content parts are supported.", "input"
                )
            parts.append({"type": part.get("type", part_type), "text": part["text"]})
    else:
        raise errors.invalid_parameter("Invalid message content.", "input")
    if role == "assistant":
        for part in parts:
            part.setdefault("annotations", [])
    return {
        "type": "message",
        "id": entry.get("id") or new_id("msg_"),
        "role": role,
        "status": "completed",
        "content": parts,
    }


def message_text(item: Item) -> str:
    return "".join(str(p.get("text", "")) for p in item.get("content") or [])


def item_to_context(item: Item) -> dict[str, str] | None:
    """How an item reads to the model; reasoning summaries are not fed back."""
    kind = item.get("type")
    if kind == "message":
        role = "system" if item["role"] == "developer" else item["role"]
        return {"role": role, "text": strip_directives(message_text(item))}
    if kind == "function_call":
        return {
            "role": "assistant",
            "text": f"[function_call {item.get('name')} {item.get('arguments')}"
            f" call_id={item.get('call_id')}]",
        }
    if kind == "function_call_output":
        return {
            "role": "tool",
            "text": f"[function_call_output call_id={item.get('call_id')}] "
            f"{item.get('output')}",
        }
    if kind == "web_search_call":
        action = item.get("action") or {}
        urls = " ".join(s.get("url", "") for s in action.get("sources") or [])
        return {"role": "tool", "text": f"[web_search {action.get('query')}] {urls}"}
    if kind == "web_extractor_call":
        return {"role": "tool", "text": f"[web_extractor] {item.get('output')}"}
    if kind == "code_interpreter_call":
        logs = " ".join(o.get("logs", "") for o in item.get("outputs") or [])
        return {"role": "tool", "text": f"[code_interpreter] {logs}"}
    if kind == "mcp_call":
        return {
            "role": "tool",
            "text": f"[mcp {item.get('name')}] {item.get('output')}",
        }
    return None


def items_to_context(items: Iterable[Item]) -> Context:
    return [c for c in map(item_to_context, items) if c is not None]


class SimulatorState:
    """All upstream memory. Mutated only on the server's event loop.

    Tests may read it from another thread once a request has finished.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.clock_offset = 0.0
        self.responses: dict[str, StoredResponse] = {}
        self.conversations: dict[str, Conversation] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=500)
        self.record_timings = False
        self.delta_log: list[DeltaRecord] = []
        # perf_counter() of each delta_log entry, same index (for in-process benches).
        self.delta_perf: list[float] = []
        self._cache: dict[bytes, tuple[int, float]] = {}
        # Counts per directive text, so `[[fault:500,times=2]]` fails twice only.
        self.directive_hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.clock() + self.clock_offset

    def reset(self) -> None:
        self.responses.clear()
        self.conversations.clear()
        self.requests.clear()
        self.delta_log.clear()
        self.delta_perf.clear()
        self._cache.clear()
        self.directive_hits.clear()
        self.clock_offset = 0.0

    # -- responses ---------------------------------------------------------

    def live_response(self, response_id: str) -> StoredResponse | None:
        stored = self.responses.get(response_id)
        if stored is None or self.now() - stored.created_at > RESPONSE_TTL:
            return None
        return stored

    def chain_items(self, previous_response_id: str) -> list[Item]:
        """Inputs and outputs of every earlier turn, oldest first.

        Instructions are deliberately absent: they apply to one turn only.
        """
        chain: list[StoredResponse] = []
        current: str | None = previous_response_id
        while current:
            stored = self.live_response(current)
            if stored is None or not stored.chainable:
                raise errors.previous_response_not_found(previous_response_id)
            chain.append(stored)
            current = stored.previous_response_id
            if stored.conversation_id and not current:
                # A turn made inside a conversation carries that history too.
                conv = self.conversations.get(stored.conversation_id)
                if conv is not None:
                    chain.append(_pseudo_conversation_turn(conv, stored))
        if any(s.flagged for s in chain):
            raise moderation_error()
        items: list[Item] = []
        for stored in reversed(chain):
            items.extend(stored.input_items)
            items.extend(o for o in stored.output if o.get("type") != "reasoning")
        return items

    # -- conversations -----------------------------------------------------

    def create_conversation(
        self, items: list[Item], metadata: dict[str, Any] | None
    ) -> Conversation:
        conv = Conversation(
            id=new_id("conv_"),
            created_at=int(self.now()),
            metadata=metadata or {},
            items=list(items),
        )
        self.conversations[conv.id] = conv
        return conv

    def get_conversation(self, conversation_id: str) -> Conversation:
        conv = self.conversations.get(conversation_id)
        if conv is None:
            raise errors.not_found("Conversation", conversation_id)
        return conv

    def forget(
        self,
        *,
        response_id: str | None = None,
        conversation_id: str | None = None,
        everything: bool = False,
    ) -> None:
        if everything:
            self.responses.clear()
            self.conversations.clear()
            self._cache.clear()
            return
        if response_id:
            self.responses.pop(response_id, None)
        if conversation_id:
            self.conversations.pop(conversation_id, None)

    # -- session cache -----------------------------------------------------

    def cached_prefix_tokens(self, context: Context, *, enabled: bool) -> int:
        """Tokens of the longest context prefix cached in the last 5 minutes.

        Every request with the cache enabled also creates entries for its own
        prefixes, so the next turn (same prefix plus more) hits.
        """
        if not enabled:
            return 0
        now = self.now()
        digest = hashlib.sha256()
        tokens = PROMPT_OVERHEAD
        prefixes: list[tuple[bytes, int]] = []
        for message in context:
            digest.update(f"{message['role']}\x00{message['text']}\x01".encode())
            tokens += PER_MESSAGE_OVERHEAD + count_tokens(message["text"])
            prefixes.append((digest.copy().digest(), tokens))
        hit = 0
        with self._lock:
            for key, size in reversed(prefixes):
                entry = self._cache.get(key)
                if entry and entry[1] > now:
                    hit = size
                    break
            for key, size in prefixes:
                if size >= CACHE_MIN_TOKENS:
                    # A hit (or a new prompt) resets the 5-minute validity.
                    self._cache[key] = (size, now + CACHE_TTL)
        return hit if hit >= CACHE_MIN_TOKENS else 0


def moderation_error() -> errors.ApiError:
    return errors.ApiError(
        400, "DataInspectionFailed", "Input data may contain inappropriate content."
    )


def _pseudo_conversation_turn(
    conv: Conversation, stored: StoredResponse
) -> StoredResponse:
    # Conversation items up to (not including) this turn's own input.
    first = stored.input_items[0]["id"] if stored.input_items else None
    before: list[Item] = []
    for item in conv.items:
        if item.get("id") == first:
            break
        before.append(item)
    return StoredResponse(
        id=conv.id,
        created_at=stored.created_at,
        model=stored.model,
        input_items=before,
        instructions=None,
        context=[],
        status="completed",
    )
