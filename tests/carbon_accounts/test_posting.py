"""Transfers between system accounts: the exchange's memo movements (certified and retired
tonnes). People's balances move only with their entries (tests/carbon_accounts/test_readers.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import connection

from carbon_accounts import selectors, services
from carbon_accounts.models import Account, AccountKind, Transfer
from carbon_accounts.services import IdempotencyConflict, InvalidTransfer
from tests.conftest import memo

pytestmark = pytest.mark.django_db


def test_a_memo_transfer_moves_certified_grams_and_records_its_source(lines) -> None:  # type: ignore[no-untyped-def]
    transfer_id, created = services.post_transfer(transfer=memo(lines["bank"], 2_000_000))
    assert created
    transfer = Transfer.objects.get(pk=transfer_id)
    assert (transfer.source_type, transfer.source_id, transfer.line_id) == (
        "filing_batch",
        "2000000",
        lines["bank"].pk,
    )
    certified = Account.objects.get(line=lines["bank"], kind=AccountKind.EXCHANGE_CERTIFIED)
    registry = Account.objects.get(line=lines["bank"], kind=AccountKind.EXCHANGE_REGISTRY)
    assert selectors.balance(account_id=certified.pk).grams == 2_000_000
    assert selectors.balance(account_id=registry.pk).grams == -2_000_000


def test_replaying_a_key_has_one_effect_and_returns_the_original(lines) -> None:  # type: ignore[no-untyped-def]
    request = memo(lines["bank"], 100, key="same-key")
    first = services.post_transfer(transfer=request)
    second = services.post_transfer(transfer=request)
    assert first == (first[0], True)
    assert second == (first[0], False)
    assert Transfer.objects.filter(idempotency_key="same-key").count() == 1


def test_the_same_key_with_a_different_payload_is_refused(lines) -> None:  # type: ignore[no-untyped-def]
    services.post_transfer(transfer=memo(lines["bank"], 100, key="k1"))
    with pytest.raises(IdempotencyConflict, match="already used for a different transfer"):
        services.post_transfer(transfer=memo(lines["bank"], 101, key="k1"))
    assert list(Transfer.objects.values_list("amount", flat=True)) == [100]


def test_the_same_key_from_another_source_is_a_different_transfer(lines) -> None:  # type: ignore[no-untyped-def]
    request = memo(lines["bank"], 100, key="k1")
    services.post_transfer(transfer=request)
    services.post_transfer(transfer=replace(request, idempotency_source="another-system"))
    assert Transfer.objects.filter(idempotency_key="k1").count() == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": 0}, "must be positive"),
        ({"amount": -5}, "must be positive"),
        ({"amount": 10**16}, "larger than any real movement"),
        ({"unit": "tonnes"}, "Unknown unit"),
        ({"idempotency_key": ""}, "idempotency"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(lines, change: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidTransfer, match=message):
        services.post_transfer(transfer=replace(memo(lines["bank"], 10), **change))
    assert Transfer.objects.count() == 0


def test_same_debit_and_credit_account_is_refused(lines) -> None:  # type: ignore[no-untyped-def]
    request = memo(lines["bank"], 10)
    with pytest.raises(InvalidTransfer, match="must be different"):
        services.post_transfer(transfer=replace(request, debit_account_id=request.credit_account_id))


def test_unknown_account_is_refused(lines) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidTransfer, match="does not exist"):
        services.post_transfer(transfer=replace(memo(lines["bank"], 10), credit_account_id=999_999_999))


def test_a_personal_account_never_moves_by_a_transfer(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    with pytest.raises(InvalidTransfer, match="moves only by its entries"):
        services.post_transfer(transfer=replace(memo(person.line, 10), credit_account_id=person.pk))
    person.refresh_from_db()
    assert (person.balance_g, Transfer.objects.count()) == (0, 0)


def test_many_transfers_are_all_or_nothing_and_idempotent_each(lines) -> None:  # type: ignore[no-untyped-def]
    requests = [memo(lines["bank"], 10 * (index + 1), key=f"bulk-{index}") for index in range(5)]
    result = services.post_transfers(transfers=requests)
    assert result.created == [True] * 5
    # The whole batch again plus one new transfer: only the new one has an effect.
    again = services.post_transfers(transfers=[*requests, memo(lines["bank"], 7, key="bulk-new")])
    assert again.created == [False] * 5 + [True]
    assert again.transfer_ids[:5] == result.transfer_ids
    with pytest.raises(IdempotencyConflict):
        services.post_transfers(
            transfers=[memo(lines["bank"], 1, key="fresh"), memo(lines["bank"], 6, key="bulk-0")]
        )
    assert not Transfer.objects.filter(idempotency_key="fresh").exists()
    assert sum(Transfer.objects.values_list("amount", flat=True)) == 157


def test_a_key_repeated_inside_one_call_counts_once(lines) -> None:  # type: ignore[no-untyped-def]
    request = memo(lines["bank"], 9, key="twice")
    result = services.post_transfers(transfers=[request, request])
    assert result.created == [True, False]
    assert result.transfer_ids[0] == result.transfer_ids[1]
    assert Transfer.objects.count() == 1


def test_account_pages_keep_room_for_balance_updates() -> None:
    # Every recorded behaviour updates its person's row; with room on its page the update stays
    # heap-only and touches no index (carbon_accounts migration 0008).
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'carbon_accounts_account'")
        assert "fillfactor=70" in (cursor.fetchone()[0] or [])
