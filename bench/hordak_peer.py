"""Benchmark 1's baseline: django-hordak's Account.transfer_to, one transaction each, 2 clients.

Runs in bench/.venv-hordak (hordak's requirements are not the platform's), on its own
database on the same PostgreSQL server. Prints one RESULT line like bench/benchmarks.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import dj_database_url
import django
from django.conf import settings

# Run as a script in its own virtualenv: the project's bench package is found from its root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import run_clients


def configure() -> None:
    settings.configure(
        DATABASES={"default": dj_database_url.parse(os.environ["DATABASE_URL"])},
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "mptt", "hordak"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        HORDAK_DEFAULT_CURRENCY="CNY",
        HORDAK_CURRENCIES=["CNY"],
        HORDAK_DECIMAL_PLACES=2,
        HORDAK_MAX_DIGITS=20,
    )
    django.setup()


def client(pairs: list[tuple[int, int]], seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    if not settings.configured:  # a forked client inherits the parent's set-up
        configure()
    from djmoney.money import Money
    from hordak.models import Account

    accounts = {a.pk: a for a in Account.objects.filter(pk__in=[pk for pair in pairs for pk in pair])}
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        source, destination = pairs[done % len(pairs)]
        accounts[source].transfer_to(accounts[destination], Money(1, "CNY"))
        done += 1
    queue.put(done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=2)
    arguments = parser.parse_args()
    configure()
    from django.core.management import call_command
    from django.db import connections
    from hordak.models import Account

    call_command("migrate", verbosity=0)
    # Like the platform's load: each transfer moves between a line's source and one of many people.
    income = Account.objects.create(name="issuance", type=Account.TYPES.income, currencies=["CNY"])
    people = [
        Account.objects.create(name=f"person {n}", type=Account.TYPES.income, currencies=["CNY"])
        for n in range(200)
    ]
    pairs = [(income.pk, person.pk) for person in people]
    connections.close_all()
    results, elapsed = run_clients(
        client, [(pairs[n :: arguments.clients], arguments.seconds) for n in range(arguments.clients)]
    )
    done = sum(results)
    print(
        "RESULT "
        + json.dumps(
            {
                "transfers": done,
                "seconds": round(elapsed, 2),
                "transfers_per_second": round(done / elapsed, 1),
                "clients": arguments.clients,
            }
        )
    )


if __name__ == "__main__":
    main()
