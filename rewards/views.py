from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Account
from carbon_accounts.roles import Access, staff_page
from carbon_accounts.services import LedgerError
from rewards import reminders, selectors, services
from rewards.models import GreenRight, Redemption, RedemptionState
from rewards.qr import qr_data_uri


@login_required
def green_rights(request: HttpRequest) -> HttpResponse:
    sections = []
    for account in ledger_selectors.personal_accounts_of(request.user):
        if account.line_id is None:
            continue
        offers = [
            {
                "right": right,
                # Shown on a disabled button: how many more points the person needs.
                "missing": max(0, right.cost_points - account.balance_points),
                "out_of_stock": right.stock == 0,
            }
            for right in selectors.catalogue(line_id=account.line_id)
        ]
        sections.append(
            {
                "account": account,
                "offers": offers,
                "redemptions": selectors.redemptions_of(account=account)[:20],
            }
        )
    # Points about to lapse are shown by a panel (config/panels.py): the lots are behaviour records.
    return render(request, "rewards/green_rights.html", {"sections": sections})


class RedeemForm(forms.Form):
    request_key = forms.CharField(required=False, max_length=100)
    # Points are spent only when the confirmation page's own button says so.
    confirm = forms.BooleanField(required=False)


def _right_and_account(request: HttpRequest, right_id: int) -> tuple[GreenRight, Account]:
    right = GreenRight.objects.select_related("line").filter(pk=right_id).first()
    account = (
        ledger_selectors.personal_accounts_of(request.user).filter(line_id=right.line_id).first()
        if right
        else None
    )
    if right is None or account is None:
        raise Http404
    return right, account


def _confirmation(request: HttpRequest, right: GreenRight, account: Account, key: str) -> HttpResponse:
    return render(
        request,
        "rewards/confirm_redemption.html",
        {
            "right": right,
            "account": account,
            "left_after": account.balance_points - right.cost_points,
            "missing": max(0, right.cost_points - account.balance_points),
            # One key per confirmation page: a double click on Confirm lands on one redemption.
            "request_key": key or uuid.uuid4().hex,
        },
    )


@login_required
def redeem(request: HttpRequest, right_id: int) -> HttpResponse:
    """GET: what will be spent, on what, under which terms. POST with confirm: spend it."""
    right, account = _right_and_account(request, right_id)
    if request.method != "POST":
        return _confirmation(request, right, account, "")
    form = RedeemForm(request.POST)
    if not form.is_valid():
        # Only a tampered or damaged page sends a key that is not ours; nothing is redeemed.
        messages.error(request, gettext("This request could not be read; please try again."))
        return redirect("green_rights")
    key = form.cleaned_data["request_key"]
    if not form.cleaned_data["confirm"]:
        messages.info(request, gettext("Nothing was spent. Confirm below to spend your points."))
        return _confirmation(request, right, account, key)
    try:
        outcome = services.redeem(
            account=account, green_right_id=right.pk, idempotency_key=key or uuid.uuid4().hex
        )
    except LedgerError as refusal:
        messages.error(request, str(refusal))
        return redirect("green_rights")
    # A second submit of the same form (a double click) lands on the same redemption.
    return redirect("redemption", code=outcome.redemption.code)


@login_required
def redemption(request: HttpRequest, code: str) -> HttpResponse:
    accounts = ledger_selectors.personal_accounts_of(request.user)
    found = (
        Redemption.objects.select_related("green_right", "account__line")
        .filter(code=code, account__in=accounts)
        .first()
    )
    if found is None:
        raise Http404
    state = found.state()
    return render(
        request,
        "rewards/redemption.html",
        {
            "redemption": found,
            "state": state,
            "states": RedemptionState,
            # Only a code that can still be used is worth scanning.
            "qr": qr_data_uri(found.code) if state == RedemptionState.ISSUED else "",
        },
    )


def _person_id(request: HttpRequest) -> int:
    """The signed-in person's id (every view here requires a sign-in)."""
    assert request.user.pk is not None
    return int(request.user.pk)


class ReminderSettingsForm(forms.Form):
    expiry_emails = forms.BooleanField(
        label=_("Email me when some of my green points will expire within 30 days"), required=False
    )


@login_required
def reminder_settings(request: HttpRequest) -> HttpResponse:
    """The person's consent to reminder emails: off until they tick it."""
    if request.method == "POST":
        form = ReminderSettingsForm(request.POST)
        if form.is_valid():
            agreed = form.cleaned_data["expiry_emails"]
            reminders.set_expiry_emails(user_id=_person_id(request), agreed=agreed)
            messages.success(
                request,
                gettext("We will email you before your points expire.")
                if agreed
                else gettext("We will not email you about expiring points."),
            )
            return redirect("reminder_settings")
    else:
        form = ReminderSettingsForm(
            initial={"expiry_emails": reminders.expiry_emails_agreed(user_id=_person_id(request))}
        )
    return render(
        request, "rewards/reminder_settings.html", {"form": form, "email": getattr(request.user, "email", "")}
    )


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
