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
        # The recording transaction's own settings: generic plans, no sequential scans.
        cursor.execute(services._GENERIC_PLANS_SQL)
        cursor.execute(f"PREPARE person_day AS {prepared}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE person_day({literals})")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE person_day")


@pytest.mark.parametrize("by_reference", [False, True], ids=["by account id", "by reference in the line"])
def test_a_persons_day_is_read_through_their_own_index_entries_in_a_new_database(
    reference, by_reference
) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate().isoformat()
    plan = _generic_plan(
        services._person_day_sql(by_reference),
        {
            "person": "C-1001",
            "account": "1",
            "line": str(reference["bank"].pk),
            "behaviour": "green_travel_metro",
            "day": today,
            "counting": "{accepted,pending_review}",
            "evidence": "",
            "source": "api:bank",
            "key": "k-1",
            "earned_on": today,
        },
    )
    record_scans = [line for line in plan.splitlines() if "on behaviours_behaviourrecord" in line]
    assert record_scans, plan
    # The day's count (for the caps and the plausibility rules) goes through the person's entries of record_daily_caps;
    # the replay and the evidence through their unique indexes. No sequential scan, and no
    # index of the behaviour alone.
    assert all(
        any(
            name in line
            for name in ("record_daily_caps", "record_idempotent_per_source", "evidence_unique_per_line")
        )
        for line in record_scans
    ), plan
    # The person named by their reference is found through the line's unique index of them.
    assert "Seq Scan on carbon_accounts_account" not in plan, plan
