"""The aiohttp app that stands in for DashScope, and a runner for it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from . import errors, events

# Chat Completions, Embedding, File and Batch (issue #11) live in their own module.
from .compat import COMPAT_PREFIX, CompatApis
from .directives import parse_directives
from .faults import PRE_STREAM, Fault, FaultQueue, make_fault
from .state import (
    DeltaRecord,
    SimulatorState,
    StoredResponse,
    normalize_input,
)
from .turn import Step, Turn, last_user_text, prepare_turn

PREFIX = "/api/v2/apps/protocols/compatible-mode/v1"
CONTROL = "/_simulator"
# Below this, asyncio.sleep is mostly overhead: send what is due together.
MIN_SLEEP = 0.002

REQUEST_ID = web.RequestKey("request_id", str)
LOG_ENTRY = web.RequestKey("log_entry", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=events.dumps(payload),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _list_page(items: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


class SimulatorApp:
    """Routes and request handling; `SimulatorServer` adds the network runner."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("sk-simulator",),
        ttft: float = 0.35,
        tps: float = 40.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.api_keys = set(api_keys)
        self.ttft = ttft
        self.tps = tps
        self.state = SimulatorState(clock)
        self.faults = FaultQueue()
        self._streams: set[asyncio.Task[Any]] = set()
        self.app = web.Application(middlewares=[self._errors_and_auth])
        self._routes()
        self.compat = CompatApis(self)

    @property
    def record_timings(self) -> bool:
        return self.state.record_timings

    @record_timings.setter
    def record_timings(self, value: bool) -> None:
        self.state.record_timings = value

    def _routes(self) -> None:
        r = self.app.router
        r.add_post(f"{PREFIX}/responses", self.create_response)
        r.add_get(f"{PREFIX}/responses/{{id}}", self.get_response)
        r.add_delete(f"{PREFIX}/responses/{{id}}", self.delete_response)
        r.add_get(f"{PREFIX}/responses/{{id}}/input_items", self.response_input_items)
        r.add_post(f"{PREFIX}/conversations", self.create_conversation)
        r.add_get(f"{PREFIX}/conversations/{{id}}", self.get_conversation)
        r.add_post(f"{PREFIX}/conversations/{{id}}", self.update_conversation)
        r.add_delete(f"{PREFIX}/conversations/{{id}}", self.delete_conversation)
        r.add_get(f"{PREFIX}/conversations/{{id}}/items", self.list_items)
        r.add_post(f"{PREFIX}/conversations/{{id}}/items", self.create_items)
        r.add_get(f"{PREFIX}/conversations/{{id}}/items/{{item}}", self.get_item)
        r.add_delete(f"{PREFIX}/conversations/{{id}}/items/{{item}}", self.delete_item)
        r.add_get(f"{CONTROL}/health", self.control_health)
        r.add_get(f"{CONTROL}/responses/{{id}}/context", self.control_context)
        r.add_get(f"{CONTROL}/requests", self.control_requests)
        r.add_post(f"{CONTROL}/clock", self.control_clock)
        r.add_get(f"{CONTROL}/faults", self.control_faults)
        r.add_post(f"{CONTROL}/faults", self.control_push_fault)
        r.add_delete(f"{CONTROL}/faults", self.control_clear_faults)
        r.add_post(f"{CONTROL}/forget", self.control_forget)
        r.add_post(f"{CONTROL}/reset", self.control_reset)
        r.add_post(f"{CONTROL}/pace", self.control_pace)
        r.add_get(f"{CONTROL}/timings", self.control_timings)
        r.add_post(f"{CONTROL}/timings", self.control_record_timings)

    # -- middleware --------------------------------------------------------

    @web.middleware
    async def _errors_and_auth(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        request_id = errors.new_request_id()
        request[REQUEST_ID] = request_id
        try:
            if request.path.startswith((PREFIX, COMPAT_PREFIX)):
                self._log_request(request)
                auth = request.headers.get("Authorization", "")
                key = auth.removeprefix("Bearer ").strip()
                if not auth.startswith("Bearer ") or key not in self.api_keys:
                    raise errors.invalid_api_key()
            return await handler(request)
        except errors.ApiError as exc:
            return _json_response(
                exc.body(request_id),
                exc.status,
                {"x-request-id": request_id, **exc.headers},
            )

    def _log_request(self, request: web.Request) -> None:
        headers = {
            k: ("Bearer ***" if k.lower() == "authorization" else v)
            for k, v in request.headers.items()
        }
        entry = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": headers,
            "body": None,
            "time": time.time(),
        }
        request[LOG_ENTRY] = entry
        self.state.requests.append(entry)

    async def _body(self, request: web.Request) -> Any:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise errors.invalid_parameter(
                "The request body is not valid JSON."
            ) from exc
        if LOG_ENTRY in request:
            request[LOG_ENTRY]["body"] = body
        return body

    # -- responses ---------------------------------------------------------

    async def create_response(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        raw_text = _peek_user_text(body)
        fault = self._take_fault(raw_text)
        if fault is not None and fault.kind in PRE_STREAM:
            raise _pre_stream_error(fault)
        headers = {k.lower(): v for k, v in request.headers.items()}
        turn = prepare_turn(self.state, body, headers)
        ttft, tps = self._pace(turn, fault)
        if body.get("stream"):
            return await self._stream(request, turn, fault, ttft, tps)
        return await self._complete(request, turn, fault, ttft, tps)

    def _take_fault(self, raw_text: str) -> Fault | None:
        directive = parse_directives(raw_text)
        if directive.fault:
            params = dict(directive.fault)
            kind = str(params.pop("kind"))
            times = params.pop("times", None)
            hits = self.state.directive_hits.get(raw_text, 0)
            self.state.directive_hits[raw_text] = hits + 1
            if times is None or hits < int(times):
                try:
                    return make_fault(kind, params)
                except ValueError as exc:
                    raise errors.invalid_parameter(str(exc)) from exc
            return None
        return self.faults.take(raw_text)

    def _pace(self, turn: Turn, fault: Fault | None) -> tuple[float, float]:
        ttft = turn.directives.pace.get("ttft", self.ttft)
        tps = turn.directives.pace.get("tps", self.tps)
        if fault is not None and fault.kind == "slow":
            ttft = float(fault.get("ttft", 5.0))
            tps = float(fault.get("tps", 2.0))
        return ttft, max(tps, 0.001)

    async def _stream(
        self,
        request: web.Request,
        turn: Turn,
        fault: Fault | None,
        ttft: float,
        tps: float,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream;charset=UTF-8",
                "Cache-Control": "no-cache",
                "x-request-id": request[REQUEST_ID],
            }
        )
        await response.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            if fault is not None and fault.kind == "hang":
                await asyncio.Event().wait()  # until the client (or stop()) cancels
            await self._write_steps(request, response, turn, fault, ttft, tps)
        except asyncio.CancelledError:
            # The client went away (handler_cancellation) or the server stops.
            if turn.stored.status in ("queued", "in_progress"):
                turn.stored.status = "cancelled"
            raise
        finally:
            self._streams.discard(task)
        return response

    async def _write_steps(
        self,
        request: web.Request,
        response: web.StreamResponse,
        turn: Turn,
        fault: Fault | None,
        ttft: float,
        tps: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / tps
        record = self.state.record_timings
        rid = turn.stored.id
        pending: list[bytes] = []
        due = loop.time()

        async def flush() -> None:
            if pending:
                data = b"".join(pending)
                pending.clear()
                await response.write(data)

        for step in turn.steps(fault):
            if step.kind in ("event", "delta"):
                assert step.event is not None
                if step.kind == "delta":
                    wait = due - loop.time()
                    if wait > MIN_SLEEP:
                        await flush()
                        await asyncio.sleep(wait)
                    due += interval
                    if record:
                        self._record(rid, step.event)
                pending.append(events.sse(step.event))
            elif step.kind in ("ttft", "pause"):
                await flush()
                if ttft > 0:
                    await asyncio.sleep(ttft)
                due = loop.time()
            elif step.kind == "fault":
                await flush()
                assert step.fault is not None
                if step.fault.kind == "drop":
                    # No chunked terminator: the client sees a truncated body.
                    if request.transport is not None:
                        request.transport.abort()
                    return  # aiohttp ignores the failed write_eof that follows
                await response.write_eof()
                return
        await flush()
        await response.write_eof()

    def _record(self, response_id: str, event: dict[str, Any]) -> None:
        self.state.delta_log.append(
            DeltaRecord(
                response_id, event["sequence_number"], event["delta"], time.time()
            )
        )
        self.state.delta_perf.append(time.perf_counter())

    async def _complete(
        self,
        request: web.Request,
        turn: Turn,
        fault: Fault | None,
        ttft: float,
        tps: float,
    ) -> web.StreamResponse:
        if fault is not None and fault.kind == "hang":
            await asyncio.Event().wait()
        steps: list[Step] = list(turn.steps(fault))
        deltas = sum(1 for s in steps if s.kind == "delta")
        pauses = sum(1 for s in steps if s.kind in ("ttft", "pause"))
        # A non-streaming call takes as long as the stream would have.
        delay = ttft * pauses + deltas / tps
        if delay > 0:
            await asyncio.sleep(delay)
        sent = [s.event for s in steps if s.event is not None]
        last = sent[-1]
        if last["type"] == "error":
            raise errors.ApiError(500, last["code"], last["message"])
        if steps[-1].kind == "fault":
            # drop/stop: without a streamed body both look like a lost connection.
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        body = last["response"]
        if body["status"] == "failed":
            error = body["error"]
            status = 400 if error["code"] == "DataInspectionFailed" else 500
            raise errors.ApiError(status, error["code"], error["message"])
        return _json_response(body, headers={"x-request-id": request[REQUEST_ID]})

    def _stored(self, response_id: str) -> StoredResponse:
        stored = self.state.live_response(response_id)
        if stored is None:
            raise errors.not_found("Response", response_id)
        return stored

    async def get_response(self, request: web.Request) -> web.StreamResponse:
        stored = self._stored(request.match_info["id"])
        if stored.body:
            return _json_response(stored.body)
        return _json_response(
            events.response_object(
                response_id=stored.id,
                created_at=stored.created_at,
                request=stored.request,
                model=stored.model,
                status=stored.status,
                output=stored.output,
            )
        )

    async def delete_response(self, request: web.Request) -> web.StreamResponse:
        stored = self._stored(request.match_info["id"])
        del self.state.responses[stored.id]
        return _json_response(
            {"id": stored.id, "object": "response.deleted", "deleted": True}
        )

    async def response_input_items(self, request: web.Request) -> web.StreamResponse:
        stored = self._stored(request.match_info["id"])
        return _json_response(_paginate(stored.input_items, request.query))

    # -- conversations -----------------------------------------------------

    async def create_conversation(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request) or {}
        items = normalize_input(body.get("items") or [])
        conv = self.state.create_conversation(items, body.get("metadata"))
        return _json_response(conv.as_dict())

    async def get_conversation(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        return _json_response(conv.as_dict())

    async def update_conversation(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        body = await self._body(request) or {}
        conv.metadata = body.get("metadata") or {}
        return _json_response(conv.as_dict())

    async def delete_conversation(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        del self.state.conversations[conv.id]
        return _json_response(
            {"id": conv.id, "object": "conversation.deleted", "deleted": True}
        )

    async def list_items(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        return _json_response(_paginate(conv.items, request.query))

    async def create_items(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        body = await self._body(request) or {}
        items = normalize_input(body.get("items") or [])
        if not items or len(items) > 20:
            raise errors.invalid_parameter("Provide between 1 and 20 items.", "items")
        conv.items.extend(items)
        return _json_response(_list_page(items))

    async def get_item(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        item_id = request.match_info["item"]
        for item in conv.items:
            if item.get("id") == item_id:
                return _json_response(item)
        raise errors.not_found("Item", item_id)

    async def delete_item(self, request: web.Request) -> web.StreamResponse:
        conv = self.state.get_conversation(request.match_info["id"])
        item_id = request.match_info["item"]
        kept = [i for i in conv.items if i.get("id") != item_id]
        if len(kept) == len(conv.items):
            raise errors.not_found("Item", item_id)
        conv.items = kept
        return _json_response(conv.as_dict())

    # -- control routes (no auth: tests and benchmarks only) ---------------

    async def control_health(self, request: web.Request) -> web.StreamResponse:
        return _json_response({"ok": True, "streams": len(self._streams)})

    async def control_context(self, request: web.Request) -> web.StreamResponse:
        stored = self.state.responses.get(request.match_info["id"])
        if stored is None:
            raise errors.not_found("Response", request.match_info["id"])
        return _json_response(
            {
                "id": stored.id,
                "status": stored.status,
                "instructions": stored.instructions,
                "previous_response_id": stored.previous_response_id,
                "conversation": stored.conversation_id,
                "context": stored.context,
            }
        )

    async def control_requests(self, request: web.Request) -> web.StreamResponse:
        limit = int(request.query.get("limit", 100))
        entries = list(self.state.requests)[-limit:]
        return _json_response({"object": "list", "data": entries})

    async def control_timings(self, request: web.Request) -> web.StreamResponse:
        """When each delta was sent, for benchmarks running in another process."""
        return _json_response(
            {
                "object": "list",
                "recording": self.state.record_timings,
                "data": [list(record) for record in self.state.delta_log],
            }
        )

    async def control_record_timings(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request) or {}
        self.state.record_timings = bool(body.get("record", True))
        self.state.delta_log.clear()
        self.state.delta_perf.clear()
        return _json_response({"recording": self.state.record_timings})

    async def control_clock(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request) or {}
        if "offset_seconds" in body:
            self.state.clock_offset = float(body["offset_seconds"])
        if "advance_seconds" in body:
            self.state.clock_offset += float(body["advance_seconds"])
        return _json_response(
            {"now": self.state.now(), "offset_seconds": self.state.clock_offset}
        )

    async def control_faults(self, request: web.Request) -> web.StreamResponse:
        return _json_response({"pending": self.faults.pending()})

    async def control_push_fault(self, request: web.Request) -> web.StreamResponse:
        body = dict(await self._body(request) or {})
        kind = str(body.pop("kind", ""))
        try:
            self.faults.push(kind, **body)
        except (ValueError, TypeError) as exc:
            raise errors.invalid_parameter(str(exc), "kind") from exc
        return _json_response({"pending": self.faults.pending()}, 201)

    async def control_clear_faults(self, request: web.Request) -> web.StreamResponse:
        self.faults.clear()
        return _json_response({"pending": []})

    async def control_forget(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request) or {}
        self.state.forget(
            response_id=body.get("response_id"),
            conversation_id=body.get("conversation_id"),
            everything=bool(body.get("all")),
        )
        return _json_response({"ok": True})

    async def control_reset(self, request: web.Request) -> web.StreamResponse:
        self.state.reset()
        self.faults.clear()
        self.compat.reset()
        return _json_response({"ok": True})

    async def control_pace(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request) or {}
        self.ttft = float(body.get("ttft", self.ttft))
        self.tps = float(body.get("tps", self.tps))
        return _json_response({"ttft": self.ttft, "tps": self.tps})

    async def cancel_streams(self) -> None:
        for task in list(self._streams):
            task.cancel()


def _peek_user_text(body: Any) -> str:
    """The latest user text, for fault matching before full validation."""
    if not isinstance(body, dict):
        return ""
    try:
        return last_user_text(normalize_input(body.get("input") or []))
    except errors.ApiError:
        return ""


def _pre_stream_error(fault: Fault) -> errors.ApiError:
    if fault.kind == "401":
        return errors.invalid_api_key()
    if fault.kind == "429":
        return errors.ApiError(
            429,
            "Throttling.RateQuota",
            "Requests rate limit exceeded, please try again later.",
            headers={"retry-after": str(fault.get("retry_after", 1))},
        )
    if fault.kind == "moderation":
        return errors.ApiError(
            400, "DataInspectionFailed", "Input data may contain inappropriate content."
        )
    return errors.ApiError(
        500, "InternalError", "An internal error has occurred, please try again later."
    )


def _paginate(items: list[dict[str, Any]], query: Any) -> dict[str, Any]:
    order = query.get("order", "desc")
    ordered = list(reversed(items)) if order == "desc" else list(items)
    after = query.get("after")
    if after:
        ids = [i.get("id") for i in ordered]
        if after in ids:
            ordered = ordered[ids.index(after) + 1 :]
    limit = max(1, min(int(query.get("limit", 20)), 100))
    page = ordered[:limit]
    return _list_page(page, has_more=len(ordered) > limit)


class SimulatorServer(SimulatorApp):
    """The simulator on a real loopback port (streaming needs a real socket).

    `start()`/`stop()` run it in a daemon thread with its own loop;
    `astart()`/`astop()` run it on the caller's loop.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_keys: Iterable[str] = ("sk-simulator",),
        ttft: float = 0.35,
        tps: float = 40.0,
        clock: Callable[[], float] | None = None,
        record_timings: bool = False,
    ) -> None:
        super().__init__(api_keys=api_keys, ttft=ttft, tps=tps, clock=clock)
        self.host = host
        self.port = port
        self.record_timings = record_timings
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}{PREFIX}"

    @property
    def compat_base_url(self) -> str:
        return f"{self.url}{COMPAT_PREFIX}"

    async def astart(self) -> SimulatorServer:
        # handler_cancellation: a client that disconnects cancels its stream,
        # like the upstream stops generating.
        self._runner = web.AppRunner(
            self.app,
            handler_cancellation=True,
            shutdown_timeout=1.0,
            access_log=None,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        return self

    async def astop(self) -> None:
        await self.cancel_streams()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> SimulatorServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(
            target=run, name="dashscope-simulator", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.astop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> SimulatorServer:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()


def run_forever(port: int = 8001, host: str = "127.0.0.1", **kwargs: Any) -> None:
    """Serve until interrupted (for `python -m simulator` and a manage command)."""

    async def main() -> None:
        server = SimulatorServer(host, port, **kwargs)
        await server.astart()
        print(f"DashScope simulator listening: {server.base_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.astop()

    # uvloop when installed (the app's own dependency): a simulator sending
    # twelve thousand events a second for a benchmark takes a third less CPU
    # from the cores it shares with the app it measures.
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(), loop_factory=loop_factory)
