from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from carbon_accounts import services
from carbon_accounts.models import Account, AccountKind, BusinessLine
from carbon_accounts.services import TransferRequest

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Sign-in throttling counts in the shared cache; each test starts from zero."""
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Uploads go to the test's own folder (and so do a worker's, which reads the environment)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Services called directly answer in the active language; tests read them in English.
    Requests still choose their own language (LocaleMiddleware), as the page tests show."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """Real hashing costs a quarter second per sign-in; the tests check behaviour, not cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in_staff(client: Any, user: Any) -> None:
    """Signs a staff member in as allauth does after their password and a TOTP code: the
    session records both steps, which the two-factor middleware asks for. The whole sign-in
    through the forms is tested in tests/config/test_staff_second_factor.py."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.account.internal.flows.login import _AUTHENTICATION_METHODS_USER_SESSION_KEY
    from allauth.account.internal.userkit import user_id_to_str

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time()},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()


@pytest.fixture
def make_staff(django_user_model, db: None):  # type: ignore[no-untyped-def]
    """make_staff(role, line=None): a staff member with TOTP set up and the given role; the
    TOTP secret (stored encrypted) is on `user.totp_secret` for tests that type a code."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from carbon_accounts.models import StaffRole

    counter = itertools.count(1)

    def make(role: str = "sustainability_office", line: BusinessLine | None = None):  # type: ignore[no-untyped-def]
        email = f"staff{next(counter)}@test.example"
        user = django_user_model.objects.create_user(email, email, "x-Secret-123", is_staff=True)
        user.totp_secret = generate_totp_secret()
        TOTP.activate(user, user.totp_secret)
        StaffRole.objects.create(user=user, role=role, line=line)
        return user

    return make


@pytest.fixture
def lines(db: None) -> dict[str, BusinessLine]:
    from carbon_accounts.demo import set_up_group_and_lines

    return {line.code: line for line in set_up_group_and_lines()}


@pytest.fixture
def make_person(lines: dict[str, BusinessLine], django_user_model):  # type: ignore[no-untyped-def]
    counter = itertools.count(1)

    def make(line_code: str = "bank", **extra: str) -> Account:
        number = next(counter)
        user = django_user_model.objects.create_user(
            username=f"person{number}@test.example",
            email=f"person{number}@test.example",
            password="x-Secret-123",
        )
        return services.open_personal_account(
            line=lines[line_code], holder=user, display_name=f"Person {number}", **extra
        )

    return make


def memo(
    line: BusinessLine, amount: int, *, key: str | None = None, period_date: date = date(2026, 5, 3)
) -> TransferRequest:
    """A request moving certified grams from the line's exchange registry account to its
    certified account (the only transfers made outside a posting)."""
    accounts = dict(
        Account.objects.filter(
            line=line, kind__in=[AccountKind.EXCHANGE_REGISTRY, AccountKind.EXCHANGE_CERTIFIED]
        ).values_list("kind", "pk")
    )
    return TransferRequest(
        debit_account_id=accounts[AccountKind.EXCHANGE_REGISTRY],
        credit_account_id=accounts[AccountKind.EXCHANGE_CERTIFIED],
        amount=amount,
        unit="gCO2e",
        kind="exchange_certification",
        line_id=line.pk,
        source_type="filing_batch",
        source_id=str(amount),
        period_date=period_date,
        idempotency_source="tests",
        idempotency_key=key or f"key-{next(_keys)}",
    )


def metro_rides(
    record: Any, make_person: Any, count: int, *, first_km: int, every_other_on_the_web: bool
) -> list[Any]:
    """Metro rides in Shenzhen of the bank line today, each of its own person, the n-th of
    first_km + n km: from the line's system with a transit-card id (SZT-000n), or every other
    one declared on the web without evidence."""
    rides = []
    for number in range(count):
        web = every_other_on_the_web and number % 2 == 1
        rides.append(
            record(
                "green_travel_metro",
                str(first_km + number),
                line="bank",
                person=make_person("bank"),
                region="CN-SZ",
                source="web" if web else "api:bank",
                evidence_id="" if web else f"SZT-{number:04d}",
            ).record
        )
    return rides


def certified_alone(record: Any, *, batch_ref: str, serial: str, filing_id: str = "SEEE-F-1") -> Any:
    """A certified filing batch of the exchange holding one record: one tonne, one serial."""
    from datetime import timedelta

    from django.utils import timezone

    from exchange_bridge.models import BatchState, FilingBatch, FilingItem, ItemStatus

    today = timezone.localdate()
    batch = FilingBatch.objects.create(
        line_id=record.line_id,
        exchange="seee",
        member_id=f"PA-{record.line.code.upper()}",
        batch_ref=batch_ref,
        period_start=today - timedelta(days=1),
        period_end=today,
        state=BatchState.CERTIFIED,
        filing_id=filing_id,
        item_count=1,
        total_g=record.reduction_g,
        accepted_g=record.reduction_g,
        certificate_tonnes=1,
        serial_start=serial,
        serial_end=serial,
    )
    FilingItem.objects.create(
        batch=batch, record=record, item_ref="item-1", reduction_g=record.reduction_g, status=ItemStatus.FILED
    )
    return batch


@pytest.fixture
def reference(lines: dict[str, BusinessLine]) -> dict[str, BusinessLine]:
    """Reference data loaded, the demo lines open, their default points rules set."""
    from behaviours.reference import load_reference_data
    from rewards.services import set_up_default_rules

    load_reference_data()
    for line in lines.values():
        set_up_default_rules(line=line)
    return lines


@pytest.fixture
def record(reference: dict[str, BusinessLine], make_person):  # type: ignore[no-untyped-def]
    """record(code, quantity, line=..., person=..., **fields) through the one recording service."""
    from django.utils import timezone

    from behaviours.services import RecordRequest, record_behaviour

    counter = itertools.count(1)
    people: dict[str, Account] = {}

    def record_one(
        behaviour: str,
        quantity: str | int,
        *,
        line: str | None = None,
        person: Account | None = None,
        **fields: object,
    ):  # type: ignore[no-untyped-def]
        from behaviours.models import Behaviour

        known = Behaviour.objects.filter(code=behaviour).first()
        line_code = line or ("employees" if known is None or known.audience == "employee" else "bank")
        if person is None:
            person = people.setdefault(line_code, make_person(line_code))
        values: dict[str, object] = {
            "occurred_on": timezone.localdate(),
            "source": "tests",
            "idempotency_key": f"record-{next(counter)}",
        }
        values.update(fields)
        return record_behaviour(
            request=RecordRequest(
                line=reference[line_code],
                account=person,
                behaviour_code=behaviour,
                quantity=quantity,
                **values,  # type: ignore[arg-type]
            )
        )

    return record_one


class CeleryWorker:
    """A real `celery worker` process on the test database and the test broker."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; worker log:\n{self.log.read_text()[-3000:]}")


@pytest.fixture
def start_celery_worker(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[], CeleryWorker]]:
    """Start real `celery worker` processes on the test database; each is stopped afterwards."""
    from django.conf import settings
    from django.db import connection

    from config.celery import app

    app.control.purge()
    started: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        environment = dict(os.environ)
        database = connection.settings_dict
        environment["DATABASE_URL"] = (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    f"test{len(started)}@%h",
                ],
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        worker = CeleryWorker(process, log)
        started.append(worker)
        worker.wait_for(lambda: b"ready." in log.read_bytes(), "the worker to start")
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.process.kill()


@pytest.fixture
def celery_worker(start_celery_worker: Callable[[], CeleryWorker]) -> CeleryWorker:
    return start_celery_worker()
