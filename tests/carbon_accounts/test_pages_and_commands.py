from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from carbon_accounts.models import Account, AccountKind, BusinessLine

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_group_lines_and_people_and_a_second_run_adds_nothing() -> None:
    call_command("seed_demo", employees=20, customers=30, stdout=StringIO())
    assert sorted(BusinessLine.objects.values_list("code", flat=True)) == [
        "bank",
        "employees",
        "life",
        "property_casualty",
    ]
    people = Account.objects.filter(kind=AccountKind.PERSONAL)
    assert people.filter(line__code="employees", external_ref__startswith="EG").count() == 20
    assert people.filter(line__code="bank", external_ref__startswith="CG").count() == 30
    before = people.count()
    call_command("seed_demo", employees=20, customers=30, stdout=StringIO())
    assert people.count() == before
    call_command("check_ledger", stdout=StringIO())


def test_a_generated_person_can_sign_in(client: Client) -> None:
    from carbon_accounts.demo import DEMO_PASSWORD

    call_command("seed_demo", employees=2, customers=2, stdout=StringIO())
    response = client.post(
        "/accounts/login/", {"login": "employee0000001@demo.example", "password": DEMO_PASSWORD}, secure=True
    )
    assert response.status_code == 302 and response["Location"] == "/me/"


def test_my_account_shows_my_balances_and_statement_with_sources(client: Client, record, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    metro = record("green_travel_metro", "10", region="GB", person=person).record  # 1349 g, 134 points
    client.force_login(person.holder)
    page = client.get("/me/", secure=True, headers={"accept-language": "en"}).content.decode()
    assert "1.35 kg" in page
    statement = client.get(
        f"/me/accounts/{person.pk}/statement/", secure=True, headers={"accept-language": "en"}
    ).content.decode()
    assert "1.35 kg CO2e · 134 green points" in statement
    assert f'<a href="/me/records/{metro.pk}/">Took the metro</a>' in statement


def test_a_person_cannot_open_another_persons_statement(client: Client, make_person) -> None:  # type: ignore[no-untyped-def]
    owner, other = make_person("bank"), make_person("bank")
    client.force_login(other.holder)
    assert client.get(f"/me/accounts/{owner.pk}/statement/", secure=True).status_code == 404
    client.logout()
    response = client.get(f"/me/accounts/{owner.pk}/statement/", secure=True)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
