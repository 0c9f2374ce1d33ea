"""The benchmarks' generators load what they say: the group's people, shared out over its lines,
as personal accounts a line system would have opened."""

from __future__ import annotations

import pytest

from bench import generate
from carbon_accounts.models import Account, AccountKind, BusinessLine

pytestmark = pytest.mark.django_db


def test_the_population_shares_employees_and_customers_over_their_lines(
    lines: dict[str, BusinessLine],
) -> None:
    people = generate.population(employees=7, customers=10)

    employee_lines = [code for code, line in lines.items() if line.audience == "employee"]
    customer_lines = sorted(
        (line for line in lines.values() if line.audience == "customer"), key=lambda x: x.pk
    )
    assert sum(people[code] for code in employee_lines) == 7
    assert [people[line.code] for line in customer_lines] == [4, 3, 3]
    for code, count in people.items():
        opened = Account.objects.filter(line__code=code, external_ref__startswith=generate.GROUP_PREFIX)
        assert opened.count() == count
        assert set(opened.values_list("kind", "balance_g", "balance_points", "holder")) == {
            (AccountKind.PERSONAL, 0, 0, None)
        }
    first = Account.objects.get(line=customer_lines[0], external_ref=f"{generate.GROUP_PREFIX}00000001")
    assert first.display_name == "bench 1"


def test_accounts_are_reused_and_topped_up_not_opened_twice(lines: dict[str, BusinessLine]) -> None:
    first = generate.accounts(line_code="bank", count=5, prefix="Q")
    again = generate.accounts(line_code="bank", count=5, prefix="Q")
    more = generate.accounts(line_code="bank", count=8, prefix="Q")

    assert again == first
    assert more[:5] == first and len(set(more)) == 8
    assert sorted(
        Account.objects.filter(line__code="bank", external_ref__startswith="Q").values_list(
            "external_ref", flat=True
        )
    ) == [f"Q{n:08d}" for n in range(1, 9)]
