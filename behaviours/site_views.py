"""Staff pages for sites: the sites of the lines a staff member sees, with their metered
savings, and the form facility staff record a saving on."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from behaviours import metering, selectors, services
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Site
from carbon_accounts.roles import Access, staff_page
from config import numbers
from config.form_fields import PlainDateField, PlainDecimalField

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# The channel of a saving entered by facility staff: trusted as a reviewer's check of readings.
FACILITY_STAFF = "facility_staff"


def _reading(label: StrOrPromise, required: bool = True) -> PlainDecimalField:
    return PlainDecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_digits=15,
        decimal_places=3,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class MeteredSavingForm(forms.Form):
    utility = forms.ChoiceField(
        label=_("Utility"),
        choices=[(metering.ELECTRICITY, _("Electricity (kWh)")), (metering.WATER, _("Water (m3)"))],
    )
    period_start = PlainDateField(label=_("Period from"))
    period_end = PlainDateField(label=_("Period to"))
    start_reading = _reading(_("Meter reading at the start of the period"))
    end_reading = _reading(_("Meter reading at the end of the period"))
    baseline_mode = forms.ChoiceField(
        label=_("Baseline"),
        choices=[
            (metering.READINGS, _("The meter's readings before the work")),
            (metering.STATED, _("A stated baseline (e.g. the same period last year)")),
        ],
        widget=forms.RadioSelect,
    )
    baseline_start_reading = _reading(_("Baseline period: reading at the start"), required=False)
    baseline_end_reading = _reading(_("Baseline period: reading at the end"), required=False)
    stated_baseline = _reading(_("Stated baseline use"), required=False)
    baseline_note = forms.CharField(label=_("What the stated baseline is"), max_length=200, required=False)
    evidence_id = forms.CharField(
        label=_("Reading reference"),
        max_length=120,
        help_text=_("The reference of the meter reading or the utility bill; it is the record's evidence."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def readings(self) -> metering.MeterReadings:
        return metering.readings_from(self.cleaned_data)


def site_name(site: Site) -> str:
    return site.name_en if (get_language() or "").startswith("en") else site.name_zh


def _visible_sites(access: Access) -> list[Site]:
    line_ids = None if access.line_ids is None else sorted(access.line_ids)
    return list(ledger_selectors.sites(line_ids=line_ids))


@staff_page()
def site_list(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    sites = _visible_sites(access)
    savings = selectors.site_savings(account_ids=[site.account_id for site in sites])
    rows = [
        {
            "site": site,
            "name": site_name(site),
            "balance_kg": Decimal(site.account.balance_g) / 1000,
            "savings": savings.get(site.account_id, []),
        }
        for site in sites
    ]
    return render(request, "behaviours/staff/sites.html", {"rows": rows, "may_record": access.can_write})


# Where a refusal's field is not on the form, the field it is about there.
_FORM_FIELDS = {"occurred_on": "period_end", "quantity": "end_reading"}


@staff_page(write=True)
def record_saving(request: HttpRequest, site_id: int) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    site = next((site for site in _visible_sites(access) if site.pk == site_id), None)
    if site is None:
        raise Http404
    if not access.can_write:
        raise PermissionDenied("Auditors and verifiers read; they do not change anything.")
    status = 200
    if request.method == "POST":
        form = MeteredSavingForm(request.POST)
        if form.is_valid():
            try:
                outcome = services.record_metered_saving(
                    site=site,
                    readings=form.readings(),
                    evidence_id=form.cleaned_data["evidence_id"],
                    source=FACILITY_STAFF,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except services.RecordRefused as refusal:
                field = _FORM_FIELDS.get(refusal.field or "", refusal.field)
                form.add_error(field if field in form.fields else None, refusal.message)
            else:
                record = outcome.record
                messages.success(
                    request,
                    gettext("Recorded a saving of %(quantity)s %(unit)s for %(site)s: %(kg)s kg CO2e.")
                    % {
                        "quantity": numbers.format_number(record.counted_quantity),
                        "unit": record.behaviour.unit,
                        "site": site_name(site),
                        "kg": numbers.format_kilograms(record.reduction_g),
                    },
                )
                return redirect("staff_sites")
        status = 400
    else:
        form = MeteredSavingForm(
            initial={"idempotency_key": uuid.uuid4().hex, "baseline_mode": metering.READINGS}
        )
    return render(
        request,
        "behaviours/staff/site_record.html",
        {"form": form, "site": site, "name": site_name(site)},
        status=status,
    )
