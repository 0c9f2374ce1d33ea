"""A behaviour record is its person's entry in the sub-ledger: each invariant the general ledger
rests on (DESIGN.md, "The ledger"), broken on purpose with raw SQL, is refused by the database
or named by check_ledger in the words an auditor reads."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from behaviours.models import BehaviourRecord, QuantificationBasis, RecordReversal, RecordStatus
from behaviours.services import reverse_record
from carbon_accounts import selectors
from carbon_accounts import services as ledger
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, EntryKind, Posting, Transfer
from carbon_accounts.services import EntrySummary

pytestmark = pytest.mark.django_db

# Every column of a record but its id, so that raw SQL can write a copy with a few changes.
RECORD_COLUMNS = (
    "claim_fingerprint",
    "line_id",
    "account_id",
    "behaviour_id",
    "quantity",
    "counted_quantity",
    "cap_note",
    "occurred_on",
    "region_id",
    "attributes",
    "evidence_id",
    "source",
    "idempotency_key",
    "payload_digest",
    "status",
    "review_reason",
    "reduction_g",
    "basis_id",
    "ghg_category",
    "fileable",
    "points",
    "posting_id",
    "created_at",
    "decided_at",
    "decided_by",
)


def execute(sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, parameters or [])
        return list(cursor.fetchall()) if cursor.description else []


def refused(sql: str, parameters: list[Any], match: str) -> None:
    """The statement fails on the guard named by `match`, and changes nothing."""
    with pytest.raises(DatabaseError, match=match):
        execute(sql, parameters)


def at_commit() -> None:
    """Run the checks deferred to commit now, inside the test's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def copy_record(record: BehaviourRecord, **changes: Any) -> int:
    """A new record row like `record`, with `changes` (a new idempotency key always)."""
    changes.setdefault("idempotency_key", f"copy-of-{record.pk}-{len(changes)}")
    # A claim of its own (the same activity twice would be refused before any ledger guard).
    changes.setdefault("claim_fingerprint", hashlib.sha256(changes["idempotency_key"].encode()).hexdigest())
    values = ", ".join("%s" if column in changes else column for column in RECORD_COLUMNS)
    parameters = [changes[column] for column in RECORD_COLUMNS if column in changes]
    ((record_id,),) = execute(
        f"INSERT INTO behaviours_behaviourrecord ({', '.join(RECORD_COLUMNS)}) "
        f"SELECT {values} FROM behaviours_behaviourrecord WHERE id = %s RETURNING id",
        [*parameters, record.pk],
    )
    return int(record_id)


def post_like(record: BehaviourRecord, *, grams: int, points: int, **key: Any) -> int:
    """A posting (with its transfers and its person's balance moved) for one entry like `record`."""
    summary = EntrySummary(
        period_date=key.get("period_date", record.occurred_on),
        ghg_category=key.get("ghg_category", record.ghg_category),
        behaviour_code=record.behaviour_id,
        basis_id=record.basis_id,
        entries=1,
        grams=grams,
        points=points,
    )
    postings = ledger.post_entries(
        line_id=record.line_id,
        entry_kind=EntryKind.BEHAVIOUR_RECORD,
        summaries=[summary],
        balance_changes={record.account_id: (grams, points)},
    )
    return postings[summary.key]


@pytest.fixture
def books(record, make_person):  # type: ignore[no-untyped-def]
    """Two people of the employees line, one of the bank: records on two days and in two GHG
    categories, a reversal, and a record held for review."""
    today = timezone.localdate()
    alice, bob, carol = make_person("employees"), make_person("employees"), make_person("bank")
    metro = record("commute_metro", "10", region="GB", person=alice).record
    earlier = record(
        "commute_metro", "6", region="GB", person=alice, occurred_on=today - timedelta(days=3)
    ).record
    meeting = record("remote_meeting", "200", region="GB", person=bob).record
    mistaken = record("commute_bus", "4", region="GB", person=bob).record
    customer = record("green_travel_metro", "12", region="GB", person=carol).record
    reverse_record(record_id=mistaken.pk, reviewer="auditor@test.example", reason="recorded twice")
    held = record("commute_metro", "10", region="GB", person=bob, attributes={"duration_minutes": "1"}).record
    assert held.status == RecordStatus.PENDING_REVIEW
    assert metro.ghg_category != meeting.ghg_category
    assert all(r.reduction_g > 0 and r.points > 0 for r in (metro, earlier, meeting, mistaken, customer))
    assert check_ledger() == []
    for saved in (metro, earlier, meeting, mistaken, held):
        saved.refresh_from_db()
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "metro": metro,
        "earlier": earlier,
        "meeting": meeting,
        "mistaken": mistaken,
        "reversal": RecordReversal.objects.get(record=mistaken),
        "held": held,
    }


def balances(account: Account) -> tuple[int, int]:
    account.refresh_from_db()
    return account.balance_g, account.balance_points


# --- Invariant 1: entries, bases and postings are never changed or deleted ------------------------


@pytest.mark.parametrize(
    "change",
    [
        "SET reduction_g = reduction_g + 1",
        "SET points = points + 1",
        "SET basis_id = %(other_basis)s",
        "SET posting_id = %(other_posting)s",
        "SET posting_id = NULL",
        "SET occurred_on = occurred_on - 1",
        "SET account_id = %(other_account)s",
    ],
)
def test_a_posted_records_amounts_basis_and_posting_cannot_be_updated(books, change: str) -> None:  # type: ignore[no-untyped-def]
    metro = books["metro"]
    values = {
        "other_basis": books["meeting"].basis_id,
        "other_posting": books["earlier"].posting_id,
        "other_account": books["bob"].pk,
    }
    refused(
        f"UPDATE behaviours_behaviourrecord {change % values} WHERE id = %s",
        [metro.pk],
        f"UPDATE of behaviours_behaviourrecord row {metro.pk} refused: a record and its factor rows are kept",
    )
    kept = BehaviourRecord.objects.get(pk=metro.pk)
    assert (kept.reduction_g, kept.points, kept.basis_id, kept.posting_id) == (
        metro.reduction_g,
        metro.points,
        metro.basis_id,
        metro.posting_id,
    )


@pytest.mark.parametrize("entry", ["metro", "mistaken", "held"])
def test_a_record_cannot_be_deleted_whatever_its_status(books, entry: str) -> None:  # type: ignore[no-untyped-def]
    record = books[entry]
    refused(
        "DELETE FROM behaviours_behaviourrecord WHERE id = %s",
        [record.pk],
        f"DELETE of behaviours_behaviourrecord row {record.pk} refused",
    )
    assert BehaviourRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE behaviours_quantificationbasis SET method = 'sum' WHERE id = %s",
        "UPDATE behaviours_quantificationbasis SET factor_b_id = factor_a_id WHERE id = %s",
        "DELETE FROM behaviours_quantificationbasis WHERE id = %s",
    ],
)
def test_a_quantification_basis_cannot_be_updated_or_deleted(books, statement: str) -> None:  # type: ignore[no-untyped-def]
    basis_id = books["metro"].basis_id
    operation = statement.split()[0]
    refused(statement, [basis_id], f"{operation} of behaviours_quantificationbasis row {basis_id} refused")
    assert QuantificationBasis.objects.get(pk=basis_id).method == "difference"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE behaviours_recordreversal SET reduction_g = 0, points = 0 WHERE id = %s",
        "UPDATE behaviours_recordreversal SET reason = 'nothing happened' WHERE id = %s",
        "DELETE FROM behaviours_recordreversal WHERE id = %s",
    ],
)
def test_a_reversal_cannot_be_changed_or_deleted(books, statement: str) -> None:  # type: ignore[no-untyped-def]
    reversal = books["reversal"]
    operation = statement.split()[0]
    refused(statement, [reversal.pk], f"{operation} of behaviours_recordreversal row {reversal.pk} refused")
    kept = RecordReversal.objects.get(pk=reversal.pk)
    assert (kept.reduction_g, kept.points) == (-books["mistaken"].reduction_g, -books["mistaken"].points)


def test_a_record_is_reversed_at_most_once(books) -> None:  # type: ignore[no-untyped-def]
    reversal = books["reversal"]
    with transaction.atomic():
        posting_id = next(
            iter(
                ledger.post_entries(
                    line_id=reversal.posting.line_id,
                    entry_kind=EntryKind.RECORD_REVERSAL,
                    summaries=[EntrySummary(period_date=reversal.posting.period_date, entries=1)],
                    balance_changes={},
                ).values()
            )
        )
        with pytest.raises(IntegrityError, match="record_id"):
            execute(
                """INSERT INTO behaviours_recordreversal
                       (record_id, account_id, reduction_g, points, reason, reversed_by, posting_id, created_at)
                   VALUES (%s, %s, 0, 0, 'again', 'someone', %s, now())""",
                [reversal.record_id, reversal.account_id, posting_id],
            )
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE carbon_accounts_posting SET grams = grams + 1 WHERE id = %s",
        "UPDATE carbon_accounts_posting SET entries = entries + 1 WHERE id = %s",
        "UPDATE carbon_accounts_posting SET period_date = period_date - 40 WHERE id = %s",
        "DELETE FROM carbon_accounts_posting WHERE id = %s",
    ],
)
def test_a_posting_cannot_be_updated_or_deleted(books, statement: str) -> None:  # type: ignore[no-untyped-def]
    posting_id = books["metro"].posting_id
    operation = statement.split()[0]
    refused(statement, [posting_id], f"postings are append-only: {operation} refused on posting {posting_id}")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE carbon_accounts_transfer SET amount = amount + 1 WHERE posting_id = %s",
        "UPDATE carbon_accounts_transfer SET posting_id = NULL WHERE posting_id = %s",
        "DELETE FROM carbon_accounts_transfer WHERE posting_id = %s",
    ],
)
def test_a_postings_transfers_cannot_be_updated_or_deleted(books, statement: str) -> None:  # type: ignore[no-untyped-def]
    refused(statement, [books["metro"].posting_id], "append-only")
    assert Transfer.objects.filter(posting_id=books["metro"].posting_id).count() == 2


# --- Invariant 5 at commit: a posting equals its entries and its transfers ------------------------


def test_a_posting_whose_sums_differ_from_its_records_is_refused_at_commit(books) -> None:  # type: ignore[no-untyped-def]
    metro = books["metro"]
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        posting_id = post_like(metro, grams=metro.reduction_g + 1, points=metro.points)
        copy_record(metro, posting_id=posting_id)
        at_commit()
    assert str(refusal.value).startswith(
        f"posting {posting_id} says 1 entries, {metro.reduction_g + 1} g, {metro.points} points; "
        f"its entries are 1, {metro.reduction_g} g, {metro.points} points"
    )
    assert BehaviourRecord.objects.count() == 6
    assert check_ledger() == []


def test_a_posting_whose_transfers_differ_from_its_sums_is_refused_at_commit(books) -> None:  # type: ignore[no-untyped-def]
    metro = books["metro"]
    control = Account.objects.get(line_id=metro.line_id, kind=AccountKind.LINE)
    issuance = Account.objects.get(line_id=metro.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        posting_id = post_like(metro, grams=metro.reduction_g, points=metro.points)
        copy_record(metro, posting_id=posting_id)
        # A second transfer into the control account, riding on the new posting.
        execute(
            """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
                 source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
                 payload_digest, description, posting_id, created_at)
               VALUES (%s, %s, 5, 'gCO2e', 'behaviour_record', %s, 'posting', %s, 'none', %s, 'raw', 'extra', '', '',
                       %s, now())""",
            [issuance.pk, control.pk, metro.line_id, str(posting_id), metro.occurred_on, posting_id],
        )
        at_commit()
    assert str(refusal.value).startswith(
        f"posting {posting_id} sums to {metro.reduction_g} g and {metro.points} points, "
        f"its transfers move {metro.reduction_g + 5} g and {metro.points} points"
    )
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_posting_is_complete_nothing_names_it_later(books) -> None:  # type: ignore[no-untyped-def]
    """Entries and transfers name only postings of their own transaction: riding on a committed
    posting would leave its sums short of its entries, unseen by the checks at commit."""
    metro, held, reversal = books["metro"], books["held"], books["reversal"]
    control = Account.objects.get(line_id=metro.line_id, kind=AccountKind.LINE)
    issuance = Account.objects.get(line_id=metro.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    refused(
        """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, posting_id, created_at)
           VALUES (%s, %s, 5, 'gCO2e', 'behaviour_record', %s, 'posting', %s, 'none', %s, 'raw', 'late', '', '',
                   %s, now())""",
        [issuance.pk, control.pk, metro.line_id, str(metro.posting_id), metro.occurred_on, metro.posting_id],
        "a transfer may only name a posting written in its own transaction",
    )
    with pytest.raises(DatabaseError, match="an entry of behaviours_behaviourrecord may only name a posting"):
        copy_record(metro)  # the copy names the record's committed posting
    refused(
        "UPDATE behaviours_behaviourrecord SET status = 'accepted', posting_id = %s WHERE id = %s",
        [metro.posting_id, held.pk],
        "an approval may only name a posting written in its own transaction",
    )
    refused(
        """INSERT INTO behaviours_recordreversal
               (record_id, account_id, reduction_g, points, reason, reversed_by, posting_id, created_at)
           VALUES (%s, %s, %s, %s, 'again', 'someone', %s, now())""",
        [metro.pk, metro.account_id, -metro.reduction_g, -metro.points, reversal.posting_id],
        "an entry of behaviours_recordreversal may only name a posting",
    )
    # And a posting with no transfers at all fails when its transaction commits.
    with pytest.raises(IntegrityError, match=r"its transfers move 0 g and 0 points"), transaction.atomic():
        execute(
            """INSERT INTO carbon_accounts_posting (line_id, entry_kind, period_date, ghg_category, behaviour_code,
                     basis_id, entries, grams, points, created_at)
                   VALUES (%s, 'behaviour_record', %s, %s, %s, %s, 1, %s, %s, now())""",
            [
                metro.line_id,
                metro.occurred_on,
                metro.ghg_category,
                metro.behaviour_id,
                metro.basis_id,
                metro.reduction_g,
                metro.points,
            ],
        )
        posting_id = Posting.objects.latest("id").pk
        copy_record(metro, posting_id=posting_id)
    assert BehaviourRecord.objects.count() == 6
    assert not Posting.objects.filter(pk=posting_id).exists()
    assert BehaviourRecord.objects.get(pk=held.pk).status == RecordStatus.PENDING_REVIEW
    assert check_ledger() == []


# --- Invariant 5 along the second path: check_ledger -----------------------------------------------


def test_a_hand_edited_personal_balance_is_reported(books) -> None:  # type: ignore[no-untyped-def]
    alice = books["alice"]
    grams, points = balances(alice)
    line_grams = Account.objects.filter(line_id=alice.line_id, kind=AccountKind.PERSONAL).aggregate(
        total=Sum("balance_g")
    )["total"]
    execute("UPDATE carbon_accounts_account SET balance_g = balance_g + 1 WHERE id = %s", [alice.pk])
    assert sorted(check_ledger()) == [
        f"invariant 5: account {alice.pk} holds {grams + 1} g and {points} points "
        f"but its entries sum to {grams} g and {points} points",
        f"invariant 5: line {alice.line_id} gCO2e: control account {line_grams}, its people hold {line_grams + 1}",
    ]


def test_points_moved_by_hand_between_two_people_of_a_line_are_reported(books) -> None:  # type: ignore[no-untyped-def]
    """The line's total is unchanged, so only each person's entries tell."""
    alice, bob = books["alice"], books["bob"]
    (alice_grams, alice_points), (bob_grams, bob_points) = balances(alice), balances(bob)
    execute(
        "UPDATE carbon_accounts_account SET balance_points = balance_points + "
        "CASE WHEN id = %s THEN -2 ELSE 2 END WHERE id IN (%s, %s)",
        [alice.pk, alice.pk, bob.pk],
    )
    assert check_ledger() == [
        f"invariant 5: account {alice.pk} holds {alice_grams} g and {alice_points - 2} points "
        f"but its entries sum to {alice_grams} g and {alice_points} points",
        f"invariant 5: account {bob.pk} holds {bob_grams} g and {bob_points + 2} points "
        f"but its entries sum to {bob_grams} g and {bob_points} points",
    ]


def test_a_line_control_account_that_differs_from_its_people_is_reported(books) -> None:  # type: ignore[no-untyped-def]
    line_id = books["alice"].line_id
    people = Account.objects.filter(line_id=line_id, kind=AccountKind.PERSONAL).aggregate(
        total=Sum("balance_g")
    )["total"]
    issuance = Account.objects.get(line_id=line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    control = Account.objects.get(line_id=line_id, kind=AccountKind.LINE)
    # A balanced transfer into the control account that no person's entry stands behind.
    execute(
        """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, created_at)
           VALUES (%s, %s, 100, 'gCO2e', 'behaviour_record', %s, 'raw', '1', 'none', %s, 'raw', 'orphan', '', '',
                   now())""",
        [issuance.pk, control.pk, line_id, timezone.localdate()],
    )
    orphan = Transfer.objects.get(idempotency_key="orphan")
    assert check_ledger() == [
        f"transfer {orphan.pk}: moves a line account outside a posting of entries",
        f"transfer {orphan.pk}: moves a reduction_issuance account outside a posting of entries",
        f"invariant 5: line {line_id} gCO2e: control account {people + 100}, its people hold {people}",
    ]


def test_an_accepted_record_never_posted_is_reported(books) -> None:  # type: ignore[no-untyped-def]
    """Posting happens in the record's own transaction, so there is no posting lag to allow:
    an accepted record without a posting is a fault at any age."""
    metro = books["metro"]
    unposted = copy_record(metro, posting_id=None)
    assert check_ledger() == [f"invariant 4: record {unposted} is accepted but its posting is missing"]


def test_a_record_whose_status_no_longer_matches_its_posting_is_reported(books) -> None:  # type: ignore[no-untyped-def]
    metro, held = books["metro"], books["held"]
    execute("UPDATE behaviours_behaviourrecord SET status = 'rejected' WHERE id = %s", [metro.pk])
    execute("UPDATE behaviours_behaviourrecord SET status = 'reversed' WHERE id = %s", [held.pk])
    assert check_ledger() == [
        f"invariant 4: record {metro.pk} is rejected but its posting is {metro.posting_id}",
        f"invariant 4: record {held.pk} is reversed but its posting is missing",
    ]


def test_a_record_whose_grams_differ_from_its_factor_rows_is_reported(books) -> None:  # type: ignore[no-untyped-def]
    """The database keeps what was stored; recomputing from the basis is check_ledger's."""
    metro = books["metro"]
    with transaction.atomic():
        posting_id = post_like(metro, grams=metro.reduction_g + 1, points=metro.points)
        wrong = copy_record(metro, posting_id=posting_id, reduction_g=metro.reduction_g + 1)
        at_commit()
    assert check_ledger() == [
        f"invariant 4: record {wrong} stores {metro.reduction_g + 1} g but its factor rows give {metro.reduction_g} g"
    ]


# --- Invariant 5: group = sum of lines = sum of people, per unit, period and GHG category ---------


def peoples_entries() -> Counter[tuple[str, Any, str]]:
    """What people's posted records and reversals add up to, by unit, month and GHG category."""
    totals: Counter[tuple[str, Any, str]] = Counter()
    records = BehaviourRecord.objects.filter(posting_id__isnull=False).values_list(
        "occurred_on", "ghg_category", "reduction_g", "points"
    )
    reversals = RecordReversal.objects.values_list(
        "record__occurred_on", "record__ghg_category", "reduction_g", "points"
    )
    for day, category, grams, points in [*records, *reversals]:
        totals[("gCO2e", day.replace(day=1), category)] += grams
        totals[("points", day.replace(day=1), "none")] += points
    return +totals


def group_and_lines() -> tuple[Counter[tuple[str, Any, str]], Counter[tuple[str, Any, str]]]:
    group: Counter[tuple[str, Any, str]] = Counter()
    lines: Counter[tuple[str, Any, str]] = Counter()
    for row in selectors.issued_totals(by_line=False):
        group[(row.unit, row.period, row.ghg_category)] += row.amount
    for row in selectors.issued_totals(by_line=True):
        lines[(row.unit, row.period, row.ghg_category)] += row.amount
    return +group, +lines


def test_group_is_the_sum_of_lines_and_of_people_by_unit_period_and_category(books) -> None:  # type: ignore[no-untyped-def]
    group, lines = group_and_lines()
    assert group == lines == peoples_entries()
    categories = {category for unit, _month, category in group if unit == "gCO2e"}
    assert categories == {"scope3_cat7_commuting", "scope3_cat6_business_travel", "scope3plus_ecosystem"}


def test_a_record_riding_on_a_posting_of_another_category_is_refused(books) -> None:  # type: ignore[no-untyped-def]
    metro = books["metro"]
    with transaction.atomic():
        posting_id = post_like(
            metro, grams=metro.reduction_g, points=metro.points, ghg_category="scope3_cat6_business_travel"
        )
        with pytest.raises(
            DatabaseError,
            match="a record may only name a posting of its own line, day, GHG category, behaviour and basis",
        ):
            copy_record(metro, posting_id=posting_id)
        transaction.set_rollback(True)
    assert check_ledger() == []


def test_a_record_riding_on_a_posting_of_another_category_is_reported(books) -> None:  # type: ignore[no-untyped-def]
    """With the guard off, line and group totals by category drift from the people's entries;
    check_ledger names the record."""
    metro = books["metro"]
    # PostgreSQL refuses ALTER TABLE while checks wait for commit; the guard is back on rollback.
    at_commit()
    execute("ALTER TABLE behaviours_behaviourrecord DISABLE TRIGGER record_names_new_posting")
    execute("SET CONSTRAINTS ALL DEFERRED")
    with transaction.atomic():
        posting_id = post_like(
            metro, grams=metro.reduction_g, points=metro.points, ghg_category="scope3_cat6_business_travel"
        )
        rider = copy_record(metro, posting_id=posting_id)
        at_commit()
    group, lines = group_and_lines()
    assert group == lines != peoples_entries()
    assert check_ledger() == [
        f"invariant 5: record {rider} ({metro.occurred_on}, scope3_cat7_commuting) names behaviour_record "
        f"posting {posting_id} ({metro.occurred_on}, scope3_cat6_business_travel) of another kind, line, day, "
        "category, behaviour or basis"
    ]


def test_the_reversal_of_a_record_names_its_records_key(books) -> None:  # type: ignore[no-untyped-def]
    metro = books["metro"]
    with transaction.atomic():
        posting_id = next(
            iter(
                ledger.post_entries(
                    line_id=metro.line_id,
                    entry_kind=EntryKind.RECORD_REVERSAL,
                    summaries=[
                        EntrySummary(
                            period_date=metro.occurred_on - timedelta(days=1),
                            ghg_category=metro.ghg_category,
                            behaviour_code=metro.behaviour_id,
                            basis_id=metro.basis_id,
                            entries=1,
                            grams=-metro.reduction_g,
                            points=-metro.points,
                        )
                    ],
                    balance_changes={metro.account_id: (-metro.reduction_g, -metro.points)},
                ).values()
            )
        )
        with pytest.raises(
            DatabaseError, match="a reversal may only name a reversal posting of its record's"
        ):
            execute(
                """INSERT INTO behaviours_recordreversal
                       (record_id, account_id, reduction_g, points, reason, reversed_by, posting_id, created_at)
                   VALUES (%s, %s, %s, %s, 'wrong day', 'someone', %s, now())""",
                [metro.pk, metro.account_id, -metro.reduction_g, -metro.points, posting_id],
            )
        transaction.set_rollback(True)
    assert BehaviourRecord.objects.get(pk=metro.pk).status == RecordStatus.ACCEPTED
