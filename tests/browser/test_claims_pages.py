"""The claims pages on a 375-pixel phone, in Chinese and English: a person declares a programme
on their account; the office imports a partner's fingerprints and reads the overlaps."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from behaviours import services
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import use_session
from tests.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_declares_a_programme_on_a_phone_in_chinese(
    chinese_phone, live_server, make_person, reference
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    client = Client()
    client.force_login(person.holder)
    use_session(chinese_phone, live_server, client, "zh-hans")
    chinese_phone.goto("/me/")
    chinese_phone.get_by_role("link", name="管理项目").click()
    chinese_phone.wait_for_url("**/me/programmes/")
    chinese_phone.get_by_label("活动类型").select_option("metro")
    chinese_phone.get_by_label("已申领该减排量的项目").fill("深圳碳普惠")
    chinese_phone.get_by_role("button", name="保存").click()
    chinese_phone.wait_for_url("**/me/programmes/")
    assert chinese_phone.get_by_test_id("declarations").get_by_text("深圳碳普惠", exact=False).is_visible()
    assert chinese_phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(chinese_phone, "external-programmes-zh")


def test_the_office_imports_partner_fingerprints_on_a_phone(
    phone, live_server, make_person, make_staff, reference, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    record = services.record_behaviour(
        request=services.RecordRequest(
            line=reference["bank"],
            account=person,
            behaviour_code="green_travel_metro",
            quantity="10",
            occurred_on=timezone.localdate(),
            source="tests",
            idempotency_key="ride-1",
            region="CN-SZ",
            evidence_id="SZT-1",
        )
    ).record
    partner = tmp_path / "partner.csv"
    partner.write_text(f"fingerprint,day,kind\n{record.claim_fingerprint},{record.occurred_on},metro\n")
    office = Client()
    sign_in_staff(office, make_staff("sustainability_office"))
    use_session(phone, live_server, office, "en")
    phone.goto("/staff/claims/")
    phone.get_by_label("Partner programme").fill("Shenzhen carbon inclusion")
    phone.get_by_label("Fingerprints (CSV)").set_input_files(str(partner))
    phone.get_by_role("button", name="Import").click()
    phone.wait_for_url("**/staff/claims/")
    overlaps = phone.get_by_test_id("overlaps")
    assert overlaps.get_by_text(f"#{record.pk}").is_visible()
    assert overlaps.get_by_text("Shenzhen carbon inclusion").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "claims-overlaps-en")
