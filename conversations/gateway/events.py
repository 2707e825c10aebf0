"""The app's vocabulary of upstream events: plain dataclasses, no SDK types."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """What the app asks of the model for one reply."""

    input: str | list[dict[str, Any]]
    model: str
    instructions: str = ""
    previous_response_id: str = ""
    conversation: str = ""
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    enable_thinking: bool | None = None
    session_cache: bool = False
    # Issue #11: images (data URLs) send the turn to a vision model, uploaded
    # document ids to the long-context model, both by Chat Completions.
    images: tuple[str, ...] = ()
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0
    tool_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict[str, Any] | None) -> "Usage":
        raw = raw or {}
        x_tools = raw.get("x_tools") or {}
        return cls(
            input_tokens=int(raw.get("input_tokens") or 0),
            output_tokens=int(raw.get("output_tokens") or 0),
            reasoning_tokens=int(
                (raw.get("output_tokens_details") or {}).get("reasoning_tokens") or 0
            ),
            cached_tokens=int(
                (raw.get("input_tokens_details") or {}).get("cached_tokens") or 0
            ),
            total_tokens=int(raw.get("total_tokens") or 0),
            tool_counts={
                name: int((value or {}).get("count") or 0)
                for name, value in x_tools.items()
            },
        )


class FailureCategory(StrEnum):
    AUTH = "auth"
    ACCESS_DENIED = "access_denied"
    RATE_LIMIT = "rate_limit"
    BAD_REQUEST = "bad_request"
    MODEL_NOT_FOUND = "model_not_found"
    CONTEXT_LOST = "context_lost"
    MODERATION = "moderation"
    SERVER_ERROR = "server_error"
    NETWORK = "network"
    TIMEOUT = "timeout"
    NO_TERMINAL_EVENT = "no_terminal_event"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class Started:
    response_id: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    item_id: str
    output_index: int
    text: str


@dataclass(frozen=True, slots=True)
class ArgumentsDelta:
    """Part of a `function_call`'s (or an `mcp_call`'s) arguments as they stream."""

    item_id: str
    output_index: int
    text: str


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """An output item began: its `type` may be one the SDK does not model."""

    output_index: int
    item: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.item.get("type", ""))


@dataclass(frozen=True, slots=True)
class ItemDone:
    output_index: int
    item: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.item.get("type", ""))


@dataclass(frozen=True, slots=True)
class Completed:
    response_id: str
    text: str
    usage: Usage
    output: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Failed:
    """The terminal event of a reply that did not complete.

    `response_id` is known when the upstream got as far as creating one.
    """

    category: FailureCategory
    message: str
    code: str = ""
    retry_after: float | None = None
    response_id: str = ""
    usage: Usage | None = None


Event = (
    Started
    | TextDelta
    | ReasoningDelta
    | ArgumentsDelta
    | ItemAdded
    | ItemDone
    | Completed
    | Failed
)
TERMINAL = (Completed, Failed)
