"""The tool-call audit log in the admin, once the `ToolCall` model exists.

The tool-call log (one row per output item other than the final message) is
another feature's model. This module adapts to it rather than naming its
fields: it finds the model, its foreign key to `Message` and whichever of the
usual fields it has, and registers a read-only admin for it. Until the model
exists every function here answers None and nothing is registered.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.http import HttpRequest

from conversations.models import Message

TYPE_FIELDS = ("type", "item_type", "kind", "tool_type")
STATUS_FIELDS = ("status",)
DATE_FIELDS = ("created_at", "started_at")
SEARCH_FIELDS = ("query", "arguments", "url", "urls", "goal", "name", "sources")
DETAIL_FIELDS = ("arguments", "query", "sources", "urls", "output", "error")


def tool_call_model() -> type[models.Model] | None:
    try:
        return apps.get_model("conversations", "ToolCall")
    except LookupError:
        return None


def message_fk() -> models.ForeignKey | None:
    """The ToolCall field pointing at the reply that made the call."""
    model = tool_call_model()
    if model is None:
        return None
    for f in model._meta.get_fields():
        if isinstance(f, models.ForeignKey) and f.related_model is Message:
            return f
    return None


def tool_calls_related_name() -> str | None:
    """The accessor from a `Message` to its tool calls (for prefetching)."""
    fk = message_fk()
    return fk.remote_field.get_accessor_name() if fk else None


def tool_calls_per_thread(thread_ids: list[Any]) -> dict[Any, int] | None:
    """How many tool calls each of these threads has (one grouped query)."""
    model, fk = tool_call_model(), message_fk()
    if model is None or fk is None:
        return None
    return dict(
        model._default_manager.filter(**{f"{fk.name}__thread_id__in": thread_ids})
        .order_by()
        .values(f"{fk.name}__thread_id")
        .annotate(n=Count("pk"))
        .values_list(f"{fk.name}__thread_id", "n")
    )


def _present(model: type[models.Model], names: tuple[str, ...]) -> list[str]:
    have = {f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)}
    return [n for n in names if n in have]


def describe(call: Any) -> str:
    """One line for a tool call in the thread page's turns."""
    parts = [
        str(getattr(call, n))
        for n in (*TYPE_FIELDS, *STATUS_FIELDS, "query", "name")
        if getattr(call, n, "")
    ]
    return " · ".join(parts)[:200]


class ReadOnlyAuditAdmin(admin.ModelAdmin):
    """Audit rows are evidence: nobody adds, edits or deletes them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def build_tool_call_admin() -> type[admin.ModelAdmin] | None:
    """A read-only admin shaped by the fields `ToolCall` has."""
    model, fk = tool_call_model(), message_fk()
    if model is None or fk is None:
        return None
    kind = _present(model, TYPE_FIELDS)
    status = _present(model, STATUS_FIELDS)
    dates = _present(model, DATE_FIELDS)
    attrs: dict[str, Any] = {
        "list_display": ["__str__", fk.name, *kind, *status, *dates, "user"],
        "list_filter": [
            *kind,
            *status,
            *dates,
            (f"{fk.name}__thread__owner", admin.RelatedOnlyFieldListFilter),
        ],
        "search_fields": _present(model, SEARCH_FIELDS),
        "list_select_related": [f"{fk.name}__thread__owner"],
        "raw_id_fields": [fk.name],
        "readonly_fields": [
            f.name for f in model._meta.concrete_fields if f.name != "id"
        ],
        "user": admin.display(description="user")(
            lambda self, obj: getattr(obj, fk.name).thread.owner
        ),
    }
    return type("ToolCallAdmin", (ReadOnlyAuditAdmin,), attrs)


def register(site: admin.AdminSite = admin.site, *, replace: bool = True) -> bool:
    """Register the read-only audit admin for tool calls, if the model exists.

    With `replace`, it supersedes a plainer registration made earlier (the
    tool feature's own list): the audit view must not allow deleting rows and
    needs the date and user filters and the URL search.
    """
    model = tool_call_model()
    if model is None:
        return False
    if site.is_registered(model):
        if not replace:
            return False
        site.unregister(model)
    admin_class = build_tool_call_admin()
    if admin_class is None:
        return False
    site.register(model, admin_class)
    return True
