"""A verifier, in Chinese on a phone, draws a sample and walks a record to its evidence and certificate."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot, sign_in_staff_in_browser
from tests.conftest import certified_alone, metro_rides

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_verifier_walks_from_the_sample_to_a_record_and_its_certificate(
    chinese_phone, live_server, record, make_person, make_staff, reference
) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    rides = metro_rides(record, make_person, 4, first_km=6, every_other_on_the_web=False)
    filed = rides[2]
    certified_alone(filed, batch_ref="bank-seee-0001", serial="SEEE-2026-000007", filing_id="SEEE-F-9")
    page = chinese_phone
    sign_in_staff_in_browser(page, live_server, make_staff("verifier"))

    page.goto("/staff/")
    page.get_by_role("link", name="核查", exact=True).click()
    page.wait_for_url("**/verify/")
    page.get_by_label("业务条线").select_option("bank")
    page.get_by_label("期间").fill(f"{today:%Y-%m}")
    page.get_by_role("button", name="抽取样本").click()
    page.wait_for_url(re.compile(r".*seed=[0-9]+.*"))
    seed = page.get_by_test_id("seed").inner_text()
    assert seed.isdigit() and f"seed={seed}" in page.url
    assert page.get_by_test_id("sampled").inner_text() == "4 / 4"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "verifier-sample-zh")

    page.get_by_test_id("sampled-record").filter(has_text=f"#{filed.pk}").click()
    page.wait_for_url(f"**/verify/records/{filed.pk}/*")
    assert page.get_by_role("heading", level=1).inner_text() == f"记录 #{filed.pk}"
    assert page.get_by_test_id("evidence").inner_text() == "SZT-0002"
    assert page.get_by_test_id("recorder").inner_text() == "业务条线的系统，使用其 API 密钥（bank）"
    stored = page.get_by_test_id("stored-grams").inner_text()
    assert stored == page.get_by_test_id("recomputed-grams").inner_text() == str(filed.reduction_g)
    assert page.get_by_test_id("recomputation").get_attribute("data-equal") == "yes"
    assert "重新计算的结果与存储的克数相同" in page.get_by_test_id("recomputation").inner_text()
    assert "bank-seee-0001" in page.get_by_test_id("filing").inner_text()
    assert "SEEE-2026-000007" in page.get_by_test_id("serial-block").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "verifier-record-zh")

    # Back to the same sample (same seed), and the evidence pack of it.
    page.get_by_test_id("back-to-sample").click()
    page.wait_for_url(f"**/verify/?*seed={seed}*")
    with page.expect_download() as download_info:
        page.get_by_test_id("evidence-pack").click()
    archive = zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes()))
    sample = list(csv.DictReader(io.StringIO(archive.read("sample_records.csv").decode("utf-8-sig"))))
    assert sorted(int(row["record"]) for row in sample) == sorted(ride.pk for ride in rides)
