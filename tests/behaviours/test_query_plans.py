"""The plans PostgreSQL keeps for the recording path, made while the tables are small.

The recording transaction runs its statements' generic plans (a plan made once per connection,
for any parameter values). A plan made in a new database, or before statistics are taken, is
kept for the connection's life however large the tables grow, so it must read the person's
day through the person's own index entries, never through an index shared by everyone who
records the same behaviour (bench/NOTES.md).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.utils import timezone

from behaviours import services
from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind

pytestmark = pytest.mark.django_db


def _generic_plan(sql: str, values: dict[str, str]) -> str:
    order: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, sql)
    literals = ", ".join("'" + values[name].replace("'", "''") + "'" for name in order)
    with transaction.atomic(), connection.cursor() as cursor:
        # A generic plan, with every read on its index: what a prepared statement keeps.
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE person_day AS {prepared}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE person_day({literals})")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE person_day")


def test_a_persons_day_is_read_through_their_own_index_entries_in_a_new_database(reference) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate().isoformat()
    plan = _generic_plan(
        services._PERSON_DAY_SQL,
        {
            "account": "1",
            "line": str(reference["bank"].pk),
            "behaviour": "green_travel_metro",
            "day": today,
            "evidence": "",
            "source": "api:bank",
            "key": "k-1",
            "claim": "a" * 64,
            "holder": "1",
            "kind": "metro",
        },
    )
    record_scans = [line for line in plan.splitlines() if "on behaviours_behaviourrecord" in line]
    assert record_scans, plan
    assert any("record_claimed_once" in line for line in record_scans), plan
    assert "one_declaration_per_kind" in plan, plan
    # The day's count (for the caps and the plausibility rules) goes through the person's entries of record_person_days;
    # the replay, the evidence and the first claim of the activity through their unique indexes.
    # No sequential scan, and no index of the behaviour alone.
    assert all(
        any(
            name in line
            for name in (
                "record_person_days",
                "record_idempotent_per_source",
                "evidence_unique_per_line",
                "record_claimed_once",
            )
        )
        for line in record_scans
    ), plan


def test_a_single_records_statements_are_planned_once_not_on_every_record(reference) -> None:  # type: ignore[no-untyped-def]
    """The person's opening and the posting take their rows from arrays. A plan made for the
    parameters' values sees a one-element array and is cheaper than any plan made once, so
    PostgreSQL would plan both statements again on every record (about a third of their time)."""
    line = reference["bank"]
    # A line with people, its statistics taken: in an empty table every plan costs the same.
    ledger.open_people(line=line, people={f"known-{number}": "" for number in range(5000)})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE carbon_accounts_account")
    for number in range(14):
        person = Account(line=line, kind=AccountKind.PERSONAL, external_ref=f"plans-{number}")
        outcome = services.record_behaviour(
            request=services.RecordRequest(
                line=line,
                account=person,
                behaviour_code="green_travel_metro",
                quantity="10",
                occurred_on=timezone.localdate(),
                source="tests",
                idempotency_key=f"plans-{number}",
                region="CN-SZ",
            )
        )
        assert outcome.created and outcome.record.status == "accepted"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement ~ '^\\s*WITH (wanted|summary) AS'"
        )
        plans = {statement.split()[1]: (generic, custom) for statement, generic, custom in cursor.fetchall()}
    # psycopg prepares a statement on its fifth run; PostgreSQL then tries five plans for the
    # values before it compares them with the plan made once, and keeps that one.
    assert set(plans) == {"wanted", "summary"}, plans
    for generic, custom in plans.values():
        assert custom == 5 and generic >= 4, plans
