from django.contrib import admin, messages
from django.db.models import Count, Sum

from conversations import access, share_links, teams
from conversations.health import upstream_alert
from conversations.models import (
    Attachment,
    BatchJob,
    Membership,
    Message,
    ShareLink,
    Team,
    Thread,
    UpstreamResponse,
)


class UpstreamAlertMixin:
    """Credential failures are shown on top of every list of this app."""

    def changelist_view(self, request, extra_context=None):
        if alert := upstream_alert():
            messages.error(request, alert)
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = [
        "id",
        "parent",
        "role",
        "status",
        "context_mode",
        "short_text",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="text")
    def short_text(self, obj: Message) -> str:
        return obj.text[:120]


class ResponseInline(ReadOnlyInline):
    model = UpstreamResponse
    fields = [
        "response_id",
        "previous_response_id",
        "conversation_id",
        "model",
        "status",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cached_tokens",
        "total_tokens",
        "tool_counts",
        "error_code",
    ]
    readonly_fields = fields


@admin.register(Thread)
class ThreadAdmin(UpstreamAlertMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "owner",
        "team",
        "model",
        "turns",
        "tokens",
        "archived",
        "last_activity_at",
    ]
    list_filter = ["model", "archived", "last_activity_at"]
    search_fields = ["title", "messages__text"]
    raw_id_fields = ["owner", "active_leaf", "conversation_tip"]
    actions = ["make_private"]
    readonly_fields = [
        # Sharing goes through `teams.thread_share`, which closes the sockets
        # of those who lose access; the admin uses the action below.
        "team",
        "conversation_id",
        "created_at",
        "updated_at",
        "last_activity_at",
    ]
    inlines = [MessageInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .annotate(
                _turns=Count("messages", distinct=True),
                _tokens=Sum("messages__responses__total_tokens"),
            )
        )

    @admin.display(description="messages", ordering="_turns")
    def turns(self, obj: Thread) -> int:
        return obj._turns

    @admin.display(description="total tokens", ordering="_tokens")
    def tokens(self, obj: Thread) -> int:
        return obj._tokens or 0

    @admin.action(description="Make private (stop sharing with its team)")
    def make_private(self, request, queryset) -> None:
        if not access.admin_may(request.user, "conversations.change_thread"):
            self.message_user(request, "You may not change threads.", level="error")
            return
        for thread in queryset.exclude(team=None):
            teams.thread_share(thread=thread, owner=thread.owner, team=None)
        self.message_user(request, "The selected threads are private now.")


@admin.register(Message)
class MessageAdmin(UpstreamAlertMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "thread",
        "role",
        "status",
        "context_mode",
        "error_category",
        "created_at",
    ]
    list_filter = ["role", "status", "context_mode", "error_category"]
    search_fields = ["text", "thread__title"]
    raw_id_fields = ["thread", "parent", "author"]
    readonly_fields = [
        "thread",
        "parent",
        "role",
        "author",
        "status",
        "client_id",
        "context_mode",
        "settings_used",
        "error_category",
        "error_message",
        "moderated",
        "created_at",
        "first_token_at",
        "finished_at",
        "heartbeat_at",
        "time_to_first_token_ms",
        "duration_ms",
    ]
    exclude = ["html"]
    inlines = [ResponseInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UpstreamResponse)
class UpstreamResponseAdmin(UpstreamAlertMixin, admin.ModelAdmin):
    list_display = [
        "response_id",
        "message",
        "model",
        "api",
        "status",
        "total_tokens",
        "created_at",
    ]
    list_filter = ["status", "model", "api"]
    search_fields = ["response_id", "previous_response_id", "conversation_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Issue #11: attachments and batch jobs -------------------------------------


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    """Progress and outcome of each Batch API job (read-only: the command runs them)."""

    list_display = [
        "batch_id",
        "kind",
        "attempt",
        "status",
        "total",
        "completed",
        "failed",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["batch_id", "input_file_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "thread", "size", "upstream_file_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "upstream_file_id"]
    readonly_fields = ["thread", "message", "uploader", "file", "upstream_file_id"]

    def has_add_permission(self, request) -> bool:
        return False


# --- Teams and share links (issue 6) -------------------------------------------


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = fields


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name", "memberships__user__username"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [MembershipInline]

    # Deleting goes through the service, so live views of its threads close.
    def delete_model(self, request, obj: Team) -> None:
        teams.team_delete(team=obj)

    def delete_queryset(self, request, queryset) -> None:
        for team in queryset:
            teams.team_delete(team=team)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Read-only rows; every removal (delete or action) goes through the service,
    so live sockets close and the team keeps an owner."""

    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "team__name"]
    actions = ["remove_members"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: Membership) -> None:
        self._remove(obj)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset.select_related("team"):
            self._remove(membership)

    def _remove(self, membership: Membership) -> None:
        # The admin acts as the team's owner would, and keeps the same rule:
        # a team never loses its last owner.
        owner = membership.team.memberships.filter(role="owner").first()
        teams.member_remove(
            team=membership.team, actor=owner or membership, target=membership
        )

    @admin.action(description="Remove from their team (closes their live views)")
    def remove_members(self, request, queryset) -> None:
        if not access.admin_may(request.user, "conversations.delete_membership"):
            self.message_user(request, "You may not remove members.", level="error")
            return
        removed = 0
        for membership in queryset.select_related("team"):
            try:
                self._remove(membership)
            except teams.TeamInvalid as exc:
                self.message_user(request, f"{membership}: {exc}", level="error")
            else:
                removed += 1
        self.message_user(request, f"{removed} membership(s) removed.")


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "thread",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at", "expires_at"]
    # The token is a credential: the admin never shows it.
    exclude = ["token", "snapshot"]
    readonly_fields = [
        "thread",
        "created_by",
        "title",
        "created_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected links")
    def revoke(self, request, queryset) -> None:
        if not access.admin_may(request.user, "conversations.change_sharelink"):
            self.message_user(request, "You may not revoke links.", level="error")
            return
        for link in queryset:
            share_links.share_link_revoke(link=link)
        self.message_user(request, "The selected links show nothing now.")


# Usage, costs and quotas (issue #7) live in their own module; importing it
# here registers them.
from conversations import admin_usage  # noqa: E402, F401

# --- Tools (issue #5) --------------------------------------------------------------
from conversations.models import McpServer, ToolCall, ToolDefaults  # noqa: E402


class ToolCallInline(ReadOnlyInline):
    model = ToolCall
    fields = ["position", "type", "status", "name", "query", "error", "started_at"]
    readonly_fields = fields


MessageAdmin.inlines = [*MessageAdmin.inlines, ToolCallInline]


@admin.register(ToolCall)
class ToolCallAdmin(admin.ModelAdmin):
    """The tool-call log as audit rows: filtered, searched, read, never edited."""

    list_display = [
        "__str__",
        "reply",
        "user",
        "type",
        "status",
        "name",
        "short_query",
        "started_at",
        "duration",
    ]
    list_filter = [
        "type",
        "status",
        "started_at",
        ("reply__thread__owner", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["query", "urls", "name", "server_label", "item_id", "call_id"]
    list_select_related = ["reply__thread__owner"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reply",
                    "user",
                    "position",
                    "type",
                    "status",
                    "name",
                    "server_label",
                    "call_id",
                    "response_id",
                    "item_id",
                ]
            },
        ),
        (
            "Call",
            {"fields": ["query", "arguments", "code", "urls", "sources"]},
        ),
        ("Result", {"fields": ["output", "error"]}),
        ("Timings", {"fields": ["started_at", "finished_at", "duration"]}),
        ("As the upstream sent it", {"fields": ["raw"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        *(f.name for f in ToolCall._meta.fields if f.name != "id"),
        "user",
        "duration",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reply__thread__owner")

    # Audit rows are evidence: nobody adds, edits or deletes them here.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="user", ordering="reply__thread__owner")
    def user(self, obj: ToolCall):
        return obj.reply.thread.owner

    @admin.display(description="query / goal")
    def short_query(self, obj: ToolCall) -> str:
        return obj.query[:80]

    @admin.display(description="duration")
    def duration(self, obj: ToolCall) -> str:
        ms = obj.duration_ms
        return "" if ms is None else f"{ms} ms"


@admin.register(McpServer)
class McpServerAdmin(admin.ModelAdmin):
    list_display = ["label", "url", "enabled"]
    list_filter = ["enabled"]
    filter_horizontal = ["threads"]


@admin.register(ToolDefaults)
class ToolDefaultsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tools", "enable_thinking", "tool_choice", "updated_at"]

    def has_add_permission(self, request) -> bool:
        # One row: it replaces QWEN_DEFAULT_TOOLS / QWEN_ENABLE_THINKING.
        return not ToolDefaults.objects.exists()
