"""Nothing is lost under upstream faults, database outages, replays and floods.

Real consumer, channel layer and simulator; the database outage is injected
below Django's ORM (every query fails as a dropped connection does), so the
app's own retry and reporting paths are what is exercised.
"""

import asyncio
import contextlib
import json

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError, connections
from django.db.backends import utils as db_utils

from conversations import ratelimit, services
from conversations.consumers import NOT_SAVED
from conversations.context import CONTINUE_PROMPT
from conversations.models import Message, Thread, UpstreamResponse
from conversations.resilience import with_db_retry

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]


@database_sync_to_async
def messages_of(thread):
    return list(thread.messages.order_by("created_at", "id"))


@database_sync_to_async
def responses_of(reply):
    return list(UpstreamResponse.objects.filter(message=reply).order_by("id"))


class DatabaseOutage:
    """Makes the next `queries` database calls fail like a vanished server."""

    def __init__(self) -> None:
        self.remaining = 0
        self.failed = 0

    def start(self, queries: int) -> None:
        self.remaining = queries

    def check(self) -> None:
        if self.remaining > 0:
            self.remaining -= 1
            self.failed += 1
            raise OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def outage(monkeypatch):
    state = DatabaseOutage()
    execute, executemany = (
        db_utils.CursorWrapper.execute,
        db_utils.CursorWrapper.executemany,
    )

    def failing_execute(self, *args, **kwargs):
        state.check()
        return execute(self, *args, **kwargs)

    def failing_executemany(self, *args, **kwargs):
        state.check()
        return executemany(self, *args, **kwargs)

    monkeypatch.setattr(db_utils.CursorWrapper, "execute", failing_execute)
    monkeypatch.setattr(db_utils.CursorWrapper, "executemany", failing_executemany)
    return state


# --- upstream faults ------------------------------------------------------------------


async def test_a_rate_limit_before_the_first_token_is_retried_then_answered(
    connect, thread, alice, upstream, settings
):
    settings.UPSTREAM_MAX_RETRIES = 2
    upstream.faults.push("429", retry_after=0.05, times=2)
    before = len(upstream.state.requests)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Hello after a 429", client_id="c1")
    final = await viewer.until_final()
    assert 'data-status="completed"' in final
    # Two refused attempts and the one that answered.
    posts = [
        r
        for r in list(upstream.state.requests)[before:]
        if r["path"].endswith("/responses")
    ]
    assert len(posts) == 3


@pytest.mark.parametrize(
    ("fault", "category", "words"),
    [
        ("429", "rate_limit", "Rate limited by the model provider"),
        ("500", "server_error", "internal error"),
    ],
)
async def test_retries_are_bounded_then_the_failure_is_reported(
    connect, thread, alice, upstream, settings, fault, category, words
):
    settings.UPSTREAM_MAX_RETRIES = 1
    upstream.faults.push(fault, retry_after=0.05, times=5)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Still there?", client_id="c1")
    final = await viewer.until_final()
    reply = (await messages_of(thread))[1]
    assert reply.status == "failed"
    assert reply.error_category == category
    assert words in final
    assert 'data-testid="regenerate"' in final
    # One try and one retry consumed two of the five queued faults.
    assert upstream.faults.pending()[0]["times"] == 3


@pytest.mark.parametrize(
    ("fault", "category", "words"),
    [
        ("failed", "failed", "could not finish the reply"),
        ("error_event", "failed", "could not finish the reply"),
        ("moderation_output", "moderation", "content moderation blocked"),
        ("incomplete", "incomplete", "cut short by the model provider"),
    ],
)
async def test_upstream_ends_are_shown_as_what_they_are(
    connect, thread, alice, upstream, fault, category, words
):
    upstream.faults.push(fault, after=4)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me about rivers", client_id="c1")
    final = await viewer.until_final()
    reply = (await messages_of(thread))[1]
    assert (reply.status, reply.error_category) == ("failed", category)
    assert words in final
    assert 'data-status="completed"' not in final


async def test_a_hung_upstream_is_cut_by_the_timeout(
    connect, thread, alice, upstream, settings
):
    settings.UPSTREAM_TIMEOUT = 0.5
    upstream.faults.push("hang")
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Anyone?", client_id="c1")
    final = await viewer.until_final()
    reply = (await messages_of(thread))[1]
    assert reply.status == "interrupted"
    assert reply.error_category == "timeout"
    assert "stopped responding" in final or "did not answer in time" in final


@pytest.mark.parametrize("fault", ["drop", "stop"])
async def test_a_cut_reply_is_never_shown_as_complete_and_offers_continue(
    connect, thread, alice, upstream, fault
):
    upstream.faults.push(fault, after=6)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me about rivers", client_id="c1")
    final = await viewer.until_final()
    reply = (await messages_of(thread))[1]
    assert reply.status == "interrupted"
    assert reply.text
    assert 'data-status="interrupted"' in final
    assert 'data-testid="continue"' in final
    assert 'data-testid="regenerate"' in final and ">Retry<" in final


async def test_continue_appends_to_the_kept_text(connect, thread, alice, upstream):
    upstream.faults.push("drop", after=6)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me about rivers", client_id="c1")
    await viewer.until_final()
    user_message, reply = await messages_of(thread)
    kept = reply.text

    await viewer.send(action="continue", reply=str(reply.pk))
    final = await viewer.until_final()
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == "completed"
    assert reply.text.startswith(kept) and len(reply.text) > len(kept)
    assert reply.html in final
    # Still one turn: the same reply grew; no sibling was added.
    assert [m.pk for m in await messages_of(thread)] == [user_message.pk, reply.pk]
    # The upstream saw the kept text as the model's own turn, then the nudge.
    context = list(upstream.state.requests)[-1]["body"]["input"]
    assert context[-2:] == [
        {"role": "assistant", "content": kept},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]
    # Both calls are recorded, so usage covers the cut attempt too.
    assert [r.status for r in await responses_of(reply)] == ["failed", "completed"]


async def test_only_a_cut_reply_can_be_continued(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me a fact", client_id="c1")
    await viewer.until_final()
    reply = (await messages_of(thread))[1]
    await viewer.send(action="continue", reply=str(reply.pk))
    assert "Only a reply that was cut off" in await viewer.receive()
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == "completed"


# --- database outages -----------------------------------------------------------------


async def test_a_send_survives_a_short_database_outage(connect, thread, alice, outage):
    viewer = await connect(alice, thread)
    outage.start(queries=2)
    await viewer.send(action="send", message="Through the outage", client_id="c1")
    final = await viewer.until_final()
    assert 'data-status="completed"' in final
    assert outage.failed == 2
    user_message, reply = await messages_of(thread)
    assert user_message.text == "Through the outage"
    assert reply.status == "completed"


async def test_a_send_during_a_long_outage_is_refused_clearly_and_nothing_half_stored(
    connect, thread, alice, outage
):
    viewer = await connect(alice, thread)
    outage.start(queries=1000)
    await viewer.send(action="send", message="Lost?", client_id="c1")
    refusal = await viewer.receive(wait=15)
    outage.start(queries=0)
    assert str(NOT_SAVED) in refusal.replace("&#x27;", "'")
    assert "Traceback" not in refusal
    assert await messages_of(thread) == []
    # The socket is still usable and the same send now goes through once.
    await viewer.send(action="send", message="Lost?", client_id="c1")
    await viewer.until_final()
    assert [m.role for m in await messages_of(thread)] == ["user", "assistant"]


async def test_a_reply_reaches_its_end_through_an_outage_while_it_streams(
    connect, thread, alice, outage, settings
):
    settings.CHAT_SAVE_INTERVAL_MS = 50
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=100]] [[tokens:40]] go",
        client_id="c1",
    )
    await viewer.until(lambda t: t.startswith("{"))
    # Progress saves fail and so do the first attempts to store the end.
    outage.start(queries=6)
    final = await viewer.until_final(wait=30)
    assert outage.failed == 6
    reply = (await messages_of(thread))[1]
    assert reply.status == "completed"
    assert len(reply.text.split()) == 40
    assert reply.html in final


# --- idempotency ----------------------------------------------------------------------


async def test_a_double_click_creates_one_turn(connect, thread, alice):
    viewer = await connect(alice, thread)
    # Both frames leave before any answer, as a double click's do.
    await viewer.send(action="send", message="Once", client_id="dbl")
    await viewer.send(action="send", message="Once", client_id="dbl")
    await viewer.until_final()
    assert [m.role for m in await messages_of(thread)] == ["user", "assistant"]
    assert not [t for t in viewer.received if "still being written" in t]


async def test_two_tabs_replaying_one_send_create_one_turn(connect, thread, alice):
    first, second = await connect(alice, thread), await connect(alice, thread)
    await asyncio.gather(
        first.send(action="send", message="From two tabs", client_id="tab"),
        second.send(action="send", message="From two tabs", client_id="tab"),
    )
    await first.until_final()
    await second.until_final()
    assert [m.role for m in await messages_of(thread)] == ["user", "assistant"]


async def test_two_tabs_sending_at_once_get_one_turn_and_one_clear_refusal(
    connect, thread, alice
):
    first, second = await connect(alice, thread), await connect(alice, thread)
    await asyncio.gather(
        first.send(
            action="send", message="[[pace:ttft=0.2,tps=50]] one", client_id="t1"
        ),
        second.send(
            action="send", message="[[pace:ttft=0.2,tps=50]] two", client_id="t2"
        ),
    )
    # Each tab sees the one reply end (it is broadcast to both).
    await first.until_final()
    await second.until_final()
    refusals = [
        t for t in first.received + second.received if "still being written" in t
    ]
    assert len(refusals) == 1
    assert [m.role for m in await messages_of(thread)] == ["user", "assistant"]


# --- hostile frames -------------------------------------------------------------------


async def test_other_users_ids_change_nothing(connect, thread, alice, bob):
    bobs = await database_sync_to_async(services.thread_create)(owner=bob)
    sent = await database_sync_to_async(services.message_send)(
        thread=bobs, author=bob, text="mine", client_id="b1"
    )
    viewer = await connect(alice, thread)
    attempts = [
        {"action": "regenerate", "reply": str(sent.reply.pk)},
        {"action": "continue", "reply": sent.reply.pk},
        {"action": "stop", "reply": sent.reply.pk},
        {"action": "edit", "target": sent.user_message.pk, "message": "x"},
        {"action": "switch", "to": sent.user_message.pk},
    ]
    for frame in attempts:
        await viewer.send(**frame)
        assert "not in this thread" in await viewer.receive()
    rows = await database_sync_to_async(list)(
        Message.objects.filter(thread=bobs).values_list("pk", "status", "text")
    )
    assert rows == [
        (sent.user_message.pk, "completed", "mine"),
        (sent.reply.pk, "streaming", ""),
    ]
    assert await messages_of(thread) == []


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"action": ["send"]}),
        json.dumps({"action": "send", "message": "hi", "client_id": 7}),
        json.dumps({"action": "regenerate", "reply": {"$gt": 0}}),
        json.dumps({"action": "switch", "to": [1, 2]}),
        json.dumps({"action": "sync", "after": {"x": 1}}),
        json.dumps(["send", "hello"]),
        json.dumps({"action": "edit", "target": None, "message": None}),
        "null",
        "\x00",
    ],
)
async def test_malformed_frames_get_a_plain_error_and_the_socket_stays(
    connect, thread, alice, frame
):
    viewer = await connect(alice, thread)
    await viewer.ws.send_to(text_data=frame)
    answer = await viewer.receive()
    assert "Traceback" not in answer and "Exception" not in answer
    # Still connected and serving.
    await viewer.send(action="send", message="   ", client_id="x")
    assert "Type a message" in await viewer.until(lambda t: "composer-error" in t)
    assert await messages_of(thread) == []


async def test_a_flood_is_refused_with_one_clear_notice(
    connect, thread, alice, settings
):
    settings.CHAT_RATE_LIMIT_BURST = 5
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 1
    viewer = await connect(alice, thread)
    for n in range(40):
        await viewer.send(action="send", message=f"spam {n}", client_id=f"s{n}")
    await viewer.until(lambda t: str(ratelimit.TOO_FAST) in t.replace("&#x27;", "'"))
    notices = [t for t in viewer.received if "too fast" in t]
    assert len(notices) == 1
    # At most the burst was served; the rest of the flood never reached
    # the database or the upstream.
    users = [m for m in await messages_of(thread) if m.role == "user"]
    assert 1 <= len(users) <= 5


def test_the_bucket_refills_over_time(settings, alice):
    settings.CHAT_RATE_LIMIT_BURST = 2
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 60
    user = f"refill-{alice.pk}"
    assert [ratelimit.frame_allowed(user, now=100.0) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert ratelimit.frame_allowed(user, now=101.0) is True
    assert ratelimit.frame_allowed(user, now=101.0) is False


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    with contextlib.suppress(Exception):
        cache.clear()


# --- a wrong API key ------------------------------------------------------------------


def admin_page(path: str) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin, _ = get_user_model().objects.get_or_create(
        username="root", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    return client.get(path).content.decode()


async def test_a_wrong_key_is_clear_to_the_user_and_loud_for_operators(
    connect, thread, alice, settings, caplog
):
    settings.DASHSCOPE_API_KEY = "sk-wrong"
    viewer = await connect(alice, thread)
    with caplog.at_level("ERROR"):
        await viewer.send(action="send", message="Hello?", client_id="c1")
        final = await viewer.until_final()
    assert "rejected this server&#x27;s API key" in final
    assert "sk-wrong" not in final
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("refused the API key" in r.getMessage() for r in errors)
    assert not any("sk-wrong" in r.getMessage() for r in caplog.records)

    page = await database_sync_to_async(admin_page)("/admin/conversations/message/")
    assert "refuses the credentials of this server: 1 reply failed" in page
    assert "DASHSCOPE_API_KEY" in page
    assert "sk-wrong" not in page


@pytest.mark.django_db
def test_a_retried_trip_makes_no_health_check_first(monkeypatch):
    """Channels closes old connections around every trip to the database
    thread, so a health check (`SELECT 1`, a round trip of its own) would
    begin each one; a retried trip needs none: a dead connection fails its
    first statement and the trip runs again."""
    connection = connections["default"]  # the wrapper, not the proxy
    checks: list[bool] = []
    connection.ensure_connection()
    monkeypatch.setattr(connection, "health_check_enabled", True)
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(True) or True)

    # What close_old_connections() leaves for the next trip to do.
    connection.health_check_done = False
    assert with_db_retry(lambda: Thread.objects.count(), what="counting") == 0
    assert checks == []
    connection.health_check_done = False
    Thread.objects.count()
    assert checks == [True]
