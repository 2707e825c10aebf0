"""The tool-call log in the admin: filters, search, read-only detail, inlines."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import ToolCall

from .factories import at, turn

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:conversations_toolcall_changelist")


@pytest.fixture
def calls(history):
    return [
        ToolCall.objects.create(
            reply=history["r1"],
            position=0,
            type="web_search_call",
            status="completed",
            query="danube length",
            urls=["https://example.org/danube"],
            sources=[{"title": "Danube facts", "url": "https://example.org/danube"}],
            output="2,850 km",
            started_at=at(3),
            finished_at=at(3) + timedelta(milliseconds=1500),
        ),
        ToolCall.objects.create(
            reply=history["r3"],
            position=0,
            type="code_interpreter_call",
            status="failed",
            arguments="print(1/0)",
            output="ZeroDivisionError",
            error="division by zero",
            started_at=at(4),
        ),
        ToolCall.objects.create(
            reply=history["r3"],
            position=1,
            type="mcp_call",
            status="completed",
            name="lookup_river",
            server_label="atlas",
            arguments='{"river": "Rhine"}',
            output="1,230 km",
            started_at=at(4, 13),
        ),
    ]


def changelist(client, **params) -> list[str]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return sorted(c.type for c in response.context["cl"].result_list)


def test_tool_calls_are_filtered_by_type_status_user_and_date(staff_client, calls, bob):
    assert changelist(staff_client, type="web_search_call") == ["web_search_call"]
    assert changelist(staff_client, status="failed") == ["code_interpreter_call"]
    assert changelist(staff_client, reply__thread__owner__id__exact=bob.pk) == [
        "code_interpreter_call",
        "mcp_call",
    ]
    on_the_4th = {
        "started_at__gte": "2025-03-04 00:00:00+00:00",
        "started_at__lt": "2025-03-05 00:00:00+00:00",
    }
    assert changelist(staff_client, **on_the_4th) == [
        "code_interpreter_call",
        "mcp_call",
    ]


def test_tool_calls_are_searched_by_query_url_name_and_server(staff_client, calls):
    assert changelist(staff_client, q="danube") == ["web_search_call"]
    assert changelist(staff_client, q="example.org") == ["web_search_call"]
    assert changelist(staff_client, q="lookup_river") == ["mcp_call"]
    assert changelist(staff_client, q="atlas") == ["mcp_call"]


def test_the_list_names_each_calls_user(staff_client, calls):
    content = staff_client.get(CHANGELIST).content.decode()
    assert "alice" in content
    assert "bob" in content


def test_a_tool_call_shows_arguments_sources_output_error_and_timings(
    staff_client, calls
):
    search, failed, _ = calls
    page = staff_client.get(
        reverse("admin:conversations_toolcall_change", args=[search.pk])
    )
    assert page.status_code == 200
    content = page.content.decode()
    assert "2,850 km" in content
    assert "Danube facts" in content
    assert "1500 ms" in content
    content = staff_client.get(
        reverse("admin:conversations_toolcall_change", args=[failed.pk])
    ).content.decode()
    assert "print(1/0)" in content
    assert "division by zero" in content


def test_tool_calls_are_read_only_audit_rows(staff_client, calls):
    call = calls[0]
    change = reverse("admin:conversations_toolcall_change", args=[call.pk])
    page = staff_client.get(change)
    assert b'name="output"' not in page.content
    assert staff_client.post(change, {"output": "edited"}).status_code == 403
    delete = reverse("admin:conversations_toolcall_delete", args=[call.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert (
        staff_client.get(reverse("admin:conversations_toolcall_add")).status_code == 403
    )
    bulk = staff_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [call.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    call.refresh_from_db()
    assert call.output == "2,850 km"
    assert ToolCall.objects.count() == 3


def test_a_reply_page_lists_its_tool_calls(staff_client, calls, history):
    page = staff_client.get(
        reverse("admin:conversations_message_change", args=[history["r3"].pk])
    )
    assert page.status_code == 200
    content = page.content.decode()
    assert "code_interpreter_call" in content
    assert "lookup_river" in content


def test_the_thread_page_lists_each_turns_tool_calls(staff_client, calls, history):
    thread = history["threads"][2]
    response = staff_client.get(
        reverse("admin:conversations_thread_change", args=[thread.pk])
    )
    content = response.content.decode()
    assert "code_interpreter_call · failed" in content
    assert "mcp_call · completed · lookup_river" in content
    link = reverse("admin:conversations_toolcall_change", args=[calls[2].pk])
    assert f'href="{link}"' in content


def test_the_thread_list_counts_tool_calls(staff_client, calls, history):
    turn(history["threads"][0], when=at(6), input=1, output=1)
    response = staff_client.get(reverse("admin:conversations_thread_changelist"))
    counts = {t.title: t._tool_calls for t in response.context["cl"].result_list}
    assert counts == {"Rivers of Europe": 1, "Bob's notes": 2, "Thinking hard": 0}


def queries_for(client, url) -> int:
    client.get(url)  # the first request of a session may save it; count a later one
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def more_calls(thread, leaf, days) -> None:
    for day in days:
        leaf = turn(thread, when=at(day), input=3, output=4, parent=leaf)
        for position, kind in enumerate(["web_search_call", "mcp_call"]):
            ToolCall.objects.create(
                reply=leaf, position=position, type=kind, started_at=at(day)
            )


def test_tool_calls_cost_no_extra_queries_per_row(
    staff_client, calls, history, django_assert_num_queries
):
    thread = history["threads"][0]
    pages = [
        CHANGELIST,
        reverse("admin:conversations_thread_changelist"),
        reverse("admin:conversations_thread_change", args=[thread.pk]),
    ]
    few = [queries_for(staff_client, url) for url in pages]
    more_calls(thread, history["r1"], range(6, 12))
    for url, count in zip(pages, few, strict=True):
        with django_assert_num_queries(count):
            staff_client.get(url)
