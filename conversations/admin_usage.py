"""Admin for operators: threads with usage and cost, prices, quotas (issue #7).

The thread list sums a page of threads in grouped queries over just those
threads; the thread page's turns carry their usage as subqueries and their
branch position as a window. Either way a page costs the same number of
queries whatever the history's size.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from conversations import usage
from conversations.admin import ReadOnlyInline, ThreadAdmin
from conversations.models import (
    Message,
    ModelPrice,
    TeamQuota,
    Thread,
    ToolCall,
    UpstreamResponse,
    UserQuota,
)
from conversations.quotas import attach_quota_usage, attach_team_quota_usage


def _sum_of(expression: Any, responses: QuerySet[UpstreamResponse], output: Any) -> Any:
    """SUM(expression) over `responses`, as a scalar subquery (no GROUP BY)."""
    return Subquery(
        responses.order_by()
        .annotate(total=Func(expression, function="SUM", output_field=output))
        .values("total")[:1],
        output_field=output,
    )


def usage_annotations(
    responses: QuerySet[UpstreamResponse], price_table: dict[str, ModelPrice]
) -> dict[str, Any]:
    """Token totals and estimated cost of `responses` (correlated with OuterRef)."""
    columns: dict[str, Any] = {
        f"_{name}": Coalesce(_sum_of(F(name), responses, IntegerField()), 0)
        for name in usage.TOKEN_FIELDS
    }
    columns["_cost"] = Coalesce(
        _sum_of(usage.cost_expression(price_table), responses, usage.MONEY),
        Value(Decimal(0), output_field=usage.MONEY),
    )
    return columns


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.4f}"


class UsageColumns:
    """Display methods for the `_…` annotations of `usage_annotations`."""

    @admin.display(description="input")
    def input_tokens(self, obj: Any) -> int:
        return obj._input_tokens

    @admin.display(description="output")
    def output_tokens(self, obj: Any) -> int:
        return obj._output_tokens

    @admin.display(description="reasoning")
    def reasoning_tokens(self, obj: Any) -> int:
        return obj._reasoning_tokens

    @admin.display(description="cached")
    def cached_tokens(self, obj: Any) -> int:
        return obj._cached_tokens

    @admin.display(description="total tokens")
    def total_tokens(self, obj: Any) -> int:
        return obj._total_tokens

    @admin.display(description="est. cost")
    def estimated_cost(self, obj: Any) -> str:
        return _money(obj._cost)


def _describe(call: ToolCall) -> str:
    """One line for a tool call in the thread page's turns."""
    parts = [call.type, call.status, call.name or call.server_label, call.query]
    return " · ".join(p for p in parts if p)[:200]


class TurnInline(UsageColumns, ReadOnlyInline):
    """Every message of the thread with its lineage, upstream calls and usage."""

    model = Message
    fk_name = "thread"
    verbose_name = "turn"
    verbose_name_plural = "turns (every message, every branch)"
    fields = [
        "id",
        "parent",
        "branch",
        "role",
        "author",
        "status",
        "context_mode",
        "response_ids",
        "timings",
        "error",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cached_tokens",
        "total_tokens",
        "estimated_cost",
        "tool_calls",
        "short_text",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        responses = UpstreamResponse.objects.filter(message=OuterRef("pk"))
        siblings = {
            "partition_by": [F("parent_id")],
            "order_by": [F("created_at"), F("id")],
        }
        return (
            super()
            .get_queryset(request)
            .select_related("author", "parent")
            .annotate(
                _branch_index=Window(RowNumber(), **siblings),
                _branch_count=Window(Count("id"), partition_by=[F("parent_id")]),
                **usage_annotations(responses, usage.prices()),
            )
            .prefetch_related("responses", "tool_calls")
            .order_by("created_at", "id")
        )

    @admin.display(description="branch")
    def branch(self, obj: Message) -> str:
        return f"{obj._branch_index}/{obj._branch_count}"

    @admin.display(description="responses")
    def response_ids(self, obj: Message) -> str:
        return format_html_join(
            "",
            "<div>{} <small>{} → {}</small></div>",
            (
                (
                    r.response_id or "—",
                    r.status,
                    r.previous_response_id or r.conversation_id or "new",
                )
                for r in obj.responses.all()
            ),
        )

    @admin.display(description="timings")
    def timings(self, obj: Message) -> str:
        parts = [obj.created_at.strftime("%Y-%m-%d %H:%M:%S")]
        if obj.time_to_first_token_ms is not None:
            parts.append(f"first token {obj.time_to_first_token_ms} ms")
        if obj.duration_ms is not None:
            parts.append(f"total {obj.duration_ms} ms")
        return " · ".join(parts)

    @admin.display(description="error")
    def error(self, obj: Message) -> str:
        if not obj.error_category and not obj.error_message:
            return ""
        return f"{obj.error_category}: {obj.error_message}"

    @admin.display(description="tool calls")
    def tool_calls(self, obj: Message) -> str:
        # Each call links to its read-only audit row (arguments, output, ...).
        return format_html_join(
            "",
            '<div><a href="{}">{}</a></div>',
            (
                (
                    reverse("admin:conversations_toolcall_change", args=[call.pk]),
                    _describe(call),
                )
                for call in obj.tool_calls.all()
            ),
        )

    @admin.display(description="text")
    def short_text(self, obj: Message) -> str:
        return obj.text[:120]


def attach_thread_usage(threads: list[Thread]) -> None:
    """Set turns, token totals, cost and tool calls on a page of threads.

    Three grouped queries over just these threads, whatever their size:
    far cheaper than a correlated subquery per column and row, or a GROUP BY
    over every thread before the page is cut.
    """
    ids = [t.pk for t in threads]
    totals = usage.grouped_usage(
        UpstreamResponse.objects.filter(message__thread_id__in=ids).order_by(),
        F("message__thread_id"),
        usage.prices(),
    )
    turns = dict(
        Message.objects.filter(thread_id__in=ids, role=Message.Role.USER)
        .order_by()
        .values("thread_id")
        .annotate(n=Count("id"))
        .values_list("thread_id", "n")
    )
    calls = dict(
        ToolCall.objects.filter(reply__thread_id__in=ids)
        .order_by()
        .values("reply__thread_id")
        .annotate(n=Count("id"))
        .values_list("reply__thread_id", "n")
    )
    for thread in threads:
        row = totals.get(thread.pk) or usage.Row(thread.pk, "")
        for name in usage.TOKEN_FIELDS:
            setattr(thread, f"_{name}", getattr(row, name))
        thread._cost = row.cost
        thread._turns = turns.get(thread.pk, 0)
        thread._tool_calls = calls.get(thread.pk, 0)


class UsageChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        attach_thread_usage(self.result_list)


class UsageThreadAdmin(UsageColumns, ThreadAdmin):
    list_display = [
        "__str__",
        "owner",
        "model",
        "turns",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cached_tokens",
        "total_tokens",
        "tool_call_count",
        "estimated_cost",
        "last_activity_at",
    ]
    list_select_related = ["owner"]
    list_filter = [
        ("owner", admin.RelatedOnlyFieldListFilter),
        "model",
        "archived",
        "last_activity_at",
        "created_at",
    ]
    search_fields = ["title", "messages__text"]
    inlines = [TurnInline]
    show_full_result_count = False

    def get_list_display(self, request: HttpRequest) -> list[str]:
        columns = list(super().get_list_display(request))
        if usage.team_lookup():
            columns.insert(2, "team")
        return columns

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters = list(super().get_list_filter(request))
        if usage.team_lookup():
            filters.insert(1, ("team", admin.RelatedOnlyFieldListFilter))
        return filters

    def get_queryset(self, request: HttpRequest) -> QuerySet[Thread]:
        # Not the base class's: its whole-table GROUP BY is what this replaces.
        related = ["owner", "team"] if usage.team_lookup() else ["owner"]
        return admin.ModelAdmin.get_queryset(self, request).select_related(*related)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return UsageChangeList

    @admin.display(description="turns")
    def turns(self, obj: Thread) -> int:
        return obj._turns

    @admin.display(description="tool calls")
    def tool_call_count(self, obj: Thread) -> int:
        return obj._tool_calls


admin.site.unregister(Thread)
admin.site.register(Thread, UsageThreadAdmin)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = [
        "model",
        "input_per_million",
        "output_per_million",
        "cached_input_per_million",
        "reasoning_per_million",
        "currency",
        "updated_at",
    ]
    list_editable = [
        "input_per_million",
        "output_per_million",
        "cached_input_per_million",
        "reasoning_per_million",
    ]
    search_fields = ["model"]


class QuotaChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        attach_quota_usage(self.result_list)


@admin.register(UserQuota)
class UserQuotaAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "daily_tokens",
        "used_today",
        "monthly_tokens",
        "used_this_month",
    ]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserQuota]:
        return super().get_queryset(request).select_related("user")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QuotaChangeList

    @admin.display(description="used today")
    def used_today(self, obj: UserQuota) -> int:
        return obj.used_today

    @admin.display(description="used this month")
    def used_this_month(self, obj: UserQuota) -> int:
        return obj.used_this_month


class TeamQuotaChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        attach_team_quota_usage(self.result_list)


@admin.register(TeamQuota)
class TeamQuotaAdmin(admin.ModelAdmin):
    """Team budgets with what the team's shared threads used (one extra query)."""

    list_display = [
        "team",
        "daily_tokens",
        "used_today",
        "monthly_tokens",
        "used_this_month",
    ]
    search_fields = ["team__name"]
    raw_id_fields = ["team"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TeamQuota]:
        return super().get_queryset(request).select_related("team")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TeamQuotaChangeList

    @admin.display(description="used today")
    def used_today(self, obj: TeamQuota) -> int:
        return obj.used_today

    @admin.display(description="used this month")
    def used_this_month(self, obj: TeamQuota) -> int:
        return obj.used_this_month
