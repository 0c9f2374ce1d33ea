"""Recording many behaviours of a line at once: the use case behind the bulk API and imports.

Rows are checked one by one (plain rows without a serializer), split into independent parts,
and each part is recorded set-based in one transaction (behaviours.services.record_behaviours:
a few reads, one posting statement and a COPY), two parts side by side on their own connections
so that Python works on one while PostgreSQL writes the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import tzinfo
from functools import partial
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from rest_framework import serializers

from behaviours import services
from behaviours.record_input import BulkRecordInput, plain_row, record_output, source_of
from carbon_accounts import services as ledger
from carbon_accounts.models import BusinessLine
from config.api import Unparseable, error_fields


def bulk_results(line: BusinessLine, rows: list[Any], chunk: int = 2500) -> list[dict[str, Any]]:
    """A result per record. Rows are checked one by one, then recorded set-based in parts of
    about `chunk` rows (one transaction each, two side by side), so partial success is kept and
    a batch costs a few statements per part."""
    results: list[dict[str, Any] | None] = [None] * len(rows)
    valid: list[tuple[int, dict[str, Any]]] = []
    # One serializer checks every row (see record_input).
    form = BulkRecordInput()
    for index, row in enumerate(rows):
        if isinstance(row, Unparseable):
            results[index] = {
                "index": index,
                "outcome": "refused",
                "code": row.code,
                "message": row.message,
                "fields": {},
            }
            continue
        try:
            data = plain_row(row, bulk=True) or form.run_validation(row)
        except serializers.ValidationError as error:
            fields = error_fields(error.detail)
            name, messages = next(iter(fields.items()))
            results[index] = {
                "index": index,
                "outcome": "refused",
                "code": "invalid",
                "message": f"{name}: {messages[0]}",
                "fields": fields,
            }
            continue
        valid.append((index, data))
    parts = independent_parts(valid, chunk)
    # The request's language and time zone go with each part: another thread has its own.
    record = partial(_record_part, line, translation.get_language(), timezone.get_current_timezone())
    if connection.in_atomic_block or len(parts) < 2:
        # Inside a caller's transaction only its own connection sees what it wrote.
        recorded = list(map(record, parts))
    else:
        # Two connections: one part's Python runs while the other's statements and COMMIT run in
        # PostgreSQL. Parts share no person, evidence or key, so they can commit in any order.
        recorded = _side_by_side(record, parts)
    for part_results in recorded:
        for result in part_results:
            results[result["index"]] = result
    return [result for result in results if result is not None]


Row = tuple[int, dict[str, Any]]


def independent_parts(rows: list[Row], size: int) -> list[list[Row]]:
    """The rows in parts of about `size`, each part one transaction. Rows that share a person,
    an evidence id or an idempotency key are in the same part, in request order: the rules that
    count a person's day, the evidence of the line and the keys apply as in one transaction, and
    the parts can be recorded side by side in any order with the same results."""
    parent: dict[object, object] = {}

    def root(item: object) -> object:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]  # halve the path as it is walked
            item = parent[item]
        return item

    for _index, data in rows:
        linked = [("person", data["person"]), ("key", data["idempotency_key"])]
        if data.get("evidence_id"):
            linked.append(("evidence", data["evidence_id"]))
        first = root(linked[0])
        for other in linked[1:]:
            parent[root(other)] = first
    groups: dict[object, list[Row]] = {}
    for row in rows:
        groups.setdefault(root(("person", row[1]["person"])), []).append(row)
    parts: list[list[Row]] = []
    for group in groups.values():  # in the order of each group's first row
        if not parts or len(parts[-1]) + len(group) > size:
            parts.append([])
        parts[-1].extend(group)
    return parts


def _side_by_side(
    record: Callable[[list[Row]], list[dict[str, Any]]], parts: list[list[Row]], threads: int = 2
) -> list[list[dict[str, Any]]]:
    """`record` of every part, on `threads` threads with a database connection each (closed when
    the thread is done); the first error is raised once all threads have stopped."""
    remaining = iter(enumerate(parts))
    taking = threading.Lock()
    recorded: list[list[dict[str, Any]]] = [[] for _part in parts]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not errors:
                with taking:
                    item = next(remaining, None)
                if item is None:
                    return
                number, part = item
                recorded[number] = record(part)
        except BaseException as error:  # raised again in the calling thread
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, name=f"bulk-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return recorded


# Attempts at a part that lost a race (see _record_part).
_RACE_ATTEMPTS = 3


def _record_part(
    line: BusinessLine, language: str | None, zone: tzinfo, part: list[Row]
) -> list[dict[str, Any]]:
    """Record a part; a result per row. A concurrent request that commits a record with one of
    the part's keys or evidence ids first makes the part's insert break a unique constraint and
    its transaction roll back (as does a deadlock with a request that met the same keys in
    another order). Recorded again, the part reads what that request committed, and the rules
    replay or refuse those rows as if they had come after it."""
    with translation.override(language), timezone.override(zone):
        for _attempt in range(_RACE_ATTEMPTS):
            try:
                return _record_part_once(line, part)
            except DatabaseError as error:
                if not services.lost_race(error):
                    raise
        # Lost every time to requests still writing the same keys: nothing of the part was kept.
        message = gettext(
            "A request with the same key or evidence was being recorded at the same time, so nothing of this record was written. Send it again."
        )
        return [
            {
                "index": index,
                "outcome": "refused",
                "code": "idempotency_in_flight",
                "message": message,
                "fields": {},
            }
            for index, _data in part
        ]


def _record_part_once(line: BusinessLine, part: list[Row]) -> list[dict[str, Any]]:
    """Open the part's people and record its rows in one transaction."""
    with transaction.atomic():
        people = ledger.open_people(
            line=line, people={data["person"]: data.get("person_name") or data["person"] for _i, data in part}
        )
        accounts = people.accounts
        requests = [
            services.RecordRequest(
                line=line,
                account=accounts[data["person"]],
                behaviour_code=data["behaviour"],
                quantity=data["quantity"],
                occurred_on=data["occurred_on"],
                source=source_of(line),
                idempotency_key=data["idempotency_key"],
                region=data.get("region"),
                attributes={
                    name: value for name, value in (data.get("attributes") or {}).items() if value is not None
                },
                evidence_id=data.get("evidence_id") or "",
                external_programme=data.get("external_programme") or "",
            )
            for _i, data in part
        ]
        outcomes = services.record_behaviours(line=line, requests=requests)
        # A person this part opened whose every record was refused keeps no account.
        recorded = {
            request.account.pk
            for request, outcome in zip(requests, outcomes, strict=True)
            if not isinstance(outcome, services.RecordRefused)
        }
        ledger.discard_openings(account_ids=sorted(people.new - recorded))
        results: list[dict[str, Any]] = []
        for (index, _data), result in zip(part, outcomes, strict=True):
            if isinstance(result, services.RecordRefused):
                results.append(
                    {
                        "index": index,
                        "outcome": "refused",
                        "code": result.code,
                        "message": result.message,
                        "fields": {result.field: [result.message]} if result.field else {},
                    }
                )
            else:
                record = result.record
                results.append(
                    {
                        "index": index,
                        "outcome": "held" if record.status == "pending_review" else "accepted",
                        "record": record_output(record, replayed=not result.created),
                    }
                )
        return results
