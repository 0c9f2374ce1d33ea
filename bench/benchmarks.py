"""The benchmarks of bench/BENCHMARKS.md. Each runs in its own process (so peak memory is its own):
`python -m bench.benchmarks NAME [--quick]` prints one RESULT line of JSON."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    analyze,
    bench_database_name,
    bench_database_url,
    peak_rss_mb,
    percentile,
    psycopg_url,
    report,
    reset_peak_rss,
    run_clients,
    setup_django,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _today():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.localdate()


# --- The group's people, loaded first so that every later benchmark runs among them ---------------


def population(quick: bool) -> None:
    from django.db import transaction

    from bench import generate
    from carbon_accounts.models import Account, AccountKind, BusinessLine

    employees, customers = (30_000, 100_000) if quick else (300_000, 1_000_000)
    started = time.perf_counter()
    people = generate.population(employees=employees, customers=customers)
    seconds = time.perf_counter() - started
    # The baseline: the same rows through the ORM's own bulk path, a sample rolled back.
    line = BusinessLine.objects.get(code="bank")
    sample = 20_000
    with transaction.atomic():
        started = time.perf_counter()
        Account.objects.bulk_create(
            [
                Account(
                    kind=AccountKind.PERSONAL,
                    line=line,
                    external_ref=f"ORM{number:08d}",
                    display_name=f"bench {number}",
                    team=f"Team {number % 40}",
                    office=f"Office {number % 6}",
                )
                for number in range(1, sample + 1)
            ],
            batch_size=1_000,
        )
        orm_seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    report(
        employees=employees,
        customers=customers,
        people_per_line=people,
        seconds=round(seconds, 1),
        accounts_per_second=round((employees + customers) / seconds),
        orm_bulk_create_per_second=round(sample / orm_seconds),
        personal_accounts_in_database=Account.objects.filter(kind=AccountKind.PERSONAL).count(),
    )


# --- 1. Recording single behaviours through the service, 2 concurrent clients ---------------------


def _record_client(client: int, clients: int, seconds: float, account_ids: list[int], queue: Any) -> None:
    from django.db import connections

    from behaviours.services import RecordRefused, RecordRequest, record_behaviour
    from carbon_accounts.models import Account, BusinessLine

    connections.close_all()
    line = BusinessLine.objects.get(code="bank")
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=account_ids[client::clients])}
    mine = list(accounts.values())
    done = refused = 0
    deadline = time.perf_counter() + seconds
    number = 0
    while time.perf_counter() < deadline:
        account = mine[number % len(mine)]
        number += 1
        try:
            record_behaviour(
                request=RecordRequest(
                    line=line,
                    account=account,
                    behaviour_code="green_travel_metro",
                    quantity="10",
                    occurred_on=_today(),
                    source="bench",
                    idempotency_key=f"single-{os.getpid()}-{number}",
                    region="CN-SZ",
                )
            )
            done += 1
        except RecordRefused:
            refused += 1
    queue.put((done, refused))


def record_single(quick: bool) -> None:
    from django.db import connections

    from bench import generate

    seconds = 10.0 if quick else 30.0
    clients = 2
    # Enough people that nobody reaches a daily cap or the same-day limit during the run.
    account_ids = generate.accounts(line_code="bank", count=20_000, prefix="S")
    connections.close_all()
    results, elapsed = run_clients(
        _record_client, [(n, clients, seconds, account_ids) for n in range(clients)]
    )
    done = sum(r[0] for r in results)
    ceiling = _commit_ceiling(seconds, clients)
    report(
        records=done,
        refused=sum(r[1] for r in results),
        seconds=round(elapsed, 2),
        records_per_second=round(done / elapsed, 1),
        clients=clients,
        commit_ceiling_per_second=ceiling,
    )


def _commit_client(seconds: float, queue: Any) -> None:
    import psycopg

    done = 0
    with psycopg.connect(psycopg_url(bench_database_name("platform")), autocommit=True) as connection:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            connection.execute("INSERT INTO bench_commit_ceiling (client) VALUES (%s)", [os.getpid()])
            done += 1
    queue.put(done)


def _commit_ceiling(seconds: float, clients: int) -> float:
    """The most transactions per second this server commits for the same number of clients, each
    transaction one row in a table with one index: the limit of any recording that commits each
    record durably (the commit waits for its WAL to reach the disk), whatever the record does."""
    import psycopg

    with psycopg.connect(psycopg_url(bench_database_name("platform")), autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_commit_ceiling")
        connection.execute("CREATE TABLE bench_commit_ceiling (id bigserial PRIMARY KEY, client integer)")
    results, elapsed = run_clients(_commit_client, [(seconds,)] * clients)
    with psycopg.connect(psycopg_url(bench_database_name("platform")), autocommit=True) as connection:
        connection.execute("DROP TABLE bench_commit_ceiling")
    return round(sum(results) / elapsed, 1)


def hordak_peer(quick: bool) -> None:
    """The same load on django-hordak's transfer_to, in its own virtualenv (see hordak_peer.py)."""
    python = ROOT / "bench" / ".venv-hordak" / "bin" / "python"
    result = subprocess.run(
        [
            str(python),
            str(ROOT / "bench" / "hordak_peer.py"),
            "--seconds",
            "10" if quick else "30",
            "--clients",
            "2",
        ],
        env={**os.environ, "DATABASE_URL": bench_database_url(bench_database_name("hordak"))},
        capture_output=True,
        text=True,
        check=True,
    )
    print(result.stdout, end="")


# --- 2. The same over HTTP: gunicorn with 2 workers, wrk -------------------------------------------


def _gunicorn(port: int) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": bench_database_url(bench_database_name("platform")),
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PLATFORM_ENV_FILE": "",
        "DEBUG": "false",
    }
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
            # A 10,000-record bulk request takes longer than gunicorn's default 30 s.
            "--timeout",
            "600",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


WRK_SCRIPT = """
counter = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local prefix = tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  local person = "H" .. ((counter * 7919 + tonumber(prefix)) %% 20000)
  local body = '{"person":"' .. person .. '","behaviour":"green_travel_metro","quantity":"10","occurred_on":"%(day)s","region":"CN-SZ"}'
  return wrk.format("POST", nil, {["Authorization"] = "Bearer %(key)s", ["Content-Type"] = "application/json",
                                  ["Idempotency-Key"] = prefix .. "-" .. counter}, body)
end
"""


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def _wrk(seconds: int, url: str, script: str | None = None) -> dict[str, Any]:
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", *(["-s", script] if script else []), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latencies = dict(re.findall(r"\s+(50|99)%\s+(\S+)", output))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": round(_seconds(latencies["50"]) * 1000, 2),
        "p99_ms": round(_seconds(latencies["99"]) * 1000, 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def http_records(quick: bool) -> None:
    from carbon_accounts import credentials
    from carbon_accounts.models import BusinessLine

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it with apt)")
    _credential, key = credentials.issue(
        name="bench", line=BusinessLine.objects.get(code="bank"), rate_per_minute=10**8
    )
    # The recording benchmark before this one grew the tables (see `analyze`).
    analyze()
    port = _free_port()
    server = _gunicorn(port)
    seconds = 10 if quick else 30
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT % {"day": _today().isoformat(), "key": key})
        figures = _wrk(seconds, f"http://127.0.0.1:{port}/api/v1/lines/bank/records", script.name)
        # The floor of this server and load tool: the same wrk on /healthz (no database, no
        # work). Its tail is gunicorn's sync worker closing each connection while wrk reconnects:
        # read the records' p99 beside it.
        floor = _wrk(10, f"http://127.0.0.1:{port}/healthz")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(
        **figures,
        seconds=seconds,
        connections=8,
        floor_requests_per_second=floor["requests_per_second"],
        floor_p50_ms=floor["p50_ms"],
        floor_p99_ms=floor["p99_ms"],
    )


# --- 3. Bulk ingestion of 10,000-record requests, against a bare COPY ------------------------------


def bulk(quick: bool) -> None:
    import httpx
    import psycopg

    from carbon_accounts import credentials
    from carbon_accounts.models import BusinessLine

    requests_count = 1 if quick else 3
    size = 10_000
    day = _today().isoformat()
    _credential, key = credentials.issue(
        name="bench bulk", line=BusinessLine.objects.get(code="bank"), rate_per_minute=10**8
    )
    bodies = []
    for request_number in range(requests_count):
        rows = [
            {
                "idempotency_key": f"bulk-{time.time_ns()}-{request_number}-{n}",
                "person": f"K{(request_number * size + n) % 50_000}",
                "behaviour": "green_travel_metro",
                "quantity": "10",
                "occurred_on": day,
                "region": "CN-SZ",
            }
            for n in range(size)
        ]
        bodies.append("\n".join(json.dumps(row) for row in rows).encode())
    port = _free_port()
    server = _gunicorn(port)
    try:
        elapsed = 0.0
        accepted = 0
        for body in bodies:
            analyze()
            last_request_after = _last_record_id()
            started = time.perf_counter()
            answer = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/lines/bank/records/bulk",
                content=body,
                timeout=600,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
            )
            answer.raise_for_status()
            elapsed += time.perf_counter() - started
            accepted += answer.json()["accepted"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    floor_seconds, floor_records = _bulk_database_floor(last_request_after)
    # The limit of this stack: COPY of the same rows into a bare table with one unique index.
    with psycopg.connect(psycopg_url(bench_database_name("platform"))) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_copy_target")
        connection.execute(
            "CREATE UNLOGGED TABLE bench_copy_target (idempotency_key text, person text, behaviour text, quantity numeric,"
            " occurred_on date, region text)"
        )
        connection.execute("CREATE UNIQUE INDEX ON bench_copy_target (idempotency_key)")
        copy_started = time.perf_counter()
        with connection.cursor() as cursor:
            for body in bodies:
                with cursor.copy("COPY bench_copy_target FROM STDIN") as copy:
                    for line in body.splitlines():
                        row = json.loads(line)
                        copy.write_row(
                            (
                                row["idempotency_key"],
                                row["person"],
                                row["behaviour"],
                                row["quantity"],
                                row["occurred_on"],
                                row["region"],
                            )
                        )
        connection.commit()
        copy_elapsed = time.perf_counter() - copy_started
        connection.execute("DROP TABLE bench_copy_target")
    total = requests_count * size
    report(
        records=total,
        accepted=accepted,
        seconds=round(elapsed, 2),
        records_per_second=round(total / elapsed, 1),
        copy_seconds=round(copy_elapsed, 3),
        copy_records_per_second=round(total / copy_elapsed, 1),
        database_floor_records=floor_records,
        database_floor_seconds=round(floor_seconds, 3),
        database_floor_records_per_second=round(floor_records / floor_seconds, 1),
    )


def _last_record_id() -> int:
    import psycopg

    with psycopg.connect(psycopg_url(bench_database_name("platform"))) as connection:
        row = connection.execute("SELECT coalesce(max(id), 0) FROM behaviours_behaviourrecord").fetchone()
    return int(row[0]) if row else 0


# Bulk's database floor: the rows one request wrote (its records, the postings of its transactions
# with their summary transfers, and its people's balances), written again by SQL alone,
# set-based, into the same tables with every index, unique constraint, foreign key and
# commit-time trigger checked, and rolled back. No implementation that keeps this schema writes a
# batch faster; Python's share is what bulk takes beyond it. The copies get new ids and keys, so
# every unique index does its work as for new rows.
_FLOOR_STATEMENTS = [
    """CREATE TEMPORARY TABLE floor_posting ON COMMIT DROP AS
       SELECT id AS old_id, nextval(pg_get_serial_sequence('carbon_accounts_posting', 'id')) AS new_id
         FROM carbon_accounts_posting
        WHERE id IN (SELECT posting_id FROM behaviours_behaviourrecord WHERE id > %(after)s)""",
    """INSERT INTO carbon_accounts_posting (id, line_id, entry_kind, period_date, ghg_category, behaviour_code,
           basis_id, entries, grams, points, created_at, claim_basis, fileable)
       SELECT map.new_id, p.line_id, p.entry_kind, p.period_date, p.ghg_category, p.behaviour_code, p.basis_id,
              p.entries, p.grams, p.points, now(), p.claim_basis, p.fileable
         FROM floor_posting AS map JOIN carbon_accounts_posting AS p ON p.id = map.old_id""",
    """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
           source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
           payload_digest, description, posting_id, created_at)
       SELECT t.debit_account_id, t.credit_account_id, t.amount, t.unit, t.kind, t.line_id, t.source_type,
              map.new_id::text, t.ghg_category, t.period_date, t.idempotency_source,
              map.new_id::text || ':' || t.unit, t.payload_digest, t.description, map.new_id, now()
         FROM floor_posting AS map JOIN carbon_accounts_transfer AS t ON t.posting_id = map.old_id""",
    """UPDATE carbon_accounts_account AS account
          SET balance_g = account.balance_g + delta.grams, balance_points = account.balance_points + delta.points
         FROM (SELECT account_id, sum(reduction_g) AS grams, sum(points) AS points
                 FROM behaviours_behaviourrecord WHERE id > %(after)s AND posting_id IS NOT NULL
                GROUP BY account_id ORDER BY account_id) AS delta
        WHERE account.id = delta.account_id""",
    """INSERT INTO behaviours_behaviourrecord (quantity, counted_quantity, cap_note, occurred_on, attributes,
           evidence_id, source, idempotency_key, payload_digest, status, review_reason, reduction_g, basis_id,
           ghg_category, fileable, points, posting_id, created_at, decided_at, decided_by, account_id,
           behaviour_id, line_id, region_id, claim_fingerprint, external_programme, claim_basis)
       SELECT r.quantity, r.counted_quantity, r.cap_note, r.occurred_on, r.attributes,
              CASE WHEN r.evidence_id = '' THEN '' ELSE r.evidence_id || ':floor' END, r.source,
              r.idempotency_key || ':floor', r.payload_digest, r.status, r.review_reason, r.reduction_g,
              r.basis_id, r.ghg_category, r.fileable, r.points, map.new_id, now(), r.decided_at, r.decided_by,
              r.account_id, r.behaviour_id, r.line_id, r.region_id,
              -- another claim (its evidence id is another), as long as the original's
              encode(sha256(convert_to(r.claim_fingerprint || ':floor', 'UTF8')), 'hex'), r.external_programme,
              r.claim_basis
         FROM behaviours_behaviourrecord AS r LEFT JOIN floor_posting AS map ON map.old_id = r.posting_id
        WHERE r.id > %(after)s""",
    # The deferred foreign keys and commit-time triggers, checked now as the COMMIT would check them.
    "SET CONSTRAINTS ALL IMMEDIATE",
]


def _bulk_database_floor(after: int) -> tuple[float, int]:
    """Seconds to write again, set-based, what the records after `after` wrote; and how many."""
    import psycopg

    analyze()
    with psycopg.connect(psycopg_url(bench_database_name("platform"))) as connection:
        records = 0
        started = time.perf_counter()
        for statement in _FLOOR_STATEMENTS:
            cursor = connection.execute(statement, {"after": after} if "%(after)s" in statement else None)
            if statement.startswith("INSERT INTO behaviours_behaviourrecord"):
                records = cursor.rowcount
        elapsed = time.perf_counter() - started
        connection.rollback()
    return elapsed, records


# --- 4. Filing a period of fileable reductions through the simulator --------------------------------


def filing(quick: bool, size: int | None = None) -> None:
    import httpx
    from django.conf import settings

    from bench import generate
    from exchange_bridge import services
    from exchange_bridge.models import BatchState, FilingBatch

    count = size or (100_000 if quick else 1_000_000)
    yesterday = _today() - timedelta(days=1)
    # Two meetings a person in the day (the catalogue allows three), so a million items take
    # half a million people; each size its own people, as its day is already theirs.
    accounts = generate.accounts(
        line_code="employees", count=max(50_000, -(-count // 2)), prefix=f"F{len(str(count))}"
    )
    generate.records(
        line_code="employees",
        account_ids=accounts,
        count=count,
        first_day=yesterday,
        days=1,
        behaviour="remote_meeting",
        quantity=100,
        tag=f"filing-{count}",
    )
    storage = Path(tempfile.mkdtemp()) / "seee.sqlite3"
    port = _free_port()
    simulator = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_exchange_simulator",
            "--exchange",
            "seee",
            "--port",
            str(port),
            "--storage",
            str(storage),
            "--review-delay",
            "0",
            "--member",
            "BENCH-EMP:bench-key:bench-secret",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    settings.EXCHANGE_MEMBERSHIPS = {
        "employees": {
            "exchange": "seee",
            "url": f"http://127.0.0.1:{port}",
            "member_id": "BENCH-EMP",
            "key_id": "bench-key",
            "secret": "bench-secret",
            "salt": "bench",
            "period_days": 1,
        }
    }
    settings.EXCHANGE_POLL_SECONDS = 0
    settings.EXCHANGE_REQUEST_TIMEOUT = 120
    try:
        reset_peak_rss()
        started = time.perf_counter()
        batch_ids = services.close_periods()
        for batch_id in batch_ids:
            services.submit(batch_id=batch_id)
        pending = set(batch_ids)
        while pending:
            for batch_id in list(pending):
                services.poll(batch_id=batch_id)
                if FilingBatch.objects.get(pk=batch_id).state in (BatchState.CERTIFIED, BatchState.REJECTED):
                    pending.discard(batch_id)
        elapsed = time.perf_counter() - started
        peak = peak_rss_mb()
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    certified = FilingBatch.objects.filter(pk__in=batch_ids, state=BatchState.CERTIFIED).count()
    report(
        items=count,
        batches=len(batch_ids),
        certified_batches=certified,
        seconds=round(elapsed, 1),
        items_per_second=round(count / elapsed, 1),
        peak_rss_mb=round(peak, 1),
    )


# --- 5. Exporting a quarter of group reductions ------------------------------------------------------


def export(quick: bool) -> None:
    from django.db import connection

    from behaviours import reports
    from bench import generate

    # The group's employees: the population benchmark's, where it ran first.
    employees = 300_000
    count = 1_000_000 if quick else 20_000_000
    # The last whole quarter: its days hold the records within the catalogue's daily limits
    # on any day of a run (the quarter under way may be a day old).
    this_quarter = _today().replace(month=3 * ((_today().month - 1) // 3) + 1, day=1)
    last_day = this_quarter - timedelta(days=1)
    period = reports.parse_period(f"{last_day.year}-Q{(last_day.month - 1) // 3 + 1}")
    accounts = generate.accounts(line_code="employees", count=employees, prefix=generate.GROUP_PREFIX)
    generated = time.perf_counter()
    generate.records(
        line_code="employees",
        account_ids=accounts,
        count=count,
        first_day=period.start,
        days=(period.end - period.start).days + 1,
        tag=f"export-{count}",
    )
    generation_seconds = time.perf_counter() - generated
    output = Path(tempfile.mkdtemp()) / "export.xlsx"
    reset_peak_rss()
    started = time.perf_counter()
    reports.write_xlsx(period, None, output)
    elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    # The baseline: the same figures summed from every record of the quarter, as an export
    # without the general ledger's postings would read them.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT l.code, r.behaviour_id, r.ghg_category, count(*),
                      sum(r.reduction_g) FILTER (WHERE r.status = 'accepted')
                 FROM behaviours_behaviourrecord r JOIN carbon_accounts_businessline l ON l.id = r.line_id
                WHERE r.status IN ('accepted', 'reversed') AND r.basis_id IS NOT NULL
                  AND r.occurred_on BETWEEN %s AND %s
                GROUP BY 1, 2, 3""",
            [period.start, period.end],
        )
        scanned = {
            (line, behaviour, category): (int(n), int(g or 0)) for line, behaviour, category, n, g in cursor
        }
    scan_seconds = time.perf_counter() - started
    exported = {
        (row.line, row.behaviour, row.ghg_category): (row.records, row.reduction_g)
        for row in reports.reduction_rows(period)
    }
    report(
        employees=employees,
        records=count,
        seconds=round(elapsed, 2),
        peak_rss_mb=round(peak, 1),
        file_bytes=output.stat().st_size,
        same_figures_as_record_scan=exported == scanned,
        record_scan_seconds=round(scan_seconds, 2),
        generation_seconds=round(generation_seconds, 1),
    )


# --- 6. A person's account page and statement API with a million records ----------------------------


def statement(quick: bool) -> None:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench import generate
    from carbon_accounts.models import Account

    total = 1_000_000
    counter = connection.cursor()
    counter.execute("SELECT count(*) FROM behaviours_behaviourrecord")
    have = counter.fetchone()[0]
    accounts = generate.accounts(line_code="bank", count=10_000, prefix="T")
    if have < total:
        generate.records(
            line_code="bank",
            account_ids=accounts,
            count=total - have,
            first_day=_today() - timedelta(days=60),
            days=60,
            behaviour="green_travel_metro",
            tag="statement",
        )
    email = f"bench{time.time_ns()}@bench.example"
    user = get_user_model().objects.create_user(email, email=email, password="bench-pass-1")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    mine = Account.objects.get(pk=accounts[0])
    Account.objects.filter(pk=mine.pk).update(holder=user)
    client = Client()
    client.force_login(user)
    timings: dict[str, list[float]] = {"account_page": [], "statement_api": []}
    rounds = 100 if quick else 300
    for _ in range(10):  # warm up
        client.get("/me/", secure=True)
    for _ in range(rounds):
        started = time.perf_counter()
        assert client.get("/me/", secure=True).status_code == 200
        timings["account_page"].append(time.perf_counter() - started)
        started = time.perf_counter()
        assert (
            client.get(f"/api/v1/me/accounts/{mine.pk}/statement", {"limit": 50}, secure=True).status_code
            == 200
        )
        timings["statement_api"].append(time.perf_counter() - started)
    counter.execute("SELECT count(*) FROM behaviours_behaviourrecord")
    records = counter.fetchone()[0]
    counter.execute("SELECT count(*) FROM behaviours_behaviourrecord WHERE account_id = %s", [mine.pk])
    own = counter.fetchone()[0]
    report(
        records_in_database=records,
        records_of_the_person=own,
        requests=rounds,
        account_page_p95_ms=round(percentile(timings["account_page"], 0.95) * 1000, 2),
        account_page_p50_ms=round(percentile(timings["account_page"], 0.5) * 1000, 2),
        statement_api_p95_ms=round(percentile(timings["statement_api"], 0.95) * 1000, 2),
        statement_api_p50_ms=round(percentile(timings["statement_api"], 0.5) * 1000, 2),
    )


# --- 7. check_ledger over everything the run wrote (20 million records after the export) -----------


def check_ledger(quick: bool) -> None:
    from django.db import connection

    from carbon_accounts.integrity import check_ledger as every_invariant

    # The export benchmark before this one grew the tables (see `analyze`).
    analyze()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM behaviours_behaviourrecord")
        records = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM carbon_accounts_posting")
        postings = cursor.fetchone()[0]
    reset_peak_rss()
    started = time.perf_counter()
    problems = every_invariant()
    elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    # The baseline: one pass over every record, the least any check of every entry reads.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, sum(reduction_g), sum(points) FROM behaviours_behaviourrecord GROUP BY 1"
        )
        for _row in cursor:
            pass
    scan_seconds = time.perf_counter() - started
    report(
        records=records,
        postings=postings,
        problems=len(problems),
        first_problems=problems[:5],
        seconds=round(elapsed, 2),
        peak_rss_mb=round(peak, 1),
        record_scan_seconds=round(scan_seconds, 2),
    )


BENCHMARKS = {
    "population": population,
    "record_single": record_single,
    "hordak_peer": hordak_peer,
    "http_records": http_records,
    "bulk": bulk,
    "filing": filing,
    "export": export,
    "statement": statement,
    "check_ledger": check_ledger,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=None)
    arguments = parser.parse_args()
    if arguments.name != "hordak_peer":
        setup_django()
    if arguments.name == "filing" and arguments.size:
        filing(arguments.quick, arguments.size)
    else:
        BENCHMARKS[arguments.name](arguments.quick)


if __name__ == "__main__":
    main()
