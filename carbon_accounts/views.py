from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext, gettext_lazy

from behaviours import selectors as behaviour_selectors
from carbon_accounts import selectors
from carbon_accounts.models import Account, Audience
from config.form_fields import PlainIntegerField

# What a movement is, in words; the stored description is the ledger's English note.
KIND_LABELS = {
    "reduction": gettext_lazy("Reduction"),
    "points_award": gettext_lazy("Points earned"),
    "redemption": gettext_lazy("Green right redeemed"),
    "points_expiry": gettext_lazy("Points expired"),
    "exchange_certification": gettext_lazy("Certified by the carbon exchange"),
    "exchange_retirement": gettext_lazy("Retired at the carbon exchange"),
}


def movement_in_words(line: selectors.StatementLine, behaviours: dict[int, object]) -> str:
    """e.g. "Points earned: Metro commute", "Reversed: Reduction: Metro commute"."""
    reversal = line.kind.endswith("_reversal")
    kind = line.kind.removesuffix("_reversal")
    text = str(KIND_LABELS.get(kind, line.description or kind))
    behaviour = behaviours.get(int(line.source_id)) if line.source_id.isdigit() else None
    if line.source_type == "behaviour_record" and behaviour is not None:
        english = (get_language() or "").startswith("en")
        name = getattr(behaviour, "name_en" if english else "name_zh")
        text = gettext("%(what)s: %(behaviour)s") % {"what": text, "behaviour": name}
    return gettext("Reversed: %(what)s") % {"what": text} if reversal else text


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
    record_ids = [
        int(line.source_id)
        for line in page.lines
        if line.source_type == "behaviour_record" and line.source_id.isdigit()
    ]
    behaviours: dict[int, object] = dict(behaviour_selectors.behaviours_of_records(record_ids=record_ids))
    rows = [
        (
            line,
            movement_in_words(line, behaviours),
            int(line.source_id)
            if line.source_type == "behaviour_record" and line.source_id.isdigit()
            else None,
        )
        for line in page.lines
    ]
    return render(request, "carbon_accounts/statement.html", {"account": account, "page": page, "rows": rows})


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
