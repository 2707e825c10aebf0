"""The UI in English and Simplified Chinese: chosen from the browser or by the user."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from chatsite.asgi import application
from conversations import services
from conversations.i18n import language_from_scope
from tests.chat.conftest import session_cookie
from tests.chat.test_exports import finish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_afterwards():
    """LocaleMiddleware leaves the language of the last request active in the
    test's thread; later tests compare English texts."""
    yield
    translation.deactivate()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_the_browsers_language_picks_the_ui(alice_client):
    page = alice_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    text = page.content.decode()
    assert '<html lang="zh-hans">' in text
    assert "新对话" in text and "New thread" not in text

    page = alice_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert "New thread" in page.content.decode()


def test_the_users_choice_wins_over_the_browser(alice_client):
    response = alice_client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/archived/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/archived/"
    page = alice_client.get(reverse("archived"), HTTP_ACCEPT_LANGUAGE="en")
    assert "已归档的对话" in page.content.decode()


def test_messages_from_python_are_translated_too(alice_client, alice):
    thread = services.thread_create(owner=alice)
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    alice_client.post(reverse("thread-rename", args=[thread.pk]), {"title": "河流"})
    page = alice_client.get(thread.get_absolute_url())
    assert "对话已重命名。" in page.content.decode()


def test_dates_and_numbers_are_localised(alice_client, alice):
    thread = services.thread_create(owner=alice)
    sent = services.message_send(thread=thread, author=alice, text="长江有多长")
    finish(sent.reply, "约 6300 公里")
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = alice_client.get(reverse("search"), {"q": "长江"}).content.decode()
    created = sent.user_message.created_at
    assert f"{created.year}年{created.month}月{created.day}日" in page
    assert "2 条结果" in page


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode()) for k, v in values.items()]


@pytest.mark.parametrize(
    ("scope_headers", "language"),
    [
        (headers(accept_language="zh-CN,zh;q=0.9,en;q=0.8"), "zh-hans"),
        (headers(accept_language="fr-FR, en;q=0.5"), "en"),
        (headers(accept_language="fr-FR"), "en"),
        (headers(cookie="django_language=zh-hans", accept_language="en"), "zh-hans"),
        (
            headers(cookie="django_language=xx; other=1", accept_language="zh"),
            "zh-hans",
        ),
        (headers(cookie='bad"cookie'), "en"),
        ([], "en"),
    ],
)
def test_a_websocket_speaks_its_pages_language(scope_headers, language):
    assert language_from_scope({"headers": scope_headers}) == language


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_refusal_comes_in_the_pages_language(alice):
    thread = await sync_to_async(services.thread_create)(owner=alice)
    cookie = await sync_to_async(session_cookie)(alice)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/threads/{thread.pk}/",
        headers=[
            (b"cookie", cookie + b"; django_language=zh-hans"),
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data='{"action": "send", "message": "  "}')
    # Other frames (who is viewing) may come first; the refusal is the
    # composer error.
    reply = ""
    while 'id="composer-error"' not in reply:
        reply = await communicator.receive_from(timeout=10)
    assert "请先输入消息再发送。" in reply
    await communicator.disconnect()
