"""A database kept in the old shape (one transfer per movement to personal accounts, factor links
per record, points award lots) migrates to the personal sub-ledger keeping every gram and point:
each person's balances, each line's issued totals by month, unit and GHG category, and what went
to the redeemed and expired accounts; and check_ledger is clean afterwards."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import StateApps
from django.db.models import F

pytestmark = pytest.mark.django_db(transaction=True)

# The last migrations before the sub-ledger, per app.
OLD_SHAPE = [
    ("behaviours", "0010_reference_changes_by_two_people"),
    ("carbon_accounts", "0012_verifier_role"),
    ("rewards", "0006_plural_names"),
    ("engagement", "0001_initial"),
]
OCTOBER, NOVEMBER = date(2026, 10, 15), date(2026, 11, 3)

Totals = Counter[tuple[Any, ...]]


def migrate(targets: list[tuple[str, str]]) -> StateApps:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def old_apps() -> Iterator[StateApps]:
    """The database in the old shape; migrated to the latest again afterwards, as the rest of
    the suite expects it."""
    try:
        yield migrate(OLD_SHAPE)
    finally:
        migrate_to_latest()


class OldLedger:
    """Writes what the old services wrote: a record with its factor links, its grams and points
    as transfers to the person, an award lot for the points; redemptions, expiries and donations
    as transfers out of the person, a reversal as mirror transfers."""

    def __init__(self, apps: StateApps) -> None:
        self.apps = apps
        self.keys = itertools.count(1)
        model = apps.get_model
        self.Account = model("carbon_accounts", "Account")
        self.Transfer = model("carbon_accounts", "Transfer")
        self.Record = model("behaviours", "BehaviourRecord")
        self.RecordFactor = model("behaviours", "RecordFactor")
        self.Award = model("rewards", "PointsAward")
        group = model("carbon_accounts", "Group").objects.create(
            name_en="Group", name_zh="集团", base_year=2025, default_region="GB"
        )
        self.Account.objects.create(kind="group")
        self.lines = {
            code: model("carbon_accounts", "BusinessLine").objects.create(
                group=group, code=code, name_en=code, name_zh=code, audience=audience, default_region="GB"
            )
            for code, audience in (("employees", "employee"), ("bank", "customer"))
        }
        kinds = (
            "line",
            "reduction_issuance",
            "points_budget",
            "points_redeemed",
            "points_expired",
            "exchange_registry",
            "exchange_certified",
            "exchange_retired",
        )
        self.system = {
            (code, kind): self.Account.objects.create(kind=kind, line=line)
            for code, line in self.lines.items()
            for kind in kinds
        }
        self._reference()

    def _reference(self) -> None:
        model = self.apps.get_model
        region = model("behaviours", "Region").objects.create(
            code="GB", name_en="United Kingdom", name_zh="英国"
        )
        behaviour = model("behaviours", "Behaviour")
        for code, audience, category in (
            ("commute_metro", "employee", "scope3_cat7_commuting"),
            ("remote_meeting", "employee", "scope3_cat6_business_travel"),
            ("green_travel_metro", "customer", "scope3plus_ecosystem"),
        ):
            behaviour.objects.create(
                code=code,
                audience=audience,
                category="travel",
                unit="passenger_km",
                ghg_category=category,
                accrues_reduction=True,
                name_en=code,
                name_zh=code,
            )
        factor = model("behaviours", "EmissionFactor")
        self.factors = {
            activity: factor.objects.create(
                activity=activity,
                region=region,
                valid_from=date(2020, 1, 1),
                value_kgco2e=Decimal(value),
                per_unit="passenger_km",
                dataset="test",
                source_ref="test",
                licence="OGL-UK-3.0",
                status="V",
            )
            for activity, value in (("car", "0.17"), ("metro", "0.03"), ("rail", "0.035"))
        }
        methodology = model("behaviours", "Methodology")
        self.methodologies = {
            code: methodology.objects.create(
                behaviour_id=code,
                region=region,
                valid_from=date(2020, 1, 1),
                method=method,
                activity_a=a,
                activity_b=b,
                multiplier=Decimal(1),
                fileable=True,
            )
            for code, method, a, b in (
                ("commute_metro", "difference", "car", "metro"),
                ("remote_meeting", "direct", "rail", ""),
                ("green_travel_metro", "difference", "car", "metro"),
            )
        }

    def person(self, line: str, reference: str) -> Any:
        return self.Account.objects.create(kind="personal", line=self.lines[line], external_ref=reference)

    def move(
        self, *, debit: Any, credit: Any, amount: int, unit: str, kind: str, day: date, **extra: Any
    ) -> Any:
        """One old transfer, moving the stored balance of the personal account it names."""
        transfer = self.Transfer.objects.create(
            debit_account=debit,
            credit_account=credit,
            amount=amount,
            unit=unit,
            kind=kind,
            line=(debit if debit.kind == "personal" else credit).line,
            period_date=day,
            idempotency_source="old",
            idempotency_key=f"old-{next(self.keys)}",
            payload_digest="",
            **{"source_type": "test", "source_id": "1", **extra},
        )
        column = "balance_g" if unit == "gCO2e" else "balance_points"
        for account, sign in ((credit, 1), (debit, -1)):
            if account.kind == "personal":
                self.Account.objects.filter(pk=account.pk).update(**{column: F(column) + sign * amount})
        return transfer

    def record(
        self,
        person: Any,
        behaviour: str,
        quantity: str,
        day: date,
        grams: int,
        points: int,
        status: str = "accepted",
    ) -> Any:
        methodology = self.methodologies[behaviour]
        record = self.Record.objects.create(
            line=person.line,
            account=person,
            behaviour_id=behaviour,
            quantity=Decimal(quantity),
            counted_quantity=Decimal(quantity),
            occurred_on=day,
            region_id="GB",
            source="old",
            idempotency_key=f"record-{next(self.keys)}",
            payload_digest="",
            status=status,
            reduction_g=grams,
            ghg_category=behaviour_category(self.apps, behaviour),
            fileable=True,
            points=points if status == "accepted" else 0,
            methodology=methodology,
        )
        for role, activity in (("a", methodology.activity_a), ("b", methodology.activity_b)):
            if activity:
                self.RecordFactor.objects.create(record=record, factor=self.factors[activity], role=role)
        if status != "accepted":
            return record
        line = person.line.code
        source = {
            "source_type": "behaviour_record",
            "source_id": str(record.pk),
            "ghg_category": record.ghg_category,
        }
        reduction = self.move(
            debit=self.system[(line, "reduction_issuance")],
            credit=person,
            amount=grams,
            unit="gCO2e",
            kind="reduction",
            day=day,
            **source,
        )
        record.reduction_transfer_id = reduction.pk
        record.save(update_fields=["reduction_transfer_id"])
        award = self.move(
            debit=self.system[(line, "points_budget")],
            credit=person,
            amount=points,
            unit="points",
            kind="points_award",
            day=day,
            **source,
        )
        self.Award.objects.create(
            account=person,
            line=person.line,
            source_type="behaviour_record",
            source_id=str(record.pk),
            behaviour_code=behaviour,
            points=points,
            remaining=points,
            transfer_id=award.pk,
            earned_on=day,
            expires_on=day.replace(year=day.year + 1),
        )
        return record

    def reverse(self, record: Any, day: date) -> None:
        """The old reversal: mirror transfers of the record's grams and points."""
        for original in self.Transfer.objects.filter(
            source_type="behaviour_record", source_id=str(record.pk)
        ):
            self.move(
                debit=original.credit_account,
                credit=original.debit_account,
                amount=original.amount,
                unit=original.unit,
                kind=f"{original.kind}_reversal",
                day=original.period_date,
                source_type=original.source_type,
                source_id=original.source_id,
                ghg_category=original.ghg_category,
                reverses=original,
            )
        self.Award.objects.filter(source_id=str(record.pk)).update(remaining=0)
        record.status = "reversed"
        record.review_reason = "recorded twice"
        record.decided_by = "auditor"
        record.save(update_fields=["status", "review_reason", "decided_by"])

    def spend(
        self, person: Any, points: int, day: date, sink: str = "points_redeemed", kind: str = "redemption"
    ) -> Any:
        return self.move(
            debit=person,
            credit=self.system[(person.line.code, sink)],
            amount=points,
            unit="points",
            kind=kind,
            day=day,
        )


def behaviour_category(apps: StateApps, code: str) -> str:
    return str(apps.get_model("behaviours", "Behaviour").objects.get(code=code).ghg_category)


def general_ledger(*, personal_as_line: bool) -> Totals:
    """Each line's system accounts per unit, from the transfers; with personal_as_line, personal
    accounts counted as their line's control account (the old shape had no control account)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT l.code, CASE WHEN a.kind = 'personal' AND %s THEN 'line' ELSE a.kind END, t.unit,
                      sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END)
                 FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id IN (t.credit_account_id, t.debit_account_id)
                 JOIN carbon_accounts_businessline l ON l.id = a.line_id
                GROUP BY 1, 2, 3""",
            [personal_as_line],
        )
        return +Counter({(line, kind, unit): int(amount) for line, kind, unit, amount in cursor.fetchall()})


def balances() -> dict[str, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_ref, balance_g, balance_points FROM carbon_accounts_account WHERE kind = 'personal'"
        )
        return {reference: (grams, points) for reference, grams, points in cursor.fetchall()}


def issued_by_the_old_transfers() -> Totals:
    """Net issuance (records minus reversals) by line, unit, month and GHG category, as the old
    shape's transfers between issuance or budget and people carried it; points outside any
    category, as the reports give them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT l.code, t.unit, date_trunc('month', t.period_date)::date,
                      CASE WHEN t.unit = 'gCO2e' THEN t.ghg_category ELSE 'none' END,
                      sum(CASE WHEN c.kind = 'personal' THEN t.amount ELSE -t.amount END)
                 FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account d ON d.id = t.debit_account_id
                 JOIN carbon_accounts_account c ON c.id = t.credit_account_id
                 JOIN carbon_accounts_businessline l ON l.id = t.line_id
                WHERE d.kind IN ('reduction_issuance', 'points_budget')
                   OR c.kind IN ('reduction_issuance', 'points_budget')
                GROUP BY 1, 2, 3, 4"""
        )
        return +Counter({tuple(row[:4]): int(row[4]) for row in cursor.fetchall()})


def test_the_old_shape_migrates_keeping_every_gram_and_point(old_apps: StateApps) -> None:
    old = OldLedger(old_apps)
    alice, bob = old.person("employees", "alice"), old.person("employees", "bob")
    carol = old.person("bank", "carol")
    # Two months, two GHG categories in one line, two lines.
    old.record(alice, "commute_metro", "10", OCTOBER, 1400, 2)
    old.record(alice, "commute_metro", "10", NOVEMBER, 1400, 2)
    old.record(alice, "commute_metro", "10", NOVEMBER, 1400, 0, status="rejected")
    old.record(bob, "remote_meeting", "200", OCTOBER, 7000, 5)
    mistaken = old.record(bob, "commute_metro", "10", NOVEMBER, 1400, 2)
    old.reverse(mistaken, NOVEMBER)
    carols = old.record(carol, "green_travel_metro", "12", NOVEMBER, 1680, 168)
    old.record(carol, "green_travel_metro", "5", NOVEMBER, 700, 0, status="pending_review")
    # A redemption kept, one cancelled, an expiry of part of a lot, a donation.
    right = old_apps.get_model("rewards", "GreenRight").objects.create(
        line=carol.line,
        code="tree",
        kind="tree_planting",
        name_en="Tree",
        name_zh="树",
        cost_points=50,
        valid_from=OCTOBER,
    )
    redemption = old_apps.get_model("rewards", "Redemption")
    spent = old.spend(carol, 50, date(2026, 11, 5))
    redemption.objects.create(
        account=carol,
        green_right=right,
        code="GR-KEPT",
        points=50,
        status="completed",
        idempotency_key="kept",
        transfer_id=spent.pk,
        lots=[],
    )
    spent = old.spend(carol, 50, date(2026, 11, 6))
    returned = old.move(
        debit=old.system[("bank", "points_redeemed")],
        credit=carol,
        amount=50,
        unit="points",
        kind="redemption_cancellation",
        day=date(2026, 11, 7),
    )
    cancelled = redemption.objects.create(
        account=carol,
        green_right=right,
        code="GR-BACK",
        points=50,
        status="cancelled",
        idempotency_key="back",
        transfer_id=spent.pk,
        cancel_transfer_id=returned.pk,
        lots=[],
    )
    lapsed = old.spend(carol, 20, date(2026, 11, 20), sink="points_expired", kind="points_expiry")
    old_apps.get_model("rewards", "PointsExpiry").objects.create(
        award=old.Award.objects.get(source_id=str(carols.pk)),
        points=20,
        transfer_id=lapsed.pk,
        expired_on=date(2026, 11, 20),
    )
    project = old_apps.get_model("engagement", "WelfareProject").objects.create(
        line=bob.line, name_en="Mangroves", name_zh="红树林", goal_points=1000
    )
    given = old.spend(bob, 3, date(2026, 11, 8), kind="donation")
    old_apps.get_model("engagement", "Donation").objects.create(
        account=bob,
        project=project,
        points=3,
        certificate_number="D-1",
        idempotency_key="gift",
        transfer_id=given.pk,
        lots=[],
    )

    people_before = balances()
    assert people_before == {"alice": (2800, 4), "bob": (7000, 2), "carol": (1680, 98)}
    issued_before = issued_by_the_old_transfers()
    ledger_before = general_ledger(personal_as_line=True)

    migrate_to_latest()

    from behaviours.models import BehaviourRecord, RecordReversal, RecordStatus
    from carbon_accounts import selectors
    from carbon_accounts.integrity import check_ledger
    from engagement.models import Donation
    from rewards.models import PointsExpiry, Redemption

    assert balances() == people_before
    issued_after = +Counter(
        {
            (r.line_code, r.unit, r.period, r.ghg_category): r.amount
            for r in selectors.issued_totals(by_line=True)
        }
    )
    assert (
        issued_after
        == issued_before
        == {
            ("employees", "gCO2e", date(2026, 10, 1), "scope3_cat7_commuting"): 1400,
            ("employees", "gCO2e", date(2026, 10, 1), "scope3_cat6_business_travel"): 7000,
            ("employees", "points", date(2026, 10, 1), "none"): 7,
            ("employees", "gCO2e", date(2026, 11, 1), "scope3_cat7_commuting"): 1400,
            ("employees", "points", date(2026, 11, 1), "none"): 2,
            ("bank", "gCO2e", date(2026, 11, 1), "scope3plus_ecosystem"): 1680,
            ("bank", "points", date(2026, 11, 1), "none"): 168,
        }
    )
    # The people's movements now sit in their line's control account; issuance, budget,
    # redeemed and expired hold what they held.
    assert general_ledger(personal_as_line=False) == ledger_before

    # Each record kept its figures, reached its factor rows through a basis, and is posted once.
    kept = BehaviourRecord.objects.select_related("basis").order_by("id")
    assert [(r.reduction_g, r.points, r.status, r.posting_id is not None) for r in kept] == [
        (1400, 2, RecordStatus.ACCEPTED, True),
        (1400, 2, RecordStatus.ACCEPTED, True),
        (1400, 0, RecordStatus.REJECTED, False),
        (7000, 5, RecordStatus.ACCEPTED, True),
        (1400, 2, RecordStatus.REVERSED, True),
        (1680, 168, RecordStatus.ACCEPTED, True),
        (700, 0, RecordStatus.PENDING_REVIEW, False),
    ]
    factors = [[factor.activity for factor in r.basis.factors] if r.basis else None for r in kept]
    assert factors == [["car", "metro"]] * 3 + [["rail"]] + [["car", "metro"]] * 3
    # One basis per methodology and factor rows, shared by every record computed that way.
    metro, meeting, customer = kept[0].basis_id, kept[3].basis_id, kept[5].basis_id
    assert len({metro, meeting, customer}) == 3
    assert [r.basis_id for r in kept] == [metro, metro, metro, meeting, metro, customer, customer]
    reversal = RecordReversal.objects.get()
    assert (reversal.record_id, reversal.reduction_g, reversal.points) == (mistaken.pk, -1400, -2)
    assert Redemption.objects.get(pk=cancelled.pk).cancel_posting is not None
    assert PointsExpiry.objects.get().account.external_ref == "carol"
    assert Donation.objects.get().posting.points == -3
    assert check_ledger() == []
