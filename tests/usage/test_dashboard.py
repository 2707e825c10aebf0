"""The usage dashboard: staff only, totals, range, CSV, near-limit list, queries."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conversations import usage
from conversations.admin_dashboard import RANGE_BACKWARDS
from conversations.models import Thread, UserQuota

from .factories import at, turn

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/usage/"
CSV_URL = "/admin/usage/export.csv"
MARCH_3_TO_5 = {"start": "2025-03-03", "end": "2025-03-05"}


def test_the_urls_are_the_documented_ones():
    assert reverse("usage-dashboard") == DASHBOARD
    assert reverse("usage-csv") == CSV_URL


@pytest.mark.parametrize("url", [DASHBOARD, CSV_URL])
def test_only_staff_see_usage(url, alice, history):
    anonymous = Client().get(url, MARCH_3_TO_5)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")
    member = Client()
    member.force_login(alice)
    refused = member.get(url, MARCH_3_TO_5)
    assert refused.status_code == 302
    assert refused["Location"].startswith("/admin/login/")
    assert b"alice" not in refused.content


def test_the_dashboard_shows_totals_tables_and_a_chart(staff_client, history):
    response = staff_client.get(DASHBOARD, MARCH_3_TO_5)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.total.total_tokens == 25000
    content = response.content.decode()
    assert 'data-field="total_tokens">25,000<' in content
    assert 'data-field="cost">0.0088 USD<' in content
    assert 'data-testid="usage-chart"' in content
    # Chart bars for 3 days, then a bar per row: 2 users, 3 models, 3 days
    # (and one "(no team)" row once threads have teams).
    teams = 1 if usage.team_lookup() else 0
    assert content.count("<rect") == 3 + 2 + 3 + 3 + teams
    assert 'data-key="qwen-flash"' in content
    assert 'data-testid="unpriced"' in content
    assert "cdn" not in content.lower()


def test_the_dashboard_defaults_to_the_last_30_days(staff_client, history, alice):
    thread = Thread.objects.create(owner=alice, title="now", model="qwen3-max")
    turn(thread, when=timezone.now(), input=7, output=3)
    report = staff_client.get(DASHBOARD).context["report"]
    assert len(report.per_day) == 30
    assert report.period.end == timezone.localdate()
    assert report.total.total_tokens == 10


def test_a_backwards_range_is_explained(staff_client, history):
    response = staff_client.get(DASHBOARD, {"start": "2025-03-05", "end": "2025-03-03"})
    assert response.status_code == 200
    assert RANGE_BACKWARDS in response.content.decode()


def test_the_csv_export_follows_the_range(staff_client, history):
    response = staff_client.get(CSV_URL, {"start": "2025-03-04", "end": "2025-03-05"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="usage-2025-03-04-2025-03-05.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    # Team lines (once threads have teams) are checked by the per-team test.
    assert [r[:2] for r in rows[1:] if r[0] != "team"] == [
        ["day", "2025-03-04"],
        ["day", "2025-03-05"],
        ["user", "bob"],
        ["model", "qwen-flash"],
        ["model", "qwen3-max"],
        ["total", "Total"],
    ]
    assert rows[-1][6:] == ["20500", "2", "0.001080"]


def test_users_near_their_budget_are_listed(staff_client, alice, bob):
    UserQuota.objects.create(user=alice, daily_tokens=1000)
    UserQuota.objects.create(user=bob, monthly_tokens=100_000)
    thread = Thread.objects.create(owner=alice, title="busy", model="qwen3-max")
    turn(thread, when=timezone.now(), input=700, output=150)
    response = staff_client.get(DASHBOARD)
    near = response.context["near_limit"]
    assert [(q.username, q.period, q.used, q.limit, q.percent) for q in near] == [
        ("alice", "daily", 850, 1000, 85)
    ]
    assert (
        'data-key="alice"><th scope="row">alice</th><td>daily</td>'
        in response.content.decode()
    )


def test_the_dashboard_costs_the_same_queries_for_more_history(
    staff_client, history, alice, django_assert_num_queries
):
    UserQuota.objects.create(user=alice, daily_tokens=10)
    staff_client.get(DASHBOARD, MARCH_3_TO_5)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        staff_client.get(DASHBOARD, MARCH_3_TO_5)
    users = [get_user_model().objects.create(username=f"user{i}") for i in range(8)]
    for i, user in enumerate(users):
        UserQuota.objects.create(user=user, daily_tokens=10)
        thread = Thread.objects.create(owner=user, title=f"t{i}", model=f"model-{i}")
        for day in (3, 4, 5):
            turn(thread, when=at(day), input=10, output=10)
    with django_assert_num_queries(len(few)):
        staff_client.get(DASHBOARD, MARCH_3_TO_5)


@pytest.mark.skipif(usage.team_lookup() is None, reason="threads have no team yet")
def test_usage_is_totalled_per_team(staff_client, history, alice):
    team_model = Thread._meta.get_field("team").related_model
    team = team_model.objects.create(name="Hydrology", created_by=alice)
    Thread.objects.filter(pk__in=[t.pk for t in history["threads"][:2]]).update(
        team=team
    )
    report = staff_client.get(DASHBOARD, MARCH_3_TO_5).context["report"]
    teams = {r.label: (r.total_tokens, r.cost) for r in report.per_team}
    assert teams["Hydrology"][0] == 4500
    assert teams["(no team)"][0] == 20500
