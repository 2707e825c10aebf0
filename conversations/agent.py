"""Tool calls of one reply: logged, shown live, and the function-calling loop.

The generation hands every non-text event of a reply to a `ToolTracker`. It
stores each output item other than the message as a `ToolCall` row when the
item starts (so a reload mid-reply shows its card) and completes the row when
it is done; each change is broadcast as the card's HTML, rendered by the same
template a page uses. After a response that ends with `function_call` items the
tracker runs them (`functions.run_function`, each under a time limit) and gives
the generation the `function_call_output` items to send back.
"""

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from conversations import functions, gateway, services
from conversations.broadcast import thread_broadcast
from conversations.live import LiveReply
from conversations.models import McpServer, Message, ToolCall
from conversations.toolcards import tool_card_html, tool_cards_append_html

logger = logging.getLogger(__name__)

STEP_LIMIT_OUTPUT = (
    "Not run: this reply reached its limit of {limit} tool steps. "
    "Answer with what you have."
)

# Reasoning summaries being streamed, by reply id then position: a page loaded
# mid-reply shows them although the row is only written when the item is done.
live_reasoning: dict[int, dict[int, str]] = {}


def request_tools(
    used: dict[str, Any], mcp_servers: list[McpServer]
) -> list[dict[str, Any]]:
    """The `tools` of a request from the settings a reply was created with."""
    names = [str(n) for n in used.get("tools") or []]
    tools: list[dict[str, Any]] = [
        {"type": name} for name in names if name in settings.QWEN_BUILTIN_TOOLS
    ]
    tools.extend(functions.function_schemas(names))
    for server in mcp_servers:
        tool: dict[str, Any] = {
            "type": "mcp",
            "server_protocol": server.protocol,
            "server_label": server.label,
            "server_url": server.url,
        }
        if server.description:
            tool["server_description"] = server.description
        if server.headers:
            tool["headers"] = dict(server.headers)
        if server.allowed_tools:
            tool["allowed_tools"] = list(server.allowed_tools)
        tools.append(tool)
    return tools


def _mcp_servers_for(reply: Message) -> list[McpServer]:
    labels = reply.settings_used.get("mcp_servers") or []
    return list(McpServer.objects.filter(label__in=labels, enabled=True))


class ToolSetup(NamedTuple):
    """What a reply's tracker starts from."""

    user: AbstractBaseUser | None
    tools: list[dict[str, Any]]
    next_position: int


def tool_setup(reply: Message, *, new: bool = False) -> ToolSetup:
    """From the database thread: `reply` comes with its parent's author; a
    `new` one has no tool calls yet."""
    return ToolSetup(
        user=reply.parent.author if reply.parent is not None else None,
        tools=request_tools(reply.settings_used, _mcp_servers_for(reply)),
        next_position=0 if new else ToolCall.objects.filter(reply_id=reply.pk).count(),
    )


@dataclass
class ToolTracker:
    live: LiveReply
    reply: Message
    user: AbstractBaseUser | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    next_position: int = 0
    response_id: str = ""
    # This response's output_index -> the item's position in the reply.
    positions: dict[int, int] = field(default_factory=dict)
    last_reasoning_send: float = 0.0
    steps: int = 0

    @classmethod
    def of(cls, live: LiveReply, reply: Message, setup: "ToolSetup") -> "ToolTracker":
        return cls(
            live=live,
            reply=reply,
            user=setup.user,
            tools=setup.tools,
            next_position=setup.next_position,
        )

    def request_options(self, *, final: bool = False) -> dict[str, Any]:
        used = self.reply.settings_used
        options: dict[str, Any] = {}
        if self.tools:
            options["tools"] = self.tools
            choice = str(used.get("tool_choice") or "auto")
            # Past the step limit the model must answer with what it has.
            options["tool_choice"] = "none" if final else choice
        # Sent either way: some models think by default, so "off" must be said.
        options["enable_thinking"] = bool(used.get("enable_thinking"))
        return options

    def start_response(self, response_id: str) -> None:
        self.response_id = response_id
        self.positions = {}

    # --- events -------------------------------------------------------------

    def _position(self, output_index: int) -> int:
        if output_index not in self.positions:
            self.positions[output_index] = self.next_position
            self.next_position += 1
        return self.positions[output_index]

    async def handle(self, event: gateway.Event) -> None:
        if isinstance(event, gateway.ItemAdded):
            if event.type == "message":
                return
            position = self._position(event.output_index)
            call = await database_sync_to_async(services.tool_call_start)(
                reply_id=self.live.reply_id,
                position=position,
                response_id=self.response_id,
                item=event.item,
            )
            if event.type == "reasoning":
                live_reasoning.setdefault(self.live.reply_id, {})[position] = ""
            await self._broadcast(call, append=True)
        elif isinstance(event, gateway.ItemDone):
            if event.type == "message":
                return
            position = self._position(event.output_index)
            item = event.item
            if event.type == "function_call":
                # The call is complete; its result is not there yet.
                item = {**item, "status": "in_progress"}
            call = await database_sync_to_async(services.tool_call_finish)(
                reply_id=self.live.reply_id,
                position=position,
                response_id=self.response_id,
                item=item,
            )
            live_reasoning.get(self.live.reply_id, {}).pop(position, None)
            await self._broadcast(call)
        elif isinstance(event, gateway.ReasoningDelta):
            position = self._position(event.output_index)
            texts = live_reasoning.setdefault(self.live.reply_id, {})
            texts[position] = texts.get(position, "") + event.text
            interval = settings.CHAT_FRAME_INTERVAL_MS / 1000
            if time.monotonic() - self.last_reasoning_send >= interval:
                self.last_reasoning_send = time.monotonic()
                call = await database_sync_to_async(
                    ToolCall.objects.filter(
                        reply_id=self.live.reply_id, position=position
                    ).first
                )()
                if call is not None:
                    await self._broadcast(call)

    async def _broadcast(self, call: ToolCall, *, append: bool = False) -> None:
        html = await database_sync_to_async(tool_card_html)(
            call,
            streaming_text=bool(self.live.text),
            live_text=live_reasoning.get(self.live.reply_id, {}).get(call.position),
            oob=not append,
        )
        if append:
            html = tool_cards_append_html(self.live.reply_id, html)
        await thread_broadcast(self.live.thread_id, html)

    # --- the function-calling loop -----------------------------------------------

    async def run_functions(
        self, output: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], bool]:
        """Answer the function calls of a completed response.

        Returns the `function_call_output` items to send and whether the step
        limit was reached (then the calls are not run and the model is told so).
        """
        calls = [i for i in output if i.get("type") == "function_call"]
        if not calls:
            return [], False
        self.steps += 1
        limit = settings.CHAT_MAX_TOOL_STEPS
        final = self.steps > limit
        outputs: list[dict[str, Any]] = []
        by_item = await database_sync_to_async(self._rows_by_item)()
        for item in calls:
            if final:
                message = STEP_LIMIT_OUTPUT.format(limit=limit)
                result = functions.FunctionResult(
                    output=json.dumps({"error": message}), error=message
                )
            else:
                result = await functions.run_function(
                    name=str(item.get("name") or ""),
                    arguments=str(item.get("arguments") or ""),
                    user=self.user,
                    time_limit=settings.CHAT_TOOL_TIMEOUT,
                )
            outputs.append(
                {
                    "type": "function_call_output",
                    "call_id": item.get("call_id"),
                    "output": result.output,
                }
            )
            row = by_item.get(str(item.get("id") or ""))
            if row is None:
                continue
            call = await database_sync_to_async(services.tool_call_finish)(
                reply_id=self.live.reply_id,
                position=row.position,
                response_id=row.response_id,
                item={**item, "status": "failed" if result.error else "completed"},
                output=result.output,
                error=result.error,
            )
            await self._broadcast(call)
        return outputs, final

    def _rows_by_item(self) -> dict[str, ToolCall]:
        rows = ToolCall.objects.filter(
            reply_id=self.live.reply_id, type="function_call"
        )
        return {row.item_id: row for row in rows}

    @property
    def has_calls(self) -> bool:
        """Whether the reply has stored tool calls: each was given a position.
        Most replies have none, and their ends need not look for any."""
        return self.next_position > 0

    async def close(self) -> None:
        live_reasoning.pop(self.live.reply_id, None)
        if self.has_calls:
            await database_sync_to_async(services.tool_calls_interrupt)(
                reply_id=self.live.reply_id
            )
