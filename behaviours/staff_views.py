"""Pages for the group's staff: dashboard, export, factor versions. Roles decide the lines."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from behaviours import reports, selectors
from behaviours.models import ChangeKind, EmissionFactor
from behaviours.reference_changes import may_change
from behaviours.staff_forms import PeriodForm, period_heading
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Audience, StaffRoleKind
from carbon_accounts.roles import Access, staff_page
from config.form_fields import PlainDateField
from rewards import selectors as rewards_selectors


def _visible_lines(access: Access) -> list:  # type: ignore[type-arg]
    return [line for line in ledger_selectors.business_lines() if access.sees_line(line.pk)]


class ExportForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), help_text=_("2026-Q2, 2026-05, 2026 or 2026-03-05..2026-04-10"), max_length=22
    )
    format = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "XLSX"), ("csv", "CSV")])
    as_reported_on = PlainDateField(
        label=_("As reported on"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The day ends in the platform's time zone, which a browser elsewhere may not share.
        self.fields["as_reported_on"].help_text = gettext(
            "Blank: as restated, every posting up to now, corrections included. A day: only what "
            "had been posted by the end of that day in %(zone)s time, as an export made then showed."
        ) % {"zone": timezone.get_default_timezone_name()}
        # The date picker offers no day after today; the check below still refuses one typed in.
        self.fields["as_reported_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_period(self) -> reports.Period:
        try:
            return reports.parse_period(self.cleaned_data["period"])
        except reports.PeriodError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_as_reported_on(self) -> date | None:
        day: date | None = self.cleaned_data["as_reported_on"]
        if day is not None:
            try:
                ledger_selectors.check_reported_on(day, today=timezone.localdate())
            except ledger_selectors.ReportedOnError as error:
                raise forms.ValidationError(str(error)) from None
        return day


# Up to about two months a chart has a bar per day; beyond, a bar per month.
DAILY_UP_TO_DAYS = 62


def _buckets(period: reports.Period) -> tuple[str, list[date]]:
    """Every day or month of the period, so each small chart has the same axis, gaps included."""
    if (period.end - period.start).days < DAILY_UP_TO_DAYS:
        days = (period.end - period.start).days + 1
        return "day", [period.start + timedelta(days=n) for n in range(days)]
    months = []
    month = period.start.replace(day=1)
    while month <= period.end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return "month", months


def _line_name(line: object) -> str:
    return str(getattr(line, "name_en" if (get_language() or "").startswith("en") else "name_zh"))


def _figures(period: reports.Period, lines: list) -> dict[str, object]:  # type: ignore[type-arg]
    granularity, buckets = _buckets(period)
    rows = ledger_selectors.issued_totals(
        period=granularity,
        start=period.start,
        end=period.end,
        line_ids=[line.pk for line in lines],
        unit="gCO2e",
    )
    by_line: dict[str | None, dict[date, int]] = {}
    for row in rows:
        line_totals = by_line.setdefault(row.line_code, {})
        line_totals[row.period] = line_totals.get(row.period, 0) + row.amount
    series = []
    for line in lines:
        amounts = by_line.get(line.code, {})
        series.append(
            {
                "code": line.code,
                "label": _line_name(line),
                "operational": line.audience == Audience.EMPLOYEE,
                "total_kg": Decimal(sum(amounts.values())) / 1000,
                "data": [float(Decimal(amounts.get(bucket, 0)) / 1000) for bucket in buckets],
            }
        )
    label_format = "%m-%d" if granularity == "day" else "%Y-%m"
    # Two figures, never one sum: customer reductions are ecosystem (Scope 3+), not operations.
    operational_kg = sum((s["total_kg"] for s in series if s["operational"]), Decimal(0))
    ecosystem_kg = sum((s["total_kg"] for s in series if not s["operational"]), Decimal(0))
    # Fileable and self-declared apart, from the same postings the export reads.
    claims = reports.claim_totals(list(reports.reduction_rows(period, [line.pk for line in lines])))
    return {
        "operational_fileable_kg": Decimal(claims["operational"][0]) / 1000,
        "operational_self_declared_kg": Decimal(claims["operational"][1]) / 1000,
        "ecosystem_fileable_kg": Decimal(claims["ecosystem"][0]) / 1000,
        "ecosystem_self_declared_kg": Decimal(claims["ecosystem"][1]) / 1000,
        "operational_series": [s for s in series if s["operational"]],
        "ecosystem_series": [s for s in series if not s["operational"]],
        "operational_kg": operational_kg,
        "ecosystem_kg": ecosystem_kg,
        # Each line gets a chart and a scale of its own: a large line never flattens a small one.
        "chart": {
            "labels": [bucket.strftime(label_format) for bucket in buckets],
            "unit": "kg CO2e",
            "series": [{"code": s["code"], "data": s["data"]} for s in series],
        },
    }


@staff_page()
def dashboard(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    lines = _visible_lines(access)
    period_form = PeriodForm.for_request(request.GET.dict(), timezone.localdate())
    context: dict[str, object] = {
        "access": access,
        "role_label": StaffRoleKind(access.role).label,
        "period_form": period_form,
        "liability": [
            (_line_name(line), rewards_selectors.points_liability(line_id=line.pk)) for line in lines
        ],
        "held": selectors.review_queue().filter(line_id__in=[line.pk for line in lines]).count(),
    }
    if not period_form.is_valid():
        context["export_form"] = ExportForm(initial={"format": "xlsx"})
        return render(request, "behaviours/staff/dashboard.html", context, status=400)
    period: reports.Period = period_form.cleaned_data["period"]
    context.update(_figures(period, lines))
    context["period_heading"] = period_heading(period)
    context["export_form"] = ExportForm(initial={"period": period.label, "format": "xlsx"})
    return render(request, "behaviours/staff/dashboard.html", context)


@staff_page()
def export(request: HttpRequest) -> HttpResponse | FileResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(request, "behaviours/staff/export_error.html", {"form": form}, status=400)
    period: reports.Period = form.cleaned_data["period"]
    as_reported_on: date | None = form.cleaned_data["as_reported_on"]
    line_ids = None if access.line_ids is None else sorted(access.line_ids)
    stem = reports.file_stem(period, as_reported_on, made_on=timezone.localdate())
    if form.cleaned_data["format"] == "csv":
        buffer = StringIO()
        reports.write_csv(period, line_ids, buffer, as_reported_on=as_reported_on)
        response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return response
    path = reports.xlsx_file(period, line_ids, as_reported_on=as_reported_on)
    handle = path.open("rb")
    path.unlink()  # the open handle keeps the data until the response is sent
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{stem}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@staff_page()
def factor_versions(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    factors = EmissionFactor.objects.order_by("activity", "region_id", "valid_from", "version")
    return render(
        request,
        "behaviours/staff/factors.html",
        {
            "factors": factors,
            "shows_ogl": any(f.is_open_government_licence for f in factors),
            "may_propose": may_change(access, kind=ChangeKind.FACTOR),
        },
    )
