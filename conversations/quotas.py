"""Token budgets: checked before a reply calls the upstream.

A user with a `UserQuota` may use at most `daily_tokens` since local midnight
and `monthly_tokens` since the first of the month (the site's time zone).
A reply asked for over budget is stored as failed with `QUOTA_EXCEEDED` and
nothing is sent upstream; the user's own message is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations.models import Message, UpstreamResponse, UserQuota
from conversations.usage import charged_to

QUOTA_CATEGORY = "quota"
QUOTA_EXCEEDED = (
    "You have used {used:,} of your {limit:,} {period} tokens, so this reply was "
    "not sent to the model. Your budget renews {renews}; an administrator can "
    "raise it."
)
# The dashboard lists budgets used at least this much.
NEAR_LIMIT_RATIO = 0.8


def period_starts(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start of today and of this month, in the site's time zone."""
    local = timezone.localtime(now)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def tokens_used(*, user_id: object, since: datetime) -> int:
    total = (
        UpstreamResponse.objects.filter(charged_to(user_id), created_at__gte=since)
        .order_by()
        .aggregate(total=Coalesce(Sum("total_tokens"), 0))["total"]
    )
    return int(total)


def quota_refusal(*, user: AbstractBaseUser | None) -> str | None:
    """Why `user` may not have another reply now, or None if they may."""
    if user is None:
        return None
    quota = UserQuota.objects.filter(user=user).first()
    if quota is None:
        return None
    day, month = period_starts()
    checks = (
        (quota.daily_tokens, day, "daily", "at midnight"),
        (quota.monthly_tokens, month, "monthly", "on the first of the month"),
    )
    for limit, since, period, renews in checks:
        if limit is None:
            continue
        used = tokens_used(user_id=user.pk, since=since)
        if used >= limit:
            return QUOTA_EXCEEDED.format(
                used=used, limit=limit, period=period, renews=renews
            )
    return None


def quota_refusal_for_reply(reply_id: int) -> str | None:
    """The refusal for a reply about to be generated, charged as usage is."""
    reply = Message.objects.select_related("parent__author", "thread__owner").get(
        pk=reply_id
    )
    parent = reply.parent
    user = parent.author if parent and parent.author else reply.thread.owner
    return quota_refusal(user=user)


def _used_since(since: datetime) -> Subquery:
    return Subquery(
        UpstreamResponse.objects.filter(
            charged_to(OuterRef("user_id")), created_at__gte=since
        )
        .order_by()
        .annotate(total=Func(F("total_tokens"), function="SUM"))
        .values("total")[:1],
        output_field=IntegerField(),
    )


@dataclass(frozen=True, slots=True)
class NearLimit:
    username: str
    period: str
    used: int
    limit: int

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.limit) if self.limit else 100


def quotas_with_usage() -> QuerySet[UserQuota]:
    """Every quota with `used_today` and `used_this_month`: one query."""
    day, month = period_starts()
    return UserQuota.objects.select_related("user").annotate(
        used_today=Coalesce(_used_since(day), 0),
        used_this_month=Coalesce(_used_since(month), 0),
    )


def near_limit(*, ratio: float = NEAR_LIMIT_RATIO) -> list[NearLimit]:
    """Budgets used at least `ratio` of the way (or over), fullest first."""
    rows = []
    for quota in quotas_with_usage():
        for period, limit, used in (
            ("daily", quota.daily_tokens, quota.used_today),
            ("monthly", quota.monthly_tokens, quota.used_this_month),
        ):
            if limit is not None and used >= ratio * limit:
                rows.append(NearLimit(quota.user.get_username(), period, used, limit))
    rows.sort(key=lambda r: (-r.used / max(r.limit, 1), r.username))
    return rows
