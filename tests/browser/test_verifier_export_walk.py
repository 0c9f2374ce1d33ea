"""A verifier, in Chinese on a phone, takes a figure of the group export and walks it to the
records that make it, one record to its evidence and posting, and its filing batch's certificate."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from carbon_accounts.models import Posting
from tests.browser.conftest import screenshot, sign_in_staff_in_browser
from tests.conftest import certified_alone, metro_rides

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def grams(text: str) -> int:
    """A figure as the page shows it (with thousands separators) as an integer."""
    return int(text.replace(",", "").strip())


def fits_the_phone(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth") <= 375)


def test_a_verifier_walks_an_export_figure_to_a_records_evidence_and_certificate(
    chinese_phone, live_server, record, make_person, make_staff, reference
) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    rides = metro_rides(record, make_person, 6, first_km=5, every_other_on_the_web=True)
    record("green_travel_bus", "7", line="bank", person=make_person("bank"), region="CN-SZ")
    filed = rides[2]
    batch = certified_alone(
        filed, batch_ref="bank-seee-0042", serial="SEEE-2026-000420", filing_id="SEEE-F-42"
    )
    page = chinese_phone
    sign_in_staff_in_browser(page, live_server, make_staff("verifier"))

    # The export of the month, downloaded from the staff page as CSV.
    page.goto("/staff/")
    export = page.locator("form[action='/staff/export']")
    export.get_by_label("期间").fill(f"{today:%Y-%m}")
    export.get_by_label("格式").select_option("csv")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-button").click()
    lines = download_info.value.path().read_bytes().decode("utf-8-sig").splitlines()
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    row = next(r for r in rows if (r["business line"], r["behaviour"]) == ("bank", "green_travel_metro"))
    figure = int(row["reduction (g CO2e)"])
    assert figure == sum(ride.reduction_g for ride in rides)

    # The row's verification page: the same figure from the ledger and from the records.
    page.goto(row["verification"])
    page.wait_for_url("**/verify/?*seed=*")
    assert "behaviour=green_travel_metro" in page.url
    for key, column in (
        ("reduction", "reduction (g CO2e)"),
        ("fileable", "fileable (g CO2e)"),
        ("self_declared", "self-declared (g CO2e)"),
    ):
        shown = page.get_by_test_id(f"figure-{key}")
        assert grams(shown.get_by_test_id("ledger-grams").inner_text()) == int(row[column])
        assert grams(shown.get_by_test_id("records-grams").inner_text()) == int(row[column])
        assert shown.get_by_test_id("figure-check").get_attribute("data-equal") == "yes"
        assert "相同" in shown.get_by_test_id("figure-check").inner_text()
    # Every record of the figure is in the sample, and their grams add up to it.
    assert page.get_by_test_id("sampled").inner_text() == "6 / 6"
    sampled = [grams(text) for text in page.get_by_test_id("sampled-grams").all_inner_texts()]
    assert sum(sampled) == figure
    assert fits_the_phone(page)
    screenshot(page, "verifier-export-figure-zh")

    # One record: its evidence, recorder and recomputation.
    page.get_by_test_id("sampled-record").filter(has_text=f"#{filed.pk}").click()
    page.wait_for_url(f"**/verify/records/{filed.pk}/*")
    assert page.get_by_test_id("evidence").inner_text() == "SZT-0002"
    assert page.get_by_test_id("recorder").inner_text() == "业务条线的系统，使用其 API 密钥（bank）"
    assert grams(page.get_by_test_id("stored-grams").inner_text()) == filed.reduction_g
    assert grams(page.get_by_test_id("recomputed-grams").inner_text()) == filed.reduction_g
    assert page.get_by_test_id("factor-rows").inner_text().strip() != ""
    assert fits_the_phone(page)
    record_url = page.url

    # Its posting: the entries it sums add up to it, and it is part of the figure.
    page.get_by_test_id("posting-link").click()
    page.wait_for_url(f"**/verify/postings/{filed.posting_id}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"过账 #{filed.posting_id}"
    posted = grams(page.get_by_test_id("posting-grams").inner_text())
    assert posted == grams(page.get_by_test_id("entries-grams").inner_text())
    assert posted == Posting.objects.get(pk=filed.posting_id).grams and 0 < posted <= figure
    assert page.get_by_test_id("entries-check").get_attribute("data-equal") == "yes"
    assert "分录合计等于过账" in page.get_by_test_id("entries-check").inner_text()
    assert page.get_by_test_id("entry-record").filter(has_text=f"#{filed.pk}").count() == 1
    assert fits_the_phone(page)
    screenshot(page, "verifier-posting-zh")

    # Its filing batch and the certificate's serial block.
    page.goto(record_url)
    page.get_by_test_id("batch-link").click()
    page.wait_for_url(f"**/verify/filings/{batch.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "备案批次 bank-seee-0042"
    assert "SEEE-2026-000420" in page.get_by_test_id("serial-block").inner_text()
    assert grams(page.get_by_test_id("items-grams").inner_text()) == filed.reduction_g
    assert page.get_by_test_id("items-check").get_attribute("data-equal") == "yes"
    assert page.get_by_test_id("item-record").inner_text() == f"#{filed.pk}"
    assert fits_the_phone(page)
    screenshot(page, "verifier-filing-batch-zh")
