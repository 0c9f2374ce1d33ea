"""The simulator answers as exchange-api.md says, refusals included (real HTTP, no platform)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import pytest

from exchange_bridge.profiles import PROFILES
from exchange_bridge.signing import signature

SUBJECT = hashlib.sha256(b"person").hexdigest()


def signed(
    simulator,
    method: str,
    route: str,
    payload: object = None,
    *,
    key: str = "k1",
    secret: str = "s1",  # noqa: S107 - the simulator's test member
    stamp: int | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    profile = PROFILES[simulator.exchange]
    body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
    path = profile.prefix + route
    timestamp = str(stamp or int(time.time()))
    headers = {
        profile.key_header: key,
        profile.timestamp_header: timestamp,
        profile.signature_header: signature(
            secret=secret, method=method, path=path, timestamp=timestamp, body=body
        ),
    }
    return httpx.request(method, simulator.url + path, content=body, headers=headers, timeout=10)


def filing(exchange: str, batch_ref: str = "b-1", count: int = 2, **changes: object) -> dict[str, Any]:
    profile = PROFILES[exchange]
    entries = [
        {
            "item_ref": f"rec-{batch_ref}-{n}",
            "subject": SUBJECT,
            "behaviour": "green_travel_metro",
            "methodology": "green_travel_metro@CN-SZ@2022-09-01",
            "quantity": "12.500",
            "unit": "passenger_km",
            "occurred_on": "2026-05-03",
            **profile.item_amount(584),
        }
        for n in range(count)
    ]
    payload: dict[str, Any] = {
        "batch_ref": batch_ref,
        "member_id": "M1",
        "period": {"start": "2026-05-01", "end": "2026-05-31"},
        "items": entries,
        "totals": {"items": count, **profile.total_amount(584 * count)},
    }
    payload.update(changes)
    return payload


@pytest.fixture(params=["seee", "ceex"])
def simulator(request, start_simulator):  # type: ignore[no-untyped-def]
    return start_simulator(request.param, "M1:k1:s1", "M2:k2:s2", flags=["--review-delay", "0.5"])


def test_a_filing_is_received_reviewed_and_certified_with_the_remainder_carried(simulator) -> None:  # type: ignore[no-untyped-def]
    profile = PROFILES[simulator.exchange]
    first = signed(simulator, "POST", "/filings", filing(simulator.exchange, "b-1", count=1))
    assert first.status_code == 202 and first.json()["status"] == profile.status("received")
    time.sleep(0.6)
    answer = signed(simulator, "GET", f"/filings/{first.json()['filing_id']}").json()
    assert answer["status"] == profile.status("certified")
    assert answer["accepted_reduction_g"] == 584 and answer["certificate"]["tonnes"] == 0
    # 1,000,000 g more crosses a tonne: certified with the carried remainder.
    big = filing(simulator.exchange, "b-2", count=1)
    big["items"][0].update(profile.item_amount(999_500))
    big["totals"] = {"items": 1, **profile.total_amount(999_500)}
    second = signed(simulator, "POST", "/filings", big).json()
    time.sleep(0.6)
    certificate = signed(simulator, "GET", f"/filings/{second['filing_id']}").json()["certificate"]
    assert certificate["tonnes"] == 1
    assert certificate["serial_start"] == certificate["serial_end"]
    assert certificate["serial_start"].startswith(
        "SEEE-CI-" if simulator.exchange == "seee" else "CEEX-PHCER-"
    )
    balance = signed(simulator, "GET", "/members/M1/balance").json()
    assert balance["certified_tonnes"] * 1_000_000 + balance["remainder_g"] == 584 + 999_500


def test_a_replay_returns_the_same_answer_and_a_conflict_is_409(simulator) -> None:  # type: ignore[no-untyped-def]
    payload = filing(simulator.exchange)
    first = signed(simulator, "POST", "/filings", payload)
    again = signed(simulator, "POST", "/filings", payload)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["filing_id"] == first.json()["filing_id"]
    changed = filing(simulator.exchange, count=3)
    conflict = signed(simulator, "POST", "/filings", changed)
    assert conflict.status_code == 409 and conflict.json() == {"error": "batch_ref_conflict"}


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ({"key": "nobody"}, "unknown_key"),
        ({"secret": "wrong"}, "bad_signature"),
        ({"stamp": int(time.time()) - 301}, "stale_timestamp"),
    ],
)
def test_authentication_refusals(simulator, how: dict, error: str) -> None:  # type: ignore[no-untyped-def]
    answer = signed(simulator, "POST", "/filings", filing(simulator.exchange), **how)
    assert answer.status_code == 401 and answer.json() == {"error": error}


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"totals": {"items": 5}}, "totals do not match"),
        ({"member_id": "M2"}, "member_id does not match"),
        ({"period": {"start": "2026-06-01", "end": "2026-06-30"}}, "outside the period"),
        ({"items": []}, "non-empty"),
    ],
)
def test_invalid_payloads_are_422_with_details(simulator, change: dict, detail: str) -> None:  # type: ignore[no-untyped-def]
    answer = signed(simulator, "POST", "/filings", filing(simulator.exchange, **change))
    assert answer.status_code == 422 and answer.json()["error"] == "invalid"
    assert any(detail in entry for entry in answer.json()["details"])


def test_repeated_item_refs_bad_amounts_and_too_many_items(simulator) -> None:  # type: ignore[no-untyped-def]
    profile = PROFILES[simulator.exchange]
    repeated = filing(simulator.exchange, count=2)
    repeated["items"][1]["item_ref"] = repeated["items"][0]["item_ref"]
    assert "repeats inside the filing" in " ".join(
        signed(simulator, "POST", "/filings", repeated).json()["details"]
    )
    wrong_format = filing(simulator.exchange, count=1)
    wrong_format["items"][0].update(
        {"reduction_g": "584"} if profile.name == "seee" else {"reduction_kg": "0.58"}
    )
    assert signed(simulator, "POST", "/filings", wrong_format).status_code == 422
    too_many = filing(simulator.exchange, count=profile.max_items + 1)
    answer = signed(simulator, "POST", "/filings", too_many)
    assert answer.status_code == 422
    assert f"at most {profile.max_items}" in " ".join(answer.json()["details"])
    assert signed(simulator, "POST", "/filings", raw=b"{not json").status_code == 422


def test_a_claim_already_accepted_anywhere_is_a_duplicate(simulator) -> None:  # type: ignore[no-untyped-def]
    first = signed(simulator, "POST", "/filings", filing(simulator.exchange, "b-1", count=1)).json()
    time.sleep(0.6)
    signed(simulator, "GET", f"/filings/{first['filing_id']}")
    # Another member files the same item reference: rejected as a whole (nothing acceptable).
    copy = filing(simulator.exchange, "b-1", count=1, member_id="M2")
    second = signed(simulator, "POST", "/filings", copy, key="k2", secret="s2").json()
    time.sleep(0.6)
    answer = signed(simulator, "GET", f"/filings/{second['filing_id']}", key="k2", secret="s2").json()
    assert answer["status"] == PROFILES[simulator.exchange].status("rejected")
    assert answer["rejected_items"] == [{"item_ref": "rec-b-1-0", "reason": "duplicate_claim"}]


def test_listing_balance_and_idempotent_retirement(simulator) -> None:  # type: ignore[no-untyped-def]
    profile = PROFILES[simulator.exchange]
    big = filing(simulator.exchange, "b-9", count=1)
    big["items"][0].update(profile.item_amount(3_000_000))
    big["totals"] = {"items": 1, **profile.total_amount(3_000_000)}
    signed(simulator, "POST", "/filings", big)
    time.sleep(0.6)
    listing = signed(simulator, "GET", "/filings?since=2000-01-01T00:00:00Z").json()["filings"]
    assert [f["batch_ref"] for f in listing] == ["b-9"]
    retirement = {
        "retirement_ref": "r-1",
        "tonnes": 2,
        "beneficiary": "Group",
        "purpose": "2026 residual emissions",
    }
    first = signed(simulator, "POST", "/retirements", retirement)
    assert first.status_code == 201 and first.json()["tonnes"] == 2
    assert signed(simulator, "POST", "/retirements", retirement).json() == first.json()
    assert signed(simulator, "POST", "/retirements", retirement | {"tonnes": 1}).status_code == 409
    too_much = signed(simulator, "POST", "/retirements", retirement | {"retirement_ref": "r-2", "tonnes": 2})
    assert too_much.status_code == 422
    assert signed(simulator, "GET", "/members/M1/balance").json()["retired_tonnes"] == 2


def test_faults_can_be_set_at_run_time_and_storage_survives_a_restart(simulator) -> None:  # type: ignore[no-untyped-def]
    assert simulator.faults(error_rate=1.0)["error_rate"] == 1.0
    assert signed(simulator, "GET", "/members/M1/balance").status_code == 503
    simulator.faults(error_rate=0.0, rate_limit=1)
    codes = [signed(simulator, "GET", "/members/M1/balance").status_code for _ in range(3)]
    assert 429 in codes
    simulator.faults(rate_limit=0)
    created = signed(simulator, "POST", "/filings", filing(simulator.exchange, "kept")).json()
    simulator.restart()
    again = signed(simulator, "GET", f"/filings/{created['filing_id']}")
    assert again.status_code == 200 and again.json()["batch_ref"] == "kept"
