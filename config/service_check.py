"""Find the PostgreSQL and Redis that `make test` runs against, and say what to start if not.

Prints shell `export` lines for the Makefile to eval. Order: the environment's DATABASE_URL /
CELERY_BROKER_URL, else the local servers on 127.0.0.1. Under CI=true an unreachable one
fails at once; on a developer machine the embedded servers of config/embedded.py stand in.
"""

from __future__ import annotations

import os
import shlex
import sys

import psycopg
import redis

LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_BROKER_URL = "redis://127.0.0.1:6379/2"


def _database_problem(url: str) -> str | None:
    try:
        psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
    except Exception as error:
        return str(error).strip()
    return None


def _redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url.replace("redis+socket://", "unix://", 1), socket_connect_timeout=3).ping()
    except Exception as error:
        return str(error).strip()
    return None


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    database_url = os.environ.get("DATABASE_URL") or LOCAL_DATABASE_URL
    broker_url = os.environ.get("CELERY_BROKER_URL") or LOCAL_BROKER_URL
    database_problem = _database_problem(database_url)
    broker_problem = _redis_problem(broker_url)
    if in_ci and (database_problem or broker_problem):
        if database_problem:
            print(
                f"PostgreSQL at {database_url} is unreachable ({database_problem}).\n"
                "Start it (for example: pg_ctlcluster 15 main start) or set DATABASE_URL.",
                file=sys.stderr,
            )
        if broker_problem:
            print(
                f"Redis at {broker_url} is unreachable ({broker_problem}).\n"
                "Start it (for example: redis-server --daemonize yes) or set CELERY_BROKER_URL.",
                file=sys.stderr,
            )
        return 1
    if database_problem or broker_problem:
        from config import embedded

        print("# local services unreachable: using the embedded ones under .data/", file=sys.stderr)
        if database_problem:
            database_url = embedded.start_postgres()
        if broker_problem:
            broker_url = embedded.start_redis()
    # The cache (sign-in throttling, flushed by the tests) sits in the database after the
    # broker's, so two runs with different brokers never flush each other's counters.
    cache_url = broker_url.replace("redis+socket://", "unix://", 1)
    if cache_url.startswith("redis://"):
        base, _slash, number = cache_url.rpartition("/")
        cache_url = f"{base}/{int(number) + 1}" if number.isdigit() else f"{cache_url.rstrip('/')}/1"
    else:
        cache_url += "?db=3"
    exports = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_CACHE_URL": cache_url,
        "PLATFORM_ENV_FILE": "",
        "SECRET_KEY": "test-only-secret-key",
        # A fixed Fernet key, for tests only (base64 of "test-only-mfa-key-32-bytes-long!").
        "MFA_ENCRYPTION_KEYS": "dGVzdC1vbmx5LW1mYS1rZXktMzItYnl0ZXMtbG9uZyE=",
        "DEBUG": "false",
    }
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
