"""Each invariant this app owns (1, 2, 5, 6) fails a test when broken (the entries' side:
test_sub_ledger_invariants.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from carbon_accounts import services
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, Transfer
from tests.conftest import memo

pytestmark = pytest.mark.django_db


def _execute(sql: str, parameters: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, parameters or [])


@pytest.fixture
def posted(record):  # type: ignore[no-untyped-def]
    """A bank customer's metro ride, posted: the person and one transfer of its posting."""
    outcome = record("green_travel_metro", "10", region="CN-SZ")
    transfer = Transfer.objects.filter(posting_id=outcome.record.posting_id).first()
    assert transfer is not None
    return outcome.record.account, transfer.pk


# --- Invariant 1: append-only ----------------------------------------------------------------


def test_raw_sql_update_of_a_transfer_is_refused(posted) -> None:  # type: ignore[no-untyped-def]
    _person, transfer_id = posted
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("UPDATE carbon_accounts_transfer SET amount = 1 WHERE id = %s", [transfer_id])


def test_raw_sql_delete_of_a_transfer_is_refused(posted) -> None:  # type: ignore[no-untyped-def]
    _person, transfer_id = posted
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("DELETE FROM carbon_accounts_transfer WHERE id = %s", [transfer_id])


def test_orm_delete_is_refused_too(posted) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts.models import Transfer

    with pytest.raises(DatabaseError), transaction.atomic():
        Transfer.objects.all().delete()


def test_check_ledger_reports_a_disabled_trigger(posted) -> None:  # type: ignore[no-untyped-def]
    # Deferred foreign-key checks must run first, or PostgreSQL refuses the ALTER.
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    _execute("ALTER TABLE carbon_accounts_transfer DISABLE TRIGGER transfer_append_only")
    assert any("invariant 1" in problem for problem in check_ledger(only_ledger=True))


# --- Invariant 2: every transfer balances, each unit sums to zero -----------------------------


@pytest.mark.parametrize(
    ("amount", "same_account"),
    [(0, False), (-10, False), (10, True)],
)
def test_database_refuses_unbalanced_or_degenerate_transfers(posted, amount: int, same_account: bool) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    request = memo(person.line, 1)
    debit = request.credit_account_id if same_account else request.debit_account_id
    with pytest.raises(IntegrityError):
        _execute(
            """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
                 source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
                 payload_digest, description, created_at)
               VALUES (%s, %s, %s, 'gCO2e', 'x', %s, 't', '1', 'none', '2026-05-01', 'raw', 'raw-1', '', '', now())""",
            [debit, request.credit_account_id, amount, person.line_id],
        )


def test_a_hand_edited_balance_no_longer_matches_its_line_nor_its_entries(posted) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    assert check_ledger() == []
    person.refresh_from_db()
    held = person.balance_g
    _execute("UPDATE carbon_accounts_account SET balance_g = balance_g + 1 WHERE id = %s", [person.pk])
    problems = check_ledger()
    assert (
        f"invariant 5: line {person.line_id} gCO2e: control account {held}, its people hold {held + 1}"
        in problems
    )
    assert (
        f"invariant 5: account {person.pk} holds {held + 1} g and {person.balance_points} points "
        f"but its entries sum to {held} g and {person.balance_points} points"
    ) in problems
    with pytest.raises(CommandError, match="ledger drift"):
        call_command("check_ledger")


def test_database_refuses_a_negative_personal_points_balance(posted) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    with pytest.raises(IntegrityError):
        _execute("UPDATE carbon_accounts_account SET balance_points = -1 WHERE id = %s", [person.pk])


# --- Invariant 5: group = sum of lines = sum of people -----------------------------------------


def test_group_lines_and_people_agree_after_activity_in_several_lines(record, make_person) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts import selectors

    people = [make_person(code) for code in ("bank", "life", "bank")]
    for index, person in enumerate(people):
        for days_ago in range(2):
            record(
                "green_travel_metro",
                str(5 + index),
                person=person,
                line=person.line.code,
                region="CN-SZ",
                occurred_on=timezone.localdate() - timedelta(days=days_ago),
            )
    record("commute_metro", "12", region="CN-SZ")
    group = {(r.unit, r.period, r.ghg_category): r.amount for r in selectors.issued_totals(by_line=False)}
    lines: dict[tuple, int] = {}
    for row in selectors.issued_totals(by_line=True):
        key = (row.unit, row.period, row.ghg_category)
        lines[key] = lines.get(key, 0) + row.amount
    everyone = Account.objects.filter(kind=AccountKind.PERSONAL)
    assert group == lines
    assert {category for unit, _period, category in group if unit == "gCO2e"} == {
        "scope3plus_ecosystem",
        "scope3_cat7_commuting",
    }
    assert sum(amount for (unit, _, _), amount in group.items() if unit == "gCO2e") == sum(
        everyone.values_list("balance_g", flat=True)
    )
    assert sum(amount for (unit, _, _), amount in group.items() if unit == "points") == sum(
        everyone.values_list("balance_points", flat=True)
    )
    assert check_ledger() == []


def test_a_transfer_labelled_with_the_wrong_line_is_reported(lines) -> None:  # type: ignore[no-untyped-def]
    request = memo(lines["bank"], 10)
    life = memo(lines["life"], 10)
    # Bypass the services: from the bank's registry to life's certified account, labelled "bank".
    _execute(
        """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, created_at)
           VALUES (%s, %s, 10, 'gCO2e', 'x', %s, 't', '1', 'none', '2026-05-01', 'raw', 'raw-2', '', '', now())""",
        [request.debit_account_id, life.credit_account_id, lines["bank"].pk],
    )
    transfer = Transfer.objects.get(idempotency_key="raw-2")
    assert (
        f"transfer {transfer.pk}: labelled line {lines['bank'].pk} but its accounts belong to lines "
        f"{lines['bank'].pk}/{lines['life'].pk}"
    ) in check_ledger(only_ledger=True)


def test_points_moved_outside_a_posting_of_entries_are_reported(lines) -> None:  # type: ignore[no-untyped-def]
    budget = Account.objects.get(line=lines["bank"], kind=AccountKind.POINTS_BUDGET)
    expired = Account.objects.get(line=lines["bank"], kind=AccountKind.POINTS_EXPIRED)
    # The service refuses it; by raw SQL it is reported.
    with pytest.raises(services.InvalidTransfer, match="memo accounts"):
        services.post_transfer(
            transfer=replace(memo(lines["bank"], 5), debit_account_id=budget.pk, credit_account_id=expired.pk)
        )
    _execute(
        """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, created_at)
           VALUES (%s, %s, 5, 'points', 'x', %s, 't', '1', 'none', '2026-05-01', 'raw', 'raw-3', '', '', now())""",
        [budget.pk, expired.pk, lines["bank"].pk],
    )
    transfer = Transfer.objects.get(idempotency_key="raw-3")
    problems = check_ledger(only_ledger=True)
    assert f"transfer {transfer.pk}: moves a points_budget account outside a posting of entries" in problems
    assert f"transfer {transfer.pk}: moves a points_expired account outside a posting of entries" in problems


# --- Invariant 6: one effect per key ----------------------------------------------------------


def test_database_refuses_a_second_transfer_with_the_same_key(posted) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    request = memo(person.line, 10)
    sql = """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, created_at)
           VALUES (%s, %s, 10, 'gCO2e', 'reduction', %s, 't', '1', 'none', '2026-05-01', 'raw', 'dup', '', '', now())"""
    accounts = [request.debit_account_id, request.credit_account_id, person.line_id]
    _execute(sql, accounts)
    with pytest.raises(IntegrityError):
        _execute(sql, accounts)


def test_check_ledger_command_is_clean_after_activity(posted, capsys: pytest.CaptureFixture) -> None:  # type: ignore[no-untyped-def]
    call_command("check_ledger")
    assert "ledger clean" in capsys.readouterr().out
