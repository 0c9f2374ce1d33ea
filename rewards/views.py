from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext, ngettext
from django.views.decorators.http import require_POST

from behaviours import selectors as behaviour_selectors
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.roles import Access, staff_page
from carbon_accounts.services import LedgerError
from config.numbers import format_kilograms, format_number
from rewards import selectors, services
from rewards.models import GreenRight, PointsAward, Redemption


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


def award_reason(award: PointsAward, name: str) -> str:
    """Why an award is what it is, in words: "Metro: 1.28 kg reduced at 1 point per 10 g"."""
    explanation = award.explanation or {}
    parts = []
    per_event = explanation.get("points_per_event")
    if per_event:
        parts.append(
            ngettext("%(n)s point per action", "%(n)s points per action", per_event) % {"n": per_event}
        )
    grams_per_point = explanation.get("grams_per_point")
    if grams_per_point:
        parts.append(
            gettext("%(kg)s kg reduced at 1 point per %(g)s g")
            % {
                "kg": format_kilograms(explanation.get("reduction_g") or 0),
                "g": format_number(grams_per_point),
            }
        )
    if explanation.get("before_cap", award.points) != award.points:
        cap = explanation.get("daily_cap") or 0
        parts.append(
            ngettext("daily cap of %(n)s point reached", "daily cap of %(n)s points reached", cap)
            % {"n": format_number(cap)}
        )
    return (
        gettext("%(behaviour)s: %(reasons)s") % {"behaviour": name, "reasons": gettext("; ").join(parts)}
        if parts
        else name
    )


@login_required
def points_history(request: HttpRequest) -> HttpResponse:
    english = (get_language() or "").startswith("en")
    sections = []
    for account in ledger_selectors.personal_accounts_of(request.user):
        awards = list(selectors.awards_of(account=account)[:100])
        behaviours = behaviour_selectors.behaviours_by_code(codes={award.behaviour_code for award in awards})
        rows = []
        for award in awards:
            behaviour = behaviours.get(award.behaviour_code)
            name = (
                (behaviour.name_en if english else behaviour.name_zh) if behaviour else award.behaviour_code
            )
            rows.append((award, award_reason(award, name)))
        sections.append(
            {"account": account, "rows": rows, "expiring_lots": selectors.expiring_lots(account=account)}
        )
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
