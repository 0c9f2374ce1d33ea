from __future__ import annotations

import itertools
from datetime import date

import pytest
from django.core.cache import cache

from carbon_accounts import services
from carbon_accounts.models import Account, AccountKind, BusinessLine
from carbon_accounts.services import TransferRequest

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Sign-in throttling counts in the shared cache; each test starts from zero."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """Real hashing costs a quarter second per sign-in; the tests check behaviour, not cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lines(db: None) -> dict[str, BusinessLine]:
    from carbon_accounts.demo import set_up_group_and_lines

    return {line.code: line for line in set_up_group_and_lines()}


@pytest.fixture
def make_person(lines: dict[str, BusinessLine], django_user_model):  # type: ignore[no-untyped-def]
    counter = itertools.count(1)

    def make(line_code: str = "bank", **extra: str) -> Account:
        number = next(counter)
        user = django_user_model.objects.create_user(
            username=f"person{number}@test.example",
            email=f"person{number}@test.example",
            password="x-Secret-123",
        )
        return services.open_personal_account(
            line=lines[line_code], holder=user, display_name=f"Person {number}", **extra
        )

    return make


def issue(
    account: Account,
    amount: int,
    *,
    unit: str = "gCO2e",
    key: str | None = None,
    period_date: date = date(2026, 5, 3),
    ghg_category: str = "scope3plus_ecosystem",
) -> TransferRequest:
    """A request issuing `amount` to a personal account from its line's source account."""
    source_kind = AccountKind.REDUCTION_ISSUANCE if unit == "gCO2e" else AccountKind.POINTS_BUDGET
    assert account.line_id is not None
    source = Account.objects.get(line_id=account.line_id, kind=source_kind)
    return TransferRequest(
        debit_account_id=source.pk,
        credit_account_id=account.pk,
        amount=amount,
        unit=unit,
        kind="reduction" if unit == "gCO2e" else "points_award",
        line_id=account.line_id,
        source_type="test",
        source_id=str(amount),
        period_date=period_date,
        ghg_category=ghg_category,
        idempotency_source="tests",
        idempotency_key=key or f"key-{next(_keys)}",
    )
