"""Per-thread tool choices, their defaults, and what a reply records."""

import pytest
from django.urls import reverse

from conversations import services
from conversations.models import McpServer, ToolDefaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_new_threads_take_the_environment_defaults(alice, settings):
    settings.QWEN_DEFAULT_TOOLS = ["web_search", "code_interpreter"]
    settings.QWEN_ENABLE_THINKING = True
    thread = services.thread_create(owner=alice)
    assert thread.tools == ["web_search", "code_interpreter"]
    assert thread.enable_thinking is True
    assert thread.tool_choice == "auto"


def test_an_admins_defaults_replace_the_environments(alice, settings):
    settings.QWEN_DEFAULT_TOOLS = ["web_search"]
    settings.QWEN_ENABLE_THINKING = False
    ToolDefaults.objects.create(
        tools=["web_extractor", "calculate"], enable_thinking=True, tool_choice="none"
    )
    thread = services.thread_create(owner=alice)
    assert (thread.tools, thread.enable_thinking, thread.tool_choice) == (
        ["web_extractor", "calculate"],
        True,
        "none",
    )


def test_the_settings_form_saves_tools_and_the_reply_records_them(alice, alice_client):
    server = McpServer.objects.create(
        label="wiki",
        url="https://mcp.example.net/private-route/sse",
        headers={"Authorization": "Bearer never-shown-7"},
    )
    thread = services.thread_create(owner=alice)
    page = alice_client.get(thread.get_absolute_url()).content.decode()
    assert 'name="tools"' in page
    assert 'name="enable_thinking"' in page
    assert "wiki" in page
    assert "private-route" not in page
    assert "never-shown-7" not in page

    response = alice_client.post(
        reverse("thread-settings", args=[thread.pk]),
        {
            "model": thread.model,
            "instructions": "",
            "tools": ["web_search", "current_time"],
            "enable_thinking": "on",
            "tool_choice": "required",
            "mcp_servers": [server.pk],
        },
    )
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.tools == ["web_search", "current_time"]
    assert (thread.enable_thinking, thread.tool_choice) == (True, "required")
    assert list(thread.mcp_servers.all()) == [server]
    sent = services.message_send(thread=thread, author=alice, text="Hi")
    used = sent.reply.settings_used
    assert used["tools"] == ["web_search", "current_time"]
    assert used["enable_thinking"] is True
    assert used["tool_choice"] == "required"
    assert used["mcp_servers"] == ["wiki"]


def test_an_unknown_tool_is_refused(alice, alice_client):
    thread = services.thread_create(owner=alice)
    response = alice_client.post(
        reverse("thread-settings", args=[thread.pk]),
        {"model": thread.model, "instructions": "", "tools": ["shell"]},
    )
    assert response.status_code == 400
    thread.refresh_from_db()
    assert thread.tools == []


def test_the_admin_lists_tool_calls_and_mcp_servers(client, django_user_model):
    staff = django_user_model.objects.create_superuser(
        "root", "r@example.com", "root-pass-1"
    )
    client.force_login(staff)
    for name in ("toolcall", "mcpserver", "tooldefaults"):
        page = client.get(reverse(f"admin:conversations_{name}_changelist"))
        assert page.status_code == 200
