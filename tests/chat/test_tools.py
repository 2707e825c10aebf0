"""Tools and thinking, end to end: simulated stream -> websocket -> log -> page."""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from conversations import services
from conversations.models import McpServer, Message, Thread, ToolCall

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]

MCP_SECRET = "Bearer mcp-secret-token-5f1e"
MCP_URL = "https://mcp.internal.example/hidden-path-9c2/sse"


@database_sync_to_async
def configure(thread: Thread, *, tools: list[str], thinking: bool = False, mcp=()):
    services.thread_update_tools(
        thread=thread,
        tools=tools,
        enable_thinking=thinking,
        tool_choice="auto",
        mcp_servers=list(mcp),
    )


@database_sync_to_async
def make_mcp_server() -> McpServer:
    return McpServer.objects.create(
        label="docs-hub",
        url=MCP_URL,
        description="Team documentation",
        headers={"Authorization": MCP_SECRET},
    )


@database_sync_to_async
def reply_of(thread: Thread) -> Message:
    return thread.messages.get(role="assistant")


@database_sync_to_async
def latest_reply(thread: Thread) -> Message:
    return thread.messages.filter(role="assistant").latest("created_at", "pk")


@database_sync_to_async
def calls_of(reply: Message) -> list[ToolCall]:
    return list(reply.tool_calls.order_by("position"))


@database_sync_to_async
def responses_of(reply: Message) -> list:
    return list(reply.responses.order_by("created_at", "id"))


@database_sync_to_async
def page_of(user, thread: Thread) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/threads/{thread.pk}/").content.decode()


def response_requests(upstream) -> list[dict]:
    return [
        r["body"]
        for r in upstream.state.requests
        if r.get("path", "").endswith("/responses") and isinstance(r.get("body"), dict)
    ]


def card_of(html: str, testid_fragment: str) -> str:
    start = html.index(testid_fragment)
    start = html.rindex("<details", 0, start)
    return html[start : html.index("</details>", start) + len("</details>")]


async def test_every_item_type_is_shown_live_and_logged(connect, thread, alice):
    server = await make_mcp_server()
    await configure(
        thread,
        tools=["web_search", "web_extractor", "code_interpreter"],
        thinking=True,
        mcp=[server],
    )
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message=(
            "Search the latest news, extract https://example.org/report "
            "and calculate 2 + 3, then ask docs-hub"
        ),
        client_id="c1",
    )
    final = await viewer.until_final()
    reply = await reply_of(thread)
    assert reply.status == "completed"

    calls = await calls_of(reply)
    kinds = [c.type for c in calls]
    assert [k for k in kinds if k != "reasoning"] == [
        "web_search_call",
        "web_extractor_call",
        "code_interpreter_call",
        "mcp_call",
    ]
    assert kinds.count("reasoning") == 4  # one before each tool
    assert all(c.status == "completed" for c in calls if c.type != "reasoning")
    assert all(c.started_at and c.finished_at for c in calls)
    search, extract, code, mcp = (c for c in calls if c.type != "reasoning")
    thinking = calls[0]
    assert thinking.output.startswith('The user asks: "Search the latest news')
    assert search.query.startswith("Search the latest news")
    assert search.sources[0]["url"].startswith("https://example.com/")
    assert extract.urls == ["https://example.org/report"]
    assert extract.query == "Extract key information from https://example.org/report"
    assert "key facts extracted" in extract.output
    assert "print(sum(values))" in code.code
    assert code.output.strip() == "5"
    assert (mcp.server_label, mcp.name) == ("docs-hub", "docs-hub_query")
    assert mcp.output.startswith("Result from docs-hub")
    assert extract.raw["type"] == "web_extractor_call"
    assert extract.raw["goal"] == extract.query

    (response,) = await responses_of(reply)
    assert response.tool_counts == {
        "web_search": 1,
        "web_extractor": 1,
        "code_interpreter": 1,
    }
    assert response.reasoning_tokens > 0

    # Live: each card was appended while the reply streamed, before any text.
    texts = viewer.received
    first_text = next(
        i for i, t in enumerate(texts) if t.startswith("{") and json.loads(t)["tail"]
    )
    for kind in ("web_search_call", "web_extractor_call", "mcp_call"):
        appended = next(
            i
            for i, t in enumerate(texts)
            if 'hx-swap-oob="beforeend"' in t and f'data-tool-type="{kind}"' in t
        )
        assert appended < first_text
    assert any('data-testid="reasoning"' in t for t in texts[:first_text])

    # The final markup and a reload show the same cards.
    page = await page_of(alice, thread)
    for call in calls:
        fragment = f'id="tool-{reply.pk}-{call.position}"'
        assert card_of(final, fragment) == card_of(page, fragment)
    assert 'data-tool-type="web_extractor_call"' in page
    assert 'href="https://example.org/report"' in page
    assert "Thinking" in card_of(page, f'id="tool-{reply.pk}-0"')


async def test_a_multi_step_function_exchange_completes(
    connect, thread, alice, upstream
):
    await configure(thread, tools=["calculate"])
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[tool_rounds:2]] Please calculate `6 * 7` for me",
        client_id="c1",
    )
    final = await viewer.until_final()
    reply = await reply_of(thread)
    assert reply.status == "completed"
    calls = await calls_of(reply)
    assert [(c.type, c.name, c.status) for c in calls] == [
        ("function_call", "calculate", "completed"),
        ("function_call", "calculate", "completed"),
    ]
    assert json.loads(calls[1].output) == {"expression": "6 * 7", "result": 42}
    assert json.loads(calls[0].arguments) == {"expression": "6 * 7"}
    assert len(await responses_of(reply)) == 3
    assert '"result": 42' in reply.text
    # Each round sent the outputs of the calls the model had just made.
    bodies = response_requests(upstream)[-3:]
    sent_outputs = [
        [i["call_id"] for i in b["input"] if isinstance(i, dict)] for b in bodies[1:]
    ]
    assert sent_outputs == [[calls[0].call_id], [calls[1].call_id]]
    assert 'data-tool-type="function_call"' in final


async def test_the_agent_loop_stops_at_the_step_limit(
    connect, thread, alice, upstream, settings
):
    settings.CHAT_MAX_TOOL_STEPS = 1
    await configure(thread, tools=["calculate"])
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[tool_rounds:10]] calculate `1 + 1`",
        client_id="c1",
    )
    await viewer.until_final()
    reply = await reply_of(thread)
    assert reply.status == "completed"
    calls = await calls_of(reply)
    assert [c.status for c in calls] == ["completed", "failed"]
    assert "limit of 1 tool steps" in calls[1].error
    assert "limit of 1 tool steps" in reply.text
    assert len(await responses_of(reply)) == 3
    assert response_requests(upstream)[-1]["tool_choice"] == "none"


async def test_a_failing_tool_returns_its_error_to_the_model(
    connect, thread, alice, upstream
):
    await configure(thread, tools=["calculate"])
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="calculate `1 / 0`", client_id="c1")
    final = await viewer.until_final()
    reply = await reply_of(thread)
    assert reply.status == "completed"
    (call,) = await calls_of(reply)
    assert (call.status, call.error) == ("failed", "Division by zero.")
    sent = response_requests(upstream)[-1]["input"]
    assert json.loads(sent[0]["output"]) == {"error": "Division by zero."}
    assert "Division by zero." in reply.text
    assert "Division by zero." in card_of(final, 'data-tool-type="function_call"')


async def test_mcp_headers_go_upstream_but_never_reach_a_page(
    connect, thread, alice, upstream
):
    server = await make_mcp_server()
    await configure(thread, tools=[], mcp=[server])
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Ask docs-hub about it", client_id="c1")
    await viewer.until_final()
    reply = await reply_of(thread)
    assert [c.type for c in await calls_of(reply)] == ["mcp_call"]
    (mcp_tool,) = response_requests(upstream)[-1]["tools"]
    assert mcp_tool["headers"] == {"Authorization": MCP_SECRET}
    assert mcp_tool["server_url"] == MCP_URL

    page = await page_of(alice, thread)
    export = await database_sync_to_async(
        lambda: _logged_in(alice).get(f"/threads/{thread.pk}/export.json")
    )()
    for text in [*viewer.received, page, export.content.decode()]:
        assert "mcp-secret-token" not in text
        assert "hidden-path-9c2" not in text
    assert "docs-hub" in page


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def test_a_stopped_reply_marks_its_open_tool_calls(connect, thread, alice):
    await configure(thread, tools=["web_search"])
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=1,tps=40]] search the news",
        client_id="c1",
    )
    await viewer.until(lambda t: 'data-tool-type="web_search_call"' in t)
    reply = await reply_of(thread)
    await viewer.send(action="stop", reply=str(reply.pk))
    final = await viewer.until_final()
    (call,) = await calls_of(reply)
    assert call.status == "incomplete"
    assert "interrupted" in card_of(final, 'data-tool-type="web_search_call"')


async def test_a_reply_without_tools_ends_without_a_trip_to_close_tool_calls(
    connect, thread, alice, monkeypatch
):
    """Most replies call no tools: their ends must not each queue a trip to
    the database thread for nothing (a reply that did is tested above)."""
    closed: list[int] = []
    real = services.tool_calls_interrupt

    def tool_calls_interrupt(*, reply_id):
        closed.append(reply_id)
        real(reply_id=reply_id)

    monkeypatch.setattr(services, "tool_calls_interrupt", tool_calls_interrupt)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Hello there", client_id="t0")
    assert 'data-status="completed"' in await viewer.until_final()
    await configure(thread, tools=["web_search"])
    await viewer.send(
        action="send", message="[[pace:ttft=1,tps=40]] search the news", client_id="t1"
    )
    await viewer.until(lambda t: 'data-tool-type="web_search_call"' in t)
    searching = await latest_reply(thread)
    await viewer.send(action="stop", reply=str(searching.pk))
    await viewer.until_final()

    assert closed == [searching.pk]
