"""One claim, once: the same activity is accepted once across the group's lines and sources,
an activity claimed in an external programme is never filed, and partner programmes exchange
salted fingerprints with the group, never personal data."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from behaviours import claims, selectors, services
from behaviours.bulk import bulk_results
from behaviours.models import BehaviourRecord, PartnerClaim, RecordStatus
from behaviours.services import RecordOutcome, RecordRefused, RecordRequest
from carbon_accounts import credentials
from carbon_accounts import services as ledger
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, BusinessLine
from tests.api.conftest import ApiClient
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def english() -> Client:
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def line_system(reference):  # type: ignore[no-untyped-def]
    """line_system(code): the API client of a line's own system."""

    def make(line: str = "bank") -> ApiClient:
        _credential, key = credentials.issue(name=f"{line} system", line=reference[line])
        return ApiClient(key)

    return make


def _person_in(
    lines: dict[str, BusinessLine], *codes: str, email: str = "wei@test.example", ref: str = "0042"
) -> dict[str, Account]:
    """One human with an account in each of the lines: a user, the line's reference beside."""
    user = get_user_model().objects.create_user(email, email, "x-Secret-123")
    return {
        code: ledger.open_personal_account(
            line=lines[code], holder=user, external_ref=f"{code.upper()}-{ref}", display_name="Wei Zhang"
        )
        for code in codes
    }


def _user(account: Account) -> Any:
    assert account.holder is not None
    return account.holder


def _ride(
    account: Account, key: str, *, evidence: str, behaviour: str = "green_travel_metro", **extra: Any
) -> RecordRequest:
    assert account.line is not None
    return RecordRequest(
        line=account.line,
        account=account,
        behaviour_code=behaviour,
        quantity="10",
        occurred_on=extra.pop("occurred_on", TODAY()),
        source="tests",
        idempotency_key=key,
        region="CN-SZ",
        evidence_id=evidence,
        **extra,
    )


def _refusal(request: RecordRequest) -> RecordRefused:
    with pytest.raises(RecordRefused) as caught:
        services.record_behaviour(request=request)
    return caught.value


def test_the_same_ride_from_two_lines_is_refused_the_second_time_and_the_first_stays(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "life")
    first = services.record_behaviour(request=_ride(wei["bank"], "bank-1", evidence="SZT-20260601-778"))
    assert first.record.status == RecordStatus.ACCEPTED and first.record.fileable
    # The life line's system sends the same card transaction, written its own way.
    refusal = _refusal(_ride(wei["life"], "life-1", evidence=" szt-20260601-778 "))
    assert refusal.code == "already_claimed" and refusal.field == "evidence_id"
    assert "Bank" in refusal.message and TODAY().isoformat() in refusal.message
    assert "Wei" not in refusal.message and "BANK-0042" not in refusal.message
    assert list(BehaviourRecord.objects.values_list("pk", "line__code", "status")) == [
        (first.record.pk, "bank", "accepted")
    ]
    wei["bank"].refresh_from_db()
    wei["life"].refresh_from_db()
    assert wei["bank"].balance_g == first.record.reduction_g > 0 and wei["life"].balance_g == 0
    assert check_ledger() == []


def test_an_employees_commute_and_a_bank_trip_are_one_kind_of_activity(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "employees", "bank")
    services.record_behaviour(
        request=_ride(wei["employees"], "e-1", evidence="CARD-1", behaviour="commute_metro")
    )
    assert _refusal(_ride(wei["bank"], "b-1", evidence="CARD-1")).code == "already_claimed"


def test_other_rides_and_other_people_are_not_refused(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "life", "employees")
    li = _person_in(reference, "property_casualty", email="li@test.example", ref="0043")
    services.record_behaviour(request=_ride(wei["bank"], "1", evidence="RIDE-1"))
    # Two metro rides on one day have two transactions; one without evidence may repeat.
    assert services.record_behaviour(request=_ride(wei["life"], "2", evidence="RIDE-2")).created
    assert services.record_behaviour(request=_ride(wei["life"], "3", evidence="")).created
    assert services.record_behaviour(request=_ride(wei["life"], "4", evidence="")).created
    # Another person, another day, another kind of activity: other claims.
    assert services.record_behaviour(request=_ride(li["property_casualty"], "5", evidence="RIDE-1")).created
    yesterday = TODAY() - timedelta(days=1)
    assert services.record_behaviour(
        request=_ride(wei["life"], "6", evidence="RIDE-1", occurred_on=yesterday)
    ).created
    assert services.record_behaviour(
        request=_ride(wei["employees"], "7", evidence="RIDE-1", behaviour="commute_bus")
    ).created
    # The two rides without evidence share the fingerprint of Wei's metro day, held apart from none.
    assert BehaviourRecord.objects.count() == 7
    assert len(set(BehaviourRecord.objects.values_list("claim_fingerprint", flat=True))) == 6


def test_the_web_form_shows_a_second_claim_next_to_the_evidence(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "employees", "bank")
    client = english()
    client.force_login(_user(wei["employees"]))

    def submit(account: Account, behaviour: str, evidence: str, key: str) -> Any:
        return client.post(
            "/me/record/",
            {
                "account": account.pk,
                "behaviour": behaviour,
                "quantity": "5",
                "occurred_on": TODAY().isoformat(),
                "evidence_id": evidence,
                "idempotency_key": key,
            },
            secure=True,
        )

    assert submit(wei["employees"], "commute_metro", "SZT-31", "k1").status_code == 302
    answer = submit(wei["bank"], "green_travel_metro", "szt-31", "k2")
    assert answer.status_code == 200
    errors = answer.context["form"].errors
    assert "already claimed in the Employees line" in errors["evidence_id"][0]
    assert BehaviourRecord.objects.count() == 1


def test_a_reversed_claim_frees_the_activity(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "life")
    first = services.record_behaviour(request=_ride(wei["bank"], "1", evidence="RIDE-9"))
    services.reverse_record(record_id=first.record.pk, reviewer="office", reason="recorded in the wrong line")
    assert services.record_behaviour(request=_ride(wei["life"], "2", evidence="RIDE-9")).created


def test_the_api_refuses_a_second_claim_with_409_in_the_error_shape(reference, line_system) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "life")
    services.record_behaviour(request=_ride(wei["bank"], "bank-1", evidence="SZT-5"))
    body = {
        "person": "LIFE-0042",
        "behaviour": "green_travel_metro",
        "quantity": "10",
        "occurred_on": TODAY().isoformat(),
        "region": "CN-SZ",
        "evidence_id": "SZT-5",
    }
    answer = line_system("life").post("/api/v1/lines/life/records", body, headers={"Idempotency-Key": "k-1"})
    assert answer.status_code == 409, answer.content
    error = answer.json()
    assert error["code"] == "already_claimed" and "Bank" in error["message"]
    assert "evidence_id" in error["fields"]
    assert BehaviourRecord.objects.filter(line__code="life").count() == 0


def test_a_bulk_request_refuses_a_repeated_claim_in_request_order(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "life")
    services.record_behaviour(request=_ride(wei["life"], "life-1", evidence="SZT-1"))
    day = TODAY().isoformat()

    def row(key: str, evidence: str) -> dict[str, str]:
        return {
            "idempotency_key": key,
            "person": "BANK-0042",
            "behaviour": "green_travel_metro",
            "quantity": "3",
            "occurred_on": day,
            "region": "CN-SZ",
            "evidence_id": evidence,
        }

    results = bulk_results(
        reference["bank"], [row("r0", "szt-2"), row("r1", "SZT-2"), row("r2", "SZT-1"), row("r3", "SZT-3")]
    )
    assert [(r["outcome"], r.get("code")) for r in results] == [
        ("accepted", None),
        ("refused", "already_claimed"),
        ("refused", "already_claimed"),
        ("accepted", None),
    ]
    assert "Bank" in results[1]["message"] and "Life insurance" in results[2]["message"]
    assert BehaviourRecord.objects.filter(line__code="bank").count() == 2
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_two_lines_racing_with_one_ride_record_it_once(reference) -> None:  # type: ignore[no-untyped-def]
    import threading

    from django.db import connections

    wei = _person_in(reference, "bank", "life")
    start = threading.Barrier(2)
    results: list[RecordOutcome | RecordRefused | BaseException] = []

    def send(account: Account) -> None:
        start.wait()
        try:
            results.append(
                services.record_behaviour(request=_ride(account, f"race-{account.pk}", evidence="SZT-7"))
            )
        except (RecordRefused, Exception) as error:
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(wei[code],)) for code in ("bank", "life")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(result).__name__ for result in results) == ["RecordOutcome", "RecordRefused"]
    (refusal,) = [result for result in results if isinstance(result, RecordRefused)]
    assert refusal.code == "already_claimed"
    assert BehaviourRecord.objects.count() == 1
    assert check_ledger() == []


# --- External programmes -------------------------------------------------------------------------


def _close_filings(settings, line_codes: list[str]) -> set[int]:  # type: ignore[no-untyped-def]
    """Close the periods up to today for the lines (no exchange is called) and say which records
    went into a filing."""
    from exchange_bridge import services as filing
    from exchange_bridge.models import FilingItem

    settings.EXCHANGE_MEMBERSHIPS = {
        code: {
            "exchange": "seee",
            "url": "http://127.0.0.1:9",
            "member_id": f"M-{code}",
            "key_id": "k",
            "secret": "s",
            "salt": "salt",
            "period_days": 1,
        }
        for code in line_codes
    }
    filing.close_periods(today=TODAY() + timedelta(days=1))
    return set(FilingItem.objects.values_list("record_id", flat=True))


def test_a_declared_external_programme_s_records_earn_points_and_are_never_filed(reference, settings) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "employees")
    user = _user(wei["bank"])
    client = english()
    client.force_login(user)
    answer = client.post(
        "/me/programmes/",
        {"kind": "metro", "programme": "Shenzhen carbon inclusion"},
        secure=True,
        follow=True,
    )
    assert answer.status_code == 200 and "Shenzhen carbon inclusion" in answer.content.decode()
    assert "Shenzhen carbon inclusion" in client.get("/me/", secure=True).content.decode()
    declared = services.record_behaviour(request=_ride(wei["bank"], "1", evidence="SZT-1")).record
    commute = services.record_behaviour(
        request=_ride(wei["employees"], "2", evidence="SZT-2", behaviour="commute_metro")
    ).record
    bus = services.record_behaviour(
        request=_ride(wei["bank"], "3", evidence="SZT-3", behaviour="green_travel_bus")
    ).record
    for record in (declared, commute):
        assert record.external_programme == "Shenzhen carbon inclusion" and not record.fileable
        assert record.points > 0 and record.reduction_g > 0
    assert bus.fileable and bus.external_programme == ""
    page = client.get(f"/me/records/{declared.pk}/", secure=True).content.decode()
    assert "Already claimed in Shenzhen carbon inclusion" in page and "not filed" in page
    assert _close_filings(settings, ["bank", "employees"]) == {bus.pk}
    assert check_ledger() == []


def test_a_line_system_says_a_record_is_claimed_in_an_external_programme(
    reference, line_system, settings
) -> None:  # type: ignore[no-untyped-def]
    body = {
        "person": "C-1",
        "behaviour": "green_travel_metro",
        "quantity": "10",
        "occurred_on": TODAY().isoformat(),
        "region": "CN-SZ",
        "evidence_id": "SZT-1",
        "external_programme": "Shanghai carbon inclusion",
    }
    answer = line_system("bank").post("/api/v1/lines/bank/records", body, headers={"Idempotency-Key": "k-1"})
    assert answer.status_code == 201, answer.content
    assert answer.json()["fileable"] is False
    assert answer.json()["external_programme"] == "Shanghai carbon inclusion"
    assert answer.json()["points"] > 0
    assert _close_filings(settings, ["bank"]) == set()


def test_a_declaration_needs_a_programme_and_a_known_kind(reference) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank")
    client = english()
    client.force_login(_user(wei["bank"]))
    for data in ({"kind": "metro", "programme": "  "}, {"kind": "teleport", "programme": "X"}):
        answer = client.post("/me/programmes/", data, secure=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert answer.status_code == 400
        assert 'role="alert"' in answer.content.decode()


# --- Partner programmes -----------------------------------------------------------------------


def test_partner_fingerprints_find_the_overlap_and_the_export_has_nothing_personal(
    reference, make_staff, settings
) -> None:  # type: ignore[no-untyped-def]
    wei = _person_in(reference, "bank", "life")
    li = _person_in(reference, "life", email="li.na@test.example", ref="0043")
    overlapping = services.record_behaviour(request=_ride(wei["bank"], "1", evidence="SZT-100")).record
    other = services.record_behaviour(request=_ride(li["life"], "2", evidence="SZT-200")).record
    walk = services.record_behaviour(
        request=_ride(wei["life"], "3", evidence="", behaviour="green_travel_walk")
    ).record
    office = make_staff("sustainability_office")
    client = english()
    sign_in_staff(client, office)
    period = f"{TODAY().isoformat()}..{TODAY().isoformat()}"
    export = client.get("/staff/claims/export", {"period": period}, secure=True)
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    text = export.content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["fingerprint", "day", "kind"]
    assert sorted(rows[1:]) == sorted(
        [
            [record.claim_fingerprint, TODAY().isoformat(), kind]
            for record, kind in ((overlapping, "metro"), (other, "metro"), (walk, "walk"))
        ]
    )
    # Three columns: a salted hash, a day, a kind of activity. No name, email, reference in a
    # line's system, evidence id or account id.
    assert all(len(row) == 3 for row in rows)
    for personal in ("Wei", "Zhang", "wei@", "li.na@", "BANK-0042", "LIFE-0042", "SZT-100", "SZT-200"):
        assert personal.lower() not in text.lower(), personal
    # A partner programme made the same fingerprint for Wei's ride (and for others we never saw).
    partner_file = "fingerprint,day,kind\n" + "\n".join(
        [
            f"{overlapping.claim_fingerprint},{TODAY().isoformat()},metro",
            f"{'ab' * 32},{TODAY().isoformat()},metro",
        ]
    )
    answer = client.post(
        "/staff/claims/",
        {
            "programme": "Shenzhen carbon inclusion",
            "file": SimpleUploadedFile("partner.csv", partner_file.encode()),
        },
        secure=True,
        follow=True,
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert f"#{overlapping.pk}" in page and f"#{other.pk}" not in page
    assert "Shenzhen carbon inclusion" in page
    assert PartnerClaim.objects.count() == 2
    assert [r.pk for r in selectors.partner_overlaps()] == [overlapping.pk]
    queue = client.get("/review/", secure=True).content.decode()
    assert "1 record is also claimed by a partner programme" in queue
    # The record says so to its person, and the filing leaves it out.
    person = english()
    person.force_login(_user(wei["bank"]))
    assert (
        "Shenzhen carbon inclusion also claims this activity"
        in person.get(f"/me/records/{overlapping.pk}/", secure=True).content.decode()
    )
    # The walk came without evidence: it is matched against partners but never filed.
    assert _close_filings(settings, ["bank", "life"]) == {other.pk}
    assert not walk.fileable
    assert check_ledger() == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"hash,day\nabc,2026-01-01\n", "The first line must be the header"),
        (b"fingerprint,day,kind\nnot-a-hash,2026-01-01,metro\n", "Line 2: the fingerprint must be 64"),
        (("fingerprint,day,kind\n" + "a" * 64 + ",yesterday,metro\n").encode(), "Line 2: the day must be"),
        (
            ("fingerprint,day,kind\n" + "a" * 64 + ",2026-01-01,Metro Ride\n").encode(),
            "Line 2: the kind must be",
        ),
        (
            ("fingerprint,day,kind\n" + "a" * 64 + ",2026-01-01\n").encode(),
            "Line 2 does not have the 3 values",
        ),
        (b"fingerprint,day,kind\n", "The file holds no fingerprints"),
        (b"\xff\xfe\x00binary", "The file is not UTF-8 text"),
    ],
)
def test_a_bad_partner_file_is_a_form_error_and_imports_nothing(
    reference, make_staff, content, problem
) -> None:  # type: ignore[no-untyped-def]
    client = english()
    sign_in_staff(client, make_staff("sustainability_office"))
    answer = client.post(
        "/staff/claims/",
        {"programme": "Partner", "file": SimpleUploadedFile("partner.csv", content)},
        secure=True,
    )
    assert answer.status_code == 400
    assert problem in answer.content.decode()
    assert not PartnerClaim.objects.exists()


def test_only_the_office_imports_and_exports_fingerprints(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    file = ("fingerprint,day,kind\n" + "a" * 64 + ",2026-01-01,metro\n").encode()
    for role, line in (("auditor", None), ("line_operator", reference["bank"])):
        client = english()
        sign_in_staff(client, make_staff(role, line))
        assert client.get("/staff/claims/", secure=True).status_code == 200
        answer = client.post(
            "/staff/claims/", {"programme": "P", "file": SimpleUploadedFile("p.csv", file)}, secure=True
        )
        assert answer.status_code == 403
    operator = english()
    sign_in_staff(operator, make_staff("line_operator", reference["bank"]))
    assert operator.get("/staff/claims/export", {"period": "2026"}, secure=True).status_code == 403
    office = english()
    sign_in_staff(office, make_staff("sustainability_office"))
    assert office.get("/staff/claims/export", {"period": "2026-13"}, secure=True).status_code == 400
    assert not PartnerClaim.objects.exists()


def test_the_claims_pages_read_in_chinese(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_staff(client, make_staff("sustainability_office"))
    page = client.get("/staff/claims/", secure=True, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "合作项目" in page
    wei = _person_in(reference, "bank")
    person = Client()
    person.force_login(_user(wei["bank"]))
    page = person.get("/me/programmes/", secure=True, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "其他项目" in page and "地铁" in page


# --- The fingerprint itself ------------------------------------------------------------------------


def test_the_fingerprint_ignores_how_evidence_is_written_but_not_what_it_says() -> None:
    def made(evidence: str, **changes: Any) -> str:
        values: dict[str, Any] = {
            "salt": "s",
            "pseudonym": "user:7",
            "activity": "metro",
            "day": date(2026, 6, 1),
            "evidence_id": evidence,
        }
        values.update(changes)
        return claims.fingerprint(**values)

    assert made("SZT-778") == made(" szt-778 ") == made("ＳＺＴ－７７８")
    assert made("SZT-778") != made("SZT-779")
    assert made("SZT-778") != made("SZT-778", salt="t")
    assert made("SZT-778") != made("SZT-778", pseudonym="user:8")
    assert claims.activity_class("commute_metro") == claims.activity_class("green_travel_metro") == "metro"
    assert claims.person_pseudonym(
        holder_id=7, line_id=1, external_ref="A", account_id=3
    ) == claims.person_pseudonym(holder_id=7, line_id=2, external_ref="B", account_id=4)
