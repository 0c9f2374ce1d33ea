"""An issued statement reproduces exactly as issued, whatever changes afterwards."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from django.db import IntegrityError, transaction
from openpyxl import load_workbook

from neutrality import services
from neutrality.models import Statement
from tests.conftest import sign_in_staff
from tests.neutrality.conftest import row

pytestmark = pytest.mark.django_db


def summary(xlsx: bytes) -> dict[str, object]:
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True)["Statement"]
    return {str(r[0]): r[1] for r in sheet.iter_rows(values_only=True) if r and r[0]}


@pytest.fixture
def year_2023(load) -> None:  # type: ignore[no-untyped-def]
    load(
        "bank",
        [
            row("e1", "sh-branches", "electricity", "1200000", "kWh", certified_kwh="300000"),
            row("g1", "sh-branches", "natural_gas", "10000", "m3"),
        ],
    )
    services.record_registry_credit(
        year=2023,
        credit=services.RegistryCredit(
            registry="CCER",
            project="Offshore wind, Rudong",
            serial_start="CCER-1",
            serial_end="CCER-100",
            tonnes=100,
            vintage=2023,
            kind="avoidance",
            durability="not_applicable",
            quality_label="none",
            retired_on=date(2024, 3, 31),
            beneficiary="the group",
        ),
    )


def test_an_issued_statement_reproduces_as_issued(client, make_staff, load, year_2023) -> None:  # type: ignore[no-untyped-def]
    office = make_staff("sustainability_office")
    sign_in_staff(client, office)
    response = client.post("/neutrality/2023/statements/", secure=True)
    assert response.status_code == 302
    statement = Statement.objects.get()
    assert statement.figures["balance"]["gross_g"] == 495_000_000 + 21_621_888
    assert (
        statement.figures["balance"]["exchange_tonnes"] + statement.figures["balance"]["registry_tonnes"]
        == 100
    )
    assert hashlib.sha256(bytes(statement.pdf)).hexdigest() == statement.pdf_sha256
    assert bytes(statement.pdf).startswith(b"%PDF")
    first_pdf = client.get(f"/neutrality/statements/{statement.pk}.pdf", secure=True)
    first_xlsx = client.get(f"/neutrality/statements/{statement.pk}.xlsx", secure=True)
    assert first_pdf["X-Content-SHA256"] == statement.pdf_sha256
    assert summary(first_xlsx.content)["Residual emissions / 剩余排放"] == 516_621_888

    # The inventory and the credits change afterwards...
    load("bank", [row("p1", "sh-branches", "paper", "3.2", "tonne")])
    load("bank", [row("e1-fix", "sh-branches", "electricity", "1000000", "kWh", replaces="e1")])
    # ...yet the statement downloads as the same files, with the same figures.
    again_pdf = client.get(f"/neutrality/statements/{statement.pk}.pdf", secure=True)
    again_xlsx = client.get(f"/neutrality/statements/{statement.pk}.xlsx", secure=True)
    assert again_pdf.content == first_pdf.content
    assert again_xlsx.content == first_xlsx.content
    assert hashlib.sha256(again_xlsx.content).hexdigest() == statement.xlsx_sha256
    assert summary(again_xlsx.content)["Residual emissions / 剩余排放"] == 516_621_888
    # The year page lists the issue with its hashes; a new issue is a new statement, the first stays.
    page = client.get("/neutrality/2023/", secure=True, headers={"accept-language": "en"}).content.decode()
    assert statement.pdf_sha256 in page and statement.xlsx_sha256 in page
    client.post("/neutrality/2023/statements/", secure=True)
    second = Statement.objects.get(number=2)
    assert (
        summary(bytes(second.xlsx))["Residual emissions / 剩余排放"] == 550_000_000 + 21_621_888 + 4_304_249
    )
    assert (
        client.get(f"/neutrality/statements/{statement.pk}.xlsx", secure=True).content == first_xlsx.content
    )


def test_an_issued_statement_is_never_edited_or_deleted(year_2023) -> None:  # type: ignore[no-untyped-def]
    statement = services.issue_statement(year=2023, issued_by="office")
    assert statement.figures["claim"]["en"].startswith("No neutrality claim for 2023")
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).update(pdf=b"%PDF-forged")
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).delete()


def test_a_year_without_an_inventory_has_no_statement(sites) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.NeutralityError, match="no inventory"):
        services.issue_statement(year=2023, issued_by="office")


def test_the_statement_traces_each_figure_to_its_rows_and_factor_rows(year_2023) -> None:  # type: ignore[no-untyped-def]
    statement = services.issue_statement(year=2023, issued_by="office")
    workbook = load_workbook(io.BytesIO(bytes(statement.xlsx)), read_only=True)
    rows = list(workbook["Activity rows"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["g1", "e1"] or [r[0] for r in rows[1:]] == ["e1", "g1"]
    factors = {r[1]: r for r in list(workbook["Factors"].iter_rows(values_only=True))[1:] if r and r[1]}
    assert factors["grid_electricity"][2] == "CN-EAST" and factors["grid_electricity"][6] == "0.55"
    assert factors["natural_gas_combustion"][6] == "2.1621888"
    assert set(factors) >= {"electricity_certified_renewable"}
