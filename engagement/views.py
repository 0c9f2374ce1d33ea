from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.roles import Access, staff_page
from carbon_accounts.services import LedgerError
from engagement import selectors, services
from engagement.forms import CampaignForm, DonationForm
from engagement.models import Campaign, Donation, WelfareProject


@login_required
def campaigns(request: HttpRequest) -> HttpResponse:
    joined = selectors.joined_campaign_ids(user=request.user)
    items = [
        {
            "campaign": campaign,
            "progress": selectors.progress(campaign=campaign, user=request.user),
            "joined": campaign.pk in joined,
        }
        for campaign in selectors.current_campaigns(user=request.user)
    ]
    return render(request, "engagement/campaigns.html", {"items": items})


def _visible_campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    campaign = get_object_or_404(Campaign.objects.select_related("line"), pk=campaign_id)
    lines = {account.line_id for account in ledger_selectors.personal_accounts_of(request.user)}
    if not lines or (campaign.line_id is not None and campaign.line_id not in lines):
        raise Http404
    return campaign


@login_required
def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _visible_campaign(request, campaign_id)
    today = timezone.localdate()
    return render(
        request,
        "engagement/campaign.html",
        {
            "campaign": found,
            "progress": selectors.progress(campaign=found, user=request.user),
            "joined": found.pk in selectors.joined_campaign_ids(user=request.user),
            "running": found.starts_on <= today <= found.ends_on,
            "behaviours": found.behaviours.order_by("code"),
        },
    )


@login_required
@require_POST
def join_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _visible_campaign(request, campaign_id)
    try:
        joined = services.join_campaign(campaign=found, user=request.user)
    except LedgerError as refusal:
        messages.error(request, str(refusal))
    else:
        if joined.created:
            messages.success(
                request,
                gettext("You joined the campaign. Every action that counts now adds to its progress."),
            )
    return redirect("campaign", campaign_id=found.pk)


@login_required
def projects(request: HttpRequest) -> HttpResponse:
    items = [
        {"project": project, "progress": selectors.project_progress(project=project)}
        for project in selectors.open_projects(user=request.user)
    ]
    return render(request, "engagement/projects.html", {"items": items})


def _project_and_account(request: HttpRequest, project_id: int):  # type: ignore[no-untyped-def]
    project = WelfareProject.objects.select_related("line").filter(pk=project_id, active=True).first()
    account = (
        ledger_selectors.personal_accounts_of(request.user).filter(line_id=project.line_id).first()
        if project
        else None
    )
    if project is None or account is None:
        raise Http404
    return project, account


def _project_page(request: HttpRequest, project: WelfareProject, account, form: DonationForm) -> HttpResponse:  # type: ignore[no-untyped-def]
    return render(
        request,
        "engagement/project.html",
        {
            "project": project,
            "account": account,
            "progress": selectors.project_progress(project=project),
            "form": form,
        },
    )


@login_required
def project(request: HttpRequest, project_id: int) -> HttpResponse:
    found, account = _project_and_account(request, project_id)
    form = DonationForm(balance=account.balance_points, initial={"request_key": uuid.uuid4().hex})
    return _project_page(request, found, account, form)


@login_required
@require_POST
def donate(request: HttpRequest, project_id: int) -> HttpResponse:
    """First the confirmation (nothing spent), then, with `confirmed`, the donation itself."""
    found, account = _project_and_account(request, project_id)
    form = DonationForm(request.POST, balance=account.balance_points)
    if not form.is_valid():
        # A replayed confirmation after the points were spent is still the same donation.
        key = request.POST.get("request_key", "")
        previous = Donation.objects.filter(account=account, idempotency_key=key, project=found).first()
        if previous is not None and request.POST.get("confirmed"):
            return redirect("donation_certificate", number=previous.certificate_number)
        return _project_page(request, found, account, form)
    points = form.cleaned_data["points"]
    if not request.POST.get("confirmed"):
        return render(
            request,
            "engagement/donate_confirm.html",
            {
                "project": found,
                "account": account,
                "form": form,
                "points": points,
                "after": account.balance_points - points,
            },
        )
    try:
        outcome = services.donate(
            account=account,
            project_id=found.pk,
            points=points,
            idempotency_key=form.cleaned_data["request_key"],
        )
    except LedgerError as refusal:
        form.add_error("points", str(refusal))
        return _project_page(request, found, account, form)
    return redirect("donation_certificate", number=outcome.donation.certificate_number)


@login_required
def certificate(request: HttpRequest, number: str) -> HttpResponse:
    accounts = ledger_selectors.personal_accounts_of(request.user)
    found = (
        Donation.objects.select_related("project", "account", "project__line")
        .filter(certificate_number=number, account__in=accounts)
        .first()
    )
    if found is None:
        raise Http404
    return render(request, "engagement/certificate.html", {"donation": found})


# --- Staff ----------------------------------------------------------------------------------


def _campaigns_for(access: Access):  # type: ignore[no-untyped-def]
    found = Campaign.objects.select_related("line").order_by("-starts_on", "id")
    if access.line_ids is not None:
        found = found.filter(line_id__in=access.line_ids)
    return found


@staff_page(write=True)
def staff_campaigns(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    items = [{"campaign": c, "progress": selectors.progress(campaign=c)} for c in _campaigns_for(access)]
    return render(request, "engagement/staff/campaigns.html", {"items": items, "can_write": access.can_write})


@staff_page(write=True)
def staff_campaign_edit(request: HttpRequest, campaign_id: int | None = None) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    if not access.can_write:
        raise PermissionDenied("Auditors read; they do not change anything.")
    instance = get_object_or_404(_campaigns_for(access), pk=campaign_id) if campaign_id else Campaign()
    form = CampaignForm(request.POST or None, instance=instance, access=access)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if saved.created_by_id is None:
            saved.created_by = request.user
        saved.save()
        form.save_m2m()
        messages.success(request, gettext("Campaign saved."))
        return redirect("staff_campaigns")
    return render(request, "engagement/staff/campaign_form.html", {"form": form, "campaign": instance})
