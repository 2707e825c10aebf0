"""Thread, price, quota and audit admin: figures, filters, read-only, queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import ModelPrice, Thread, UpstreamResponse, UserQuota

from .factories import at, turn

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:conversations_thread_changelist")


def listed(response) -> dict[str, Thread]:
    return {t.title: t for t in response.context["cl"].result_list}


def test_the_thread_list_shows_turns_tokens_and_cost(staff_client, history):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    threads = listed(response)
    bobs = threads["Bob's notes"]
    assert bobs._turns == 2
    assert (bobs._input_tokens, bobs._output_tokens, bobs._total_tokens) == (
        10400,
        10100,
        20500,
    )
    assert bobs._cost == Decimal("0.00108")
    thinking = threads["Thinking hard"]
    assert (thinking._reasoning_tokens, thinking._cached_tokens) == (600, 0)
    assert thinking._cost == Decimal("0.00368")
    assert threads["Rivers of Europe"]._cached_tokens == 200
    assert b"0.0037" in response.content  # the rendered estimate of "Thinking hard"


def test_the_thread_list_filters_by_user_model_and_date(staff_client, history, bob):
    by_owner = staff_client.get(CHANGELIST, {"owner__id__exact": bob.pk})
    assert set(listed(by_owner)) == {"Bob's notes"}
    by_model = staff_client.get(CHANGELIST, {"model": "qwen-plus"})
    assert set(listed(by_model)) == {"Thinking hard"}
    by_date = staff_client.get(
        CHANGELIST,
        {
            "last_activity_at__gte": "2025-03-03 14:00:00+00:00",
            "last_activity_at__lt": "2025-03-04 18:00:00+00:00",
        },
    )
    assert set(listed(by_date)) == {"Thinking hard"}


def test_the_thread_list_searches_titles_and_message_text(staff_client, history):
    assert set(listed(staff_client.get(CHANGELIST, {"q": "danube"}))) == {
        "Thinking hard"
    }
    assert set(listed(staff_client.get(CHANGELIST, {"q": "rivers"}))) == {
        "Rivers of Europe"
    }


def queries_for(client, url) -> int:
    client.get(url)  # the first request of a session may save it; count a later one
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_thread_list_costs_the_same_queries_for_more_threads(
    staff_client, history, alice, django_assert_num_queries
):
    few = queries_for(staff_client, CHANGELIST)
    for i in range(12):
        thread = Thread.objects.create(
            owner=alice, title=f"more {i}", model="qwen3-max"
        )
        for day in (6, 7, 8):
            turn(thread, when=at(day), input=10, output=5)
    with django_assert_num_queries(few):
        staff_client.get(CHANGELIST)


def test_the_thread_page_shows_each_turn_with_lineage_and_usage(staff_client, history):
    thread = history["threads"][1]
    branch = turn(
        thread, when=at(4), input=5, output=5, parent=history["r2"], text="again"
    )
    regenerated = turn(
        thread,
        when=at(4, 13),
        input=5,
        output=5,
        parent=history["r2"],
        text="once more",
    )
    response = staff_client.get(
        reverse("admin:conversations_thread_change", args=[thread.pk])
    )
    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    turns = {form.original.pk: form.original for form in inline}
    assert len(turns) == 6
    r2 = turns[history["r2"].pk]
    assert (r2._reasoning_tokens, r2._cost) == (600, Decimal("0.00368"))
    # Two user messages answer r2: alternatives 1/2 and 2/2 at that turn.
    assert turns[branch.parent_id]._branch_index == 1
    assert turns[regenerated.parent_id]._branch_index == 2
    assert turns[regenerated.parent_id]._branch_count == 2
    content = response.content.decode()
    assert f"resp_{history['r2'].pk}" in content
    assert "2/2" in content


def test_the_thread_page_costs_the_same_queries_for_more_turns(
    staff_client, history, django_assert_num_queries
):
    thread = history["threads"][0]
    url = reverse("admin:conversations_thread_change", args=[thread.pk])
    few = queries_for(staff_client, url)
    leaf = history["r1"]
    for day in range(6, 16):
        leaf = turn(thread, when=at(day), input=3, output=4, parent=leaf)
    with django_assert_num_queries(few):
        staff_client.get(url)


def test_upstream_responses_are_read_only_audit_rows(staff_client, history):
    row = UpstreamResponse.objects.get(message=history["r1"])
    change = reverse("admin:conversations_upstreamresponse_change", args=[row.pk])
    page = staff_client.get(change)
    assert page.status_code == 200
    assert b'name="input_tokens"' not in page.content
    assert staff_client.post(change, {"input_tokens": "1"}).status_code == 403
    delete = reverse("admin:conversations_upstreamresponse_delete", args=[row.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    add = reverse("admin:conversations_upstreamresponse_add")
    assert staff_client.get(add).status_code == 403
    row.refresh_from_db()
    assert row.input_tokens == 1000


def test_an_admin_edits_prices_in_the_list(staff_client, prices):
    url = reverse("admin:conversations_modelprice_changelist")
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "_save": "Save",
    }
    for i, price in enumerate(ModelPrice.objects.order_by("model")):
        data.update(
            {
                f"form-{i}-id": str(price.pk),
                f"form-{i}-input_per_million": "9"
                if price.model == "qwen3-max"
                else str(price.input_per_million),
                f"form-{i}-output_per_million": str(price.output_per_million),
                f"form-{i}-cached_input_per_million": str(
                    price.cached_input_per_million or ""
                ),
                f"form-{i}-reasoning_per_million": str(
                    price.reasoning_per_million or ""
                ),
            }
        )
    assert staff_client.post(url, data).status_code == 302
    assert ModelPrice.objects.get(model="qwen3-max").input_per_million == Decimal("9")


def test_the_quota_list_shows_what_each_budget_has_used(staff_client, alice):
    from django.utils import timezone

    UserQuota.objects.create(user=alice, daily_tokens=1000, monthly_tokens=50000)
    thread = Thread.objects.create(owner=alice, title="today", model="qwen3-max")
    turn(thread, when=timezone.now(), input=300, output=100)
    response = staff_client.get(reverse("admin:conversations_userquota_changelist"))
    quota = response.context["cl"].result_list[0]
    assert (quota.used_today, quota.used_this_month) == (400, 400)
