"""Invariants 3 and 5 (rewards' half): a green right is never oversold; each posting of
redemptions, cancellations and expiries equals the entries that name it.

The database checks the postings at commit (migration 0008); this recomputes them along a
second path, from the entry rows grouped in Python against the postings, and reports every
difference, so a dropped trigger or a hand-edited row is named."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, Sum

from carbon_accounts.models import EntryKind, Posting
from rewards.models import PointsExpiry, Redemption

POINTS_ENTRY_KINDS = (EntryKind.REDEMPTION, EntryKind.REDEMPTION_CANCELLATION, EntryKind.POINTS_EXPIRY)


def rights_never_oversold() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, stock FROM rewards_greenright WHERE stock < 0")
        return [
            f"invariant 3: green right {right_id} has stock {stock}" for right_id, stock in cursor.fetchall()
        ]


def points_postings_match_entries() -> list[str]:
    """Each redemption, cancellation and expiry posting: its count and points are those of the
    entries naming it, it carries no grams, and its entries are of its kind and line."""
    # {(posting id, kind): [entries, signed points]}: a redemption takes its points out,
    # its cancellation puts them back, an expiry takes them out.
    found: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    kind: str
    sources: tuple[tuple[str, Any, int], ...] = (
        (EntryKind.REDEMPTION, Redemption.objects.values(carrier=F("posting_id")), -1),
        (
            EntryKind.REDEMPTION_CANCELLATION,
            Redemption.objects.filter(cancel_posting__isnull=False).values(carrier=F("cancel_posting_id")),
            1,
        ),
        (EntryKind.POINTS_EXPIRY, PointsExpiry.objects.values(carrier=F("posting_id")), -1),
    )
    for kind, rows, sign in sources:
        for posting_id, entries, points in rows.annotate(
            entries=Count("id"), total=Sum("points")
        ).values_list("carrier", "entries", "total"):
            found[(posting_id, kind)] = [entries, sign * int(points or 0)]
    problems = []
    postings = Posting.objects.filter(
        Q(entry_kind__in=POINTS_ENTRY_KINDS) | Q(pk__in={posting_id for posting_id, _kind in found})
    ).values_list("pk", "entry_kind", "entries", "grams", "points")
    for posting_id, kind, entries, grams, points in postings:
        expected = found.pop((posting_id, kind), [0, 0])
        if [entries, points] != expected or grams != 0:
            problems.append(
                f"invariant 5: {kind} posting {posting_id} says {entries} entries, {points} points, "
                f"{grams} g; its entries are {expected[0]}, {expected[1]} points"
            )
    problems += [
        f"invariant 5: {entries} {kind} entries ({points} points) name posting {posting_id}, "
        "which is not a posting of theirs"
        for (posting_id, kind), (entries, points) in sorted(found.items())
    ]
    return problems + _entries_in_their_lines()


def _entries_in_their_lines() -> list[str]:
    """An entry's posting is of its person's line (a line's control account holds its people)."""
    wrong = [
        *Redemption.objects.exclude(posting__line_id=F("account__line_id")).values_list("pk", "posting_id"),
        *Redemption.objects.filter(cancel_posting__isnull=False)
        .exclude(cancel_posting__line_id=F("account__line_id"))
        .values_list("pk", "cancel_posting_id"),
    ]
    problems = [
        f"invariant 5: redemption {pk} names posting {posting_id} of another line" for pk, posting_id in wrong
    ]
    problems += [
        f"invariant 5: expiry {pk} names posting {posting_id} of another line"
        for pk, posting_id in PointsExpiry.objects.exclude(
            posting__line_id=F("account__line_id")
        ).values_list("pk", "posting_id")
    ]
    return problems
