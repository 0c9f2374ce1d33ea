"""`make bench` (QUICK=1 for a short run): set up fresh bench databases, run every benchmark
in its own process, and write bench/BENCHMARKS.md with each figure beside its baseline and target."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BENCH_MFA_KEY, bench_database_name, bench_database_url, psycopg_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ORDER = [
    "population",
    "record_single",
    "hordak_peer",
    "http_records",
    "bulk",
    "statement",
    "filing",
    "export",
    "check_ledger",
]


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url("postgres"), autocommit=True) as db:
        db.execute(sql)


def _psql_in(database: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(database), autocommit=True) as db:
        db.execute(sql)


def _commit() -> str:
    """The commit measured, and whether the working tree differed from it."""

    def git(*arguments: str) -> str:
        answer = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True)
        return answer.stdout.strip() if answer.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return (
        f"{commit} (with uncommitted changes)"
        if git("status", "--porcelain", "--untracked-files=no")
        else commit
    )


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": bench_database_url(bench_database_name("platform")),
        "PLATFORM_ENV_FILE": "",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret"),
        "MFA_ENCRYPTION_KEYS": os.environ.get("MFA_ENCRYPTION_KEYS", BENCH_MFA_KEY),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    }


def prepare() -> None:
    for name in (bench_database_name("platform"), bench_database_name("hordak")):
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"CREATE DATABASE {name}")
    manage = [sys.executable, "manage.py"]
    for command in (
        ["migrate", "--verbosity", "0"],
        ["load_reference_data"],
        ["seed_demo", "--employees", "10", "--customers", "10"],
    ):
        subprocess.run(manage + command, cwd=ROOT, env=_environment(), check=True, stdout=subprocess.DEVNULL)


def run_one(name: str, quick: bool, extra: list[str] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "bench.benchmarks",
        name,
        *(["--quick"] if quick else []),
        *(extra or []),
    ]
    output = subprocess.run(command, cwd=ROOT, env=_environment(), capture_output=True, text=True)
    if output.returncode != 0:
        # One failed benchmark is reported as failed; the others still run and are written.
        print(output.stdout[-2000:], output.stderr[-4000:], file=sys.stderr)
        last = (output.stderr.strip().splitlines() or ["no output"])[-1]
        return {"failed": last[:300]}
    line = next(line for line in output.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    print(f"{name}: {result} ({time.perf_counter() - started:.0f} s)", flush=True)
    return dict(result)


def machine() -> dict[str, str]:
    import psycopg

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    with psycopg.connect(psycopg_url("postgres")) as db:
        server = db.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "postgresql": server,
        "os": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", default=None, choices=ORDER)
    arguments = parser.parse_args()
    started = time.perf_counter()
    prepare()
    results: dict[str, Any] = {}
    for name in arguments.only or ORDER:
        if name == "filing":
            sizes = [100_000] if arguments.quick else [100_000, 1_000_000]
            results["filing"] = {
                str(size): run_one("filing", arguments.quick, ["--size", str(size)]) for size in sizes
            }
        else:
            results[name] = run_one(name, arguments.quick)
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "mode": "QUICK=1" if arguments.quick else "full",
        "machine": machine(),
        "results": results,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(summary, indent=2))
    from bench.report import write_markdown

    write_markdown(summary, ROOT / "bench" / "BENCHMARKS.md")
    print(f"wrote bench/BENCHMARKS.md ({summary['total_seconds']} s)")
    failures = [name for name, result in results.items() if "failed" in result] + [
        f"filing {size}" for size, result in results.get("filing", {}).items() if "failed" in result
    ]
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
