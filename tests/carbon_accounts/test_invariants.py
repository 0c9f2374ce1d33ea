"""Each invariant this app owns (1, 2, 5, 6) fails a test when broken."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError

from carbon_accounts import services
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind
from tests.conftest import issue

pytestmark = pytest.mark.django_db


def _execute(sql: str, parameters: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, parameters or [])


@pytest.fixture
def posted(make_person):  # type: ignore[no-untyped-def]
    person = make_person()
    transfer_id, _ = services.post_transfer(transfer=issue(person, 500))
    services.post_transfer(transfer=issue(person, 40, unit="points"))
    return person, transfer_id


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
    source = Account.objects.get(line_id=person.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    with pytest.raises(IntegrityError):
        _execute(
            """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
                 source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
                 payload_digest, description, created_at)
               VALUES (%s, %s, %s, 'gCO2e', 'x', %s, 't', '1', 'none', '2026-05-01', 'raw', 'raw-1', '', '', now())""",
            [person.pk if same_account else source.pk, person.pk, amount, person.line_id],
        )


def test_a_hand_edited_balance_breaks_the_zero_sum_and_is_reported(posted) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    assert check_ledger(only_ledger=True) == []
    _execute("UPDATE carbon_accounts_account SET balance_g = balance_g + 1 WHERE id = %s", [person.pk])
    problems = check_ledger(only_ledger=True)
    assert any("invariant 2: gCO2e sums to 1" in problem for problem in problems)
    assert any(f"account {person.pk}: stored 501 g" in problem for problem in problems)
    with pytest.raises(CommandError, match="ledger drift"):
        call_command("check_ledger")


def test_database_refuses_a_negative_personal_points_balance(posted) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    with pytest.raises(IntegrityError):
        _execute("UPDATE carbon_accounts_account SET balance_points = -1 WHERE id = %s", [person.pk])


# --- Invariant 5: group = sum of lines = sum of people -----------------------------------------


def test_rollups_agree_after_activity_in_several_lines(make_person) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts import selectors

    people = [make_person(code) for code in ("employees", "bank", "life", "bank")]
    for index, person in enumerate(people):
        services.post_transfer(transfer=issue(person, 100 + index, period_date=date(2026, 5, 1 + index)))
        services.post_transfer(transfer=issue(person, 3, unit="points"))
    group = {(r.unit, r.period, r.ghg_category): r.amount for r in selectors.issued_totals(by_line=False)}
    lines: dict[tuple, int] = {}
    for row in selectors.issued_totals(by_line=True):
        key = (row.unit, row.period, row.ghg_category)
        lines[key] = lines.get(key, 0) + row.amount
    people_total = sum(Account.objects.get(pk=p.pk).balance_g for p in people)
    assert group == lines
    assert sum(amount for (unit, _, _), amount in group.items() if unit == "gCO2e") == people_total == 406
    assert check_ledger(only_ledger=True) == []


def test_a_transfer_labelled_with_the_wrong_line_is_reported(make_person) -> None:  # type: ignore[no-untyped-def]
    bank_person = make_person("bank")
    life_person = make_person("life")
    source = Account.objects.get(line_id=bank_person.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    services.post_transfer(transfer=issue(bank_person, 10))
    # Bypass the services: a transfer from the bank's issuance to a life customer, labelled "bank".
    _execute(
        """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, created_at)
           VALUES (%s, %s, 10, 'gCO2e', 'reduction', %s, 't', '1', 'none', '2026-05-01', 'raw', 'raw-2', '', '', now())""",
        [source.pk, life_person.pk, bank_person.line_id],
    )
    _execute("UPDATE carbon_accounts_account SET balance_g = 10 WHERE id = %s", [life_person.pk])
    problems = check_ledger(only_ledger=True)
    assert any("labelled line" in problem for problem in problems)
    assert any("invariant 5: line" in problem for problem in problems)


def test_issuance_that_never_reaches_a_person_is_reported(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    budget = Account.objects.get(line_id=person.line_id, kind=AccountKind.POINTS_BUDGET)
    expired = Account.objects.get(line_id=person.line_id, kind=AccountKind.POINTS_EXPIRED)
    request = replace(
        issue(person, 5, unit="points"), debit_account_id=budget.pk, credit_account_id=expired.pk
    )
    services.post_transfer(transfer=request)
    assert any(
        "invariant 5" in problem and "people 0" in problem for problem in check_ledger(only_ledger=True)
    )


# --- Invariant 6: one effect per key ----------------------------------------------------------


def test_database_refuses_a_second_transfer_with_the_same_key(posted) -> None:  # type: ignore[no-untyped-def]
    person, _ = posted
    source = Account.objects.get(line_id=person.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    sql = """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
             source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
             payload_digest, description, created_at)
           VALUES (%s, %s, 10, 'gCO2e', 'reduction', %s, 't', '1', 'none', '2026-05-01', 'raw', 'dup', '', '', now())"""
    _execute(sql, [source.pk, person.pk, person.line_id])
    with pytest.raises(IntegrityError):
        _execute(sql, [source.pk, person.pk, person.line_id])


def test_check_ledger_command_is_clean_after_activity(make_person, capsys: pytest.CaptureFixture) -> None:  # type: ignore[no-untyped-def]
    services.post_transfer(transfer=issue(make_person(), 500))
    call_command("check_ledger")
    assert "ledger clean" in capsys.readouterr().out
