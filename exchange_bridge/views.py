from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from carbon_accounts.models import BusinessLine
from carbon_accounts.roles import Access, staff_page
from config.form_fields import PlainIntegerField
from exchange_bridge import client, services
from exchange_bridge.models import FilingBatch, FilingItem, ItemStatus, ReconciliationRun, Retirement


class RetirementForm(forms.Form):
    line = forms.ModelChoiceField(queryset=BusinessLine.objects.all(), label=_("Certified tonnes of"))
    tonnes = PlainIntegerField(min_value=1, label=_("Tonnes to retire"))
    beneficiary = forms.CharField(max_length=200, label=_("Beneficiary"))
    purpose = forms.CharField(max_length=300, label=_("Purpose"))
    retirement_ref = forms.CharField(widget=forms.HiddenInput, max_length=100)


@staff_page(write=True)
def filings(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    if request.method == "POST" and access.line_ids is not None:
        raise PermissionDenied("Retirements are made by the group sustainability office.")
    lines = [line for line in BusinessLine.objects.all() if access.sees_line(line.pk)]
    form = RetirementForm(
        request.POST or None,
        initial={
            "retirement_ref": f"ret-{uuid.uuid4().hex[:12]}",
            "purpose": "Residual operational emissions (2030 neutrality goal)",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # The form's one-time reference makes a second submit answer the first retirement.
            retirement = services.retire(
                line=data["line"],
                tonnes=data["tonnes"],
                beneficiary=data["beneficiary"],
                purpose=data["purpose"],
                retirement_ref=data["retirement_ref"],
            )
        except services.NotEnoughCertified as error:
            form.add_error("tonnes", str(error))
        except (services.FilingError, client.ExchangeUnreachable) as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"{retirement.tonnes} t retired: {retirement.serial_start} .. {retirement.serial_end}",
            )
            return redirect("filings")
    members = {m.member_id for m in client.memberships() if any(line.code == m.line_code for line in lines)}
    latest_runs: dict[str, ReconciliationRun] = {}
    for run in ReconciliationRun.objects.all()[:50]:
        latest_runs.setdefault(run.member_id, run)
    return render(
        request,
        "exchange_bridge/filings.html",
        {
            "batches": FilingBatch.objects.filter(line__in=lines)
            .select_related("line")
            .order_by("-created_at")[:100],
            "runs": [run for run in latest_runs.values() if run.member_id in members],
            "duplicates": FilingItem.objects.filter(
                status=ItemStatus.DUPLICATE_CLAIM, batch__line__in=lines
            ).select_related("batch", "record")[:100],
            "retirements": Retirement.objects.filter(line__in=lines)
            .select_related("line")
            .order_by("-created_at")[:20],
            "available": [(line, services.certified_tonnes_available(line=line)) for line in lines],
            # Only the office retires; operators and auditors follow.
            "form": form if access.can_write and access.line_ids is None else None,
        },
    )
