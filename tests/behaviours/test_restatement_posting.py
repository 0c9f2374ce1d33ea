"""An approved correction of a factor or methodology row posts correcting entries of the records
computed with it; what an exchange has keeps its grams and is reported apart."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from behaviours import reference_changes as changes
from behaviours import restatement, selectors, services
from behaviours.models import BehaviourRecord, RecordCorrection
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, EntryKind, Posting
from exchange_bridge.models import FilingItem
from tests.behaviours.test_restatement_preview import certify, page, propose_commute_method, propose_metro

pytestmark = pytest.mark.django_db


def balances(*accounts: Account) -> list[int]:
    return [Account.objects.get(pk=account.pk).balance_g for account in accounts]


def monthly(line_codes: set[str]) -> dict[tuple[str, str, str], int]:
    """Net grams by line, month and GHG category, as the totals and the export read them."""
    return {
        (row.line_code or "", row.period.strftime("%Y-%m"), row.ghg_category): row.amount
        for row in ledger_selectors.issued_totals(period="month", unit="gCO2e")
        if row.line_code in line_codes
    }


@pytest.fixture
def affected(record, make_person, reference):  # type: ignore[no-untyped-def]
    """Metro records of two lines over two months, one of them certified, one reversed, and a
    walk on another factor."""
    today = timezone.localdate()
    last_month = today.replace(day=1) - timedelta(days=1)
    alice, bob, carol = make_person("employees"), make_person("bank"), make_person("employees")
    found = {
        "today": [
            record("commute_metro", "10", occurred_on=today, region="GB", person=alice).record
            for _ in range(2)
        ],
        "earlier": record("commute_metro", "20", occurred_on=last_month, region="GB", person=alice).record,
        "customer": record("green_travel_metro", "10", occurred_on=today, region="GB", person=bob).record,
        # Fileable (a line system's record with its evidence), as an exchange takes only those.
        "certified": record(
            "commute_metro", "10", occurred_on=last_month, region="GB", person=carol, evidence_id="SZT-1"
        ).record,
        "walk": record("commute_walk", "3", occurred_on=today, region="GB", person=alice).record,
        "reversed": record("commute_metro", "10", occurred_on=today, region="GB", person=carol).record,
    }
    services.reverse_record(record_id=found["reversed"].pk, reviewer="auditor", reason="a test ride")
    certify(found["certified"].pk, reference["employees"])
    return {"records": found, "people": (alice, bob, carol)}


def test_approval_posts_what_the_preview_showed(affected, make_staff) -> None:  # type: ignore[no-untyped-def]
    records, (alice, bob, carol) = affected["records"], affected["people"]
    proposer, approver = make_staff("sustainability_office"), make_staff("sustainability_office")
    change = propose_metro(proposer)
    preview = restatement.restatement_preview(change)
    assert preview is not None
    before_balances = balances(alice, bob, carol)
    before_totals = monthly({"employees", "bank"})

    with pytest.raises(changes.ChangeRefused):
        changes.approve_change(change_id=change.pk, approver=proposer)
    assert not RecordCorrection.objects.exists()
    changes.approve_change(change_id=change.pk, approver=approver, note="checked against DESNZ")

    # One correction per record not filed, equal to the preview's record by record.
    corrections = {
        c.record_id: (c.restated_g - c.difference_g, c.restated_g, c.difference_g)
        for c in RecordCorrection.objects.filter(change=change)
    }
    expected = {
        r.record_id: (r.stored_g, r.restated_g, r.difference_g) for r in preview.records if not r.certified
    }
    assert corrections == expected
    assert set(corrections) == {
        *(r.pk for r in records["today"]),
        records["earlier"].pk,
        records["customer"].pk,
    }
    assert corrections[records["earlier"].pk] == (2698, 2652, -46)

    # The approved page's sums by line, month and category are the preview's.
    change.refresh_from_db()
    posted = restatement.restatement_preview(change)
    assert posted is not None and posted.posted
    assert posted.sums == preview.sums
    assert posted.sums.not_filed.total.difference_g == -115

    # The certified record keeps its grams and has no correction; its difference is apart.
    certified = records["certified"]
    assert BehaviourRecord.objects.get(pk=certified.pk).reduction_g == 1349
    assert FilingItem.objects.get(record_id=certified.pk).reduction_g == 1349
    assert not RecordCorrection.objects.filter(record_id=certified.pk).exists()
    assert [(r.record_id, r.difference_g) for r in posted.records if r.certified] == [(certified.pk, -23)]
    # Records keep their own amounts; the people's balances move by their corrections.
    assert BehaviourRecord.objects.get(pk=records["earlier"].pk).reduction_g == 2698
    assert balances(alice, bob, carol) == [
        before_balances[0] - 23 - 23 - 46,
        before_balances[1] - 23,
        before_balances[2],
    ]

    # The general ledger's figures by line, month and category carry the differences.
    after_totals = monthly({"employees", "bank"})
    for row in preview.sums.not_filed.rows:
        key = (row.line, row.month, row.ghg_category)
        assert after_totals[key] - before_totals[key] == row.difference_g, key
    postings = Posting.objects.filter(entry_kind=EntryKind.RECORD_CORRECTION)
    assert sum(p.grams for p in postings) == -115 and all(p.points == 0 for p in postings)
    assert {p.basis_id for p in postings} == {c.basis_id for c in RecordCorrection.objects.all()}
    assert check_ledger() == []
    # The record's trace for auditors shows the correction and the posting that carries it.
    trace = selectors.record_ledger_trace(record_id=records["earlier"].pk)
    corrected = [line for line in trace if line.kind == EntryKind.RECORD_CORRECTION]
    assert corrected[0].reference.startswith("correction #") and corrected[0].amount == 46
    assert corrected[0].debit and not corrected[0].credit

    # Approving again posts nothing more.
    with pytest.raises(changes.ChangeRefused):
        changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))
    assert RecordCorrection.objects.count() == 4


def test_the_approved_page_and_its_csv_show_the_corrections_and_the_certified_apart(  # type: ignore[no-untyped-def]
    affected, make_staff
) -> None:
    records = affected["records"]
    proposer, approver = make_staff("sustainability_office"), make_staff("sustainability_office")
    change = propose_metro(proposer)
    changes.approve_change(change_id=change.pk, approver=approver)
    html = page(approver, f"/staff/changes/{change.pk}/").content.decode()
    assert "Restatement posted" in html and "Approving posts a correction" not in html
    corrected, certified_part = html.split('data-testid="restated-certified"')
    assert all(f">{cell}<" in corrected for cell in ["4", "6745", "6630", "-115"])
    assert ">-23<" in certified_part.split("restated-records")[0]
    rows = list(
        csv.reader(
            io.StringIO(
                page(approver, f"/staff/changes/{change.pk}/restatement.csv").content.decode("utf-8-sig")
            )
        )
    )
    listed = {int(row[0]): row for row in rows[1 : rows.index([])]}
    assert listed[records["earlier"].pk][4:] == ["2698", "2652", "-46", "corrected"]
    assert listed[records["certified"].pk][4:] == ["1349", "1326", "-23", "filed, not restated"]
    assert ["corrected", "total", "", "", "4", "6745", "6630", "-115"] in rows
    assert ["filed, not restated", "total", "", "", "1", "1349", "1326", "-23"] in rows
    zh = page(approver, f"/staff/changes/{change.pk}/", language="zh-hans").content.decode()
    assert "Restatement posted" not in zh and "已过账的重述" in zh


def test_a_second_correction_restates_from_the_first(affected, make_staff) -> None:  # type: ignore[no-untyped-def]
    earlier = affected["records"]["earlier"]
    office = [make_staff("sustainability_office") for _ in range(2)]
    changes.approve_change(change_id=propose_metro(office[0]).pk, approver=office[1])
    second = propose_metro(office[0], value="0.0250")
    preview = restatement.restatement_preview(second)
    assert preview is not None
    # 20 km: 20 x (0.16272 - 0.0250) kg = 2754 g, from 2652 g after the first correction.
    assert [(r.stored_g, r.restated_g) for r in preview.records if r.record_id == earlier.pk] == [
        (2652, 2754)
    ]
    changes.approve_change(change_id=second.pk, approver=office[1])
    assert list(
        RecordCorrection.objects.filter(record=earlier)
        .order_by("pk")
        .values_list("difference_g", "restated_g")
    ) == [(-46, 2652), (102, 2754)]
    # A reversal takes back the record's grams now, corrections included.
    services.reverse_record(record_id=earlier.pk, reviewer="auditor", reason="not a commute")
    assert check_ledger() == []


def test_a_person_sees_the_correction_on_their_statement(affected, make_staff) -> None:  # type: ignore[no-untyped-def]
    alice = affected["people"][0]
    office = [make_staff("sustainability_office") for _ in range(2)]
    changes.approve_change(change_id=propose_metro(office[0]).pk, approver=office[1])
    client = Client()
    client.force_login(alice.holder)
    html = client.get(
        f"/me/accounts/{alice.pk}/statement/", secure=True, headers={"accept-language": "en"}
    ).content.decode()
    assert html.count("Corrected: ") == 3 and "an emission factor or method was corrected" in html
    assert "-0.05 kg CO2e" in html and "-0.02 kg CO2e" in html
    zh = client.get(
        f"/me/accounts/{alice.pk}/statement/", secure=True, headers={"accept-language": "zh-hans"}
    ).content.decode()
    assert "已更正" in zh and "Corrected: " not in zh
    # The record's own page says what it counts now.
    earlier = affected["records"]["earlier"]
    detail = client.get(f"/me/records/{earlier.pk}/", secure=True, headers={"accept-language": "en"})
    assert "it now counts 2.65 kg CO2e" in detail.content.decode()


def _refused(sql: str, parameters: list[Any] | None = None) -> str:
    with pytest.raises(DatabaseError) as refusal, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, parameters or [])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return str(refusal.value)


def test_the_database_keeps_corrections_as_posted(affected, make_staff) -> None:  # type: ignore[no-untyped-def]
    office = [make_staff("sustainability_office") for _ in range(2)]
    changes.approve_change(change_id=propose_metro(office[0]).pk, approver=office[1])
    correction = RecordCorrection.objects.order_by("pk").first()
    assert correction is not None
    assert "refused" in _refused(
        "UPDATE behaviours_recordcorrection SET difference_g = difference_g + 1 WHERE id = %s",
        [correction.pk],
    )
    assert "refused" in _refused("DELETE FROM behaviours_recordcorrection WHERE id = %s", [correction.pk])
    # A posting of corrections that says more than its corrections.
    assert "its corrections are" in _refused(
        """INSERT INTO carbon_accounts_posting (line_id, entry_kind, period_date, ghg_category, behaviour_code,
                  basis_id, claim_basis, fileable, entries, grams, points, created_at)
           SELECT line_id, entry_kind, period_date, ghg_category, behaviour_code, basis_id, claim_basis,
                  fileable, entries + 1, 0, 0, now()
             FROM carbon_accounts_posting WHERE id = %s""",
        [correction.posting_id],
    )
    # A correction riding on a posting of another record's behaviour.
    walk = affected["records"]["walk"]
    assert "may only name a correction posting" in _refused(
        """INSERT INTO behaviours_recordcorrection
                  (record_id, change_id, account_id, difference_g, restated_g, basis_id, posting_id, created_at)
           VALUES (%s, %s, %s, 0, %s, %s, %s, now())""",
        [
            walk.pk,
            correction.change_id,
            walk.account_id,
            walk.reduction_g,
            correction.basis_id,
            correction.posting_id,
        ],
    )
    assert check_ledger() == []


def test_a_methodology_correction_posts_what_its_preview_showed(record, make_staff) -> None:  # type: ignore[no-untyped-def]
    commute = record("commute_metro", "10", region="GB").record
    office = [make_staff("sustainability_office") for _ in range(2)]
    change = propose_commute_method(
        office[0], "direct", "car_petrol_average", "", 1, "only the car trip avoided"
    )
    preview = restatement.restatement_preview(change)
    assert preview is not None
    changes.approve_change(change_id=change.pk, approver=office[1])
    posted = {c.record_id: c.restated_g for c in RecordCorrection.objects.filter(change=change)}
    assert posted == {r.record_id: r.restated_g for r in preview.records}
    assert commute.pk in posted
    assert check_ledger() == []


class _Undo(Exception):
    pass


def test_check_ledger_finds_a_correction_changed_behind_the_guards(affected, make_staff) -> None:  # type: ignore[no-untyped-def]
    office = [make_staff("sustainability_office") for _ in range(2)]
    changes.approve_change(change_id=propose_metro(office[0]).pk, approver=office[1])
    correction = RecordCorrection.objects.order_by("pk").first()
    assert correction is not None
    with pytest.raises(_Undo), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the approval's checks at commit, now
            cursor.execute("ALTER TABLE behaviours_recordcorrection DISABLE TRIGGER record_correction_kept")
            cursor.execute(
                "UPDATE behaviours_recordcorrection SET difference_g = difference_g + 5, restated_g = restated_g + 7"
                " WHERE id = %s",
                [correction.pk],
            )
        problems = check_ledger()
        assert any(f"correction {correction.pk} says its record is" in p for p in problems), problems
        assert any(f"correction {correction.pk} (and 0 like it) restates" in p for p in problems), problems
        assert any(f"posting {correction.posting_id} says" in p for p in problems), problems
        assert any(f"account {correction.account_id} holds" in p for p in problems), problems
        raise _Undo
    assert check_ledger() == []


def test_a_corrected_record_filed_later_is_filed_with_its_restated_grams(  # type: ignore[no-untyped-def]
    record, make_staff, settings
) -> None:
    from exchange_bridge import services as filing

    yesterday = timezone.localdate() - timedelta(days=1)
    fileable = record("commute_metro", "10", occurred_on=yesterday, region="GB", evidence_id="SZT-9").record
    assert fileable.fileable
    office = [make_staff("sustainability_office") for _ in range(2)]
    changes.approve_change(change_id=propose_metro(office[0]).pk, approver=office[1])
    settings.EXCHANGE_MEMBERSHIPS = {
        "employees": {
            "exchange": "seee",
            "url": "http://127.0.0.1:9",
            "member_id": "m-1",
            "key_id": "k-1",
            "secret": "s",
            "salt": "salt",
        }
    }
    assert filing.close_periods()
    assert FilingItem.objects.get(record_id=fileable.pk).reduction_g == 1326
    assert check_ledger() == []


def test_a_record_in_a_filing_under_way_keeps_its_grams(record, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    from exchange_bridge.models import BatchState, FilingBatch, ItemStatus

    submitted = record("commute_metro", "10", region="GB", evidence_id="SZT-5").record
    free = record("commute_metro", "10", region="GB").record
    today = timezone.localdate()
    batch = FilingBatch.objects.create(
        line=reference["employees"],
        exchange="seee",
        member_id="m-1",
        batch_ref="batch-under-way",
        period_start=today,
        period_end=today,
        state=BatchState.SUBMITTED,
        item_count=1,
        total_g=1349,
    )
    FilingItem.objects.create(
        batch=batch, record_id=submitted.pk, item_ref="item-1", reduction_g=1349, status=ItemStatus.IN_FILING
    )
    office = [make_staff("sustainability_office") for _ in range(2)]
    change = propose_metro(office[0])
    changes.approve_change(change_id=change.pk, approver=office[1])
    assert list(RecordCorrection.objects.values_list("record_id", flat=True)) == [free.pk]
    change.refresh_from_db()
    posted = restatement.restatement_preview(change)
    assert posted is not None
    assert [(r.record_id, r.stored_g, r.restated_g) for r in posted.records if r.certified] == [
        (submitted.pk, 1349, 1326)
    ]
    assert check_ledger() == []


def test_a_verifier_finds_the_restated_figure_in_the_records_and_its_correction_posting(  # type: ignore[no-untyped-def]
    affected, make_staff
) -> None:
    from tests.verification.test_export_walk import figure, get, signed_in

    change = propose_metro(make_staff("sustainability_office"))
    changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))
    verifier = signed_in(make_staff("verifier"))
    month = f"{timezone.localdate():%Y-%m}"
    sample = get(
        verifier, "/verify/", line="employees", period=month, behaviour="commute_metro", seed=1, size=5
    )
    ledger_g, records_g, equal = figure(sample, "reduction")
    # Two rides of 10 km restated at 1,326 g each (the reversed ride nets out).
    assert (ledger_g, records_g, equal) == (2 * 1326, 2 * 1326, True)

    correction = RecordCorrection.objects.filter(record_id=affected["records"]["today"][0].pk).get()
    posting = get(verifier, f"/verify/postings/{correction.posting_id}/")
    assert 'data-testid="entries-check" data-equal="yes"' in posting
    assert f"correction of record #{correction.record_id}" in posting


def test_the_exports_factor_rows_name_the_corrected_row_its_restated_records_use(
    affected, make_staff
) -> None:  # type: ignore[no-untyped-def]
    from behaviours import reports

    change = propose_metro(make_staff("sustainability_office"))
    month = reports.parse_period(f"{timezone.localdate():%Y-%m}")

    def metro_rows() -> dict[int, int]:
        return {
            row.version: row.records for row in reports.factor_rows_used(month) if row.activity == "metro"
        }

    before = metro_rows()
    changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))
    after = metro_rows()
    # This month's three unfiled rides were restated with the new version; the old one stays used.
    assert len(before) == 1 and after[max(before)] == before[max(before)]
    assert after[max(before) + 1] == 3


def test_a_verifier_reads_why_a_filed_record_was_not_restated(affected, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.verification.test_export_walk import get, signed_in

    change = propose_metro(make_staff("sustainability_office"))
    changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))
    verifier = signed_in(make_staff("verifier"))
    certified = get(verifier, f"/verify/records/{affected['records']['certified'].pk}/")
    assert 'data-testid="not-restated-note"' in certified
    assert f"Reference change #{change.pk} corrected a row this record was computed with" in certified
    assert f'href="/staff/changes/{change.pk}/"' in certified
    corrected = get(verifier, f"/verify/records/{affected['records']['earlier'].pk}/")
    assert 'data-testid="not-restated-note"' not in corrected
    walk = get(verifier, f"/verify/records/{affected['records']['walk'].pk}/")
    assert 'data-testid="not-restated-note"' not in walk
