from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.roles import Access, staff_page
from carbon_accounts.services import LedgerError
from rewards import selectors, services
from rewards.models import GreenRight, Redemption


@login_required
def green_rights(request: HttpRequest) -> HttpResponse:
    sections = [
        {
            "account": account,
            "rights": selectors.catalogue(line_id=account.line_id),
            "expiring": selectors.expiring_soon(account=account),
            "redemptions": selectors.redemptions_of(account=account)[:20],
        }
        for account in ledger_selectors.personal_accounts_of(request.user)
        if account.line_id is not None
    ]
    return render(
        request, "rewards/green_rights.html", {"sections": sections, "request_key": uuid.uuid4().hex}
    )


class RedeemForm(forms.Form):
    request_key = forms.CharField(required=False, max_length=100)


@login_required
@require_POST
def redeem(request: HttpRequest, right_id: int) -> HttpResponse:
    right = GreenRight.objects.filter(pk=right_id).first()
    account = (
        ledger_selectors.personal_accounts_of(request.user).filter(line_id=right.line_id).first()
        if right
        else None
    )
    if right is None or account is None:
        raise Http404
    form = RedeemForm(request.POST)
    if not form.is_valid():
        # Only a tampered or damaged page sends a key that is not ours; nothing is redeemed.
        messages.error(request, gettext("This request could not be read; please try again."))
        return redirect("green_rights")
    key = form.cleaned_data["request_key"] or uuid.uuid4().hex
    try:
        outcome = services.redeem(account=account, green_right_id=right.pk, idempotency_key=key)
    except LedgerError as refusal:
        messages.error(request, str(refusal))
        return redirect("green_rights")
    # A second submit of the same form (a double click) lands on the same redemption.
    return redirect("redemption", code=outcome.redemption.code)


@login_required
def redemption(request: HttpRequest, code: str) -> HttpResponse:
    accounts = ledger_selectors.personal_accounts_of(request.user)
    found = Redemption.objects.select_related("green_right").filter(code=code, account__in=accounts).first()
    if found is None:
        raise Http404
    return render(request, "rewards/redemption.html", {"redemption": found})


@login_required
def points_history(request: HttpRequest) -> HttpResponse:
    sections = [
        {
            "account": account,
            "awards": selectors.awards_of(account=account)[:100],
            "expiring_lots": selectors.expiring_lots(account=account),
        }
        for account in ledger_selectors.personal_accounts_of(request.user)
    ]
    return render(request, "rewards/points_history.html", {"sections": sections})


@staff_page()
def staff_rewards(request: HttpRequest) -> HttpResponse:
    """Per line: points owed to people, and where issued points went; the catalogue's stock."""
    access: Access = request.staff_access  # type: ignore[attr-defined]
    lines = [line for line in ledger_selectors.business_lines() if access.sees_line(line.pk)]
    return render(
        request,
        "rewards/staff_rewards.html",
        {
            "flows": [(line, selectors.points_flows(line_id=line.pk)) for line in lines],
            "rights": GreenRight.objects.filter(line__in=lines)
            .select_related("line")
            .order_by("line_id", "cost_points"),
            "redemptions": Redemption.objects.filter(green_right__line__in=lines)
            .select_related("green_right", "account")
            .order_by("-created_at")[:50],
        },
    )
