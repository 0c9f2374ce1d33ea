"""Real simulator processes on loopback, and the settings that point the platform at them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Simulator:
    def __init__(self, exchange: str, storage: Path, members: list[str], flags: list[str]) -> None:
        self.exchange = exchange
        self.storage = storage
        self.members = members
        self.flags = flags
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = storage.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "manage.py",
            "run_exchange_simulator",
            "--exchange",
            self.exchange,
            "--port",
            str(self.port),
            "--storage",
            str(self.storage),
            *self.flags,
        ]
        for member in self.members:
            command += ["--member", member]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/_sim/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"the simulator did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def faults(self, **values: float) -> dict[str, Any]:
        return dict(httpx.post(f"{self.url}/_sim/faults", json=values, timeout=5).json())


@pytest.fixture
def start_simulator(tmp_path: Path) -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def start(exchange: str, *members: str, flags: list[str] | None = None) -> Simulator:
        simulator = Simulator(
            exchange, tmp_path / f"{exchange}-{len(started)}.sqlite3", list(members), flags or []
        )
        simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


def membership(
    simulator: Simulator, line: str, member_id: str, key_id: str, secret: str, **extra: object
) -> dict[str, object]:
    return {
        "exchange": simulator.exchange,
        "url": simulator.url,
        "member_id": member_id,
        "key_id": key_id,
        "secret": secret,
        "salt": f"salt-{line}",
        "period_days": 1,
        **extra,
    }


@pytest.fixture
def point_platform_at(
    settings, monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, dict[str, object]]], None]:  # type: ignore[no-untyped-def]
    """Configure memberships here and for any Celery worker started afterwards."""

    def configure(memberships: dict[str, dict[str, object]]) -> None:
        settings.EXCHANGE_MEMBERSHIPS = memberships
        settings.EXCHANGE_POLL_SECONDS = 0.3
        settings.EXCHANGE_SWEEP_AFTER_SECONDS = 2
        monkeypatch.setenv("EXCHANGE_MEMBERSHIPS", json.dumps(memberships))
        monkeypatch.setenv("EXCHANGE_POLL_SECONDS", "0.3")
        monkeypatch.setenv("EXCHANGE_SWEEP_AFTER_SECONDS", "2")
        monkeypatch.setenv("EXCHANGE_REQUEST_TIMEOUT", "5")

    return configure
