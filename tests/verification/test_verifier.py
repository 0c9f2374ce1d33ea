"""The verifier's view: a reproducible sample, each record traced to its evidence, factor rows,
ledger and certificate, the evidence pack, and a role that reads everything and writes nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from openpyxl import load_workbook

from behaviours import selectors
from behaviours.models import BehaviourRecord, RecordStatus
from behaviours.services import reverse_record
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Posting
from tests.conftest import certified_alone, metro_rides, sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
MONTH = f"{TODAY:%Y-%m}"


@pytest.fixture
def bank_records(record, make_person, reference):  # type: ignore[no-untyped-def]
    """Twenty metro rides in the bank line this month (half from the line's system with a
    transit-card id), one of them filed and certified; a reversed ride; a life-line ride."""
    rides = metro_rides(record, make_person, 20, first_km=5, every_other_on_the_web=True)
    wrong = record("green_travel_metro", "9", line="bank", person=make_person("bank"), region="CN-SZ").record
    reverse_record(record_id=wrong.pk, reviewer="office@test.example", reason="not a real ride")
    record("green_travel_metro", "10", line="life", person=make_person("life"), region="CN-SZ")
    filed = rides[0]
    certified_alone(filed, batch_ref="bank-seee-2026-0001", serial="SEEE-2026-000042", filing_id="SEEE-F-77")
    return rides


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_staff(client, user)
    return client


def get(client: Client, path: str, status: int = 200, **query: str | int) -> str:
    response = client.get(path, query, secure=True, headers={"accept-language": "en"})
    assert response.status_code == status, (path, response.status_code)
    return response.content.decode()


def sampled_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="sampled-record">#([0-9]+)<', html)]


def test_the_sample_is_reproducible_for_a_seed_and_differs_for_another(bank_records, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    first = get(verifier, "/verify/", line="bank", period=MONTH, size=5, seed=20260101)
    again = get(verifier, "/verify/", line="bank", period=MONTH, size=5, seed=20260101)
    other = get(verifier, "/verify/", line="bank", period=MONTH, size=5, seed=7)
    assert len(sampled_ids(first)) == 5
    assert sampled_ids(first) == sampled_ids(again)
    assert sampled_ids(first) != sampled_ids(other)
    assert 'data-testid="seed">20260101<' in first and 'data-testid="sampled">5 / 20<' in first
    # The population is the line's accepted records with grams: not the reversed ride, not the life line.
    population = {r.pk for r in bank_records}
    assert set(sampled_ids(first)) <= population and set(sampled_ids(other)) <= population
    # Anyone holding the record ids redraws the same sample: md5("<seed>:<id>"), lowest first.
    redrawn = sorted(population, key=lambda pk: hashlib.md5(f"20260101:{pk}".encode()).hexdigest())[:5]  # noqa: S324
    assert sampled_ids(first) == redrawn


def test_without_a_seed_one_is_drawn_and_shown(bank_records, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    response = verifier.get("/verify/", {"line": "bank", "period": MONTH, "size": "3"}, secure=True)
    assert response.status_code == 302
    seed = re.search(r"seed=([0-9]+)", response["Location"])
    assert seed is not None
    page = get(verifier, response["Location"])
    assert f'data-testid="seed">{seed[1]}<' in page and len(sampled_ids(page)) == 3


def test_a_sampled_record_shows_its_evidence_rows_recomputation_ledger_and_certificate(
    bank_records, make_staff
) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    filed = bank_records[0]
    page = get(verifier, f"/verify/records/{filed.pk}/", line="bank", period=MONTH, size=5, seed=1)
    assert 'data-testid="evidence"><code>SZT-0000</code>' in page
    assert "The business line&#x27;s system, with its API key (bank)" in page
    assert f'data-testid="stored-grams">{filed.reduction_g}<' in page
    assert f'data-testid="recomputed-grams">{filed.reduction_g}<' in page
    assert 'data-equal="yes"' in page and "The recomputation equals the stored grams." in page
    # The calculation in words, the methodology and the factor row with its source.
    assert "5 km, counted with Shenzhen&#x27;s metro reduction factor: 5 × 0.0467 kg = 0.23 kg" in page
    assert "green_travel_metro@CN-SZ@" in page
    factor = selectors.factor_rows_of(record_id=filed.pk)[0].factor
    assert f"Row #{factor.pk}: region CN-SZ" in page and factor.source_ref in page
    # The group-ledger movement that carried the grams, and the certificate's serial block.
    # The record is its person's entry; its posting carried its grams into the line's control account.
    entry, *posting = selectors.record_ledger_trace(record_id=filed.pk)
    assert (entry.kind, entry.unit, entry.amount) == ("behaviour_record", "gCO2e", filed.reduction_g)
    assert entry.credit == f"personal account #{filed.account_id}" and entry.reference in page
    grams = next(line for line in posting if line.unit == "gCO2e")
    assert grams.reference.startswith(f"posting #{filed.posting_id} ") and grams.reference in page
    assert grams.debit.startswith("bank · reduction issuance (system) #")
    assert grams.credit.startswith("bank · business-line sub-account #")
    assert grams.amount == Posting.objects.get(pk=filed.posting_id).grams >= filed.reduction_g
    assert "bank-seee-2026-0001" in page and "SEEE-F-77" in page
    assert "<code>SEEE-2026-000042</code> – <code>SEEE-2026-000042</code>" in page
    assert "seed=1" in page  # the way back to the same sample

    person_ride = bank_records[1]
    page = get(verifier, f"/verify/records/{person_ride.pk}/")
    assert "None: no evidence id came with this record." in page
    assert "The person, signed in on the web" in page
    assert "Not filed yet." in page or "Not fileable" in page
    assert 'data-equal="yes"' in page


def test_every_sampled_recomputation_equals_the_stored_grams(bank_records, make_staff) -> None:  # type: ignore[no-untyped-def]
    page = get(signed_in(make_staff("verifier")), "/verify/", line="bank", period=MONTH, size=200, seed=3)
    assert len(sampled_ids(page)) == 20
    sample = page.split('data-testid="sample"')[1]
    assert sample.count("✓ equal") == 20 and "✗" not in page


def test_the_evidence_pack_holds_the_sample_its_rows_and_the_periods_totals(
    bank_records, make_staff, reference
) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    shown = sampled_ids(get(verifier, "/verify/", line="bank", period=MONTH, size=6, seed=99))
    response = verifier.get(
        "/verify/evidence-pack", {"line": "bank", "period": MONTH, "size": "6", "seed": "99"}, secure=True
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="evidence-pack-bank-{MONTH}-seed-99.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "README.txt",
        "evidence_pack.xlsx",
        "factor_rows.csv",
        "filings.csv",
        "ledger_movements.csv",
        "methodology.md",
        "methodology_rows.csv",
        "period_totals.csv",
        "sample_records.csv",
    ]

    def sheet(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))

    sample = sheet("sample_records.csv")
    assert [int(row["record"]) for row in sample] == shown
    by_id = {record.pk: record for record in BehaviourRecord.objects.filter(pk__in=shown)}
    for row in sample:
        stored = by_id[int(row["record"])].reduction_g
        assert int(row["stored reduction (g CO2e)"]) == int(row["recomputed (g CO2e)"]) == stored
        assert row["recomputation equals stored"] == "yes"
    used_factors = {int(row["factor row a"]) for row in sample}
    assert {int(row["factor row"]) for row in sheet("factor_rows.csv")} == used_factors
    assert {row["methodology"] for row in sheet("methodology_rows.csv")} == {
        row["methodology"] for row in sample
    }
    assert {int(row["record"]) for row in sheet("ledger_movements.csv")} == set(shown)

    # The period's totals by line, month and GHG category are the ledger's, every line included.
    totals = sheet("period_totals.csv")
    # The whole month the pack covers, whatever day of it the records were made on.
    month_end = (TODAY.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    ledger = ledger_selectors.issued_totals(
        period="month", start=TODAY.replace(day=1), end=month_end, unit="gCO2e"
    )
    assert {
        (r["business line"], r["GHG category"], int(r["reduction (g CO2e)"]))
        for r in totals
        if r["business line"]
    } == {(r.line_code, r.ghg_category, r.amount) for r in ledger}
    bank_grams = sum(record.reduction_g for record in bank_records)
    assert ("bank", bank_grams) in {(r["business line"], int(r["reduction (g CO2e)"])) for r in totals}
    ecosystem_total = next(r for r in totals if r["section"] == "ecosystem total")
    assert int(ecosystem_total["reduction (g CO2e)"]) == sum(r.amount for r in ledger)

    workbook = load_workbook(io.BytesIO(archive.read("evidence_pack.xlsx")), read_only=True)
    assert workbook.sheetnames == [
        "Sample",
        "Factor rows",
        "Methodology rows",
        "Ledger",
        "Filings",
        "Period totals",
        "About",
    ]
    assert [row[1] for row in workbook["Sample"].iter_rows(min_row=2, values_only=True)] == shown
    readme = archive.read("README.txt").decode()
    assert "Seed: 99" in readme and "Sample: 6 of 20 records" in readme
    assert archive.read("methodology.md").decode().startswith("# Methodology")
    # The same request gives the same files (the README's drawing time aside).
    again = zipfile.ZipFile(
        io.BytesIO(
            verifier.get(
                "/verify/evidence-pack",
                {"line": "bank", "period": MONTH, "size": "6", "seed": "99"},
                secure=True,
            ).content
        )
    )
    assert again.read("sample_records.csv") == archive.read("sample_records.csv")


def test_bad_sample_requests_are_form_errors(bank_records, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    for query, message in (
        ({"line": "bank", "period": "spring"}, "is not a period"),
        ({"line": "bank", "period": MONTH, "size": "0"}, "greater than or equal to 1"),
        ({"line": "bank", "period": MONTH, "size": "100000"}, "less than or equal to 200"),
        ({"line": "bank", "period": MONTH, "seed": "abc"}, "Enter the number in plain digits"),
        ({"line": "nowhere", "period": MONTH}, "Select a valid choice"),
    ):
        assert message in get(verifier, "/verify/", status=400, **query), query
    assert "This field is required." in get(
        verifier, "/verify/evidence-pack", status=400, line="bank", period=MONTH
    )
    get(verifier, "/verify/records/99999999/", status=404)


def test_an_operator_verifies_only_their_own_line(bank_records, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    life = signed_in(make_staff("line_operator", reference["life"]))
    get(life, f"/verify/records/{bank_records[0].pk}/", status=404)
    assert "Select a valid choice" in get(life, "/verify/", status=400, line="bank", period=MONTH, seed=1)


# --- Reads everything, writes nothing -------------------------------------------------------

READ_PAGES = [
    "/staff/",
    f"/staff/export?period={MONTH}&format=csv",
    "/staff/factors/",
    "/staff/rewards/",
    "/staff/changes/",
    "/staff/changes/history/",
    "/staff/invitations/",
    "/staff/campaigns/",
    "/review/",
    "/filings/",
    "/verify/",
    "/api/v1/totals",
    "/api/v1/lines/bank/totals",
    "/api/v1/lines/bank/filing-batches",
]


def _paths(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[str]:
    """Every route of the site as a concrete path, its parameters filled with something plausible."""
    found = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if route.startswith(("admin/", "accounts/", "i18n/", "^")):
            continue  # the admin is checked below; a person's own sign-in stays theirs
        if isinstance(pattern, URLResolver):
            found += _paths(pattern.url_patterns, prefix + route)
            continue
        path = prefix + route
        path = re.sub(r"<int:[a-z_]+>", "1", path)
        path = re.sub(r"<uuid:[a-z_]+>", str(uuid.uuid4()), path)
        path = re.sub(r"<slug:line>", "bank", path)
        path = re.sub(r"<[a-z]+:[a-z_]+>", "x", path)
        found.append("/" + path)
    return found


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_a_verifier_reads_every_staff_page_and_cannot_write_anywhere(bank_records, make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    for path in READ_PAGES:
        assert verifier.get(path, secure=True).status_code == 200, path
    assert "Approve or refuse" not in get(verifier, "/staff/changes/")
    assert "Propose" not in get(verifier, "/staff/changes/")

    paths = _paths(get_resolver().url_patterns)
    assert {
        "/me/record/",
        "/review/1/decision/",
        "/api/v1/lines/bank/records",
        "/staff/changes/new/x/",
    } <= set(paths)
    paths += [
        "/admin/behaviours/emissionfactor/add/",
        "/admin/rewards/pointsrule/add/",
        "/admin/behaviours/behaviour/1/change/",
        "/admin/behaviours/behaviourrecord/",
        "/admin/carbon_accounts/apicredential/add/",
        "/admin/auth/user/add/",
    ]
    before = row_counts()
    for path in paths:
        for method in ("post", "put", "patch", "delete"):
            response = getattr(verifier, method)(path, {"decision": "approve"}, secure=True)
            assert response.status_code == 403, (method, path, response.status_code)
            if path.startswith("/api/"):
                assert response.json()["code"] == "read_only_role", path
    assert row_counts() == before
    assert BehaviourRecord.objects.filter(status=RecordStatus.PENDING_REVIEW).count() == 0


def test_the_verifier_signs_out_and_switches_language(make_staff) -> None:  # type: ignore[no-untyped-def]
    verifier = signed_in(make_staff("verifier"))
    assert (
        verifier.post("/i18n/setlang/", {"language": "en", "next": "/verify/"}, secure=True).status_code
        == 302
    )
    assert verifier.post("/accounts/logout/", secure=True).status_code == 302
