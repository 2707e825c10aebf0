"""The tool-call audit admin. Runs once the tool-call log (`ToolCall`) exists."""

import pytest
from django.urls import reverse

from conversations import admin_tools

from .factories import at, turn

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        admin_tools.tool_call_model() is None, reason="no ToolCall model yet"
    ),
]


@pytest.fixture
def calls(history):
    model, fk = admin_tools.tool_call_model(), admin_tools.message_fk()
    make = model._default_manager.create
    return [
        make(
            **{fk.name: history["r1"]},
            position=0,
            type="web_search_call",
            status="completed",
            query="danube length",
            urls=["https://example.org/danube"],
            output="2,850 km",
        ),
        make(
            **{fk.name: history["r3"]},
            position=0,
            type="code_interpreter_call",
            status="failed",
            arguments="print(1/0)",
            output="ZeroDivisionError",
        ),
    ]


def changelist(client, **params):
    url = reverse(
        f"admin:conversations_{admin_tools.tool_call_model()._meta.model_name}_changelist"
    )
    response = client.get(url, params)
    assert response.status_code == 200
    return [c.type for c in response.context["cl"].result_list]


def test_tool_calls_are_filtered_by_type_status_and_user(staff_client, calls, bob):
    assert changelist(staff_client, type="web_search_call") == ["web_search_call"]
    assert changelist(staff_client, status="failed") == ["code_interpreter_call"]
    fk = admin_tools.message_fk().name
    assert changelist(staff_client, **{f"{fk}__thread__owner__id__exact": bob.pk}) == [
        "code_interpreter_call"
    ]


def test_tool_calls_are_searched_by_query_or_url(staff_client, calls):
    assert changelist(staff_client, q="danube") == ["web_search_call"]
    assert changelist(staff_client, q="example.org") == ["web_search_call"]


def test_tool_calls_are_read_only_audit_rows(staff_client, calls):
    name = admin_tools.tool_call_model()._meta.model_name
    call = calls[0]
    change = reverse(f"admin:conversations_{name}_change", args=[call.pk])
    page = staff_client.get(change)
    assert page.status_code == 200
    assert "2,850 km" in page.content.decode()
    assert staff_client.post(change, {"output": "edited"}).status_code == 403
    delete = reverse(f"admin:conversations_{name}_delete", args=[call.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    call.refresh_from_db()
    assert call.output == "2,850 km"


def test_the_thread_list_counts_tool_calls(staff_client, calls, history):
    turn(history["threads"][0], when=at(6), input=1, output=1)
    response = staff_client.get(reverse("admin:conversations_thread_changelist"))
    counts = {t.title: t._tool_calls for t in response.context["cl"].result_list}
    assert counts["Rivers of Europe"] == 1
    assert counts["Bob's notes"] == 1
    assert counts["Thinking hard"] == 0
