"""Line, group and personal figures read from the sub-ledger and the general ledger agree with
the entries themselves, after every kind of movement; the export reads the postings and equals
a recomputation from the records."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from behaviours import points_lots, reports
from behaviours import selectors as behaviour_selectors
from behaviours import services as behaviour_services
from behaviours.models import BehaviourRecord, RecordReversal
from carbon_accounts import selectors
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, BusinessLine, EntryKind, Posting
from engagement import services as engagement_services
from engagement.models import Donation, WelfareProject
from rewards import services as rewards_services
from rewards.models import GreenRight, PointsExpiry, Redemption, RedemptionStatus

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def _entries_of(account: Account) -> tuple[int, int]:
    """A person's grams and points summed from their entries, table by table."""
    records = BehaviourRecord.objects.filter(account=account, posting__isnull=False).aggregate(
        g=Sum("reduction_g"), p=Sum("points")
    )
    reversals = RecordReversal.objects.filter(account=account).aggregate(
        g=Sum("reduction_g"), p=Sum("points")
    )
    redeemed = Redemption.objects.filter(account=account).aggregate(p=Sum("points"))["p"] or 0
    returned = (
        Redemption.objects.filter(account=account, status=RedemptionStatus.CANCELLED).aggregate(
            p=Sum("points")
        )["p"]
        or 0
    )
    expired = PointsExpiry.objects.filter(account=account).aggregate(p=Sum("points"))["p"] or 0
    donated = Donation.objects.filter(account=account).aggregate(p=Sum("points"))["p"] or 0
    grams = (records["g"] or 0) + (reversals["g"] or 0)
    points = (records["p"] or 0) + (reversals["p"] or 0) - redeemed + returned - expired - donated
    return grams, points


@pytest.fixture
def busy_bank(record: Any, reference: dict[str, BusinessLine], make_person: Any) -> dict[str, Any]:
    """Two bank customers with records (one a year old), a reversal, redemptions (one
    cancelled), an expiry and a donation; an employee in another line."""
    today = timezone.localdate()
    bank = reference["bank"]
    bank.backdating_days = 400
    bank.save(update_fields=["backdating_days"])
    alice, bob = make_person("bank"), make_person("bank")
    old = record(
        "green_travel_metro", "10", region="CN-SZ", person=alice, occurred_on=today - timedelta(days=370)
    )
    record("green_travel_metro", "10", region="CN-SZ", person=alice)
    wrong = record("green_travel_metro", "20", region="CN-SZ", person=bob).record
    record("e_statement", "1", person=bob)
    record("commute_metro", "5", line="employees")
    behaviour_services.reverse_record(record_id=wrong.pk, reviewer="auditor", reason="the same ride twice")
    right = GreenRight.objects.create(
        line=bank,
        code="tree",
        kind="tree_planting",
        name_en="Plant a tree",
        name_zh="种一棵树",
        cost_points=10,
        valid_from=today - timedelta(days=1),
    )
    cancelled = rewards_services.redeem(
        account=alice, green_right_id=right.pk, idempotency_key="r-1"
    ).redemption
    rewards_services.redeem(account=alice, green_right_id=right.pk, idempotency_key="r-2")
    rewards_services.cancel_redemption(redemption_id=cancelled.pk)
    assert points_lots.expire_points(today=today) > 0
    project = WelfareProject.objects.create(
        line=bank, name_en="Mangroves", name_zh="红树林", goal_points=1000, active=True
    )
    engagement_services.donate(account=bob, project_id=project.pk, points=3, idempotency_key="d-1")
    return {"bank": bank, "alice": alice, "bob": bob, "old": old.record, "right": right, "today": today}


def test_line_and_group_figures_are_the_sums_of_their_peoples_entries(busy_bank: dict[str, Any]) -> None:
    line_totals: dict[int, tuple[int, int]] = {}
    for line in BusinessLine.objects.all():
        people = Account.objects.filter(line=line, kind=AccountKind.PERSONAL)
        held = [(person.balance_g, person.balance_points) for person in people]
        for person in people:
            assert _entries_of(person) == (person.balance_g, person.balance_points)
            assert selectors.balance(account_id=person.pk) == selectors.Balance(
                person.balance_g, person.balance_points
            )
        control = Account.objects.get(line=line, kind=AccountKind.LINE)
        expected = (sum(g for g, _p in held), sum(p for _g, p in held))
        assert selectors.balance(account_id=control.pk) == selectors.Balance(*expected)
        line_totals[line.pk] = expected
    bank = line_totals[busy_bank["bank"].pk]
    assert bank[0] > 0 and bank[1] > 0
    group = Account.objects.get(kind=AccountKind.GROUP)
    assert selectors.balance(account_id=group.pk) == selectors.Balance(
        sum(g for g, _p in line_totals.values()), sum(p for _g, p in line_totals.values())
    )
    # What left people went to the sinks: redeemed (net of the cancellation, with the donation)
    # and expired, each a general-ledger account of the line.
    redeemed = Account.objects.get(line=busy_bank["bank"], kind=AccountKind.POINTS_REDEEMED)
    expired = Account.objects.get(line=busy_bank["bank"], kind=AccountKind.POINTS_EXPIRED)
    assert selectors.balance(account_id=redeemed.pk).points == 10 + 3
    assert (
        selectors.balance(account_id=expired.pk).points
        == PointsExpiry.objects.aggregate(p=Sum("points"))["p"]
    )
    assert check_ledger() == []


def test_issued_totals_are_records_less_reversals_by_period_and_category(busy_bank: dict[str, Any]) -> None:
    bank = busy_bank["bank"]
    rows = selectors.issued_totals(period="day", line_ids=[bank.pk])
    issued: dict[tuple[str, date, str], int] = {(r.unit, r.period, r.ghg_category): r.amount for r in rows}
    expected: dict[tuple[str, date, str], int] = defaultdict(int)
    for record in BehaviourRecord.objects.filter(line=bank, posting__isnull=False):
        net = 0 if record.status == "reversed" else 1
        expected[("gCO2e", record.occurred_on, record.ghg_category)] += net * record.reduction_g
        expected[("points", record.occurred_on, "none")] += net * record.points
    assert issued == dict(expected)
    # Redemptions, donations and expiries are not issuance; the whole group is the sum of its lines.
    group = selectors.issued_totals(period="year", by_line=False, unit="gCO2e")
    assert sum(row.amount for row in group) == sum(
        row.amount for row in selectors.issued_totals(period="year", unit="gCO2e")
    )


def _all_lines(account_id: int, limit: int, unit: str | None = None) -> list[tuple[Any, ...]]:
    lines: list[tuple[Any, ...]] = []
    cursor = None
    while True:
        page = selectors.statement(account_id=account_id, cursor=cursor, limit=limit, unit=unit)
        lines += [(line.kind, line.source_id, line.unit, line.amount) for line in page.lines]
        if page.next_cursor is None:
            return lines
        cursor = page.next_cursor


def test_a_statement_pages_through_every_line_once_even_when_entries_share_a_moment(
    busy_bank: dict[str, Any], reference: dict[str, BusinessLine]
) -> None:
    alice = busy_bank["alice"]
    # One bulk request: its records share the moment they were written.
    outcomes = behaviour_services.record_behaviours(
        line=reference["bank"],
        requests=[
            behaviour_services.RecordRequest(
                line=reference["bank"],
                account=alice,
                behaviour_code=("green_travel_metro", "green_travel_bus", "bike_share")[n % 3],
                quantity=str(n + 1),
                occurred_on=busy_bank["today"],
                source="tests",
                idempotency_key=f"bulk-{n}",
                region="CN-SZ",
            )
            for n in range(6)
        ],
    )
    assert [getattr(outcome, "created", outcome) for outcome in outcomes] == [True] * 6
    alice.refresh_from_db()
    everything = _all_lines(alice.pk, limit=500)
    assert len(everything) == len(set(everything))
    for limit in (1, 2, 3, 5):
        assert _all_lines(alice.pk, limit) == everything
    assert sum(amount for _k, _s, unit, amount in everything if unit == "gCO2e") == alice.balance_g
    assert sum(amount for _k, _s, unit, amount in everything if unit == "points") == alice.balance_points
    kinds = Counter(kind for kind, *_rest in everything)
    assert kinds["redemption"] == 2 and kinds["redemption_reversal"] == 1 and kinds["points_expiry"] == 1
    assert _all_lines(alice.pk, 2, unit="points") == [line for line in everything if line[2] == "points"]


def test_the_statement_api_keeps_its_shape(busy_bank: dict[str, Any]) -> None:
    from carbon_accounts import credentials
    from tests.api.conftest import ApiClient

    bob = busy_bank["bob"]
    _credential, token = credentials.issue(name="my app", user=bob.holder)
    app = ApiClient(token)
    body = app.get(f"/api/v1/me/accounts/{bob.pk}/statement", limit=500).json()
    assert set(body) == {"results", "next_cursor"} and body["next_cursor"] is None
    fields = {
        "transfer_id",
        "created_at",
        "period_date",
        "amount",
        "unit",
        "kind",
        "ghg_category",
        "source_type",
        "source_id",
        "description",
        "counterparty",
        "reverses_id",
    }
    assert all(set(line) == fields for line in body["results"])
    by_kind = defaultdict(list)
    for line in body["results"]:
        by_kind[line["kind"]].append(line)
    assert [line["amount"] for line in by_kind["donation"]] == [-3]
    assert by_kind["donation"][0]["counterparty"] == "bank · points redeemed (system)"
    reversal = by_kind["reduction_reversal"][0]
    original = next(line for line in by_kind["reduction"] if line["source_id"] == reversal["source_id"])
    assert reversal["amount"] == -original["amount"] and reversal["reverses_id"] == original["transfer_id"]
    assert reversal["description"] == "the same ride twice"
    assert original["counterparty"] == "bank · reduction issuance (system)"
    assert (
        sum(line["amount"] for line in body["results"] if line["unit"] == "points")
        == bob.__class__.objects.get(pk=bob.pk).balance_points
    )


def test_the_export_is_the_postings_and_a_recomputation_from_the_records(busy_bank: dict[str, Any]) -> None:
    today = busy_bank["today"]
    period = reports.custom_period(today - timedelta(days=400), today)
    exported = {
        (r.line, r.behaviour, r.ghg_category): (r.records, r.reduction_g)
        for r in reports.reduction_rows(period)
    }
    assert exported

    # The general ledger's postings of the period.
    postings: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for posting in Posting.objects.filter(
        entry_kind__in=[EntryKind.BEHAVIOUR_RECORD, EntryKind.RECORD_REVERSAL],
        basis_id__isnull=False,
        period_date__range=(period.start, period.end),
    ).select_related("line"):
        figures = postings[(posting.line.code, posting.behaviour_code, posting.ghg_category)]
        figures[0] += posting.entries if posting.entry_kind == EntryKind.BEHAVIOUR_RECORD else 0
        figures[1] += posting.grams
    assert exported == {key: tuple(value) for key, value in postings.items()}

    # The records themselves, each recomputed from its basis' exact factor rows.
    recomputed: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    factor_records: Counter[int] = Counter()
    for record in BehaviourRecord.objects.filter(
        posting__isnull=False, basis__isnull=False, occurred_on__range=(period.start, period.end)
    ).select_related("line", "basis__methodology", "basis__factor_a", "basis__factor_b"):
        assert behaviour_selectors.recompute(record) == record.reduction_g
        figures = recomputed[(record.line.code, record.behaviour_id, record.ghg_category)]
        figures[0] += 1
        figures[1] += record.reduction_g if record.status == "accepted" else 0
        assert record.basis is not None
        factor_records.update(factor.pk for factor in record.basis.factors)
    assert exported == {key: tuple(value) for key, value in recomputed.items()}

    factors = list(reports.factor_rows_used(period))
    assert sum(f.records for f in factors) == sum(factor_records.values())
    assert sorted(f.records for f in factors) == sorted(factor_records.values())

    from io import StringIO

    csv = StringIO()
    reports.write_csv(period, None, csv)
    ecosystem = sum(grams for (line, _b, _c), (_n, grams) in exported.items() if line == "bank")
    assert f"ecosystem total,,,,,,,{ecosystem}," in csv.getvalue()


def test_the_statement_page_says_what_each_entry_is(
    client: Client, busy_bank: dict[str, Any], record: Any
) -> None:
    bob = busy_bank["bob"]
    held = record(
        "green_travel_metro", "30", region="CN-SZ", person=bob, attributes={"duration_minutes": "2"}
    ).record
    assert held.status == "pending_review"
    client.force_login(bob.holder)
    html = client.get(f"/me/accounts/{bob.pk}/statement/", secure=True, headers=EN).content.decode()
    assert "held for review" in html
    assert "Reversed: Took the metro" in html
    assert "Points donated to a public-welfare project" in html
    assert f'href="/me/records/{held.pk}/"' in html
    chinese = client.get(
        f"/me/accounts/{bob.pk}/statement/", secure=True, headers={"accept-language": "zh-hans"}
    )
    assert chinese.status_code == 200 and "已冲正" in chinese.content.decode()

    alice = busy_bank["alice"]
    client.force_login(alice.holder)
    html = client.get(f"/me/accounts/{alice.pk}/statement/", secure=True, headers=EN).content.decode()
    assert "Green right redeemed: Plant a tree" in html and "cancelled: points returned" in html
    history = client.get("/me/points/", secure=True, headers=EN).content.decode()
    assert "Spent on Plant a tree" in history and "Expired: points earned on" in history
    assert "1 point per 10 g" in history


# --- The ledger's readers one by one -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_general_ledger_balance_as_of_a_moment(record: Any, make_person: Any) -> None:
    person = make_person("bank")
    first = record("green_travel_metro", "10", region="CN-SZ", person=person).record
    between = timezone.now()
    second = record("green_travel_metro", "5", region="CN-SZ", person=person).record
    control = Account.objects.get(line_id=person.line_id, kind=AccountKind.LINE)
    issuance = Account.objects.get(line_id=person.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    total = first.reduction_g + second.reduction_g
    assert selectors.balance(account_id=control.pk).grams == total
    assert selectors.balance(account_id=control.pk, as_of=between).grams == first.reduction_g
    assert selectors.balance(account_id=control.pk, as_of=between - timedelta(days=1)).grams == 0
    assert selectors.balance(account_id=issuance.pk).grams == -total
    assert selectors.balance(account_id=person.pk) == selectors.Balance(total, first.points + second.points)
    with pytest.raises(ValueError):
        selectors.balance(account_id=person.pk, as_of=between)


def test_line_and_group_accounts_hold_what_their_people_hold(record: Any, make_person: Any) -> None:
    bank_people = [make_person("bank"), make_person("bank")]
    employee = make_person("employees")
    grams = [
        record("green_travel_metro", "2", region="CN-SZ", person=bank_people[0]).record.reduction_g,
        record("green_travel_metro", "4", region="CN-SZ", person=bank_people[1]).record.reduction_g,
        record("commute_metro", "20", person=employee).record.reduction_g,
    ]
    bank_account = Account.objects.get(line_id=bank_people[0].line_id, kind=AccountKind.LINE)
    group_account = Account.objects.get(kind=AccountKind.GROUP)
    assert selectors.balance(account_id=bank_account.pk).grams == grams[0] + grams[1]
    assert selectors.balance(account_id=group_account.pk).grams == sum(grams)


def test_a_general_ledger_statement_pages_through_its_transfers(record: Any, make_person: Any) -> None:
    person = make_person("bank")
    # Seven postings: one per behaviour and day.
    for n in range(7):
        record(
            ("green_travel_metro", "green_travel_bus", "bike_share")[n % 3],
            "1",
            region="CN-SZ",
            person=person,
            occurred_on=timezone.localdate() - timedelta(days=n // 3),
        )
    issuance = Account.objects.get(line_id=person.line_id, kind=AccountKind.REDUCTION_ISSUANCE)
    seen: list[int] = []
    cursor = None
    while True:
        page = selectors.statement(account_id=issuance.pk, cursor=cursor, limit=3)
        seen.extend(line.transfer_id for line in page.lines)
        assert all(line.source_type == "posting" and line.amount < 0 for line in page.lines)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 7


def test_totals_by_line_period_and_category(record: Any, make_person: Any) -> None:
    today = timezone.localdate()
    bank, employee = make_person("bank"), make_person("employees")
    older = record(
        "green_travel_metro", "2", region="CN-SZ", person=bank, occurred_on=today - timedelta(days=2)
    )
    newer = record("green_travel_metro", "1", region="CN-SZ", person=bank, occurred_on=today)
    commute = record("commute_metro", "20", person=employee, occurred_on=today)
    rows = selectors.issued_totals(period="day", unit="gCO2e")
    assert {(r.line_code, r.period, r.ghg_category, r.amount) for r in rows} == {
        ("bank", today - timedelta(days=2), "scope3plus_ecosystem", older.record.reduction_g),
        ("bank", today, "scope3plus_ecosystem", newer.record.reduction_g),
        ("employees", today, "scope3_cat7_commuting", commute.record.reduction_g),
    }
    group: Counter[tuple[str | None, str]] = Counter()
    for row in selectors.issued_totals(period="year", unit="gCO2e", by_line=False):
        group[(row.line_code, row.ghg_category)] += row.amount
    assert group == {
        (None, "scope3plus_ecosystem"): older.record.reduction_g + newer.record.reduction_g,
        (None, "scope3_cat7_commuting"): commute.record.reduction_g,
    }
    points = selectors.issued_totals(period="day", unit="points", line_ids=[bank.line_id])
    assert {r.ghg_category for r in points} == {"none"}
    assert sum(r.amount for r in points) == older.record.points + newer.record.points
