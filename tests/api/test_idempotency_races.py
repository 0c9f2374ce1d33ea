"""Duplicates of one idempotent request arriving at once, on the real PostgreSQL with a
connection per thread: one effect, and every answer the original result (replayed) or a 409,
never a 500. The same key with a different body is a 409 `idempotency_conflict`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Sum
from django.test import Client
from django.utils import timezone, translation

from behaviours.models import BehaviourRecord, ImportJob
from carbon_accounts import credentials
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, BusinessLine, Posting, Transfer
from rewards.models import GreenRight, Redemption
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
TODAY = timezone.localdate().isoformat()
Result = TypeVar("Result")


def race(job: Callable[[int], Result], threads: int = THREADS) -> list[Result]:
    """`job(index)` on `threads` threads released together, each on its own connection."""
    start = threading.Barrier(threads)

    def run(index: int) -> Result:
        start.wait()
        try:
            with translation.override("en"):
                return job(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(threads)))


def metro(person: str = "C-1001", quantity: str = "10", **extra: str) -> dict[str, str]:
    return {
        "person": person,
        "behaviour": "green_travel_metro",
        "quantity": quantity,
        "occurred_on": TODAY,
        "region": "CN-SZ",
        **extra,
    }


def assert_in_flight_or(response: Any, allowed: set[int]) -> None:
    """A duplicate answered before the first finished says so (409 idempotency_in_flight);
    anything else must be one of the expected answers."""
    if response.status_code == 409 and response.json()["code"] == "idempotency_in_flight":
        return
    assert response.status_code in allowed, response.content


# --- Redemptions -------------------------------------------------------------------------------


def right(line: BusinessLine, code: str = "tree", cost: int = 40, stock: int | None = 5) -> GreenRight:
    return GreenRight.objects.create(
        line=line,
        code=code,
        kind="tree_planting",
        name_en=f"Plant a {code}",
        name_zh="种一棵树",
        cost_points=cost,
        stock=stock,
        valid_from=date(2025, 1, 1),
    )


@pytest.fixture
def customer(line_key, reference) -> tuple[Account, str]:  # type: ignore[no-untyped-def]
    """A bank customer with 46 points (enough for one 40-point right) and their personal API key."""
    answer = line_key("bank").post("/api/v1/lines/bank/records", metro(), headers={"idempotency-key": "earn"})
    assert answer.status_code == 201 and answer.json()["points"] == 46
    user = get_user_model().objects.create_user("c1001@test.example", "c1001@test.example", "x")
    account = Account.objects.get(external_ref="C-1001")
    Account.objects.filter(pk=account.pk).update(holder=user)
    return account, credentials.issue(name="app", user=user)[1]


def test_api_redemptions_racing_with_one_key_redeem_once_and_all_answer_the_original(
    customer, reference
) -> None:  # type: ignore[no-untyped-def]
    account, key = customer
    tree = right(reference["bank"])
    answers = race(
        lambda _n: ApiClient(key).post(
            "/api/v1/me/redemptions", {"green_right": tree.pk}, headers={"idempotency-key": "tap"}
        )
    )
    for answer in answers:
        assert_in_flight_or(answer, {200, 201})
    redemption = Redemption.objects.get()
    done = [a.json() for a in answers if a.status_code in (200, 201)]
    # The duplicates get the original redemption, never "you have 6 points" once it is spent.
    assert [a.status_code for a in answers].count(201) == 1
    assert {d["code"] for d in done} == {redemption.code}
    assert sorted(d["replayed"] for d in done) == [False] + [True] * (len(done) - 1)
    account.refresh_from_db()
    assert account.balance_points == 6
    assert GreenRight.objects.get(pk=tree.pk).stock == 4
    assert Transfer.objects.filter(kind="redemption").count() == 1
    assert check_ledger() == []


def test_api_redemptions_racing_with_one_key_for_different_rights_redeem_once(customer, reference) -> None:  # type: ignore[no-untyped-def]
    account, key = customer
    rights = [right(reference["bank"], "tree"), right(reference["bank"], "bush")]
    answers = race(
        lambda n: ApiClient(key).post(
            "/api/v1/me/redemptions", {"green_right": rights[n % 2].pk}, headers={"idempotency-key": "tap"}
        )
    )
    redemption = Redemption.objects.get()
    for number, answer in enumerate(answers):
        if rights[number % 2].pk == redemption.green_right_id:
            assert_in_flight_or(answer, {200, 201})
            if answer.status_code != 409:
                assert answer.json()["code"] == redemption.code
        else:
            assert answer.status_code == 409 and answer.json()["code"] == "idempotency_conflict"
    account.refresh_from_db()
    assert account.balance_points == 6
    assert sorted(GreenRight.objects.values_list("stock", flat=True)) == [4, 5]  # type: ignore[type-var]
    assert check_ledger() == []


def test_a_double_submitted_redeem_form_redeems_once_and_both_go_to_the_redemption(
    record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    record("green_travel_metro", "10", person=person, region="GB")  # 134 points
    tree = right(reference["bank"], cost=100)
    browser = Client()
    browser.force_login(person.holder)
    page = browser.get(f"/me/rights/{tree.pk}/redeem/", secure=True)  # the confirmation page
    token = page.context["request_key"]
    assert f'name="request_key" value="{token}"' in page.content.decode()

    def submit(_n: int) -> Any:
        tab = Client()
        tab.cookies = browser.cookies
        return tab.post(f"/me/rights/{tree.pk}/redeem/", {"request_key": token, "confirm": "on"}, secure=True)

    answers = race(submit, threads=4)
    redemption = Redemption.objects.get()
    assert [a.status_code for a in answers] == [302] * 4
    assert {a["Location"] for a in answers} == {f"/me/redemptions/{redemption.code}/"}
    person.refresh_from_db()
    assert person.balance_points == 34
    assert check_ledger() == []


# --- Single records -----------------------------------------------------------------------------


def test_records_racing_with_one_key_and_two_bodies_record_once(line_key) -> None:  # type: ignore[no-untyped-def]
    """Half the requests name another person (another row to lock), so they reach the insert
    together with the first and lose on the key's unique index."""
    key = line_key("bank").key
    bodies = [metro("C-1001"), metro("C-2002")]
    answers = race(
        lambda n: ApiClient(key).post(
            "/api/v1/lines/bank/records", bodies[n % 2], headers={"idempotency-key": "race"}
        )
    )
    record = BehaviourRecord.objects.get()
    winner = record.account.external_ref
    for number, answer in enumerate(answers):
        if bodies[number % 2]["person"] == winner:
            assert_in_flight_or(answer, {200, 201})
            if answer.status_code != 409:
                assert answer.json()["record_id"] == record.pk
                assert answer.json()["replayed"] == (answer.status_code == 200)
        else:
            assert answer.status_code == 409 and answer.json()["code"] == "idempotency_conflict"
    assert [a.status_code for a in answers].count(201) == 1
    assert dict(Account.objects.filter(kind="personal").values_list("external_ref", "balance_g")) == {
        winner: 467
    }
    assert check_ledger() == []


def test_web_record_and_commute_forms_submitted_twice_at_once_record_once(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    browser = Client()
    browser.force_login(person.holder)
    forms = {
        "/me/record/": {"account": person.pk, "behaviour": "commute_metro", "quantity": "5"},
        "/me/commute/": {"mode": "commute_bus", "distance": "4"},
    }
    for path, fields in forms.items():
        token = browser.get(path, secure=True).context["form"].initial["idempotency_key"]

        def submit(_n: int, path: str = path, fields: dict[str, Any] = fields, token: str = token) -> Any:
            tab = Client()
            tab.cookies = browser.cookies
            return tab.post(path, {**fields, "occurred_on": TODAY, "idempotency_key": token}, secure=True)

        answers = race(submit, threads=4)
        assert [a.status_code for a in answers] == [302] * 4, path
        assert len({a["Location"] for a in answers}) == 1
    assert BehaviourRecord.objects.count() == 2
    # Two records, each carried by one posting: the duplicates wrote nothing.
    assert Posting.objects.filter(entry_kind="behaviour_record").aggregate(n=Sum("entries"))["n"] == 2
    assert check_ledger() == []


# --- Bulk and imports ---------------------------------------------------------------------------


def bulk_rows(prefix: str = "row", people: int = 5, per_person: int = 4) -> list[dict[str, str]]:
    return [
        metro(f"C-{person}", str(1 + number), idempotency_key=f"{prefix}-{person}-{number}")
        for person in range(people)
        for number in range(per_person)
    ]


def assert_each_key_recorded_once(answers: list[list[dict[str, Any]]], rows: int) -> None:
    """Every thread's result for a row names the same record; exactly one thread created it."""
    assert BehaviourRecord.objects.count() == rows
    for index in range(rows):
        results = [answer[index] for answer in answers]
        recorded = [r for r in results if r["outcome"] != "refused"]
        assert all(r["code"] == "idempotency_in_flight" for r in results if r["outcome"] == "refused")
        assert len({r["record"]["record_id"] for r in recorded}) == 1
        assert [r["record"]["replayed"] for r in recorded].count(False) == 1
    assert check_ledger() == []


def test_bulk_requests_racing_with_the_same_rows_record_each_once(line_key) -> None:  # type: ignore[no-untyped-def]
    key = line_key("bank").key
    rows = bulk_rows()
    answers = race(lambda _n: ApiClient(key).post("/api/v1/lines/bank/records/bulk", rows))
    assert [a.status_code for a in answers] == [200] * THREADS, [a.content for a in answers]
    assert_each_key_recorded_once([a.json()["results"] for a in answers], len(rows))
    # Each record earned its points once: its person's balance holds them once.
    assert BehaviourRecord.objects.filter(posting__isnull=False, points__gt=0).count() == len(rows)


def test_bulk_requests_racing_with_keys_reused_for_other_people_conflict_row_by_row(
    line_key,
) -> None:  # type: ignore[no-untyped-def]
    """Each thread sends the same keys for people in another order: for each key one body
    wins, the same body is replayed and every other body is refused as a conflict."""
    key = line_key("bank").key
    keys = [f"shared-{n}" for n in range(6)]

    def rows_of(thread: int) -> list[dict[str, str]]:
        return [
            metro(f"C-{(number + thread) % 3}", idempotency_key=key_name)
            for number, key_name in enumerate(keys)
        ]

    answers = race(lambda n: ApiClient(key).post("/api/v1/lines/bank/records/bulk", rows_of(n)))
    assert [a.status_code for a in answers] == [200] * THREADS, [a.content for a in answers]
    records = {r.idempotency_key: r for r in BehaviourRecord.objects.select_related("account")}
    assert sorted(records) == keys
    for thread, answer in enumerate(answers):
        for row, result in zip(rows_of(thread), answer.json()["results"], strict=True):
            winner = records[row["idempotency_key"]]
            if row["person"] == winner.account.external_ref:
                assert result["outcome"] == "accepted" or result["code"] == "idempotency_in_flight"
                if result["outcome"] == "accepted":
                    assert result["record"]["record_id"] == winner.pk
            else:
                assert (result["outcome"], result["code"]) == ("refused", "idempotency_conflict")
    assert check_ledger() == []


def test_single_and_bulk_requests_racing_on_one_key_record_once(line_key) -> None:  # type: ignore[no-untyped-def]
    key = line_key("bank").key
    row = metro(idempotency_key="both-ways")

    def send(number: int) -> tuple[int, int | None]:
        client = ApiClient(key)
        if number % 2:
            answer = client.post("/api/v1/lines/bank/records/bulk", [row])
            assert answer.status_code == 200, answer.content
            result = answer.json()["results"][0]
            if result["outcome"] == "refused":
                assert result["code"] == "idempotency_in_flight"
                return 409, None
            return 200, result["record"]["record_id"]
        single = {name: value for name, value in row.items() if name != "idempotency_key"}
        answer = client.post("/api/v1/lines/bank/records", single, headers={"idempotency-key": "both-ways"})
        assert_in_flight_or(answer, {200, 201})
        return answer.status_code, answer.json().get("record_id")

    answers = race(send)
    record = BehaviourRecord.objects.get()
    assert {record_id for _status, record_id in answers} - {None} == {record.pk}
    assert Account.objects.get(external_ref="C-1001").balance_g == 467
    assert check_ledger() == []


def test_two_imports_of_one_file_running_at_once_record_each_line_once(line_key, reference) -> None:  # type: ignore[no-untyped-def]
    """A repeated upload (or a redelivered task) runs beside the first: both finish, each line once."""
    import json

    from django.conf import settings

    from behaviours.tasks import run_import

    rows = bulk_rows("import")
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for number in range(2):
        path = folder / f"upload-{number}.ndjson"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        jobs.append(
            ImportJob.objects.create(id=uuid.uuid4(), line=reference["bank"], path=str(path), size_bytes=1)
        )
    assert race(lambda n: run_import(str(jobs[n].pk)), threads=2) == ["done", "done"]
    results = [
        [json.loads(line) for line in Path(job.results_path).read_text().splitlines()]
        for job in ImportJob.objects.filter(pk__in=[j.pk for j in jobs])
    ]
    assert_each_key_recorded_once(results, len(rows))


def test_bulk_requests_of_other_people_sending_shared_keys_in_opposite_orders_never_fail(
    line_key,
) -> None:  # type: ignore[no-untyped-def]
    """No person in common, so nothing serialises the requests before their inserts, which meet
    on the keys' unique index in opposite orders (a deadlock, resolved by trying again)."""
    key = line_key("bank").key
    keys = [f"crossed-{n}" for n in range(60)]

    def rows_of(thread: int) -> list[dict[str, str]]:
        ordered = keys if thread % 2 else keys[::-1]
        return [metro(f"T{thread}-{number}", idempotency_key=name) for number, name in enumerate(ordered)]

    answers = race(lambda n: ApiClient(key).post("/api/v1/lines/bank/records/bulk", rows_of(n)))
    assert [a.status_code for a in answers] == [200] * THREADS, [a.content for a in answers]
    records = {
        r.idempotency_key: r.account.external_ref for r in BehaviourRecord.objects.select_related("account")
    }
    assert sorted(records) == sorted(keys)
    for thread, answer in enumerate(answers):
        for row, result in zip(rows_of(thread), answer.json()["results"], strict=True):
            if row["person"] == records[row["idempotency_key"]]:
                assert result["outcome"] == "accepted" and not result["record"]["replayed"]
            else:
                assert result["outcome"] == "refused"
                assert result["code"] in {"idempotency_conflict", "idempotency_in_flight"}
    assert check_ledger() == []


@pytest.mark.parametrize(
    ("attempts", "answer_code"), [(3, "idempotency_conflict"), (1, "idempotency_in_flight")]
)
def test_a_bulk_request_in_a_deadlock_on_its_keys_is_recorded_again_after_the_other_writer(
    line_key, reference, monkeypatch, attempts: int, answer_code: str
) -> None:  # type: ignore[no-untyped-def]
    """Another writer holds key b and then wants key a, which the bulk request took before it
    waited for b. PostgreSQL ends the deadlock by rolling back the one that waited first, the
    bulk request, which records its part again once the other writer has committed: its rows
    are then conflicts. Out of attempts, its rows say so and can be sent again; never a 500."""
    from django.db import connection, transaction

    from behaviours import bulk
    from behaviours.api import record_one

    monkeypatch.setattr(bulk, "_RACE_ATTEMPTS", attempts)

    rows = [metro("P-bulk-1", idempotency_key="dead-a"), metro("P-bulk-2", idempotency_key="dead-b")]
    client = ApiClient(line_key("bank").key)
    answers: list[Any] = []

    def send() -> None:
        try:
            answers.append(client.post("/api/v1/lines/bank/records/bulk", rows))
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    today = timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:
        # The bulk request's own check (after the default second) finds the deadlock first.
        cursor.execute("SET LOCAL deadlock_timeout = '30s'")
        record_one(reference["bank"], {**metro("P-other-2"), "occurred_on": today}, "dead-b")
        sender.start()
        waiting = 0
        while not waiting and sender.is_alive():
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            (waiting,) = cursor.fetchone()
        record_one(reference["bank"], {**metro("P-other-1"), "occurred_on": today}, "dead-a")
    sender.join()
    assert waiting == 1
    (answer,) = answers
    assert answer.status_code == 200, answer.content
    assert [(r["outcome"], r["code"]) for r in answer.json()["results"]] == [("refused", answer_code)] * 2
    assert sorted(BehaviourRecord.objects.values_list("account__external_ref", flat=True)) == [
        "P-other-1",
        "P-other-2",
    ]
    assert check_ledger() == []
