"""The staff-only usage dashboard: tokens and estimated cost, charts, CSV.

Mounted under `/admin/usage/` and wrapped by the admin site's `admin_view`
(a staff login); access is decided by `access.can_view_usage`.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_GET

from conversations.access import can_view_usage
from conversations.quotas import NEAR_LIMIT_RATIO, near_limit
from conversations.usage import Period, report_csv, usage_report

DEFAULT_DAYS = 30
MAX_DAYS = 366
RANGE_TOO_LONG = f"Choose a range of at most {MAX_DAYS} days."
RANGE_BACKWARDS = "The start must be on or before the end."


class PeriodForm(forms.Form):
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        default = Period.last_days(DEFAULT_DAYS)
        end = data.get("end") or default.end
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError(RANGE_BACKWARDS)
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(RANGE_TOO_LONG)
        data["period"] = Period(start, end)
        return data


def _period(request: HttpRequest) -> tuple[PeriodForm, Period]:
    if not can_view_usage(request.user):
        raise PermissionDenied
    default = Period.last_days(DEFAULT_DAYS)
    form = PeriodForm(
        request.GET or None, initial={"start": default.start, "end": default.end}
    )
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["period"]
    return form, default


@require_GET
def usage_dashboard(request: HttpRequest) -> TemplateResponse:
    form, period = _period(request)
    report = usage_report(period=period)
    context = {
        **admin.site.each_context(request),
        "title": "Usage and estimated cost",
        "form": form,
        "report": report,
        "near_limit": near_limit(),
        "near_limit_percent": round(NEAR_LIMIT_RATIO * 100),
        "query": request.GET.urlencode(),
        "chart": _day_chart(report.per_day),
    }
    return TemplateResponse(request, "admin/usage/dashboard.html", context)


@require_GET
def usage_csv(request: HttpRequest) -> HttpResponse:
    _, period = _period(request)
    response = HttpResponse(
        report_csv(usage_report(period=period)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="usage-{period.start}-{period.end}.csv"'
    )
    return response


def _day_chart(rows: list) -> dict:
    """Geometry of the per-day bar chart, drawn as inline SVG by the template."""
    width, height, gap = 720, 160, 2
    step = width / max(len(rows), 1)
    bars = []
    for i, row in enumerate(rows):
        h = round(height * row.bar / 100, 1)
        bars.append(
            {
                "x": round(i * step, 1),
                "y": round(height - h, 1),
                "w": max(round(step - gap, 1), 1),
                "h": h,
                "row": row,
                "label": isinstance(row.key, date) and (i == 0 or row.key.day == 1),
            }
        )
    return {"width": width, "height": height, "bars": bars}


urlpatterns = [
    path("", admin.site.admin_view(usage_dashboard), name="usage-dashboard"),
    path("export.csv", admin.site.admin_view(usage_csv), name="usage-csv"),
]
