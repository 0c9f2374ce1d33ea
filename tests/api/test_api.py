"""The REST API as line systems and people use it; every bad input is a 4xx in one format."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from behaviours.models import BehaviourRecord
from carbon_accounts import credentials
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, ApiCredential
from config import rate_window
from tests.api.conftest import ApiClient
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate().isoformat()
METRO = {
    "person": "C-1001",
    "behaviour": "green_travel_metro",
    "quantity": "10",
    "occurred_on": TODAY,
    "region": "CN-SZ",
}


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code and body["message"]
    return body


def test_a_line_system_records_a_behaviour_and_a_replay_returns_the_original(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    first = bank.post("/api/v1/lines/bank/records", METRO, headers={"idempotency-key": "tx-1"})
    assert first.status_code == 201, first.content
    assert (
        first.json()["reduction_g"] == 467 and first.json()["points"] == 46 and not first.json()["replayed"]
    )
    again = bank.post("/api/v1/lines/bank/records", METRO, headers={"idempotency-key": "tx-1"})
    assert (
        again.status_code == 200
        and again.json()["record_id"] == first.json()["record_id"]
        and again.json()["replayed"]
    )
    conflict = bank.post(
        "/api/v1/lines/bank/records", {**METRO, "quantity": "11"}, headers={"idempotency-key": "tx-1"}
    )
    assert_error(conflict, 409, "idempotency_conflict")
    assert BehaviourRecord.objects.count() == 1
    assert Account.objects.get(external_ref="C-1001").balance_g == 467


def test_refusals_are_422_with_the_domain_code(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    for body, code in [
        ({**METRO, "quantity": "-3"}, "invalid_quantity"),
        ({**METRO, "behaviour": "commute_metro"}, "behaviour_not_for_audience"),
        ({**METRO, "occurred_on": (timezone.localdate() + timedelta(days=1)).isoformat()}, "future_date"),
        ({**METRO, "behaviour": "teleport"}, "unknown_behaviour"),
        ({**METRO, "quantity": "1e400"}, "invalid_quantity"),
    ]:
        error = assert_error(
            bank.post("/api/v1/lines/bank/records", body, headers={"idempotency-key": code}), 422, code
        )
        assert error["fields"]
    assert BehaviourRecord.objects.count() == 0
    # The person is opened with their first recorded behaviour, not by a refused one.
    assert not Account.objects.filter(external_ref=METRO["person"]).exists()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"person": "x",', "malformed_json"),
        (
            '{"person": "C", "behaviour": "qr_payment", "quantity": NaN, "occurred_on": "2026-01-01"}',
            "malformed_json",
        ),
        (
            '{"person": "C", "behaviour": "qr_payment", "quantity": Infinity, "occurred_on": "2026-01-01"}',
            "malformed_json",
        ),
        (
            '{"person": "C", "behaviour": "qr_payment", "quantity": 1'
            + "0" * 5000
            + ', "occurred_on": "2026-01-01"}',
            "malformed_json",
        ),
        ("[1, 2]", "invalid"),
        (
            '{"person": "C", "behaviour": "qr_payment", "quantity": "1", "occurred_on": "yesterday"}',
            "invalid",
        ),
        (
            '{"person": "C", "behaviour": "qr_payment", "quantity": "1", "occurred_on": "2026-01-01", "colour": 1}',
            "invalid",
        ),
        ('{"person": ["C"], "behaviour": 7, "quantity": "1", "occurred_on": "2026-01-01"}', "invalid"),
        (
            '{"person": "C", "behaviour": "qr_payment", "quantity": true, "occurred_on": "2026-01-01"}',
            "invalid",
        ),
    ],
)
def test_malformed_input_is_400_in_one_format(line_key, raw: str, code: str) -> None:  # type: ignore[no-untyped-def]
    response = line_key("bank").post("/api/v1/lines/bank/records", raw=raw, headers={"idempotency-key": "k"})
    assert_error(response, 400, code)


def test_an_unknown_field_is_named(line_key) -> None:  # type: ignore[no-untyped-def]
    response = line_key("bank").post(
        "/api/v1/lines/bank/records", {**METRO, "colour": "green"}, headers={"idempotency-key": "k"}
    )
    assert assert_error(response, 400, "invalid")["fields"] == {"colour": ["This field is not known."]}


def test_missing_idempotency_key_and_oversized_body(line_key, settings) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    assert_error(bank.post("/api/v1/lines/bank/records", METRO), 400, "idempotency_key_required")
    settings.API_MAX_BODY_BYTES = 1000
    assert_error(
        bank.post("/api/v1/lines/bank/records", raw="x" * 1001, headers={"idempotency-key": "k"}),
        413,
        "body_too_large",
    )


def test_authorization_boundaries_between_lines_and_revoked_keys(line_key, reference) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    assert_error(
        bank.post("/api/v1/lines/life/records", METRO, headers={"idempotency-key": "k"}), 403, "forbidden"
    )
    assert_error(bank.get("/api/v1/lines/life/totals"), 403, "forbidden")
    assert bank.get("/api/v1/lines/bank/totals").status_code == 200
    assert_error(
        ApiClient().post("/api/v1/lines/bank/records", METRO, headers={"idempotency-key": "k"}),
        401,
        "not_authenticated",
    )
    assert_error(ApiClient("cak_nothing_here").get("/api/v1/lines/bank/totals"), 401, "authentication_failed")
    credential = ApiCredential.objects.get(line__code="bank")
    credentials.revoke(credential=credential)
    assert_error(bank.get("/api/v1/lines/bank/totals"), 401, "authentication_failed")
    assert_error(bank.get("/api/v1/totals"), 401, "authentication_failed")


def test_a_line_key_cannot_read_group_totals_and_staff_can(line_key, client, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    assert_error(line_key("bank").get("/api/v1/totals"), 403, "forbidden")
    line_key("bank").post("/api/v1/lines/bank/records", METRO, headers={"idempotency-key": "t"})
    sign_in_staff(client, make_staff("line_operator", reference["life"]))
    assert client.get("/api/v1/totals", secure=True).status_code == 403  # an operator sees one line
    assert client.get("/api/v1/lines/bank/totals", secure=True).status_code == 403
    assert client.get("/api/v1/lines/life/totals", secure=True).status_code == 200
    sign_in_staff(client, make_staff("auditor"))
    totals = client.get("/api/v1/totals", {"period": "year"}, secure=True).json()
    assert totals["operational"] == []
    assert [(row["line"], row["unit"], row["amount"]) for row in totals["ecosystem"]] == [
        ("bank", "gCO2e", 467),
        ("bank", "points", 46),
    ]


def test_people_read_only_their_own_accounts_and_statements(client, record, make_person) -> None:  # type: ignore[no-untyped-def]
    owner, other = make_person("bank"), make_person("bank")
    records = [
        record("green_travel_metro", km, region="CN-SZ", person=owner).record for km in ("2", "4", "6")
    ]
    _credential, token = credentials.issue(name="my app", user=owner.holder)
    mine = ApiClient(token)
    accounts = mine.get("/api/v1/me/accounts").json()
    grams = [r.reduction_g for r in records]
    assert [(a["account_id"], a["reduction_g"], a["points"]) for a in accounts] == [
        (owner.pk, sum(grams), sum(r.points for r in records))
    ]
    page = mine.get(f"/api/v1/me/accounts/{owner.pk}/statement", limit=2, unit="gCO2e").json()
    assert [line["amount"] for line in page["results"]] == [grams[2], grams[1]] and page["next_cursor"]
    rest = mine.get(
        f"/api/v1/me/accounts/{owner.pk}/statement", limit=2, unit="gCO2e", cursor=page["next_cursor"]
    ).json()
    assert [line["amount"] for line in rest["results"]] == [grams[0]] and rest["next_cursor"] is None
    first = rest["results"][0]
    assert (first["source_type"], first["source_id"], first["kind"]) == (
        "behaviour_record",
        str(records[0].pk),
        "reduction",
    )
    # Without a unit, each record is two lines: its points, then its grams.
    both = mine.get(f"/api/v1/me/accounts/{owner.pk}/statement").json()["results"]
    assert [(line["kind"], line["amount"]) for line in both[:2]] == [
        ("points_award", records[2].points),
        ("reduction", grams[2]),
    ]
    assert_error(mine.get(f"/api/v1/me/accounts/{other.pk}/statement"), 404, "not_found")
    assert_error(mine.get(f"/api/v1/me/accounts/{owner.pk}/statement", cursor="abc"), 400, "invalid")
    assert_error(ApiClient().get("/api/v1/me/accounts"), 401, "not_authenticated")
    # A line system's key is not a person.
    assert_error(
        ApiClient(credentials.issue(name="s", line=owner.line)[1]).get("/api/v1/me/accounts"),
        403,
        "forbidden",
    )
    # A person whose sign-in is switched off (they left the group) loses their token with it.
    owner.holder.is_active = False
    owner.holder.save(update_fields=["is_active"])
    assert_error(mine.get("/api/v1/me/accounts"), 401, "authentication_failed")


def test_bulk_json_and_ndjson_with_partial_success(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    rows = [
        {**METRO, "idempotency_key": "b-1", "evidence_id": "R-1"},
        {**METRO, "idempotency_key": "b-2", "quantity": "0"},
        {**METRO, "idempotency_key": "b-3", "person": "C-2", "behaviour": "e_statement", "quantity": "1"},
        {"idempotency_key": "b-4"},
    ]
    answer = bank.post("/api/v1/lines/bank/records/bulk", rows).json()
    assert (answer["accepted"], answer["held"], answer["refused"]) == (2, 0, 2)
    assert [r["outcome"] for r in answer["results"]] == ["accepted", "refused", "accepted", "refused"]
    assert answer["results"][1]["code"] == "invalid_quantity"
    assert answer["results"][0]["record"]["reduction_g"] == 467
    ndjson = "\n".join(json.dumps(row) for row in rows)
    again = bank.post(
        "/api/v1/lines/bank/records/bulk", raw=ndjson, content_type="application/x-ndjson"
    ).json()
    assert [r.get("record", {}).get("replayed") for r in again["results"]] == [True, None, True, None]
    assert BehaviourRecord.objects.count() == 2


def test_bulk_opens_only_the_people_it_records_for(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    bank.post("/api/v1/lines/bank/records", {**METRO, "person": "C-OLD"}, headers={"idempotency-key": "old"})
    rows = [
        {**METRO, "idempotency_key": "n1", "person": "C-ONLY-REFUSED", "occurred_on": future},
        {**METRO, "idempotency_key": "n2", "person": "C-NEW", "quantity": "-1"},
        {**METRO, "idempotency_key": "n3", "person": "C-NEW"},
        {**METRO, "idempotency_key": "n4", "person": "C-OLD", "occurred_on": future},
    ]
    answer = bank.post("/api/v1/lines/bank/records/bulk", rows).json()
    assert [r["outcome"] for r in answer["results"]] == ["refused", "refused", "accepted", "refused"]
    people = set(Account.objects.filter(external_ref__startswith="C-").values_list("external_ref", flat=True))
    assert people == {"C-OLD", "C-NEW"}
    assert check_ledger() == []


def test_bulk_has_a_ceiling(line_key, settings) -> None:  # type: ignore[no-untyped-def]
    rows = [{"idempotency_key": str(n)} for n in range(10_001)]
    assert_error(line_key("bank").post("/api/v1/lines/bank/records/bulk", rows), 413, "too_many_records")


def test_rate_limits_answer_429_with_retry_after(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank", rate_per_minute=3)
    statuses = [bank.get("/api/v1/lines/bank/totals").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = bank.get("/api/v1/lines/bank/totals")
    assert_error(limited, 429, "rate_limited")
    assert int(limited["Retry-After"]) >= 1
    # Another key of the same line has its own budget.
    assert line_key("bank").get("/api/v1/lines/bank/totals").status_code == 200


def test_catalogue_and_green_rights_are_public(reference) -> None:  # type: ignore[no-untyped-def]
    catalogue = ApiClient().get("/api/v1/behaviours").json()
    assert len(catalogue) == 38
    metro = next(b for b in catalogue if b["code"] == "green_travel_metro")
    assert {m["label"] for m in metro["methodologies"]} == {
        "green_travel_metro@GLOBAL@2025-01-01",
        "green_travel_metro@CN-SZ@2022-09-01",
    }
    assert ApiClient().get("/api/v1/lines/bank/green-rights").status_code == 200
    assert_error(ApiClient().get("/api/v1/lines/nowhere/green-rights"), 404, "not_found")


def test_redeem_through_the_api_is_idempotent(line_key, reference) -> None:  # type: ignore[no-untyped-def]
    from rewards.models import GreenRight

    line_key("bank").post("/api/v1/lines/bank/records", METRO, headers={"idempotency-key": "earn"})
    account = Account.objects.get(external_ref="C-1001")
    from django.contrib.auth import get_user_model

    person = get_user_model().objects.create_user("c1001@test.example", "c1001@test.example", "x")
    Account.objects.filter(pk=account.pk).update(holder=person)
    right = GreenRight.objects.create(
        line=reference["bank"],
        code="tree",
        kind="tree_planting",
        name_en="Tree",
        name_zh="树",
        cost_points=40,
        stock=5,
        valid_from="2025-01-01",
    )
    app = ApiClient(credentials.issue(name="app", user=person)[1])
    first = app.post("/api/v1/me/redemptions", {"green_right": right.pk}, headers={"idempotency-key": "tap"})
    assert first.status_code == 201 and first.json()["points_left"] == 6
    again = app.post("/api/v1/me/redemptions", {"green_right": right.pk}, headers={"idempotency-key": "tap"})
    assert again.json()["code"] == first.json()["code"]
    poor = app.post("/api/v1/me/redemptions", {"green_right": right.pk}, headers={"idempotency-key": "tap-2"})
    assert_error(poor, 422, "redemption_refused")


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_have_one_effect(line_key) -> None:  # type: ignore[no-untyped-def]
    key = line_key("bank").key
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait()
        try:
            response = ApiClient(key).post(
                "/api/v1/lines/bank/records", METRO, headers={"idempotency-key": "race"}
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert BehaviourRecord.objects.count() == 1
    assert Account.objects.get(external_ref="C-1001").balance_g == 467


@pytest.mark.django_db(transaction=True)
def test_first_records_of_a_new_person_racing_each_other_open_one_account(line_key) -> None:  # type: ignore[no-untyped-def]
    key = line_key("bank").key
    barrier = threading.Barrier(4)
    answers: list[dict] = []

    def send(number: int) -> None:
        barrier.wait()
        try:
            response = ApiClient(key).post(
                "/api/v1/lines/bank/records", METRO, headers={"idempotency-key": f"first-{number}"}
            )
            assert response.status_code == 201, response.content
            answers.append(response.json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4 and all(answer["reduction_g"] == 467 for answer in answers)
    account = Account.objects.get(external_ref=METRO["person"])
    assert account.balance_g == 4 * 467 and account.balance_points == 4 * 46
    assert set(BehaviourRecord.objects.values_list("account_id", flat=True)) == {account.pk}


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_imported_by_a_worker_with_progress(
    line_key, celery_worker, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import time

    bank = line_key("bank")
    lines = [json.dumps({**METRO, "person": f"C-{n}", "idempotency_key": f"imp-{n}"}) for n in range(30)]
    lines.insert(5, "{broken")
    upload = bank.post(
        "/api/v1/lines/bank/imports", raw="\n".join(lines), content_type="application/x-ndjson"
    )
    assert upload.status_code == 202, upload.content
    import_id = upload.json()["import_id"]
    deadline = time.monotonic() + 60
    status = {}
    while time.monotonic() < deadline:
        status = bank.get(f"/api/v1/lines/bank/imports/{import_id}").json()
        if status["status"] == "done":
            break
        time.sleep(0.3)
    assert (status["status"], status["total"], status["accepted"], status["refused"]) == ("done", 31, 30, 1)
    results = [json.loads(line) for line in bank.get(status["results_url"]).getvalue().decode().splitlines()]
    assert results[5]["code"] == "malformed_json" and len(results) == 31
    assert_error(line_key("life").get(f"/api/v1/lines/bank/imports/{import_id}"), 403, "forbidden")


def test_an_admin_creates_a_line_key_shown_once_and_revokes_it(client, django_user_model, reference) -> None:  # type: ignore[no-untyped-def]
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.messages import get_messages

    admin = django_user_model.objects.create_superuser(
        "root@test.example", "root@test.example", "x-Secret-123"
    )
    TOTP.activate(admin, generate_totp_secret())
    sign_in_staff(client, admin)
    response = client.post(
        "/admin/carbon_accounts/apicredential/add/",
        {"name": "card system", "line": reference["bank"].pk, "rate_per_minute": 6000},
        secure=True,
        follow=True,
    )
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    key = next(word for word in shown.split() if word.startswith("cak_"))
    credential = ApiCredential.objects.get(name="card system")
    assert key not in credential.secret_hash and credential.line == reference["bank"]
    assert ApiClient(key).get("/api/v1/lines/bank/totals").status_code == 200
    client.post(
        "/admin/carbon_accounts/apicredential/",
        {"action": "revoke_selected", "_selected_action": [credential.pk]},
        secure=True,
    )
    assert_error(ApiClient(key).get("/api/v1/lines/bank/totals"), 401, "authentication_failed")
    both = client.post(
        "/admin/carbon_accounts/apicredential/add/", {"name": "x", "rate_per_minute": 1}, secure=True
    )
    assert "not both" in both.content.decode()


def test_the_rate_limit_keeps_one_counter_per_minute_whatever_the_rate(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank", rate_per_minute=10**8)
    first_window = rate_window.window_of(time.time())[0]
    for _ in range(25):
        assert bank.get("/api/v1/lines/bank/totals").status_code == 200
    credential = ApiCredential.objects.get(name="bank system")
    windows = (first_window, first_window + 1)
    assert sum(cache.get(f"rate:credential:{credential.pk}:{window}", 0) for window in windows) == 25
