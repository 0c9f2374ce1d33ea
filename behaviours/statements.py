"""A person's movements in words: the account statement and the points history.

A movement is an entry of the person's account, kept by the app that makes it: a record (its
grams and points), its reversal, its correction, a redemption and its cancellation, an expiry, a donation. The
pages name the behaviour each record is of and the green right each redemption is for, so they
live above the ledger and the rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_lazy

from behaviours import explain, points_lots
from behaviours.models import Behaviour, BehaviourRecord, RecordStatus
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Account, EntryKind, Unit
from config.form_fields import PlainIntegerField
from config.personal_entries import PersonalEntry
from rewards import entries as rewards_entries
from rewards import reminders
from rewards import services as rewards_services
from rewards.models import Redemption

# What a movement is, in words.
KIND_LABELS = {
    EntryKind.REDEMPTION: gettext_lazy("Green right redeemed"),
    EntryKind.POINTS_EXPIRY: gettext_lazy("Points expired"),
    EntryKind.DONATION: gettext_lazy("Points donated to a public-welfare project"),
}


@dataclass(frozen=True)
class Movement:
    """One entry of the statement, in words, with where it leads."""

    entry: PersonalEntry
    words: str
    url: str
    counts: bool  # False: a record held for review or rejected, which moves nothing
    status: str  # a record's status in words when it is not simply accepted, else ""


def _name(behaviour: Behaviour | None, code: str) -> str:
    if behaviour is None:
        return code
    return behaviour.name_en if (get_language() or "").startswith("en") else behaviour.name_zh


def _right_name(redemption: Redemption | None) -> str:
    if redemption is None:
        return ""
    right = redemption.green_right
    return right.name_en if (get_language() or "").startswith("en") else right.name_zh


def _records_of(entries: list[PersonalEntry]) -> dict[int, BehaviourRecord]:
    ids = {int(e.source_id) for e in entries if e.source_type == "behaviour_record" and e.source_id.isdigit()}
    return {
        record.pk: record
        for record in BehaviourRecord.objects.filter(pk__in=ids).select_related("behaviour", "line")
    }


def movements(*, account: Account, entries: list[PersonalEntry]) -> list[Movement]:
    """Each entry in the words of the page's language (one query per kind of thing named)."""
    records = _records_of(entries)
    redemptions = rewards_entries.redemptions_by_code(
        account_id=account.pk, codes={e.source_id for e in entries if e.source_type == "redemption"}
    )
    result = []
    for entry in entries:
        url, status, counts = "", "", entry.posting_id is not None
        if entry.kind in (EntryKind.BEHAVIOUR_RECORD, EntryKind.RECORD_REVERSAL, EntryKind.RECORD_CORRECTION):
            record = records.get(int(entry.source_id)) if entry.source_id.isdigit() else None
            name = _name(record.behaviour if record else None, entry.source_id)
            url = reverse("record_detail", args=[int(entry.source_id)]) if record else ""
            if entry.kind == EntryKind.RECORD_REVERSAL:
                words = gettext("Reversed: %(what)s") % {"what": name}
            elif entry.kind == EntryKind.RECORD_CORRECTION:
                words = gettext("Corrected: %(what)s (an emission factor or method was corrected)") % {
                    "what": name
                }
            else:
                words = name
                if entry.status != RecordStatus.ACCEPTED:
                    status = str(RecordStatus(entry.status).label)
        elif entry.kind in (EntryKind.REDEMPTION, EntryKind.REDEMPTION_CANCELLATION):
            redemption = redemptions.get(entry.source_id)
            url = reverse("redemption", args=[entry.source_id]) if redemption else ""
            if entry.kind == EntryKind.REDEMPTION_CANCELLATION:
                words = gettext("Redemption %(code)s cancelled: points returned") % {"code": entry.source_id}
            else:
                words = gettext("%(what)s: %(behaviour)s") % {
                    "what": KIND_LABELS[EntryKind.REDEMPTION],
                    "behaviour": _right_name(redemption) or entry.source_id,
                }
        else:
            words = str(KIND_LABELS.get(EntryKind(entry.kind), entry.description))
        result.append(Movement(entry, words, url, counts, status))
    return result


class StatementPagingForm(forms.Form):
    # The statement's keyset cursor (the next_cursor of the page before).
    cursor = PlainIntegerField(required=False, min_value=1, max_value=2**62)


@login_required
def account_statement(request: HttpRequest, account_id: int) -> HttpResponse:
    # Only the holder sees a personal account: anyone else gets the same 404 as a missing one.
    account = ledger_selectors.personal_accounts_of(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404
    paging = StatementPagingForm(request.GET)
    if not paging.is_valid():
        raise BadRequest(gettext("This link to older movements is not valid."))
    page = ledger_selectors.personal_entries_page(
        account_id=account.pk, cursor=paging.cleaned_data["cursor"], limit=50
    )
    return render(
        request,
        "carbon_accounts/statement.html",
        {
            "account": account,
            "next_cursor": page.next_cursor,
            "rows": movements(account=account, entries=page.entries),
        },
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One movement of a wallet's points, with the balance right after it."""

    day: date
    kind: str  # earned, withdrawn, spent, returned, expired, donated
    points: int  # signed: positive in, negative out
    balance: int
    reason: str = ""  # why a record earned its points
    expires_on: date | None = None  # when a record's points lapse unless spent first
    redemption: Redemption | None = None
    # For an expiry: the points lapsed were earned on this day or before (the oldest first).
    earned_on: date | None = None


_HISTORY_KINDS = {
    EntryKind.BEHAVIOUR_RECORD: "earned",
    EntryKind.RECORD_REVERSAL: "withdrawn",
    EntryKind.REDEMPTION: "spent",
    EntryKind.REDEMPTION_CANCELLATION: "returned",
    EntryKind.POINTS_EXPIRY: "expired",
    EntryKind.DONATION: "donated",
    EntryKind.RECORD_CORRECTION: "corrected",
}

HISTORY_LENGTH = 100


def points_history_of(*, account: Account) -> list[HistoryEntry]:
    """The wallet's newest movements of points, each with the balance after it, counted back
    from the balance held now."""
    entries = ledger_selectors.personal_entries_page(
        account_id=account.pk, limit=HISTORY_LENGTH, unposted=False, unit=Unit.POINTS
    ).entries
    records = _records_of([e for e in entries if e.kind == EntryKind.BEHAVIOUR_RECORD])
    explanations = explain.points_explanations(list(records.values()))
    redemptions = rewards_entries.redemptions_by_code(
        account_id=account.pk, codes={e.source_id for e in entries if e.source_type == "redemption"}
    )
    balance = Account.objects.values_list("balance_points", flat=True).get(pk=account.pk)
    history = []
    for entry in entries:
        record = records.get(int(entry.source_id)) if entry.kind == EntryKind.BEHAVIOUR_RECORD else None
        earned = explanations.get(record.pk) if record is not None else None
        history.append(
            HistoryEntry(
                day=timezone.localdate(entry.moment),
                kind=_HISTORY_KINDS[EntryKind(entry.kind)],
                points=entry.points,
                balance=balance,
                reason=explain.points_reason(
                    earned, record.points, _name(record.behaviour, record.behaviour_id)
                )
                if record is not None and earned is not None
                else "",
                expires_on=rewards_services.expiry_date(record.occurred_on) if record is not None else None,
                redemption=redemptions.get(entry.source_id) if entry.source_type == "redemption" else None,
                earned_on=rewards_services.last_lapsed_day(entry.period_date)
                if entry.kind == EntryKind.POINTS_EXPIRY
                else None,
            )
        )
        balance -= entry.points
    return history


@login_required
def points_history(request: HttpRequest) -> HttpResponse:
    sections = [
        {"account": account, "history": points_history_of(account=account)}
        for account in ledger_selectors.personal_accounts_of(request.user)
    ]
    return render(
        request,
        "rewards/points_history.html",
        {
            "sections": sections,
            "expiring": points_lots.expiring_points(user=request.user),
            "emails_agreed": reminders.expiry_emails_agreed(user_id=int(request.user.pk or 0)),
        },
    )
