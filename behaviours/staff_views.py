"""Pages for the group's staff: dashboard, export, factor versions. Roles decide the lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from behaviours import reports, selectors
from behaviours.models import EmissionFactor
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Audience, StaffRoleKind
from carbon_accounts.roles import Access, staff_page
from rewards import selectors as rewards_selectors


def _visible_lines(access: Access) -> list:  # type: ignore[type-arg]
    return [line for line in ledger_selectors.business_lines() if access.sees_line(line.pk)]


class ExportForm(forms.Form):
    period = forms.CharField(label=_("Period"), help_text=_("2026-Q2, 2026-05 or 2026"), max_length=7)
    format = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "XLSX"), ("csv", "CSV")])

    def clean_period(self) -> reports.Period:
        try:
            return reports.parse_period(self.cleaned_data["period"])
        except reports.PeriodError as error:
            raise forms.ValidationError(str(error)) from None


def _quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@staff_page()
def dashboard(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    lines = _visible_lines(access)
    line_ids = [line.pk for line in lines]
    rows = ledger_selectors.issued_totals(period="month", line_ids=line_ids, unit="gCO2e")
    months = sorted({row.period for row in rows})
    series = []
    for line in lines:
        by_month = {row.period: 0 for row in rows}
        for row in rows:
            if row.line_code == line.code:
                by_month[row.period] += row.amount
        series.append(
            {
                "label": f"{line.name_en} · {line.name_zh}",
                "operational": line.audience == Audience.EMPLOYEE,
                "data": [round(by_month.get(month, 0) / 1000, 3) for month in months],
            }
        )
    operational_codes = {line.code for line in lines if line.audience == Audience.EMPLOYEE}
    # Two figures, never one sum: customer reductions are ecosystem (Scope 3+), not operations.
    operational_g = sum(row.amount for row in rows if row.line_code in operational_codes)
    ecosystem_g = sum(row.amount for row in rows if row.line_code not in operational_codes)
    chart = {"months": [month.strftime("%Y-%m") for month in months], "series": series}
    return render(
        request,
        "behaviours/staff/dashboard.html",
        {
            "access": access,
            "role_label": StaffRoleKind(access.role).label,
            "chart": chart,
            "operational_kg": Decimal(operational_g) / 1000,
            "ecosystem_kg": Decimal(ecosystem_g) / 1000,
            "liability": [(line, rewards_selectors.points_liability(line_id=line.pk)) for line in lines],
            "held": selectors.review_queue().filter(line_id__in=line_ids).count(),
            "export_form": ExportForm(
                initial={"period": _quarter_label(timezone.localdate()), "format": "xlsx"}
            ),
        },
    )


@staff_page()
def export(request: HttpRequest) -> HttpResponse | FileResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(request, "behaviours/staff/export_error.html", {"form": form}, status=400)
    period: reports.Period = form.cleaned_data["period"]
    line_ids = None if access.line_ids is None else sorted(access.line_ids)
    if form.cleaned_data["format"] == "csv":
        buffer = StringIO()
        reports.write_csv(period, line_ids, buffer)
        response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="reductions-{period.label}.csv"'
        return response
    path = reports.xlsx_file(period, line_ids)
    handle = path.open("rb")
    path.unlink()  # the open handle keeps the data until the response is sent
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"reductions-{period.label}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@staff_page()
def factor_versions(request: HttpRequest) -> HttpResponse:
    factors = EmissionFactor.objects.order_by("activity", "region_id", "valid_from", "version")
    return render(
        request,
        "behaviours/staff/factors.html",
        {"factors": factors, "shows_ogl": any(f.is_open_government_licence for f in factors)},
    )
