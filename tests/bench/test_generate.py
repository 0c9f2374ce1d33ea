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


def test_generated_records_are_what_the_bulk_use_case_records(
    reference: dict[str, BusinessLine],
) -> None:
    """The same requests, generated for some people and recorded through record_behaviours for
    others: the same grams, points (a daily points cap that bites), bases and balances, and
    check_ledger finds nothing wrong."""
    from datetime import timedelta

    from django.utils import timezone

    from behaviours.models import BehaviourRecord
    from behaviours.services import RecordRequest, record_behaviours
    from carbon_accounts.integrity import check_ledger
    from rewards.services import set_points_rule

    line = reference["employees"]
    # Two points a metro ride, at most five a day: the third ride of a day earns one.
    set_points_rule(line=line, behaviour_code="commute_metro", points_per_event=2, daily_cap=5)
    first_day = timezone.localdate() - timedelta(days=2)
    generated_people = generate.accounts(line_code="employees", count=3, prefix="GEN")
    recorded_people = generate.accounts(line_code="employees", count=3, prefix="REC")

    first, last = generate.records(
        line_code="employees", account_ids=generated_people, count=18, first_day=first_day, days=2, tag="gen"
    )
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=recorded_people)}
    record_behaviours(
        line=line,
        requests=[
            RecordRequest(
                line=line,
                account=accounts[recorded_people[n % 3]],
                behaviour_code="commute_metro",
                quantity="10",
                occurred_on=first_day + timedelta(days=n // 9),
                source="api:employees",
                idempotency_key=f"rec-{n}",
                region="CN-SZ",
                evidence_id=f"rec-e{n}",
            )
            for n in range(18)
        ],
    )

    def shape(people: list[int]) -> list[tuple[object, ...]]:
        return [
            (
                people.index(r.account_id),
                r.occurred_on,
                r.status,
                r.counted_quantity,
                r.reduction_g,
                r.points,
                r.basis_id,
                r.fileable,
                r.ghg_category,
                r.region_id,
            )
            for r in BehaviourRecord.objects.filter(account_id__in=people).order_by(
                "account_id", "occurred_on", "id"
            )
        ]

    assert last - first + 1 == 18
    assert shape(generated_people) == shape(recorded_people)
    # Each person's day: two, two, then one point (the cap), in the order the rides were made.
    assert [r[5] for r in shape(generated_people)] == [2, 2, 1] * 6
    balances = {
        a.pk: (a.balance_g, a.balance_points)
        for a in Account.objects.filter(pk__in=generated_people + recorded_people)
    }
    assert [balances[pk] for pk in generated_people] == [balances[pk] for pk in recorded_people]
    assert check_ledger() == []
    # Each generated record carries the claim fingerprint the services give the same person's day.
    from django.conf import settings

    from behaviours import claims

    for record in BehaviourRecord.objects.filter(account_id__in=generated_people).select_related("account"):
        assert record.claim_fingerprint == claims.fingerprint(
            salt=settings.CLAIM_FINGERPRINT_SALT,
            pseudonym=claims.person_pseudonym(
                holder_id=None,
                line_id=line.pk,
                external_ref=record.account.external_ref,
                account_id=record.account_id,
            ),
            activity=claims.activity_class("commute_metro"),
            day=record.occurred_on,
            evidence_id=record.evidence_id,
        )
        assert record.evidence_id.startswith("gen-e") and record.claim_basis == "system" and record.fileable
