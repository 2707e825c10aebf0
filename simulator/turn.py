"""One `POST /responses`: context assembly, then the events of the reply.

`prepare_turn` validates and resolves context (raising `ApiError` like the API);
`Turn.steps` yields what to send, in order, and leaves pacing to the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import answers, errors, events
from .directives import Directives, parse_directives, strip_directives
from .faults import Fault
from .state import (
    Context,
    Item,
    SimulatorState,
    StoredResponse,
    context_tokens,
    items_to_context,
    message_text,
    new_id,
    normalize_input,
)
from .tools import Plan, plan_tools

# Faults acted on by the server rather than by the event sequence.
TRANSPORT_FAULTS = frozenset({"drop", "stop"})
MID_STREAM_FAULTS = frozenset(
    {"drop", "stop", "failed", "incomplete", "moderation_output", "error_event"}
)
TOOL_DECLARATION_TOKENS = 30
REASONING_TOKENS_PER_DELTA = 4


@dataclass
class Step:
    """`kind`: "event" (send now), "delta" (send when paced), "ttft" (wait the
    time to first token), "pause" (tool latency), "fault" (server acts)."""

    kind: str
    event: dict[str, Any] | None = None
    fault: Fault | None = None


def _conversation_id(body: dict[str, Any]) -> str | None:
    conversation = body.get("conversation")
    if isinstance(conversation, dict):
        return conversation.get("id")
    return conversation or None


def last_user_text(items: list[Item]) -> str:
    for item in reversed(items):
        if item.get("type") == "message" and item.get("role") == "user":
            return message_text(item)
    return ""


class Turn:
    def __init__(
        self,
        *,
        state: SimulatorState,
        body: dict[str, Any],
        stored: StoredResponse,
        raw_user_text: str,
        directives: Directives,
        plan: Plan,
        answer_deltas: list[str] | None,
        reasoning: list[str],
        input_tokens: int,
        cached_tokens: int,
    ) -> None:
        self.state = state
        self.body = body
        self.stored = stored
        self.raw_user_text = raw_user_text
        self.directives = directives
        self.plan = plan
        self.answer_deltas = answer_deltas
        self.reasoning = reasoning
        self.input_tokens = input_tokens
        self.cached_tokens = cached_tokens
        self.seq = 0
        self.output: list[Item] = []
        self.output_tokens = 0
        self.reasoning_tokens = 0

    # -- event helpers -----------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        fields["sequence_number"] = self.seq
        fields["type"] = kind
        self.seq += 1
        # DashScope sends event keys in alphabetical order (see 001).
        return dict(sorted(fields.items()))

    def response(self, status: str, **extra: Any) -> dict[str, Any]:
        terminal = status not in ("queued", "in_progress")
        return events.response_object(
            response_id=self.stored.id,
            created_at=self.stored.created_at,
            request=self.body,
            # The recorded stream leaves `model` empty until the end.
            model=self.stored.model if terminal else "",
            status=status,
            output=list(self.output) if terminal else [],
            usage=self._usage() if terminal else None,
            **extra,
        )

    def _usage(self) -> dict[str, Any]:
        return events.usage_object(
            input_tokens=self.input_tokens,
            cached_tokens=self.cached_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens,
            tools=self.plan.usage_tools,
        )

    def _finish(self, status: str, event: dict[str, Any]) -> None:
        self.stored.status = status
        self.stored.output = list(self.output)
        self.stored.body = event["response"]
        conv_id = self.stored.conversation_id
        if conv_id and status in ("completed", "incomplete"):
            conv = self.state.conversations.get(conv_id)
            if conv is not None:
                conv.items.extend(self.stored.input_items)
                conv.items.extend(self.output)

    # -- the sequence ------------------------------------------------------

    def steps(self, fault: Fault | None) -> Iterator[Step]:
        mid = fault if fault and fault.kind in MID_STREAM_FAULTS else None
        max_tokens = self.body.get("max_output_tokens")
        if (
            mid is None
            and isinstance(max_tokens, int)
            and self.answer_deltas
            and len(self.answer_deltas) > max_tokens
        ):
            mid = Fault("incomplete", {"after": max_tokens})

        self.stored.status = "in_progress"
        yield Step(
            "event", self._event("response.created", response=self.response("queued"))
        )
        yield Step(
            "event",
            self._event("response.in_progress", response=self.response("in_progress")),
        )
        yield Step("ttft")

        reasoning = iter(self.reasoning)
        for tool_item in self.plan.tool_items:
            if self.reasoning:
                yield from self._reasoning(next(reasoning))
            yield from self._tool(tool_item)

        if self.answer_deltas is None:
            if mid is not None:
                yield from self._fault(mid, None, "")
                return
        else:
            if self.reasoning and not self.plan.tool_items:
                yield from self._reasoning(next(reasoning))
            finished = yield from self._message(mid)
            if not finished:
                return
        event = self._event("response.completed", response=self.response("completed"))
        self._finish("completed", event)
        yield Step("event", event)

    def _reasoning(self, text: str) -> Iterator[Step]:
        index = len(self.output)
        item_id = new_id("rs_")
        item = events.reasoning_item(item_id, None)
        yield Step(
            "event",
            self._event("response.output_item.added", item=item, output_index=index),
        )
        part = {"type": "summary_text", "text": ""}
        common = {"item_id": item_id, "output_index": index, "summary_index": 0}
        yield Step(
            "event",
            self._event("response.reasoning_summary_part.added", part=part, **common),
        )
        for delta in answers.split_deltas(text):
            self.reasoning_tokens += REASONING_TOKENS_PER_DELTA
            self.output_tokens += REASONING_TOKENS_PER_DELTA
            yield Step(
                "delta",
                self._event(
                    "response.reasoning_summary_text.delta", delta=delta, **common
                ),
            )
        yield Step(
            "event",
            self._event("response.reasoning_summary_text.done", text=text, **common),
        )
        done_part = {"type": "summary_text", "text": text}
        yield Step(
            "event",
            self._event(
                "response.reasoning_summary_part.done", part=done_part, **common
            ),
        )
        item = events.reasoning_item(item_id, text)
        self.output.append(item)
        yield Step(
            "event",
            self._event("response.output_item.done", item=item, output_index=index),
        )

    def _tool(self, item: Item) -> Iterator[Step]:
        index = len(self.output)
        added = events.in_progress(item)
        yield Step(
            "event",
            self._event("response.output_item.added", item=added, output_index=index),
        )
        if item["type"] == "function_call":
            common = {"item_id": item["id"], "output_index": index}
            for delta in answers.split_deltas(item["arguments"]):
                self.output_tokens += 1
                yield Step(
                    "delta",
                    self._event(
                        "response.function_call_arguments.delta", delta=delta, **common
                    ),
                )
            yield Step(
                "event",
                self._event(
                    "response.function_call_arguments.done",
                    arguments=item["arguments"],
                    name=item["name"],
                    **common,
                ),
            )
        else:
            yield Step("pause")
        self.output.append(item)
        yield Step(
            "event",
            self._event("response.output_item.done", item=item, output_index=index),
        )

    def _message(self, mid: Fault | None):  # -> Generator[Step, None, bool]
        assert self.answer_deltas is not None
        index = len(self.output)
        item_id = new_id("msg_")
        common = {"content_index": 0, "item_id": item_id, "output_index": index}
        yield Step(
            "event",
            self._event(
                "response.output_item.added",
                item=events.message_item(item_id, None, "in_progress"),
                output_index=index,
            ),
        )
        yield Step(
            "event",
            self._event(
                "response.content_part.added", part=events.text_part(""), **common
            ),
        )
        sent: list[str] = []
        deltas = self.answer_deltas
        for position, delta in enumerate(deltas):
            if mid is not None and position == mid.after:
                break
            sent.append(delta)
            self.output_tokens += 1
            yield Step(
                "delta",
                self._event(
                    "response.output_text.delta", delta=delta, logprobs=[], **common
                ),
            )
        if mid is not None and len(sent) == min(mid.after, len(deltas)):
            yield from self._fault(mid, item_id, "".join(sent))
            return False
        text = "".join(sent)
        yield Step(
            "event",
            self._event("response.output_text.done", text=text, logprobs=[], **common),
        )
        yield Step(
            "event",
            self._event(
                "response.content_part.done", part=events.text_part(text), **common
            ),
        )
        item = events.message_item(item_id, text, "completed")
        self.output.append(item)
        yield Step(
            "event",
            self._event("response.output_item.done", item=item, output_index=index),
        )
        return True

    def _fault(self, fault: Fault, item_id: str | None, partial: str) -> Iterator[Step]:
        kind = fault.kind
        if kind in TRANSPORT_FAULTS:
            yield Step("fault", fault=fault)
            return
        if kind == "error_event":
            yield Step(
                "event",
                self._event(
                    "error",
                    code=str(fault.get("code", "InternalError")),
                    message=str(
                        fault.get("message", "An internal error has occurred.")
                    ),
                    param=None,
                ),
            )
            yield Step("fault", fault=Fault("stop"))
            return
        if kind == "incomplete":
            if item_id is not None:
                common = {
                    "content_index": 0,
                    "item_id": item_id,
                    "output_index": len(self.output),
                }
                yield Step(
                    "event",
                    self._event(
                        "response.output_text.done", text=partial, logprobs=[], **common
                    ),
                )
                yield Step(
                    "event",
                    self._event(
                        "response.content_part.done",
                        part=events.text_part(partial),
                        **common,
                    ),
                )
                item = events.message_item(item_id, partial, "incomplete")
                self.output.append(item)
                yield Step(
                    "event",
                    self._event(
                        "response.output_item.done",
                        item=item,
                        output_index=common["output_index"],
                    ),
                )
            response = self.response(
                "incomplete", incomplete_reason="max_output_tokens"
            )
            event = self._event("response.incomplete", response=response)
            self._finish("incomplete", event)
            yield Step("event", event)
            return
        # failed / moderation_output
        if kind == "moderation_output":
            code, message = (
                "DataInspectionFailed",
                "Output data may contain inappropriate content.",
            )
            self.stored.flagged = True
        else:
            code = str(fault.get("code", "InternalError"))
            message = str(
                fault.get(
                    "message", "An internal error has occurred, please try again later."
                )
            )
        if item_id is not None and partial:
            self.output.append(events.message_item(item_id, partial, "incomplete"))
        response = self.response("failed", error={"code": code, "message": message})
        event = self._event("response.failed", response=response)
        self._finish("failed", event)
        yield Step("event", event)


def prepare_turn(state: SimulatorState, body: Any, headers: dict[str, str]) -> Turn:
    errors.validate_response_body(body)
    input_items = normalize_input(body["input"])
    history: list[Item] = []
    previous = body.get("previous_response_id")
    conv_id = _conversation_id(body)
    if previous:
        history = state.chain_items(previous)
    elif conv_id:
        history = list(state.get_conversation(conv_id).items)
    instructions = body.get("instructions")
    context: Context = []
    if instructions:
        context.append({"role": "system", "text": str(instructions)})
    context.extend(items_to_context(history + input_items))

    raw_user_text = last_user_text(input_items)
    directives = parse_directives(raw_user_text)
    user_text = strip_directives(raw_user_text)
    outputs = [i for i in input_items if i.get("type") == "function_call_output"]
    tools = body.get("tools") or []
    plan_text = user_text
    answering = bool(outputs)
    if outputs:
        # A follow-up carries only function outputs: the question (and how
        # many rounds of calls it asks for) is the last user message before.
        asked = last_user_text(history + input_items)
        plan_text = strip_directives(asked)
        rounds = parse_directives(asked).tool_rounds
        answering = _rounds_done(history + input_items) >= rounds
    plan = plan_tools(
        user_text=plan_text,
        tools=tools,
        tool_choice=body.get("tool_choice", "auto"),
        answering_function_output=answering,
    )
    answer_deltas: list[str] | None = None
    if not plan.awaits_client:
        if directives.echo:
            answer_deltas = answers.split_deltas(user_text)
        elif directives.tokens is not None:
            answer_deltas = answers.token_answer(directives.tokens)
        elif directives.prose is not None:
            first = user_text.split()[0] if user_text.split() else ""
            answer_deltas = answers.split_deltas(
                answers.prose_answer(first, directives.prose)
            )
        else:
            if outputs:
                text = _answer_function_outputs(outputs, history + input_items)
            else:
                text = answers.compose(user_text, context)
            if plan.tool_items:
                text = f"{plan.summary()}\n\n{text}"
            answer_deltas = answers.split_deltas(text)
    reasoning: list[str] = []
    if body.get("enable_thinking"):
        steps = max(1, len(plan.tool_items))
        reasoning = [_reasoning_text(user_text, i, plan) for i in range(steps)]

    now = state.now()
    stored = StoredResponse(
        id=new_id(),
        created_at=float(int(now)),
        model=body["model"],
        input_items=input_items,
        instructions=instructions,
        context=context,
        previous_response_id=previous,
        conversation_id=conv_id,
        status="queued",
        request=body,
    )
    cache_on = headers.get("x-dashscope-session-cache", "").lower() == "enable"
    turn = Turn(
        state=state,
        body=body,
        stored=stored,
        raw_user_text=raw_user_text,
        directives=directives,
        plan=plan,
        answer_deltas=answer_deltas,
        reasoning=reasoning,
        input_tokens=context_tokens(context) + TOOL_DECLARATION_TOKENS * len(tools),
        cached_tokens=state.cached_prefix_tokens(context, enabled=cache_on),
    )
    state.responses[stored.id] = stored
    return turn


def _answer_function_outputs(outputs: list[Item], items: list[Item]) -> str:
    names = {
        i.get("call_id"): i.get("name")
        for i in items
        if i.get("type") == "function_call"
    }
    lines = []
    for output in outputs:
        name = names.get(output["call_id"]) or "the function"
        lines.append(f"The `{name}` call returned: {output['output']}")
    return "\n\n".join(lines) + "\n\nLet me know if you need anything else."


def _reasoning_text(user_text: str, index: int, plan: Plan) -> str:
    topic = " ".join(user_text.split()[:8]) or "the request"
    if index < len(plan.tool_items):
        kind = plan.tool_items[index]["type"].removesuffix("_call")
        return f'The user asks: "{topic}". I should use the {kind} tool first.'
    return f'The user asks: "{topic}". I will structure a clear, helpful answer.'


def _rounds_done(items: list[Item]) -> int:
    """Rounds of function outputs since the last user message."""
    rounds = 0
    previous = ""
    for item in items:
        kind = item.get("type", "")
        if kind == "message" and item.get("role") == "user":
            rounds = 0
        elif kind == "function_call_output" and previous != kind:
            rounds += 1
        previous = kind
    return rounds
