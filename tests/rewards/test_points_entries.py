"""Redemptions, cancellations and expiries are entries of the personal sub-ledger: the database
refuses a change to what they or their postings record, and `check_ledger` finds a posting that
no longer equals its entries along a second path."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from behaviours import points_lots
from carbon_accounts import services as ledger
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import EntryKind
from carbon_accounts.services import EntrySummary
from rewards import services
from rewards.models import GreenRight, PointsExpiry, Redemption, RedemptionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(record, reference, make_person):  # type: ignore[no-untyped-def]
    """A person with a redemption, a cancelled one, and an expiry: one entry of each kind."""
    person = make_person("bank")
    right = GreenRight.objects.create(
        line=reference["bank"],
        code="tree",
        kind="tree_planting",
        name_en="Plant a tree",
        name_zh="种一棵树",
        cost_points=10,
        valid_from=date(2025, 1, 1),
    )
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        record("green_travel_metro", "10", person=person, region="GB")  # 134 points, old
    record("green_travel_metro", "10", person=person, region="GB")  # 134 points, recent
    kept = services.redeem(account=person, green_right_id=right.pk, idempotency_key="kept").redemption
    cancelled = services.redeem(account=person, green_right_id=right.pk, idempotency_key="back").redemption
    services.cancel_redemption(redemption_id=cancelled.pk)
    assert points_lots.expire_points() == 124
    cancelled.refresh_from_db()
    assert check_ledger() == []
    return {"person": person, "kept": kept, "cancelled": cancelled, "expiry": PointsExpiry.objects.get()}


def refused(sql: str, parameters: list[Any]) -> None:
    """The statement fails on a trigger's refusal (not on some other error)."""
    with (
        pytest.raises(DatabaseError, match=r"refused|never change|append-only|own transaction"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, parameters)


def test_raw_sql_cannot_change_a_redemptions_points_or_a_postings_amount(entries) -> None:  # type: ignore[no-untyped-def]
    kept, cancelled, expiry = entries["kept"], entries["cancelled"], entries["expiry"]
    refused("UPDATE rewards_redemption SET points = points + 1 WHERE id = %s", [kept.pk])
    refused("UPDATE rewards_redemption SET points = 0 WHERE id = %s", [cancelled.pk])
    refused("UPDATE rewards_redemption SET posting_id = %s WHERE id = %s", [cancelled.posting_id, kept.pk])
    refused("DELETE FROM rewards_redemption WHERE id = %s", [kept.pk])
    for posting_id in (kept.posting_id, cancelled.cancel_posting_id, expiry.posting_id):
        refused("UPDATE carbon_accounts_posting SET points = points - 1 WHERE id = %s", [posting_id])
        refused("UPDATE carbon_accounts_posting SET entries = 0 WHERE id = %s", [posting_id])
        refused("DELETE FROM carbon_accounts_posting WHERE id = %s", [posting_id])
        refused("UPDATE carbon_accounts_transfer SET amount = amount + 1 WHERE posting_id = %s", [posting_id])
    refused("UPDATE rewards_pointsexpiry SET points = 1 WHERE id = %s", [expiry.pk])
    refused("DELETE FROM rewards_pointsexpiry WHERE id = %s", [expiry.pk])
    # A cancellation is final: its points went back once, with its own posting.
    refused("UPDATE rewards_redemption SET status = 'completed' WHERE id = %s", [cancelled.pk])
    refused("UPDATE rewards_redemption SET cancel_posting_id = NULL WHERE id = %s", [cancelled.pk])
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_an_entry_names_only_a_posting_written_in_its_own_transaction(entries) -> None:  # type: ignore[no-untyped-def]
    """No riding on an old posting: its sums would no longer equal its entries, unseen at commit."""
    kept, cancelled, expiry = entries["kept"], entries["cancelled"], entries["expiry"]
    refused(
        """INSERT INTO rewards_pointsexpiry (account_id, points, expired_on, posting_id)
           VALUES (%s, 5, %s, %s)""",
        [entries["person"].pk, timezone.localdate(), expiry.posting_id],
    )
    refused(
        """UPDATE rewards_redemption SET status = 'cancelled', cancel_posting_id = %s, cancelled_at = now()
            WHERE id = %s""",
        [cancelled.cancel_posting_id, kept.pk],
    )
    assert Redemption.objects.get(pk=kept.pk).status == RedemptionStatus.COMPLETED
    assert check_ledger() == []


def test_a_posting_that_differs_from_its_entries_is_refused_at_commit(entries) -> None:  # type: ignore[no-untyped-def]
    person = entries["person"]
    with pytest.raises(DatabaseError, match="its entries are"), transaction.atomic():
        postings = ledger.post_entries(
            line_id=person.line_id,
            entry_kind=EntryKind.POINTS_EXPIRY,
            summaries=[EntrySummary(period_date=timezone.localdate(), entries=1, points=-10)],
            balance_changes={person.pk: (0, -10)},
        )
        PointsExpiry.objects.create(
            account=person,
            points=9,
            expired_on=timezone.localdate(),
            posting_id=next(iter(postings.values())),
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert check_ledger() == []


def test_check_ledger_finds_a_points_posting_that_no_longer_equals_its_entries(entries) -> None:  # type: ignore[no-untyped-def]
    kept, expiry = entries["kept"], entries["expiry"]
    with connection.cursor() as cursor:
        # Only by switching the guards off (rolled back with the test's transaction), once the
        # checks at commit of what the fixture wrote have run.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE rewards_redemption DISABLE TRIGGER redemption_fixed")
        cursor.execute("UPDATE rewards_redemption SET points = 7 WHERE id = %s", [kept.pk])
        cursor.execute("ALTER TABLE rewards_pointsexpiry DISABLE TRIGGER points_expiry_kept")
        cursor.execute(
            "UPDATE rewards_pointsexpiry SET posting_id = %s WHERE id = %s", [kept.posting_id, expiry.pk]
        )
    problems = [problem for problem in check_ledger() if "invariant 5" in problem]
    assert (
        f"invariant 5: redemption posting {kept.posting_id} says 1 entries, -10 points, 0 g; its entries are 1, -7 points"
        in problems
    )
    assert (
        f"invariant 5: points_expiry posting {expiry.posting_id} says 1 entries, -124 points, 0 g; "
        "its entries are 0, 0 points" in problems
    )
    assert (
        f"invariant 5: 1 points_expiry entries (-124 points) name posting {kept.posting_id}, which is not a posting of theirs"
        in problems
    )
