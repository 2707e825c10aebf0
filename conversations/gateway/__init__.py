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
from conversations.gateway.compat import (
    CompatError,
    EmbeddingUnavailable,
    Route,
    batch_create,
    batch_retrieve,
    embed_texts,
    file_content,
    file_delete,
    file_upload,
    jsonl,
    route_for,
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
    "CompatError",
    "Completed",
    "ConversationGone",
    "EmbeddingUnavailable",
    "Event",
    "Failed",
    "FailureCategory",
    "ItemAdded",
    "ItemDone",
    "ReasoningDelta",
    "ReplyRequest",
    "Route",
    "Started",
    "TextDelta",
    "UpstreamError",
    "Usage",
    "batch_create",
    "batch_retrieve",
    "conversation_create",
    "conversation_items",
    "embed_texts",
    "file_content",
    "file_delete",
    "file_upload",
    "jsonl",
    "route_for",
    "stream_reply",
]
