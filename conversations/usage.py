"""Reads for operators: token usage and its estimated cost, computed in the database.

Every figure is a SQL aggregate over `UpstreamResponse` rows (one row per call
to the Responses API), so a page costs the same number of queries whatever
the size of the history.

Attribution: a reply's tokens belong to the author of the user message it
answers (who pressed Send), or to the thread's owner when that message has no
author; `services.reply_finish` stores it on each response as `user`. In a
shared thread, that charges whoever asked.

Cost: per million tokens, with the current `ModelPrice` of the response's
model. Cached input is part of `input_tokens` and reasoning is part of
`output_tokens` (as the API reports them), so each is priced once:

    (input - cached) * input + cached * cached_input
    + (output - reasoning) * output + reasoning * reasoning
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Expression,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from conversations.models import ModelPrice, Thread, UpstreamResponse

MILLION = Decimal(1_000_000)
MONEY = DecimalField(max_digits=20, decimal_places=6)
TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
)
# The user a response's tokens are charged to (set when the reply finishes).
USER_LOOKUP = F("user")


def team_lookup() -> str | None:
    """The path from a response to its thread's team, once threads have teams.

    Teams are another feature's model; everything team-related here switches
    on when `Thread.team` exists, and stays off (no column, no filter) before.
    """
    try:
        Thread._meta.get_field("team")
    except Exception:
        return None
    return "message__thread__team"


def charged_to(user_id: object) -> Q:
    """Responses whose tokens are charged to the user (see module docstring)."""
    return Q(user_id=user_id)


# --- Cost --------------------------------------------------------------------


def prices() -> dict[str, ModelPrice]:
    return {p.model: p for p in ModelPrice.objects.all()}


def _price_case(
    price_table: dict[str, ModelPrice], attr: str, fallback: str, model_lookup: str
) -> Case:
    whens = []
    for model, price in price_table.items():
        value = getattr(price, attr)
        if value is None:
            value = getattr(price, fallback)
        whens.append(
            When(Q(**{model_lookup: model}), then=Value(value, output_field=MONEY))
        )
    return Case(
        *whens, default=Value(Decimal(0), output_field=MONEY), output_field=MONEY
    )


def cost_expression(price_table: dict[str, ModelPrice], prefix: str = "") -> Expression:
    """The estimated cost of one `UpstreamResponse` row, as a SQL expression.

    `prefix` is the lookup from the queried model to the response
    (e.g. "messages__responses__" from a thread).
    """

    def f(name: str) -> F:
        return F(prefix + name)

    def case(attr: str, fallback: str) -> Case:
        # The model name is read through the same join as the tokens.
        return _price_case(price_table, attr, fallback, prefix + "model")

    plain_input = f("input_tokens") - f("cached_tokens")
    plain_output = f("output_tokens") - f("reasoning_tokens")
    return ExpressionWrapper(
        (
            plain_input * case("input_per_million", "input_per_million")
            + f("cached_tokens") * case("cached_input_per_million", "input_per_million")
            + plain_output * case("output_per_million", "output_per_million")
            + f("reasoning_tokens")
            * case("reasoning_per_million", "output_per_million")
        )
        / Value(MILLION, output_field=MONEY),
        output_field=MONEY,
    )


def token_sums() -> dict[str, Any]:
    """The aggregate columns of every usage table: integer sums only.

    Cost is linear in the tokens of each model, so it is priced from these
    sums per (group, model) instead of per row in SQL: multiplying numerics
    row by row made a year's dashboard several times slower.
    """
    # Aliases must not shadow the fields they sum.
    columns: dict[str, Any] = {
        f"sum_{name}": Coalesce(Sum(name), 0) for name in TOKEN_FIELDS
    }
    columns["sum_responses"] = Count("pk")
    return columns


def sums_cost(
    price_table: dict[str, ModelPrice], model: str, sums: dict[str, Any]
) -> Decimal:
    """The estimated cost of a model's token sums (see the module docstring)."""
    price = price_table.get(model)
    if price is None:
        return Decimal(0)
    cached_price = price.cached_input_per_million
    reasoning_price = price.reasoning_per_million
    cached, reasoning = sums["sum_cached_tokens"], sums["sum_reasoning_tokens"]
    cost = (
        (sums["sum_input_tokens"] - cached) * price.input_per_million
        + cached * (price.input_per_million if cached_price is None else cached_price)
        + (sums["sum_output_tokens"] - reasoning) * price.output_per_million
        + reasoning
        * (price.output_per_million if reasoning_price is None else reasoning_price)
    )
    return cost / MILLION


# --- The report --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A date range, both ends included, in the site's time zone."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(
            datetime.combine(self.end + timedelta(days=1), time.min)
        )

    @property
    def days(self) -> list[date]:
        return [
            self.start + timedelta(days=i)
            for i in range((self.end - self.start).days + 1)
        ]

    @classmethod
    def last_days(cls, days: int = 30) -> Period:
        today = timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)


@dataclass(slots=True)
class Row:
    """Token totals and estimated cost of one group (a day, a user, a model...)."""

    key: Any
    label: str
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0
    responses: int = 0
    cost: Decimal = Decimal(0)
    # Width of its bar in the page's chart, in percent of the largest row.
    bar: float = 0.0

    def add(self, sums: dict[str, Any], cost: Decimal) -> None:
        self.input_tokens += sums["sum_input_tokens"]
        self.output_tokens += sums["sum_output_tokens"]
        self.reasoning_tokens += sums["sum_reasoning_tokens"]
        self.cached_tokens += sums["sum_cached_tokens"]
        self.total_tokens += sums["sum_total_tokens"]
        self.responses += sums["sum_responses"]
        self.cost = (self.cost + cost).quantize(Decimal("0.000001"))


@dataclass(slots=True)
class UsageReport:
    period: Period
    total: Row
    per_day: list[Row]
    per_user: list[Row]
    per_model: list[Row]
    per_team: list[Row] | None
    unpriced_models: list[str] = field(default_factory=list)
    currency: str = "USD"


def responses_in(period: Period) -> QuerySet[UpstreamResponse]:
    return UpstreamResponse.objects.filter(
        created_at__gte=period.since, created_at__lt=period.until
    ).order_by()


def _scale(rows: Sequence[Row]) -> None:
    top = max((r.total_tokens for r in rows), default=0)
    for r in rows:
        r.bar = round(100 * r.total_tokens / top, 1) if top else 0.0


def grouped_usage(
    qs: QuerySet[UpstreamResponse],
    key: Any,
    price_table: dict[str, ModelPrice],
    label: Any = str,
) -> dict[Any, Row]:
    """Token sums and cost per `key` (one query, grouped by key and model)."""
    rows: dict[Any, Row] = {}
    for sums in qs.values("model", key=key).annotate(**token_sums()):
        row = rows.get(sums["key"])
        if row is None:
            row = rows[sums["key"]] = Row(sums["key"], label(sums["key"]))
        row.add(sums, sums_cost(price_table, sums["model"], sums))
    return rows


def _ranked(rows: dict[Any, Row]) -> list[Row]:
    return sorted(rows.values(), key=lambda r: (-r.total_tokens, r.label))


def usage_report(*, period: Period) -> UsageReport:
    """Totals per day, user, model (and team, once there are teams): 5-7 queries."""
    price_table = prices()
    qs = responses_in(period)

    per_model = _ranked(grouped_usage(qs, F("model"), price_table))
    total = Row(None, "Total")
    for row in per_model:
        total.add(
            {
                f"sum_{name}": getattr(row, name)
                for name in (*TOKEN_FIELDS, "responses")
            },
            row.cost,
        )

    by_day = grouped_usage(
        qs, TruncDate("created_at", tzinfo=timezone.get_current_timezone()), price_table
    )
    per_day = [by_day.get(day) or Row(day, day.isoformat()) for day in period.days]
    for row in per_day:
        row.label = row.key.isoformat()

    by_user = grouped_usage(qs, USER_LOOKUP, price_table)
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[k for k in by_user if k is not None])
        .values_list("pk", "username")
    )
    for key, row in by_user.items():
        row.label = names.get(key, "(deleted)")
    per_user = _ranked(by_user)

    per_team = None
    if lookup := team_lookup():
        by_team = grouped_usage(qs, F(lookup), price_table)
        team_model = Thread._meta.get_field("team").related_model
        team_names = {
            t.pk: str(t)
            for t in team_model._default_manager.filter(
                pk__in=[k for k in by_team if k is not None]
            )
        }
        for key, row in by_team.items():
            row.label = team_names.get(key, "(no team)")
        per_team = _ranked(by_team)

    for rows in (per_day, per_user, per_model, per_team or []):
        _scale(rows)
    currencies = {p.currency for p in price_table.values()}
    return UsageReport(
        period=period,
        total=total,
        per_day=per_day,
        per_user=per_user,
        per_model=per_model,
        per_team=per_team,
        unpriced_models=sorted(r.key for r in per_model if r.key not in price_table),
        currency=currencies.pop() if len(currencies) == 1 else "mixed",
    )


CSV_HEADER = [
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


def report_csv(report: UsageReport) -> str:
    """The report as CSV: one line per (group, key), days first, total last."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    groups: list[tuple[str, Iterable[Row]]] = [
        ("day", report.per_day),
        ("user", report.per_user),
        ("team", report.per_team or []),
        ("model", report.per_model),
        ("total", [report.total]),
    ]
    for group, rows in groups:
        for r in rows:
            writer.writerow(
                [
                    group,
                    r.label,
                    r.input_tokens,
                    r.output_tokens,
                    r.reasoning_tokens,
                    r.cached_tokens,
                    r.total_tokens,
                    r.responses,
                    f"{r.cost:.6f}",
                ]
            )
    return out.getvalue()
