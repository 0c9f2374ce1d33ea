"""Shared by the benchmarks: the bench database, Django set-up, timing and peak memory."""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bench_database_name(role: str) -> str:
    """`bench_platform` and `bench_hordak`; BENCH_DATABASE_PREFIX lets two runs share a server
    (a long full-size run beside a quick one) without dropping each other's databases."""
    return f"{os.environ.get('BENCH_DATABASE_PREFIX', 'bench')}_{role}"


def bench_database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return base.rsplit("/", 1)[0] + f"/{name}"


def psycopg_url(name: str) -> str:
    """bench_database_url in the scheme psycopg accepts (it does not know `postgres://`)."""
    return bench_database_url(name).replace("postgres://", "postgresql://", 1)


def analyze() -> None:
    """VACUUM ANALYZE (untimed) before a timed run on tables that earlier steps of the run have
    grown. This machine's PostgreSQL runs with autovacuum off; in production autovacuum
    vacuums a table once a fifth of it changed and analyses it once a tenth did. Without it such
    tables keep the statistics of empty ones, so the planner picks plans no production database
    would, and every dead row version left by the earlier steps stays in the tables and their
    indexes (bench/NOTES.md). Not before a run that starts on empty tables and grows them (the
    recording benchmarks and their peer): statistics taken then would be the stale ones."""
    import psycopg

    with psycopg.connect(psycopg_url(bench_database_name("platform")), autocommit=True) as maintenance:
        maintenance.execute("VACUUM ANALYZE")


# A fixed Fernet key for the benchmark databases (base64 of "bench-only-mfa-key-32-bytes-long").
BENCH_MFA_KEY = "YmVuY2gtb25seS1tZmEta2V5LTMyLWJ5dGVzLWxvbmc="


def setup_django(database: str = "") -> None:
    database = database or bench_database_name("platform")
    os.environ["DATABASE_URL"] = bench_database_url(database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["PLATFORM_ENV_FILE"] = ""
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("MFA_ENCRYPTION_KEYS", BENCH_MFA_KEY)
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def reset_peak_rss() -> None:
    """Start this process's peak resident memory afresh, so that a figure covers the step it
    measures and not the data generated before it (Linux: writing 5 to clear_refs resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last reset_peak_rss, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    result: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def report(**figures: Any) -> None:
    """Each benchmark prints one JSON line; bench/run.py collects it."""
    print("RESULT " + json.dumps(figures, default=str), flush=True)


__all__ = ["percentile", "report", "statistics", "stopwatch"]


def run_clients(
    target: Callable[..., None], client_arguments: list[tuple[Any, ...]]
) -> tuple[list[Any], float]:
    """Run one process per client, `target(*arguments, queue)`, each putting its result on the
    queue; their results and the seconds from the first start to the last result."""
    queue: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=target, args=(*arguments, queue)) for arguments in client_arguments
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return results, elapsed
