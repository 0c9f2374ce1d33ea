from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from carbon_accounts import selectors, services
from carbon_accounts.models import Account, AccountKind, Transfer
from carbon_accounts.services import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidTransfer,
)
from tests.conftest import issue

pytestmark = pytest.mark.django_db


def test_posting_credits_the_person_and_records_the_source(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    transfer_id, created = services.post_transfer(transfer=issue(person, 467))
    assert created
    person.refresh_from_db()
    assert (person.balance_g, person.balance_points) == (467, 0)
    transfer = Transfer.objects.get(pk=transfer_id)
    assert transfer.line_id == person.line_id
    assert (transfer.source_type, transfer.source_id) == ("test", "467")


def test_replaying_a_key_has_one_effect_and_returns_the_original(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    request = issue(person, 100, key="same-key")
    first = services.post_transfer(transfer=request)
    second = services.post_transfer(transfer=request)
    assert first == (first[0], True)
    assert second == (first[0], False)
    person.refresh_from_db()
    assert person.balance_g == 100
    assert Transfer.objects.filter(idempotency_key="same-key").count() == 1


def test_the_same_key_with_a_different_payload_is_refused(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    services.post_transfer(transfer=issue(person, 100, key="k1"))
    with pytest.raises(IdempotencyConflict, match="already used for a different transfer"):
        services.post_transfer(transfer=issue(person, 101, key="k1"))
    person.refresh_from_db()
    assert person.balance_g == 100


def test_the_same_key_from_another_source_is_a_different_transfer(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    request = issue(person, 100, key="k1")
    services.post_transfer(transfer=request)
    services.post_transfer(transfer=replace(request, idempotency_source="another-system"))
    person.refresh_from_db()
    assert person.balance_g == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": 0}, "must be positive"),
        ({"amount": -5}, "must be positive"),
        ({"unit": "tonnes"}, "Unknown unit"),
        ({"idempotency_key": ""}, "idempotency"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(make_person, change: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    with pytest.raises(InvalidTransfer, match=message):
        services.post_transfer(transfer=replace(issue(person, 10), **change))
    assert Transfer.objects.count() == 0


def test_same_debit_and_credit_account_is_refused(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    request = replace(issue(person, 10), debit_account_id=person.pk)
    with pytest.raises(InvalidTransfer, match="must be different"):
        services.post_transfer(transfer=request)


def test_unknown_account_is_refused(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    with pytest.raises(InvalidTransfer, match="does not exist"):
        services.post_transfer(transfer=replace(issue(person, 10), credit_account_id=999_999_999))


def test_points_never_go_below_zero_and_nothing_is_recorded(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    services.post_transfer(transfer=issue(person, 30, unit="points"))
    redeemed = Account.objects.get(line_id=person.line_id, kind=AccountKind.POINTS_REDEEMED)
    spend = replace(
        issue(person, 31, unit="points"),
        debit_account_id=person.pk,
        credit_account_id=redeemed.pk,
        kind="redemption",
    )
    with pytest.raises(InsufficientPoints):
        services.post_transfer(transfer=spend)
    person.refresh_from_db()
    assert person.balance_points == 30
    assert Transfer.objects.filter(kind="redemption").count() == 0


def test_bulk_posting_is_all_or_nothing_and_idempotent_per_transfer(make_person) -> None:  # type: ignore[no-untyped-def]
    people = [make_person() for _ in range(5)]
    requests = [issue(person, 10 * (index + 1), key=f"bulk-{index}") for index, person in enumerate(people)]
    result = services.post_transfers(transfers=requests)
    assert result.created == [True] * 5
    # Replay the whole batch plus one new transfer: only the new one has an effect.
    again = services.post_transfers(transfers=[*requests, issue(people[0], 7, key="bulk-new")])
    assert again.created == [False] * 5 + [True]
    assert again.transfer_ids[:5] == result.transfer_ids
    balances = [Account.objects.get(pk=p.pk).balance_g for p in people]
    assert balances == [17, 20, 30, 40, 50]


def test_bulk_with_one_conflict_records_nothing(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    services.post_transfer(transfer=issue(person, 5, key="taken"))
    with pytest.raises(IdempotencyConflict):
        services.post_transfers(transfers=[issue(person, 1, key="fresh"), issue(person, 6, key="taken")])
    person.refresh_from_db()
    assert person.balance_g == 5
    assert not Transfer.objects.filter(idempotency_key="fresh").exists()


def test_a_key_repeated_inside_one_bulk_call_counts_once(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    request = issue(person, 9, key="twice")
    result = services.post_transfers(transfers=[request, request])
    assert result.created == [True, False]
    assert result.transfer_ids[0] == result.transfer_ids[1]
    person.refresh_from_db()
    assert person.balance_g == 9


def test_reversal_mirrors_the_original_once(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    transfer_id, _ = services.post_transfer(transfer=issue(person, 250))
    reversal_id = services.reverse_transfer(transfer_id=transfer_id, reason="evidence was forged")
    person.refresh_from_db()
    assert person.balance_g == 0
    reversal = Transfer.objects.get(pk=reversal_id)
    original = Transfer.objects.get(pk=transfer_id)
    assert (reversal.debit_account_id, reversal.credit_account_id) == (
        original.credit_account_id,
        original.debit_account_id,
    )
    assert reversal.period_date == original.period_date and reversal.reverses_id == transfer_id
    with pytest.raises(AlreadyReversed):
        services.reverse_transfer(transfer_id=transfer_id, reason="again")
    with pytest.raises(InvalidTransfer, match="itself a reversal"):
        services.reverse_transfer(transfer_id=reversal_id, reason="undo the undo")


def test_reversing_spent_points_is_refused(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    award_id, _ = services.post_transfer(transfer=issue(person, 10, unit="points"))
    redeemed = Account.objects.get(line_id=person.line_id, kind=AccountKind.POINTS_REDEEMED)
    services.post_transfer(
        transfer=replace(
            issue(person, 8, unit="points"),
            debit_account_id=person.pk,
            credit_account_id=redeemed.pk,
            kind="redemption",
        )
    )
    with pytest.raises(InsufficientPoints):
        services.reverse_transfer(transfer_id=award_id, reason="wrong award")


@pytest.mark.django_db(transaction=True)
def test_balance_as_of_a_moment(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    services.post_transfer(transfer=issue(person, 100))
    between = timezone.now()
    services.post_transfer(transfer=issue(person, 50))
    assert selectors.balance(account_id=person.pk).grams == 150
    assert selectors.balance(account_id=person.pk, as_of=between).grams == 100
    assert selectors.balance(account_id=person.pk, as_of=between - timedelta(days=1)).grams == 0
    issuance = Account.objects.get(line_id=person.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    assert selectors.balance(account_id=issuance.pk).grams == -150


def test_line_and_group_accounts_roll_up_their_people(make_person) -> None:  # type: ignore[no-untyped-def]
    bank_people = [make_person("bank"), make_person("bank")]
    employee = make_person("employees")
    for person, grams in zip([*bank_people, employee], [100, 200, 1000], strict=True):
        services.post_transfer(transfer=issue(person, grams))
    bank_account = Account.objects.get(line_id=bank_people[0].line_id, kind=AccountKind.LINE)
    group_account = Account.objects.get(kind=AccountKind.GROUP)
    assert selectors.balance(account_id=bank_account.pk).grams == 300
    assert selectors.balance(account_id=group_account.pk).grams == 1300


def test_statement_pages_through_every_transfer_with_its_source(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    for grams in range(1, 8):
        services.post_transfer(transfer=issue(person, grams))
    seen: list[int] = []
    cursor = None
    while True:
        page = selectors.statement(account_id=person.pk, cursor=cursor, limit=3)
        seen.extend(line.amount for line in page.lines)
        assert all(line.source_type == "test" and line.source_id for line in page.lines)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_totals_by_line_period_and_category(make_person) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    bank = make_person("bank")
    employee = make_person("employees")
    services.post_transfer(transfer=issue(bank, 100, period_date=date(2026, 4, 30)))
    services.post_transfer(transfer=issue(bank, 50, period_date=date(2026, 5, 1)))
    services.post_transfer(
        transfer=issue(employee, 70, period_date=date(2026, 5, 2), ghg_category="scope3_cat7_commuting")
    )
    rows = selectors.issued_totals(period="month", unit="gCO2e")
    assert {(r.line_code, r.period.month, r.ghg_category, r.amount) for r in rows} == {
        ("bank", 4, "scope3plus_ecosystem", 100),
        ("bank", 5, "scope3plus_ecosystem", 50),
        ("employees", 5, "scope3_cat7_commuting", 70),
    }
    group_rows = selectors.issued_totals(period="quarter", unit="gCO2e", by_line=False)
    assert {(r.ghg_category, r.amount) for r in group_rows} == {
        ("scope3plus_ecosystem", 150),
        ("scope3_cat7_commuting", 70),
    }


def test_account_pages_keep_room_for_balance_updates() -> None:
    # Every recorded behaviour updates its person's row; with room on its page the update stays
    # heap-only and touches no index (carbon_accounts migration 0008).
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'carbon_accounts_account'")
        assert "fillfactor=70" in (cursor.fetchone()[0] or [])
