"""The movements of a person's account, kept by the apps that make them (a record and its
reversal in behaviours, redemptions and expiries in rewards, donations in engagement).

The ledger's statement merges them without importing the apps above it: each app registers
one reader per kind of entry from its AppConfig.ready, as it registers its panels
(config/panels.py). A reader answers the newest entries of one account, up to a moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from django.db.models import DateTimeField, F, Func, QuerySet, Sum, Value


@dataclass(frozen=True)
class PersonalEntry:
    """One movement of a personal account: one row of its app's table (a redemption and its
    cancellation are two entries of the same row)."""

    kind: str  # carbon_accounts.models.EntryKind
    entry_id: int  # the row's id in its own table
    # When it moved the balance (a record: when it was recorded); the statement's order.
    moment: datetime
    period_date: date
    grams: int  # signed: positive into the account
    points: int
    # The general-ledger posting that carries it; None for a record held for review or
    # rejected, which moves nothing.
    posting_id: int | None
    ghg_category: str = "none"
    source_type: str = ""
    source_id: str = ""
    # The ledger's English note, as the API has always given it.
    description: str = ""
    # For an entry that takes another back (a reversal, a cancellation): that entry's posting.
    reverses_posting_id: int | None = None
    # A record's status (accepted, pending_review, rejected, reversed); "" for other entries.
    status: str = ""


class EntryReader(Protocol):
    def __call__(
        self, *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
    ) -> list[PersonalEntry]:
        """The account's entries of this kind with a moment before `before` (all when None), newest
        first by (moment to the millisecond, entry id), at most `limit`. With `unit`, only those
        that move that unit; without `unposted`, only those that move something."""
        ...


# Among entries of the same millisecond, the order of the kinds (higher: shown first).
KIND_ORDER = {
    "points_expiry": 0,
    "behaviour_record": 1,
    "record_reversal": 2,
    "redemption": 3,
    "redemption_cancellation": 4,
    "donation": 5,
    "record_correction": 6,
}


class EntrySums(Protocol):
    def __call__(self, *, first_account_id: int, last_account_id: int) -> dict[int, tuple[int, int]]:
        """{account id: (signed grams, signed points)} of the posted entries of this kind of the
        accounts with ids in [first, last]; accounts with none are absent."""
        ...


_readers: dict[str, EntryReader] = {}
_sums: dict[str, EntrySums] = {}


def register(
    *,
    kind: str,
    reader: EntryReader | Callable[..., list[PersonalEntry]],
    sums: EntrySums | Callable[..., dict[int, tuple[int, int]]],
) -> None:
    if kind not in KIND_ORDER:
        raise ValueError(f"unknown kind of entry: {kind}")
    _readers[kind] = reader  # type: ignore[assignment]
    _sums[kind] = sums  # type: ignore[assignment]


def readers() -> dict[str, EntryReader]:
    return dict(_readers)


def summers() -> dict[str, EntrySums]:
    """Each kind's per-account sums, for the check that a balance equals its entries."""
    return dict(_sums)


def to_the_millisecond(field: str) -> Func:
    """The ordering expression of a moment column: the statement orders entries by the
    millisecond, then by id, so that its cursor (an integer) can name a place among them."""
    return Func(Value("milliseconds"), F(field), function="date_trunc", output_field=DateTimeField())


def sums_by_account(
    rows: QuerySet[Any],
    *,
    grams: str | None,
    points: str,
    sign: int,
    first_account_id: int,
    last_account_id: int,
) -> dict[int, tuple[int, int]]:
    """An EntrySums answer from an app's entry rows: the sums of two columns per account (one
    grouped scan of the accounts' range), with the sign the entries move the balance by."""
    query = (
        rows.filter(account_id__gte=first_account_id, account_id__lte=last_account_id)
        .values("account_id")
        .annotate(grams=Sum(grams) if grams else Value(0), points=Sum(points))
        .values_list("account_id", "grams", "points")
    )
    return {account: (sign * int(g or 0), sign * int(p or 0)) for account, g, p in query}
