from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from carbon_accounts import selectors
from carbon_accounts.models import Account, Audience
from config.form_fields import PlainIntegerField


class StatementPagingForm(forms.Form):
    # The last transfer id of the page before (selectors.statement's keyset cursor).
    cursor = PlainIntegerField(required=False, min_value=1)


class LeaderboardForm(forms.Form):
    on_leaderboard = forms.BooleanField(required=False)


@login_required
def account_statement(request: HttpRequest, account_id: int) -> HttpResponse:
    # Only the holder sees a personal account: anyone else gets the same 404 as a missing one.
    account = selectors.personal_accounts_of(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404
    paging = StatementPagingForm(request.GET)
    if not paging.is_valid():
        raise BadRequest(gettext("This link to older movements is not valid."))
    page = selectors.statement(account_id=account.pk, cursor=paging.cleaned_data["cursor"], limit=50)
    return render(request, "carbon_accounts/statement.html", {"account": account, "page": page})


@login_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Teams and offices of the employee line, counting only people who opted in."""
    account = selectors.personal_accounts_of(request.user).filter(line__audience=Audience.EMPLOYEE).first()
    if account is None:
        return render(request, "carbon_accounts/leaderboard.html", {"account": None})
    if request.method == "POST":
        choice = LeaderboardForm(request.POST)
        if not choice.is_valid():
            raise BadRequest(gettext("This choice could not be read."))
        shown = choice.cleaned_data["on_leaderboard"]
        Account.objects.filter(pk=account.pk).update(on_leaderboard=shown)
        messages.success(
            request,
            gettext("You are now shown on the leaderboard.")
            if shown
            else gettext("You are no longer shown on the leaderboard."),
        )
        return redirect("leaderboard")
    assert account.line_id is not None
    return render(
        request,
        "carbon_accounts/leaderboard.html",
        {
            "account": account,
            "teams": selectors.leaderboard(line_id=account.line_id, by="team"),
            "offices": selectors.leaderboard(line_id=account.line_id, by="office"),
        },
    )
