"""Token budgets: checked before a reply calls the upstream.

A user with a `UserQuota` may use at most `daily_tokens` since local midnight
and `monthly_tokens` since the first of the month (the site's time zone).
A reply asked for over budget is stored as failed with `QUOTA_EXCEEDED` and
nothing is sent upstream; the user's own message is kept.

A team with a `TeamQuota` has the same two budgets over every reply in the
threads shared with it, whoever asked; a turn in such a thread must fit both
the asker's budget and the team's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Message, TeamQuota, UpstreamResponse, UserQuota
from conversations.usage import charged_to

QUOTA_CATEGORY = "quota"
QUOTA_EXCEEDED = _(
    "You have used {used:,} of your {limit:,} {period} tokens, so this reply was "
    "not sent to the model. Your budget renews {renews}; an administrator can "
    "raise it."
)
TEAM_QUOTA_EXCEEDED = _(
    "The team “{team}” has used {used:,} of its {limit:,} {period} tokens in "
    "its shared threads, so this reply was not sent to the model. The team budget "
    "renews {renews}; an administrator can raise it."
)
# How a team's usage is reached from a response: the thread of its reply.
TEAM_OF_RESPONSE = "message__thread__team"
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
        (quota.daily_tokens, day, _("daily"), _("at midnight")),
        (quota.monthly_tokens, month, _("monthly"), _("on the first of the month")),
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


def quota_refusal_for_reply(reply: Message) -> str | None:
    """The refusal for a reply about to be generated, charged as usage is
    (`reply` loaded with its parent's author and its thread's owner)."""
    parent = reply.parent
    user = parent.author if parent and parent.author else reply.thread.owner
    refusal = quota_refusal(user=user)
    if refusal is None and reply.thread.team_id is not None:
        refusal = team_quota_refusal(team_id=reply.thread.team_id)
    return refusal


def team_tokens_used(*, team_id: object, since: datetime) -> int:
    """Tokens of every reply in the team's threads since `since`, whoever asked."""
    total = (
        UpstreamResponse.objects.filter(
            **{f"{TEAM_OF_RESPONSE}_id": team_id}, created_at__gte=since
        )
        .order_by()
        .aggregate(total=Coalesce(Sum("total_tokens"), 0))["total"]
    )
    return int(total)


def team_quota_refusal(*, team_id: object) -> str | None:
    """Why the team's shared threads may not have another reply now, or None."""
    quota = TeamQuota.objects.select_related("team").filter(team_id=team_id).first()
    if quota is None:
        return None
    day, month = period_starts()
    checks = (
        (quota.daily_tokens, day, _("daily"), _("at midnight")),
        (quota.monthly_tokens, month, _("monthly"), _("on the first of the month")),
    )
    for limit, since, period, renews in checks:
        if limit is None:
            continue
        used = team_tokens_used(team_id=team_id, since=since)
        if used >= limit:
            return TEAM_QUOTA_EXCEEDED.format(
                team=quota.team.name,
                used=used,
                limit=limit,
                period=period,
                renews=renews,
            )
    return None


@dataclass(frozen=True, slots=True)
class NearLimit:
    username: str
    period: str
    used: int
    limit: int
    # "user" or "team"; for a team, `username` holds the team's name.
    kind: str = "user"

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.limit) if self.limit else 100


def attach_quota_usage(quotas: list[UserQuota]) -> None:
    """Set `used_today` and `used_this_month` on each quota: one query.

    One grouped pass over this month's responses of these users (an index
    range per user), rather than a subquery per quota and period.
    """
    day, month = period_starts()
    used = {
        row["user_id"]: row
        for row in UpstreamResponse.objects.filter(
            user_id__in=[q.user_id for q in quotas], created_at__gte=month
        )
        .order_by()
        .values("user_id")
        .annotate(
            month=Sum("total_tokens"),
            day=Sum("total_tokens", filter=Q(created_at__gte=day)),
        )
    }
    for quota in quotas:
        row = used.get(quota.user_id, {})
        quota.used_today = row.get("day") or 0
        quota.used_this_month = row.get("month") or 0


def quotas_with_usage() -> list[UserQuota]:
    """Every quota with what it has used (two queries)."""
    quotas = list(UserQuota.objects.select_related("user"))
    attach_quota_usage(quotas)
    return quotas


def attach_team_quota_usage(quotas: list[TeamQuota]) -> None:
    """Set `used_today` and `used_this_month` on each team quota: one query.

    As for users: one pass over this month's responses of these teams'
    threads, grouped by team.
    """
    day, month = period_starts()
    used = {
        row["team_id"]: row
        for row in UpstreamResponse.objects.filter(
            **{f"{TEAM_OF_RESPONSE}_id__in": [q.team_id for q in quotas]},
            created_at__gte=month,
        )
        .order_by()
        .values(team_id=F(f"{TEAM_OF_RESPONSE}_id"))
        .annotate(
            month=Sum("total_tokens"),
            day=Sum("total_tokens", filter=Q(created_at__gte=day)),
        )
    }
    for quota in quotas:
        row = used.get(quota.team_id, {})
        quota.used_today = row.get("day") or 0
        quota.used_this_month = row.get("month") or 0


def team_quotas_with_usage() -> list[TeamQuota]:
    """Every team quota with what its team has used (two queries)."""
    quotas = list(TeamQuota.objects.select_related("team"))
    attach_team_quota_usage(quotas)
    return quotas


def near_limit(*, ratio: float = NEAR_LIMIT_RATIO) -> list[NearLimit]:
    """User and team budgets used at least `ratio` of the way (or over).

    Fullest first; four queries whatever the number of quotas.
    """
    owners: list[tuple[str, str, UserQuota | TeamQuota]] = [
        ("user", quota.user.get_username(), quota) for quota in quotas_with_usage()
    ]
    owners += [("team", quota.team.name, quota) for quota in team_quotas_with_usage()]
    rows = []
    for kind, name, quota in owners:
        for period, limit, used in (
            ("daily", quota.daily_tokens, quota.used_today),
            ("monthly", quota.monthly_tokens, quota.used_this_month),
        ):
            if limit is not None and used >= ratio * limit:
                rows.append(NearLimit(name, period, used, limit, kind))
    rows.sort(key=lambda r: (-r.used / max(r.limit, 1), r.kind, r.username))
    return rows
