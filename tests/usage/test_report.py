"""Usage totals and estimated cost against hand-computed fixtures (conftest)."""

import csv
import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from conversations import services
from conversations.models import Message, ModelPrice, Thread, UpstreamResponse
from conversations.usage import Period, report_csv, usage_report

from .factories import at, turn

pytestmark = pytest.mark.django_db

MARCH_3_TO_5 = Period(date(2025, 3, 3), date(2025, 3, 5))


def by_label(rows):
    return {r.label: r for r in rows}


def test_the_total_sums_every_token_kind_and_prices_each_once(history):
    total = usage_report(period=MARCH_3_TO_5).total
    assert total.input_tokens == 13400
    assert total.output_tokens == 11600
    assert total.reasoning_tokens == 600
    assert total.cached_tokens == 200
    assert total.total_tokens == 25000
    assert total.responses == 4
    assert total.cost == Decimal("0.008768")


def test_usage_is_grouped_per_user_model_and_day(history):
    report = usage_report(period=MARCH_3_TO_5)
    users = by_label(report.per_user)
    assert users["alice"].total_tokens == 4500
    assert users["alice"].cost == Decimal("0.007688")
    assert users["bob"].total_tokens == 20500
    assert users["bob"].cost == Decimal("0.001080")
    models = by_label(report.per_model)
    assert models["qwen3-max"].total_tokens == 2000
    assert models["qwen3-max"].cost == Decimal("0.005088")
    assert models["qwen-plus"].cost == Decimal("0.003680")
    assert models["qwen-flash"].cost == Decimal("0")
    assert report.unpriced_models == ["qwen-flash"]
    days = [(r.label, r.total_tokens) for r in report.per_day]
    assert days == [("2025-03-03", 4500), ("2025-03-04", 500), ("2025-03-05", 20000)]


def test_a_days_without_usage_are_zero_bars_and_the_largest_is_full(history):
    report = usage_report(period=Period(date(2025, 3, 2), date(2025, 3, 5)))
    assert [r.bar for r in report.per_day] == [0.0, 22.5, 2.5, 100.0]


def test_the_date_range_bounds_the_totals(history):
    report = usage_report(period=Period(date(2025, 3, 4), date(2025, 3, 4)))
    assert report.total.total_tokens == 500
    assert [r.label for r in report.per_user] == ["bob"]


def test_tokens_are_charged_to_whoever_asked_not_the_threads_owner(history, alice, bob):
    alices_thread = history["threads"][0]
    turn(alices_thread, author=bob, when=at(4), input=70, output=30)
    users = by_label(usage_report(period=MARCH_3_TO_5).per_user)
    assert users["bob"].total_tokens == 20600
    assert users["alice"].total_tokens == 4500


def test_a_price_change_re_prices_the_estimates(history):
    ModelPrice.objects.filter(model="qwen3-max").update(
        input_per_million=Decimal("2.4"), cached_input_per_million=None
    )
    ModelPrice.objects.create(
        model="qwen-flash",
        input_per_million=Decimal("0.05"),
        output_per_million=Decimal("0.4"),
    )
    report = usage_report(period=MARCH_3_TO_5)
    models = by_label(report.per_model)
    # r1: (1000*2.4 + 500*6)/1e6, with cached input now at the input price;
    # r3: (400*2.4 + 100*6)/1e6.
    assert models["qwen3-max"].cost == Decimal("0.006960")
    assert models["qwen-flash"].cost == Decimal("0.004500")
    assert report.unpriced_models == []


def test_the_csv_has_a_line_per_group_and_key(history):
    rows = list(csv.reader(io.StringIO(report_csv(usage_report(period=MARCH_3_TO_5)))))
    assert rows[0] == [
        "group",
        "key",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cached_tokens",
        "total_tokens",
        "responses",
        "estimated_cost",
    ]
    assert [
        "day",
        "2025-03-03",
        "3000",
        "1500",
        "600",
        "200",
        "4500",
        "2",
        "0.007688",
    ] in rows
    assert ["user", "bob", "10400", "10100", "0", "0", "20500", "2", "0.001080"] in rows
    assert [
        "model",
        "qwen-plus",
        "2000",
        "1000",
        "600",
        "0",
        "3000",
        "1",
        "0.003680",
    ] in rows
    assert rows[-1] == [
        "total",
        "Total",
        "13400",
        "11600",
        "600",
        "200",
        "25000",
        "4",
        "0.008768",
    ]
    assert [r[0] for r in rows[1:]].count("user") == 2


def test_a_finished_reply_charges_who_asked_else_the_owner(alice, bob):
    thread = Thread.objects.create(owner=alice, title="shared", model="qwen3-max")
    usage_ = SimpleNamespace(input_tokens=3, output_tokens=4, total_tokens=7)
    charged = []
    for author in (bob, None):
        question = Message.objects.create(
            thread=thread, role="user", author=author, text="hi"
        )
        reply = Message.objects.create(
            thread=thread, parent=question, role="assistant", status="streaming"
        )
        services.reply_finish(
            reply_id=reply.pk,
            text="hello",
            status="completed",
            first_token_at=None,
            context_mode="new",
            responses=[
                services.ResponseRecord(
                    "resp_1", "qwen3-max", "completed", usage=usage_
                )
            ],
        )
        charged.append(UpstreamResponse.objects.get(message=reply).user)
    assert charged == [bob, alice]
