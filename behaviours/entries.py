"""A person's records, their reversals and corrections as entries of their account
(config/personal_entries.py)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db.models import Q, Sum

from behaviours.models import BehaviourRecord, RecordCorrection, RecordReversal, RecordStatus
from carbon_accounts.models import EntryKind, Unit
from config.personal_entries import PersonalEntry, sums_by_account, to_the_millisecond

SOURCE_TYPE = "behaviour_record"


def _moves(unit: str | None, grams: str, points: str) -> Q:
    if unit == Unit.GRAMS_CO2E:
        return ~Q(**{grams: 0})
    if unit == Unit.POINTS:
        return ~Q(**{points: 0})
    return ~Q(**{grams: 0}) | ~Q(**{points: 0})


def records(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    """Accepted (and later reversed) records move grams and points; with `unposted`, records
    held for review or rejected are listed too, moving nothing."""
    query = BehaviourRecord.objects.filter(account_id=account_id)
    if before is not None:
        query = query.filter(created_at__lt=before)
    if not unposted:
        query = query.filter(Q(posting_id__isnull=False) & _moves(unit, "reduction_g", "points"))
    rows = query.order_by(to_the_millisecond("created_at").desc(), "-id").values_list(
        "id",
        "created_at",
        "occurred_on",
        "reduction_g",
        "points",
        "posting_id",
        "ghg_category",
        "status",
        "behaviour__name_en",
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.BEHAVIOUR_RECORD,
            entry_id=record_id,
            moment=created_at,
            period_date=occurred_on,
            grams=grams if posting_id is not None else 0,
            points=points if posting_id is not None else 0,
            posting_id=posting_id,
            ghg_category=category,
            source_type=SOURCE_TYPE,
            source_id=str(record_id),
            description=name_en,
            status=status,
        )
        for record_id, created_at, occurred_on, grams, points, posting_id, category, status, name_en in rows
    ]


def reversals(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    """A reversal takes back its record's grams and points, in the record's period."""
    query = RecordReversal.objects.filter(account_id=account_id).filter(_moves(unit, "reduction_g", "points"))
    if before is not None:
        query = query.filter(created_at__lt=before)
    rows = query.order_by(to_the_millisecond("created_at").desc(), "-id").values_list(
        "id",
        "created_at",
        "record__occurred_on",
        "reduction_g",
        "points",
        "posting_id",
        "record__ghg_category",
        "record_id",
        "record__posting_id",
        "reason",
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.RECORD_REVERSAL,
            entry_id=reversal_id,
            moment=created_at,
            period_date=occurred_on,
            grams=grams,
            points=points,
            posting_id=posting_id,
            ghg_category=category,
            source_type=SOURCE_TYPE,
            source_id=str(record_id),
            description=reason,
            reverses_posting_id=record_posting_id,
            status=RecordStatus.REVERSED,
        )
        for (
            reversal_id,
            created_at,
            occurred_on,
            grams,
            points,
            posting_id,
            category,
            record_id,
            record_posting_id,
            reason,
        ) in rows
    ]


record_sums = partial(
    sums_by_account,
    BehaviourRecord.objects.filter(posting__isnull=False),
    grams="reduction_g",
    points="points",
    sign=1,
)


# A reversal's amounts are stored negative already.
reversal_sums = partial(
    sums_by_account, RecordReversal.objects.all(), grams="reduction_g", points="points", sign=1
)


def corrections(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    """A correction restates its record's grams, in the record's period; it moves no points.
    One that left the grams as they were (only the basis changed) is not a movement to list."""
    if unit == Unit.POINTS:
        return []
    query = RecordCorrection.objects.filter(account_id=account_id).exclude(difference_g=0)
    if before is not None:
        query = query.filter(created_at__lt=before)
    rows = query.order_by(to_the_millisecond("created_at").desc(), "-id").values_list(
        "id",
        "created_at",
        "record__occurred_on",
        "difference_g",
        "posting_id",
        "record__ghg_category",
        "record_id",
        "change__subject",
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.RECORD_CORRECTION,
            entry_id=correction_id,
            moment=created_at,
            period_date=occurred_on,
            grams=grams,
            points=0,
            posting_id=posting_id,
            ghg_category=category,
            source_type=SOURCE_TYPE,
            source_id=str(record_id),
            description=f"correction of {subject}",
        )
        for correction_id, created_at, occurred_on, grams, posting_id, category, record_id, subject in rows
    ]


def correction_sums(*, first_account_id: int, last_account_id: int) -> dict[int, tuple[int, int]]:
    """Corrections move grams only."""
    rows = (
        RecordCorrection.objects.filter(account_id__gte=first_account_id, account_id__lte=last_account_id)
        .values("account_id")
        .annotate(grams=Sum("difference_g"))
        .values_list("account_id", "grams")
    )
    return {account: (int(grams or 0), 0) for account, grams in rows}
