from django.contrib import admin
from django.db.models import Count, Sum

from conversations.models import (
    Attachment,
    BatchJob,
    Message,
    Thread,
    UpstreamResponse,
)


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
class ThreadAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "owner",
        "model",
        "turns",
        "tokens",
        "archived",
        "last_activity_at",
    ]
    list_filter = ["model", "archived", "last_activity_at"]
    search_fields = ["title", "messages__text"]
    raw_id_fields = ["owner", "active_leaf", "conversation_tip"]
    readonly_fields = [
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


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
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
class UpstreamResponseAdmin(admin.ModelAdmin):
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
