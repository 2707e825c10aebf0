"""The only door to the upstream: nothing else in the project imports `openai`.

It speaks the app's own vocabulary (`events`): the generation code never sees an
SDK object, so DashScope's quirks are handled here once.
"""

from conversations.gateway.client import (
    ConversationGone,
    UpstreamError,
    conversation_create,
    conversation_items,
    stream_reply,
)
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

__all__ = [
    "ArgumentsDelta",
    "Completed",
    "ConversationGone",
    "Event",
    "Failed",
    "FailureCategory",
    "ItemAdded",
    "ItemDone",
    "ReasoningDelta",
    "ReplyRequest",
    "Started",
    "TextDelta",
    "UpstreamError",
    "Usage",
    "conversation_create",
    "conversation_items",
    "stream_reply",
]
