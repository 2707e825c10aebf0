"""What an operator must know about the upstream, read from the stored replies."""

from datetime import timedelta

from django.utils import timezone

from conversations.models import Message

# Failures no retry or user action fixes: only an operator can.
OPERATOR_CATEGORIES = ("auth", "access_denied")
ALERT_WINDOW = timedelta(hours=24)

ALERT = (
    "The model provider refuses the credentials of this server: {count} "
    "repl{plural} failed with “{category}” since {since:%Y-%m-%d %H:%M} UTC. "
    "Check DASHSCOPE_API_KEY and DASHSCOPE_REGION (key, region and base URL must "
    "match), then restart the app."
)


def upstream_alert() -> str:
    """An alert while credential failures are newer than the last good reply."""
    since = timezone.now() - ALERT_WINDOW
    last_ok = (
        Message.objects.filter(
            role=Message.Role.ASSISTANT,
            status=Message.Status.COMPLETED,
            finished_at__gte=since,
        )
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    failures = Message.objects.filter(
        role=Message.Role.ASSISTANT,
        error_category__in=OPERATOR_CATEGORIES,
        finished_at__gte=last_ok or since,
    )
    count = failures.count()
    if not count:
        return ""
    first = failures.order_by("finished_at").first()
    assert first is not None and first.finished_at is not None
    return ALERT.format(
        count=count,
        plural="y" if count == 1 else "ies",
        category=first.error_category,
        since=first.finished_at,
    )
