"""Runs one reply: gateway events in; frames to viewers and stored text out.

A generation belongs to the process, not to a socket: closing the tab does not
stop it. Deltas are coalesced into frames by the process's flusher (flusher.py);
the partial text is saved at most once per `CHAT_SAVE_INTERVAL_MS`, never per
delta.
"""

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from conversations import (
    agent,
    attachments,
    control,
    gateway,
    quotas,
    semantic,
    services,
)
from conversations.checkpoints import checkpoints
from conversations.context import ContextPlan, plan_context, plan_continuation
from conversations.errors import describe_failure
from conversations.flusher import FrameFlusher, flusher
from conversations.frames import reply_final_html
from conversations.live import LiveReply, current_reply, live_reply, running
from conversations.models import Message
from conversations.resilience import adb_retry, broadcast_quietly

logger = logging.getLogger(__name__)

Mode = Message.ContextMode
Status = Message.Status


def reply_start(
    reply_id: int,
    thread_id: object,
    *,
    continue_from: str = "",
    turn: "str | Turn | None" = None,
    lone: bool = False,
) -> asyncio.Task:
    """Generate a reply in this process; `continue_from` is a cut reply's text
    that the new text is appended to (Continue). `turn`: what `turn_load`
    gave for it, if the caller has it already. `lone`: it is its message's
    only reply (see `LiveReply.lone`)."""
    live = LiveReply(
        reply_id=reply_id,
        thread_id=str(thread_id),
        text=continue_from,
        prefix=continue_from,
        lone=lone,
    )
    if continue_from:
        # Viewers get the kept text at once, before the first new token.
        live.render()
    running[reply_id] = live
    # A fresh context: the task must not inherit the request's sync_to_async
    # executor, which is gone once the request that started it has finished.
    context = contextvars.Context()
    # The reply is written in the language of whoever asked for it (the final
    # message HTML and error texts are rendered in the task).
    context.run(translation.activate, translation.get_language())
    live.task = asyncio.get_running_loop().create_task(
        _run(live, turn), name=f"reply-{reply_id}", context=context
    )
    return live.task


def reply_stop(reply_id: int) -> bool:
    """Cancel a generation running in this process; False if there is none."""
    live = live_reply(reply_id)
    if live is None or live.task is None or live.task.done():
        return False
    live.task.cancel()
    return True


@dataclass
class Outcome:
    status: str = Status.COMPLETED
    error_category: str = ""
    error_message: str = ""
    moderated: bool = False
    responses: list[services.ResponseRecord] = field(default_factory=list)
    first_token_at: datetime | None = None
    tracker: "agent.ToolTracker | None" = None
    # A Conversation created upstream for this reply, for its thread.
    new_conversation: str = ""


def _load_plan(
    reply_id: int, rebuild: bool, continuing: bool = False
) -> tuple[Message, ContextPlan]:
    reply = Message.objects.select_related("thread", "parent").get(pk=reply_id)
    return reply, _plan(reply, rebuild, continuing)


def _plan(reply: Message, rebuild: bool, continuing: bool) -> ContextPlan:
    if continuing:
        return plan_continuation(reply)
    return plan_context(reply, rebuild=rebuild)


class Turn(NamedTuple):
    reply: Message
    plan: ContextPlan
    extras: attachments.TurnAttachments
    tools: agent.ToolSetup


def turn_load(
    reply: Message, *, continuing: bool = False, new: bool = False
) -> str | Turn:
    """What `reply` is to be written from, or why it may not be: budgets are
    checked before anything goes upstream (issue #7). From the database
    thread; `reply` comes with its thread and its parent's author, and `new`
    says it was just created (so it has called no tools yet)."""
    if refusal := quotas.quota_refusal_for_reply(reply):
        return refusal
    plan = _plan(reply, False, continuing)
    extras = attachments.turn_attachments(reply)
    if continuing and extras.any and isinstance(plan.input, list):
        # The attachments' path is sent whole: it must end with the kept text
        # and the request to carry on, as the text-only continuation does.
        extras.history.extend(plan.input[-2:])
    return Turn(reply, plan, extras, agent.tool_setup(reply, new=new))


def _load_turn(live: LiveReply) -> str | Turn:
    reply = Message.objects.select_related("thread__owner", "parent__author").get(
        pk=live.reply_id
    )
    return turn_load(reply, continuing=bool(live.prefix))


async def _run(live: LiveReply, turn: str | Turn | None) -> None:
    current_reply.set(str(live.reply_id))
    outcome = Outcome()
    plan: ContextPlan | None = None
    frames = flusher()
    try:
        await _listen_for_stop(live.reply_id)
        if turn is None:
            # Every starting reply queues for the database thread: a send
            # loads its turn in its own trip (consumers.py), others here.
            turn = await adb_retry(
                lambda: _load_turn(live),
                what=f"loading reply {live.reply_id}",
                delays=(0.1, 0.3, 0.6, 1, 2),
            )
        if isinstance(turn, str):
            outcome.status = Status.FAILED
            outcome.error_category = quotas.QUOTA_CATEGORY
            outcome.error_message = turn
        else:
            reply, plan, extras, tools = turn
            tracker = agent.ToolTracker.of(live, reply, tools)
            if live.prefix:
                outcome.first_token_at = live.first_token_at = reply.first_token_at
            plan = await _stream(live, reply, plan, extras, tracker, frames, outcome)
    except asyncio.CancelledError:
        outcome.status = Status.STOPPED
        outcome.error_message = str(_("Stopped."))
    except Exception:
        logger.exception("Reply %s failed inside the app.", live.reply_id)
        outcome.status = Status.FAILED
        outcome.error_category = "internal"
        outcome.error_message = str(
            _("Something went wrong in the app while writing this reply.")
        )
    finally:
        await asyncio.shield(_finish(live, plan, frames, outcome))


async def _stream(
    live: LiveReply,
    reply: Message,
    plan: ContextPlan,
    extras: attachments.TurnAttachments,
    tracker: agent.ToolTracker,
    frames: FrameFlusher,
    outcome: Outcome,
) -> ContextPlan:
    used = reply.settings_used
    # Images or documents take the turn to Chat Completions, which has no
    # server-side context: the stored path is sent whole.
    if extras.any:
        plan = ContextPlan(Mode.REBUILT, extras.history)
    if plan.create_conversation:
        try:
            conversation_id = await gateway.conversation_create(
                metadata={"thread": str(reply.thread_id)}
            )
        except gateway.UpstreamError as exc:
            _fail(outcome, exc.failure)
            return plan
        # Stored with the reply's end, not in a trip of its own before the
        # first token (every new thread's first reply queued for one).
        outcome.new_conversation = conversation_id
        plan = ContextPlan(plan.mode, plan.input, conversation=conversation_id)
    saves = checkpoints()
    outcome.tracker = tracker
    step_input = plan.input
    previous_response_id = plan.previous_response_id
    final_step = False
    attempt = 0
    while True:
        request = gateway.ReplyRequest(
            input=step_input,
            model=used.get("model") or settings.QWEN_MODEL,
            instructions=used.get("instructions") or "",
            previous_response_id=previous_response_id,
            conversation=plan.conversation,
            temperature=used.get("temperature"),
            top_p=used.get("top_p"),
            session_cache=bool(used.get("session_cache")),
            images=extras.images,
            file_ids=extras.file_ids,
            # Attachments take the turn to Chat Completions: no tools there.
            **({} if extras.any else tracker.request_options(final=final_step)),
        )
        response_id = ""
        base_text = live.text
        completed: gateway.Completed | None = None
        rebuilt = False
        async for event in gateway.stream_reply(request):
            if isinstance(event, gateway.TextDelta):
                if outcome.first_token_at is None:
                    outcome.first_token_at = live.first_token_at = timezone.now()
                live.text += event.text
                frames.poke(live)
                saves.mark(live)
            elif isinstance(
                event,
                (
                    gateway.ItemAdded,
                    gateway.ItemDone,
                    gateway.ReasoningDelta,
                    gateway.ArgumentsDelta,
                ),
            ):
                await tracker.handle(event)
            elif isinstance(event, gateway.Started):
                response_id = event.response_id
                tracker.start_response(response_id)
            elif isinstance(event, gateway.Completed):
                completed = event
                live.text = base_text + event.text
                outcome.responses.append(
                    _record(request, event.response_id, "completed", event.usage)
                )
            elif isinstance(event, gateway.Failed):
                if (
                    event.category == gateway.FailureCategory.CONTEXT_LOST
                    and live.text == live.prefix
                    and attempt == 0
                    and tracker.steps == 0
                ):
                    # The server-side context is gone: rebuild it from our own store.
                    logger.info(
                        "Reply %s: upstream context lost, rebuilding.", live.reply_id
                    )
                    if plan.conversation == outcome.new_conversation:
                        outcome.new_conversation = ""
                    elif plan.conversation:
                        await database_sync_to_async(services.thread_set_conversation)(
                            thread_id=reply.thread_id, conversation_id=""
                        )
                    _, plan = await database_sync_to_async(_load_plan)(
                        live.reply_id, True
                    )
                    step_input = plan.input
                    previous_response_id = plan.previous_response_id
                    rebuilt = True
                    break
                outcome.responses.append(
                    _record(
                        request,
                        event.response_id or response_id,
                        "failed",
                        event.usage,
                        event.code,
                    )
                )
                _fail(outcome, event)
        attempt += 1
        if rebuilt:
            continue
        if completed is None or final_step:
            return plan
        # The agent loop: answer the model's function calls, then continue.
        step_input, final_step = await tracker.run_functions(completed.output)
        if not step_input:
            return plan
        if live.text and not live.text.endswith("\n"):
            live.text += "\n\n"
        if not plan.conversation:
            previous_response_id = completed.response_id


def _record(
    request: gateway.ReplyRequest,
    response_id: str,
    status: str,
    usage: gateway.Usage | None,
    error_code: str = "",
) -> services.ResponseRecord:
    route = gateway.route_for(request)
    return services.ResponseRecord(
        response_id=response_id,
        model=route.model,
        api=route.api,
        status=status,
        previous_response_id=request.previous_response_id,
        conversation_id=request.conversation,
        usage=usage,
        error_code=error_code,
    )


def _fail(outcome: Outcome, failure: gateway.Failed) -> None:
    interrupted = failure.category in (
        gateway.FailureCategory.NETWORK,
        gateway.FailureCategory.TIMEOUT,
        gateway.FailureCategory.NO_TERMINAL_EVENT,
    )
    outcome.status = Status.INTERRUPTED if interrupted else Status.FAILED
    outcome.error_category = str(failure.category)
    outcome.error_message = describe_failure(failure)
    outcome.moderated = failure.category == gateway.FailureCategory.MODERATION


async def _finish(
    live: LiveReply, plan: ContextPlan | None, frames: FrameFlusher, outcome: Outcome
) -> None:
    try:
        checkpoints().forget(live)
        html = await frames.finish(live)
        if outcome.tracker is not None:
            await outcome.tracker.close()
        mode = plan.mode if plan else ""
        tip = (
            outcome.status == Status.COMPLETED
            and plan is not None
            and bool(plan.conversation)
        )

        no_tool_calls = outcome.tracker is not None and not outcome.tracker.has_calls

        def store() -> str:
            reply = services.reply_finish(
                reply_id=live.reply_id,
                text=live.text,
                status=outcome.status,
                first_token_at=outcome.first_token_at,
                context_mode=mode,
                responses=outcome.responses,
                error_category=outcome.error_category,
                error_message=outcome.error_message,
                moderated=outcome.moderated,
                conversation_tip=tip,
                new_conversation=outcome.new_conversation,
                html=html,
            )
            semantic.schedule_embedding([reply.parent_id, reply.pk])
            return reply_final_html(reply, no_tool_calls=no_tool_calls, lone=live.lone)

        # The end of a reply is retried through a database outage: a reply
        # left "streaming" would spin forever on every viewer's page.
        html = await adb_retry(store, what=f"storing reply {live.reply_id}")
        await broadcast_quietly(live.thread_id, html)
    except Exception:
        logger.exception("Could not store the end of reply %s.", live.reply_id)
    finally:
        running.pop(live.reply_id, None)
        await _unlisten(live.reply_id)


async def _listen_for_stop(reply_id: int) -> None:
    # A channel layer that is down must not cost the reply itself: Stop then
    # only works from this process until the layer is back.
    try:
        await control.reply_listen(reply_id)
    except Exception:
        logger.exception("Reply %s: cannot listen for a remote stop.", reply_id)


async def _unlisten(reply_id: int) -> None:
    try:
        await control.reply_unlisten(reply_id)
    except Exception:
        logger.exception("Reply %s: cannot leave its stop group.", reply_id)
