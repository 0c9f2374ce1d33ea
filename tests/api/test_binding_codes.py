"""A line's app issues a binding code through the API; the customer types it on the join page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from behaviours.models import BehaviourRecord
from carbon_accounts.models import Account, JoiningCode
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate().isoformat()
EN = {"accept-language": "en"}


def test_a_binding_code_attaches_the_customers_account_with_its_earlier_records(
    line_key, client: Client, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    recorded = bank.post(
        "/api/v1/lines/bank/records",
        {
            "person": "C-2024",
            "behaviour": "green_travel_metro",
            "quantity": "10",
            "occurred_on": TODAY,
            "region": "CN-SZ",
        },
        headers={"idempotency-key": "before-joining"},
    )
    assert recorded.status_code == 201, recorded.content
    pushed = Account.objects.get(line__code="bank", external_ref="C-2024")
    assert pushed.holder_id is None and pushed.balance_g > 0

    response = bank.post("/api/v1/lines/bank/binding-codes", {"person": "C-2024"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"code", "person", "expires_at"} and body["person"] == "C-2024"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timezone.now() < expires <= timezone.now() + timedelta(minutes=10)
    assert body["code"].replace("-", "") not in JoiningCode.objects.get().code_hash

    customer = django_user_model.objects.create_user(
        "wang@gmail.example", "wang@gmail.example", "x-Secret-123"
    )
    EmailAddress.objects.create(user=customer, email=customer.email, verified=True, primary=True)
    client.force_login(customer)
    joined = client.post("/me/join/", {"code": body["code"]}, secure=True, headers=EN, follow=True)
    assert "Welcome! You have joined Bank." in joined.content.decode()
    pushed.refresh_from_db()
    assert pushed.holder_id == customer.pk
    records = client.get("/me/records/", secure=True, headers=EN).content.decode()
    record = BehaviourRecord.objects.get(account=pushed)
    assert f"/me/records/{record.pk}/" in records
    # The same code a second time: refused, nothing changes.
    again = client.post("/me/join/", {"code": body["code"]}, secure=True, headers=EN).content.decode()
    assert "This code has already been used" in again


def test_binding_codes_need_the_lines_own_key_and_a_person(line_key, reference) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    refused = bank.post("/api/v1/lines/life/binding-codes", {"person": "C-1"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    anonymous = ApiClient().post("/api/v1/lines/bank/binding-codes", {"person": "C-1"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    for body in ({}, {"person": ""}, {"person": "x" * 65}, {"person": "C-1", "extra": 1}):
        response = bank.post("/api/v1/lines/bank/binding-codes", body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid" and response.json()["fields"]
    assert not JoiningCode.objects.exists()
