"""A person's movements in words: the account statement and the points history.

They name the behaviour each movement came from, so they live above the ledger and the
rewards, which know records only by id and code.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext

from behaviours import selectors as behaviour_selectors
from behaviours.models import Behaviour
from carbon_accounts import selectors
from carbon_accounts import selectors as ledger_selectors
from config.form_fields import PlainIntegerField
from config.numbers import format_kilograms, format_number
from rewards import reminders
from rewards import selectors as rewards_selectors
from rewards.models import PointsAward

# What a movement is, in words; the stored description is the ledger's English note.
KIND_LABELS = {
    "reduction": gettext_lazy("Reduction"),
    "points_award": gettext_lazy("Points earned"),
    "redemption": gettext_lazy("Green right redeemed"),
    "points_expiry": gettext_lazy("Points expired"),
    "donation": gettext_lazy("Points donated to a public-welfare project"),
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


def _reason(award: PointsAward | None, behaviours: dict[str, Behaviour], english: bool) -> str:
    if award is None:
        return ""
    behaviour = behaviours.get(award.behaviour_code)
    name = (behaviour.name_en if english else behaviour.name_zh) if behaviour else award.behaviour_code
    return award_reason(award, name)


@login_required
def points_history(request: HttpRequest) -> HttpResponse:
    english = (get_language() or "").startswith("en")
    sections = []
    for account in ledger_selectors.personal_accounts_of(request.user):
        history = rewards_selectors.points_history(account=account)
        awards = [entry.award for entry in history if entry.award is not None]
        behaviours = behaviour_selectors.behaviours_by_code(codes={award.behaviour_code for award in awards})

        sections.append(
            {
                "account": account,
                "history": [(entry, _reason(entry.award, behaviours, english)) for entry in history],
            }
        )
    return render(
        request,
        "rewards/points_history.html",
        {
            "sections": sections,
            "expiring": rewards_selectors.expiring_points(user=request.user),
            "emails_agreed": reminders.expiry_emails_agreed(user_id=int(request.user.pk or 0)),
        },
    )
