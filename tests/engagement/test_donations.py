"""Donating points to a public-welfare project: confirmed, spent once, never beyond the balance."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, EntryKind, Posting
from engagement.models import Donation, WelfareProject

pytestmark = pytest.mark.django_db


@pytest.fixture
def donor(reference, make_person, record):  # type: ignore[no-untyped-def]
    person = make_person("bank")
    record("green_travel_metro", "10", region="GB", person=person)
    person.refresh_from_db()
    assert person.balance_points == 134
    return person


@pytest.fixture
def mangroves(reference) -> WelfareProject:  # type: ignore[no-untyped-def]
    return WelfareProject.objects.create(
        line=reference["bank"],
        name_en="Mangroves of Shenzhen Bay",
        name_zh="守护深圳湾红树林",
        goal_points=1000,
    )


def test_a_donation_is_confirmed_then_spent_once(client: Client, donor, mangroves) -> None:  # type: ignore[no-untyped-def]
    client.force_login(donor.holder)
    page = client.get(f"/me/projects/{mangroves.pk}/", secure=True).content.decode()
    assert "守护深圳湾红树林" in page and "<progress" in page and "0 位捐赠者" in page
    form = {"points": "50", "request_key": "key-1"}
    confirm = client.post(f"/me/projects/{mangroves.pk}/donate/", form, secure=True)
    assert confirm.status_code == 200
    assert "确认捐赠" in confirm.content.decode()
    assert not Donation.objects.exists()  # nothing spent before the confirmation
    for _ in range(2):  # the confirmation sent twice (a double tap, a reload)
        response = client.post(
            f"/me/projects/{mangroves.pk}/donate/", {**form, "confirmed": "1"}, secure=True
        )
        assert response.status_code == 302
    donation = Donation.objects.get()
    assert response["Location"] == f"/me/donations/{donation.certificate_number}/"
    donor.refresh_from_db()
    assert donor.balance_points == 84
    posting = Posting.objects.get(entry_kind=EntryKind.DONATION)
    assert (posting.pk, posting.entries, posting.points, posting.grams) == (donation.posting_id, 1, -50, 0)
    assert check_ledger() == []
    page = client.get(f"/me/projects/{mangroves.pk}/", secure=True).content.decode()
    assert "50 / 1000" not in page and "1 位捐赠者" in page
    assert 'value="50" max="1000"' in page


def test_more_than_the_balance_is_a_form_error(client: Client, donor, mangroves) -> None:  # type: ignore[no-untyped-def]
    client.force_login(donor.holder)
    for confirmed in ({}, {"confirmed": "1"}):
        page = client.post(
            f"/me/projects/{mangroves.pk}/donate/",
            {"points": "135", "request_key": "key-2", **confirmed},
            secure=True,
        )
        assert page.status_code == 200
        text = page.content.decode()
        assert 'id="id_points_error"' in text and "134" in text
    assert not Donation.objects.exists()
    assert Account.objects.get(pk=donor.pk).balance_points == 134
    assert check_ledger() == []


def test_the_certificate_shows_and_is_in_the_points_history(client: Client, donor, mangroves) -> None:  # type: ignore[no-untyped-def]
    client.force_login(donor.holder)
    client.post(
        f"/me/projects/{mangroves.pk}/donate/",
        {"points": "20", "request_key": "key-3", "confirmed": "1"},
        secure=True,
    )
    donation = Donation.objects.get()
    page = client.get(f"/me/donations/{donation.certificate_number}/", secure=True).content.decode()
    assert "捐赠证书" in page
    assert donor.display_name in page and "20 绿色积分" in page
    assert (
        donation.certificate_number in page
        and timezone.localtime(donation.created_at).strftime("%Y-%m-%d") in page
    )
    history = client.get("/me/points/", secure=True).content.decode()
    assert f"/me/donations/{donation.certificate_number}/" in history
    assert "捐赠给公益项目" in history and "已兑换" not in history  # a donation, not a redemption
    statement = client.get(f"/me/accounts/{donor.pk}/statement/", secure=True).content.decode()
    assert "积分捐赠给公益项目" in statement and "donated to" not in statement


def test_someone_else_cannot_open_the_certificate(client: Client, donor, mangroves, make_person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(donor.holder)
    client.post(
        f"/me/projects/{mangroves.pk}/donate/",
        {"points": "20", "request_key": "key-4", "confirmed": "1"},
        secure=True,
    )
    number = Donation.objects.get().certificate_number
    client.force_login(make_person("bank").holder)
    assert client.get(f"/me/donations/{number}/", secure=True).status_code == 404
