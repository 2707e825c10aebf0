"""The UI in English and Simplified Chinese: chosen from the browser or by the user."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from chatsite.asgi import application
from conversations import services, teams
from conversations.i18n import language_from_scope
from conversations.models import ToolCall, UserQuota
from tests.chat.conftest import Viewer, session_cookie
from tests.chat.test_exports import finish
from tests.chat.test_quotas import spend

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


# The features added after the first catalogue (tools, teams, sharing, quotas,
# attachments) speak Chinese too.


@pytest.fixture
def chinese_client(alice_client):
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return alice_client


def test_the_team_pages_are_in_chinese(chinese_client, alice):
    team = teams.team_create(name="地理", owner=alice)
    listing = chinese_client.get(reverse("teams")).content.decode()
    assert "创建团队" in listing and "Create team" not in listing
    page = chinese_client.get(team.get_absolute_url()).content.decode()
    role = '你的角色：<span data-testid="my-role">所有者</span>。'  # noqa: RUF001
    assert role in page
    assert "退出团队" in page and "还没有对话共享给此团队。" in page
    assert "Leave team" not in page


def test_a_team_refusal_from_python_is_in_chinese(chinese_client):
    response = chinese_client.post(reverse("team-create"), {"name": "  "}, follow=True)
    refusal = "请为团队命名（最多 100 个字符）。"  # noqa: RUF001
    assert refusal in response.content.decode()


def test_the_sharing_menu_and_a_missing_share_link_are_in_chinese(
    chinese_client, alice
):
    team = teams.team_create(name="地理", owner=alice)
    thread = services.thread_create(owner=alice)
    chinese_client.post(reverse("thread-share", args=[thread.pk]), {"team": team.pk})
    page = chinese_client.get(thread.get_absolute_url()).content.decode()
    assert "已与 地理 共享。" in page
    assert "创建链接" in page and "Create link" not in page
    missing = chinese_client.get(reverse("share-link", args=["no-such-token"]))
    assert "此链接不存在、已过期或已被撤销。" in missing.content.decode()


def test_a_tool_card_is_in_chinese(chinese_client, alice):
    thread = services.thread_create(owner=alice)
    sent = services.message_send(thread=thread, author=alice, text="长江有多长")
    ToolCall.objects.create(
        reply=sent.reply,
        position=0,
        type="web_search_call",
        status="completed",
        query="长江 长度",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    finish(sent.reply, "约 6300 公里")
    page = chinese_client.get(thread.get_absolute_url()).content.decode()
    assert 'data-testid="tool-call"' in page
    assert "网页搜索" in page and "查询" in page and "完成" in page
    assert "Web search" not in page


def test_the_attach_controls_are_in_chinese(chinese_client, alice):
    thread = services.thread_create(owner=alice)
    page = chinese_client.get(thread.get_absolute_url()).content.decode()
    assert 'data-testid="attach-button"' in page
    assert 'data-text-uploading="（上传中…）"' in page  # noqa: RUF001
    assert "(uploading…)" not in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("upstream", "idle_generations")
async def test_a_quota_refusal_comes_in_the_pages_language(alice):
    await UserQuota.objects.acreate(user=alice, daily_tokens=1000)
    await spend(alice, 1200)
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
    viewer = Viewer(communicator)
    await viewer.send(action="send", message="再问一个问题", client_id="q1")
    final = await viewer.until_final()
    assert "你已用掉每日额度 1,000 个 token 中的 1,200 个" in final
    assert "午夜" in final
    await communicator.disconnect()


def test_the_usage_dashboard_is_in_chinese(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("usage-dashboard")).content.decode()
    assert 'data-testid="usage-dashboard"' in page
    assert "按用户" in page and "导出 CSV" in page and "用量与费用" in page
    assert "Per user" not in page
