"""A retirement form sent several times at once (a double click, a reload), against a real
exchange simulator and the real PostgreSQL: one retirement, and every answer the original."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind
from carbon_accounts.selectors import balance
from exchange_bridge import services
from exchange_bridge.models import BatchState, FilingBatch, Retirement
from tests.api.test_idempotency_races import race
from tests.conftest import sign_in_staff
from tests.exchange_bridge.conftest import membership

pytestmark = pytest.mark.django_db(transaction=True)


def certify_one_batch(record, make_person, start_simulator, point_platform_at) -> FilingBatch:  # type: ignore[no-untyped-def]
    """Four employees' remote meetings of yesterday (4.58 t), filed and certified by the steps
    a worker runs."""
    seee = start_simulator("seee", "PA-EMP:emp-key:emp-secret", flags=["--review-delay", "1"])
    point_platform_at({"employees": membership(seee, "employees", "PA-EMP", "emp-key", "emp-secret")})
    for number in range(4):
        record(
            "remote_meeting",
            "5000",
            line="employees",
            person=make_person("employees"),
            occurred_on=timezone.localdate() - timedelta(days=1),
            region="CN-SZ",
            evidence_id=f"MEETING-{number}",
        )
    (batch_id,) = services.close_periods()
    services.submit(batch_id=batch_id)
    deadline = time.monotonic() + 60
    while FilingBatch.objects.get(pk=batch_id).state != BatchState.CERTIFIED:
        assert time.monotonic() < deadline, FilingBatch.objects.values().get(pk=batch_id)
        time.sleep(0.3)
        services.poll(batch_id=batch_id)
    return FilingBatch.objects.get(pk=batch_id)


def test_a_retirement_form_sent_four_times_at_once_retires_once(  # type: ignore[no-untyped-def]
    record, make_person, start_simulator, point_platform_at, make_staff
) -> None:
    batch = certify_one_batch(record, make_person, start_simulator, point_platform_at)
    line = batch.line
    assert services.certified_tonnes_available(line=line) == 4
    staff = Client()
    sign_in_staff(staff, make_staff("sustainability_office"))
    reference = staff.get("/filings/", secure=True).context["form"].initial["retirement_ref"]
    # Every tonne left: a repeat answered after the first would find none to retire.
    fields = {
        "line": line.pk,
        "tonnes": 4,
        "beneficiary": "Group",
        "purpose": "2026",
        "retirement_ref": reference,
    }

    def submit(_n: int):  # type: ignore[no-untyped-def]
        tab = Client()
        tab.cookies = staff.cookies
        return tab.post("/filings/", fields, secure=True)

    answers = race(submit, threads=4)
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, "/filings/")] * 4
    retirement = Retirement.objects.get()
    assert (retirement.retirement_ref, retirement.tonnes) == (reference, 4)
    retired = Account.objects.get(line=line, kind=AccountKind.EXCHANGE_RETIRED)
    assert balance(account_id=retired.pk).grams == 4_000_000
    assert services.certified_tonnes_available(line=line) == 0
    # The same reference for another retirement is refused, and says why.
    other = staff.post("/filings/", {**fields, "tonnes": 1}, secure=True, headers={"accept-language": "en"})
    assert other.status_code == 200
    assert "already used for a different retirement" in other.content.decode()
    assert Retirement.objects.count() == 1
    assert check_ledger() == []
