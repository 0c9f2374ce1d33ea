"""From a figure of the export to the records that make it: the export's rows name the
verifier's page for their keys, that page reads the same figure again from the records, and each
record leads to its posting and its filing batch. Bad filters are form errors, never a 500."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from behaviours.models import BehaviourRecord
from behaviours.services import reverse_record
from carbon_accounts.models import Posting
from exchange_bridge.models import BatchState, FilingBatch
from tests.conftest import certified_alone, metro_rides, sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
MONTH = f"{TODAY:%Y-%m}"
EN = {"accept-language": "en"}


@pytest.fixture
def bank_month(record, make_person, reference):  # type: ignore[no-untyped-def]
    """Metro rides of the bank line this month, from its system with transit-card ids (fileable)
    and from people on the web (self-declared); one reversed; a bus ride; a life-line ride; one
    ride filed and certified."""
    rides = metro_rides(record, make_person, 8, first_km=4, every_other_on_the_web=True)
    wrong = record("green_travel_metro", "9", line="bank", person=make_person("bank"), region="CN-SZ").record
    reverse_record(record_id=wrong.pk, reviewer="office@test.example", reason="not a real ride")
    record("green_travel_bus", "6", line="bank", person=make_person("bank"), region="CN-SZ")
    record("green_travel_metro", "10", line="life", person=make_person("life"), region="CN-SZ")
    filed = rides[0]
    batch = certified_alone(
        filed, batch_ref="bank-seee-walk-1", serial="SEEE-2026-000031", filing_id="SEEE-F-31"
    )
    return {"rides": rides, "wrong": wrong, "filed": filed, "batch": batch}


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_staff(client, user)
    return client


def get(client: Client, path: str, status: int = 200, **query: str | int) -> str:
    response = client.get(path, query, secure=True, headers=EN)
    assert response.status_code == status, (path, query, response.status_code)
    return response.content.decode()


def figure(page: str, key: str) -> tuple[int, int, bool]:
    """(ledger grams, records grams, shown equal) of one row of the page's figures table."""
    row = re.search(rf'data-testid="figure-{key}">(.*?)</tr>', page, re.S)
    assert row is not None, key
    ledger = re.search(r'data-testid="ledger-grams">([0-9,]+)<', row[1])
    records = re.search(r'data-testid="records-grams">([0-9,]+)<', row[1])
    assert ledger is not None and records is not None
    return int(ledger[1].replace(",", "")), int(records[1].replace(",", "")), 'data-equal="yes"' in row[1]


def export_rows(client: Client) -> list[dict[str, str]]:
    response = client.get("/staff/export", {"period": MONTH, "format": "csv"}, secure=True)
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    reader = csv.DictReader(io.StringIO("\n".join(lines[1:])))
    return [row for row in reader if row["section"] in ("operational", "ecosystem")]


def test_each_export_row_names_the_verifier_page_that_reads_its_figures_again(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    rows = export_rows(verifier)
    assert {(row["business line"], row["behaviour"]) for row in rows} >= {
        ("bank", "green_travel_metro"),
        ("bank", "green_travel_bus"),
        ("life", "green_travel_metro"),
    }
    for row in rows:
        path = row["verification"]
        assert path.startswith("/verify/?"), path
        query = {key: values[0] for key, values in parse_qs(urlsplit(path).query).items()}
        assert query == {
            "line": row["business line"],
            "period": MONTH,
            "behaviour": row["behaviour"],
            "category": row["GHG category"],
        }
        page = get(verifier, f"{path}&seed=1&size=200")
        for key, column in (
            ("reduction", "reduction (g CO2e)"),
            ("fileable", "fileable (g CO2e)"),
            ("self_declared", "self-declared (g CO2e)"),
        ):
            assert figure(page, key) == (int(row[column]), int(row[column]), True), (row, key)
    metro = next(r for r in rows if (r["business line"], r["behaviour"]) == ("bank", "green_travel_metro"))
    # The reversed ride nets to nothing: the figure is the live rides'.
    assert int(metro["reduction (g CO2e)"]) == sum(ride.reduction_g for ride in bank_month["rides"])
    assert int(metro["fileable (g CO2e)"]) > 0 and int(metro["self-declared (g CO2e)"]) > 0


def test_the_xlsx_export_carries_the_same_path(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    response = verifier.get("/staff/export", {"period": MONTH, "format": "xlsx"}, secure=True)
    sheet = list(
        load_workbook(io.BytesIO(response.getvalue()), read_only=True)["Ecosystem (Scope 3+)"].values
    )
    header = list(sheet[1])
    assert header[-1] == "verification"
    metro = next(r for r in sheet[2:] if r[0] == "bank" and r[1] == "green_travel_metro")
    path = metro[-1]
    page = get(verifier, f"{path}&seed=5")
    assert figure(page, "reduction")[:2] == (metro[header.index("reduction (g CO2e)")],) * 2


def test_the_sample_is_drawn_from_the_rows_records_and_keeps_its_keys(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    category = bank_month["filed"].ghg_category
    query = {"line": "bank", "period": MONTH, "behaviour": "green_travel_metro", "category": category}
    # Without a seed one is drawn; the address keeps the row's keys.
    response = verifier.get("/verify/", {**query, "claim": "fileable"}, secure=True)
    assert response.status_code == 302
    location = response["Location"]
    assert "behaviour=green_travel_metro" in location and "claim=fileable" in location and "seed=" in location
    page = get(verifier, location)
    fileable = {ride.pk for ride in bank_month["rides"] if ride.fileable}
    shown = {int(n) for n in re.findall(r'data-testid="sampled-record">#([0-9]+)<', page)}
    assert shown == fileable and len(fileable) == 4
    assert 'data-testid="sampled">4 / 4<' in page
    # Each sampled record's link carries the keys back to the same sample.
    assert "claim=fileable" in re.search(r'href="(/verify/records/[^"]+)"', page)[1]  # type: ignore[index]
    every = get(verifier, "/verify/", **query, seed=3, size=200)
    assert 'data-testid="sampled">8 / 8<' in every
    declared = get(verifier, "/verify/", **query, claim="self_declared", seed=3, size=200)
    assert 'data-testid="sampled">4 / 4<' in declared
    # The bus ride is its own row: the metro row never includes it.
    bus = get(verifier, "/verify/", line="bank", period=MONTH, behaviour="green_travel_bus", seed=3)
    assert 'data-testid="sampled">1 / 1<' in bus


def test_bad_filters_are_form_errors_never_a_500(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    base = {"line": "bank", "period": MONTH, "seed": "1"}
    for extra in (
        {"behaviour": "flying_carpet"},
        {"behaviour": "green_travel_metro'; drop table x"},
        {"behaviour": "x" * 5000},
        {"category": "scope9_nothing"},
        {"claim": "everything"},
        {"claim": "FILEABLE"},
    ):
        page = get(verifier, "/verify/", 400, **base, **extra)
        assert "Select a valid choice" in page, extra
        get(verifier, "/verify/evidence-pack", 400, **base, **extra)
    assert "NUL character" in get(verifier, "/verify/", 400, **base, category="\u0000")
    assert "is not a period" in get(verifier, "/verify/", 400, line="bank", period="2026-13x", seed=1)
    for path in ("/verify/postings/999999999/", "/verify/filings/999999999/", "/verify/records/999999999/"):
        get(verifier, path, 404)
    get(verifier, "/verify/postings/99999999999999999999/", 404)


def test_a_record_leads_to_its_posting_whose_entries_add_up(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    filed = bank_month["filed"]
    page = get(verifier, f"/verify/records/{filed.pk}/")
    assert f'href="/verify/postings/{filed.posting_id}/"' in page
    posting = Posting.objects.get(pk=filed.posting_id)
    shown = get(verifier, f"/verify/postings/{posting.pk}/")
    assert f'data-testid="posting-grams">{posting.grams:,}<' in shown
    assert f'data-testid="entries-grams">{posting.grams:,}<' in shown
    assert 'data-testid="entries-check" data-equal="yes"' in shown
    assert f'href="/verify/records/{filed.pk}/"' in shown
    assert "reduction issuance" in shown and "business-line sub-account" in shown
    # Its behaviour and how its claim was trusted, in words.
    assert "Took the metro <code>green_travel_metro</code>" in shown
    assert "recorded by a line or facility system" in shown
    # A reversed record leads to both postings; the reversal's takes its grams back.
    wrong = bank_month["wrong"]
    page = get(verifier, f"/verify/records/{wrong.pk}/")
    reversal = BehaviourRecord.objects.get(pk=wrong.pk).reversal
    assert 'data-testid="reversal-posting-link">' in page
    assert f'href="/verify/postings/{reversal.posting_id}/"' in page
    taken_back = get(verifier, f"/verify/postings/{reversal.posting_id}/")
    assert f"reversal of record #{wrong.pk}" in taken_back and 'data-equal="yes"' in taken_back
    assert f'data-testid="posting-grams">-{wrong.reduction_g:,}<' in taken_back


def test_a_record_leads_to_its_filing_batch_and_certificate(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    filed, batch = bank_month["filed"], bank_month["batch"]
    page = get(verifier, f"/verify/records/{filed.pk}/")
    assert f'href="/verify/filings/{batch.pk}/" data-testid="batch-link"' in page
    shown = get(verifier, f"/verify/filings/{batch.pk}/")
    assert "<code>SEEE-2026-000031</code> – <code>SEEE-2026-000031</code>" in shown
    assert f'href="/verify/records/{filed.pk}/"' in shown
    assert 'data-testid="items-check" data-equal="yes"' in shown
    assert f'data-testid="items-grams">{filed.reduction_g:,}<' in shown


def test_an_operator_reaches_no_other_lines_posting_or_batch(bank_month, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    life = signed_in(make_staff("line_operator", reference["life"]))
    get(life, f"/verify/postings/{bank_month['filed'].posting_id}/", 404)
    get(life, f"/verify/filings/{bank_month['batch'].pk}/", 404)


def test_the_verifier_cannot_write_through_the_new_pages(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    filed = bank_month["filed"]
    before = (Posting.objects.count(), FilingBatch.objects.count(), BehaviourRecord.objects.count())
    for path in (
        f"/verify/?line=bank&period={MONTH}&behaviour=green_travel_metro&seed=1",
        f"/verify/records/{filed.pk}/",
        f"/verify/postings/{filed.posting_id}/",
        f"/verify/filings/{bank_month['batch'].pk}/",
        f"/verify/evidence-pack?line=bank&period={MONTH}&seed=1",
    ):
        for method in ("post", "put", "patch", "delete"):
            response = getattr(verifier, method)(path, {"state": "rejected"}, secure=True)
            assert response.status_code == 403, (method, path)
    assert (Posting.objects.count(), FilingBatch.objects.count(), BehaviourRecord.objects.count()) == before
    assert FilingBatch.objects.get(pk=bank_month["batch"].pk).state == BatchState.CERTIFIED


def test_the_evidence_pack_keeps_the_keys_and_its_totals_name_their_pages(bank_month, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    query = {
        "line": "bank",
        "period": MONTH,
        "behaviour": "green_travel_metro",
        "claim": "fileable",
        "seed": "4",
    }
    response = verifier.get("/verify/evidence-pack", query, secure=True)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))

    def sheet(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))

    sample = sheet("sample_records.csv")
    assert {int(row["record"]) for row in sample} == {
        ride.pk for ride in bank_month["rides"] if ride.fileable
    }
    assert {row["behaviour"] for row in sample} == {"green_travel_metro"}
    readme = archive.read("README.txt").decode()
    assert "Narrowed to Behaviour: green_travel_metro; Claim: fileable" in readme
    assert "Sample: 4 of 4 records" in readme
    # Each line's month and category in the totals names the page that reads it again.
    for row in (r for r in sheet("period_totals.csv") if r["business line"]):
        page = get(verifier, f"{row['verification']}&seed=1")
        assert figure(page, "reduction") == (int(row["reduction (g CO2e)"]),) * 2 + (True,)
        assert figure(page, "fileable") == (int(row["fileable (g CO2e)"]),) * 2 + (True,)
