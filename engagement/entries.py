"""Donations as entries of the giver's account (config/personal_entries.py)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from carbon_accounts.models import EntryKind, Unit
from config.personal_entries import PersonalEntry, sums_by_account, to_the_millisecond
from engagement.models import Donation


def donations(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    if unit == Unit.GRAMS_CO2E:
        return []
    query = Donation.objects.filter(account_id=account_id)
    if before is not None:
        query = query.filter(created_at__lt=before)
    rows = query.order_by(to_the_millisecond("created_at").desc(), "-id").values_list(
        "id",
        "created_at",
        "posting__period_date",
        "points",
        "posting_id",
        "certificate_number",
        "project__name_en",
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.DONATION,
            entry_id=donation_id,
            moment=created_at,
            period_date=period_date,
            grams=0,
            points=-points,
            posting_id=posting_id,
            source_type="donation",
            source_id=number,
            description=f"donated to {project_name}",
        )
        for donation_id, created_at, period_date, points, posting_id, number, project_name in rows
    ]


donation_sums = partial(sums_by_account, Donation.objects.all(), grams=None, points="points", sign=-1)
