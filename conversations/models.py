"""Threads, the tree of messages in each, and every upstream response.

A thread is a tree: each message points at its parent, so regenerating a
reply or editing a message adds a sibling branch instead of rewriting history.
`Thread.active_leaf` marks the path on screen (root to that leaf).
"""

import os
import re
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Thread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="threads"
    )
    title = models.CharField(max_length=200, blank=True)
    # A short summary written by `manage.py batch_titles` (issue #11).
    summary = models.TextField(blank=True)
    model = models.CharField(max_length=64)
    instructions = models.TextField(blank=True)
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    enable_thinking = models.BooleanField(default=False)
    tools = models.JSONField(default=list, blank=True)
    tool_choice = models.CharField(max_length=16, default="auto")
    session_cache = models.BooleanField(default=False)
    # The server-side Conversation this thread continues, and the reply that
    # is known to be its last turn (only a turn continuing it may use it).
    conversation_id = models.CharField(max_length=128, blank=True)
    conversation_tip = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active_leaf = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived = models.BooleanField(default=False)
    # Shared with one team (its members read it; members who may post, post),
    # or private to its owner when empty.
    team = models.ForeignKey(
        "Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="threads",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(
                fields=["owner", "archived", "-last_activity_at"], name="thread_sidebar"
            )
        ]

    def __str__(self) -> str:
        return self.title or "Untitled thread"

    def get_absolute_url(self) -> str:
        return reverse("thread", args=[self.id])


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    TERMINAL = (Status.COMPLETED, Status.STOPPED, Status.FAILED, Status.INTERRUPTED)

    class ContextMode(models.TextChoices):
        NEW = "new", "New conversation"
        CONVERSATION = "conversation", "Continued by conversation"
        PREVIOUS_RESPONSE = "previous_response", "Continued by previous response"
        REBUILT = "rebuilt", "Rebuilt locally"

    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="messages"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(blank=True)
    # The sanitised rendering of `text`, made once when the text is final.
    html = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.COMPLETED
    )
    # Idempotency: a send replayed by a reconnecting socket carries the same id.
    client_id = models.CharField(max_length=64, blank=True)
    error_category = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    context_mode = models.CharField(
        max_length=24, choices=ContextMode.choices, blank=True
    )
    # The settings the reply was generated with (model, instructions, ...).
    settings_used = models.JSONField(default=dict, blank=True)
    # Flagged by content moderation: left out of any context rebuilt locally.
    moderated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    first_token_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched by the process generating the reply; a stale one means it died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["thread", "created_at"], name="message_thread_time"),
            models.Index(fields=["status", "heartbeat_at"], name="message_inflight"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "client_id"],
                condition=~models.Q(client_id=""),
                name="message_unique_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def time_to_first_token_ms(self) -> int | None:
        if self.first_token_at is None:
            return None
        return round((self.first_token_at - self.created_at).total_seconds() * 1000)

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.created_at).total_seconds() * 1000)


class UpstreamResponse(models.Model):
    """One call to the Responses API made for a reply (an agent loop makes several)."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="responses"
    )
    response_id = models.CharField(max_length=128, blank=True, db_index=True)
    previous_response_id = models.CharField(max_length=128, blank=True)
    conversation_id = models.CharField(max_length=128, blank=True)
    model = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    tool_counts = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    # "responses", or "chat" for a turn with images or documents (issue #11):
    # a chat completion id can never continue a Responses turn.
    api = models.CharField(max_length=16, default="responses")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who the tokens are charged to: the author of the message answered, else
    # the thread's owner. Kept here so budgets and per-user totals need no join.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["user", "created_at"], name="response_user_time")
        ]

    def __str__(self) -> str:
        return self.response_id or f"response #{self.pk}"


# --- Attachments, embeddings, batch jobs (issue #11) --------------------------


def _attachment_path(instance: "Attachment", filename: str) -> str:
    # A random name: the user's file name is kept in `name`, never in a path.
    suffix = os.path.splitext(filename)[1].lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,6}", suffix):
        suffix = ""
    return f"attachments/{instance.thread_id}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """An image or a document a user attached; served only through a checked view."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        DOCUMENT = "document", "Document"

    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="attachments"
    )
    # Empty until the message it was attached to is sent.
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    file = models.FileField(upload_to=_attachment_path, max_length=255)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    # The File API id of a document (purpose=file-extract).
    upstream_file_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class MessageEmbedding(models.Model):
    """A message's vector (float32, packed) for search by meaning.

    A plain binary column compared in Python: pgvector is not available on
    every install, and a small install's few thousand messages fit in memory.
    """

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="embedding"
    )
    model = models.CharField(max_length=64)
    dimensions = models.PositiveSmallIntegerField()
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"embedding of message #{self.message_id}"


class BatchJob(models.Model):
    """One Batch API job (titles and summaries for many threads)."""

    kind = models.CharField(max_length=32, default="titles")
    batch_id = models.CharField(max_length=128, blank=True, db_index=True)
    status = models.CharField(max_length=32, default="created")
    attempt = models.PositiveSmallIntegerField(default=1)
    input_file_id = models.CharField(max_length=128, blank=True)
    output_file_id = models.CharField(max_length=128, blank=True)
    error_file_id = models.CharField(max_length=128, blank=True)
    total = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # custom_id -> "applied" | "failed: <reason>" | "pending"
    lines = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.batch_id or f"batch job #{self.pk}"


# --- Teams, shared threads and read-only share links (issue 6) -------------


class Team(models.Model):
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team", args=[self.pk])


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")
        VIEWER = "viewer", _("Viewer")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class ShareLink(models.Model):
    """A read-only snapshot of a thread's path, reachable by an unguessable token.

    The snapshot is copied at creation (title, and per message its role, the
    author's display name and the sanitised HTML), so later turns, branches and
    renames never leak through an old link.
    """

    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="share_links"
    )
    token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(max_length=200, blank=True)
    snapshot = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"link to {self.title or 'Untitled thread'}"

    def get_absolute_url(self) -> str:
        return reverse("share-link", args=[self.token])


# --- Usage: prices and token budgets (issue #7) ------------------------------


class ModelPrice(models.Model):
    """The provider's list price of one model, per million tokens.

    Estimates are always computed with the current row, so editing a price
    re-prices the whole history: the figures follow the provider's price list.
    """

    model = models.CharField(max_length=64, unique=True)
    input_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    # Blank: cached input / reasoning output cost the same as plain input / output.
    cached_input_per_million = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    reasoning_per_million = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    currency = models.CharField(max_length=8, default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


class UserQuota(models.Model):
    """An optional token budget for one user; blank limits mean unlimited."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_quota"
    )
    daily_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_tokens = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"quota of {self.user}"


# --- Tools (issue #5) -----------------------------------------------------------


class McpServer(models.Model):
    """An MCP server an admin offers to the model as an `mcp` tool.

    `headers` (tokens, usually) go upstream only: never to a page or a log.
    """

    label = models.SlugField(
        max_length=64, unique=True, help_text="The tool's server_label."
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=300, blank=True)
    protocol = models.CharField(max_length=16, default="sse")
    headers = models.JSONField(default=dict, blank=True)
    allowed_tools = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # On the server side of the relation so Thread itself stays untouched.
    threads = models.ManyToManyField(Thread, blank=True, related_name="mcp_servers")

    class Meta:
        ordering = ["label"]
        verbose_name = "MCP server"

    def __str__(self) -> str:
        return self.label


class ToolDefaults(models.Model):
    """Defaults for new threads set in the admin; the environment's otherwise.

    A single row (the first one) is used; none means the environment decides.
    """

    tools = models.JSONField(default=list, blank=True)
    enable_thinking = models.BooleanField(default=False)
    tool_choice = models.CharField(max_length=16, default="auto")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "tool defaults"
        verbose_name_plural = "tool defaults"

    def __str__(self) -> str:
        return "Tool defaults for new threads"


class ToolCall(models.Model):
    """One output item of a reply other than its message: the tool-call log.

    `raw` keeps the item exactly as the upstream sent it, including DashScope
    types the SDK does not model; the other columns are what an audit reads.
    """

    reply = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="tool_calls"
    )
    # Order within the reply across every upstream call of its agent loop.
    position = models.PositiveIntegerField()
    response_id = models.CharField(max_length=128, blank=True)
    item_id = models.CharField(max_length=128, blank=True)
    type = models.CharField(max_length=40)
    status = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=128, blank=True)
    server_label = models.CharField(max_length=64, blank=True)
    call_id = models.CharField(max_length=128, blank=True)
    query = models.TextField(blank=True)
    arguments = models.TextField(blank=True)
    sources = models.JSONField(default=list, blank=True)
    urls = models.JSONField(default=list, blank=True)
    code = models.TextField(blank=True)
    output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reply", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["reply", "position"], name="toolcall_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.position} of reply {self.reply_id}"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds() * 1000)


class TeamQuota(models.Model):
    """An optional token budget for a team's shared threads; blank means unlimited.

    It counts every reply in the team's threads, whoever asked, and applies on
    top of each asker's own `UserQuota`.
    """

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="token_quota"
    )
    daily_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_tokens = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["team__name", "team_id"]

    def __str__(self) -> str:
        return f"quota of team {self.team}"
