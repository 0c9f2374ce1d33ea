"""A record that read the corrected row before an approval and commits after it: check_ledger
names it, and the approval's second pass corrects it. The race is real: the recording waits in
PostgreSQL on a key another transaction holds while the approval commits."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.utils import timezone

from behaviours import reference_changes as changes
from behaviours.models import BehaviourRecord, RecordCorrection
from behaviours.services import RecordOutcome, RecordRequest, record_behaviour
from behaviours.tasks import post_late_corrections
from carbon_accounts.integrity import check_ledger
from tests.behaviours.test_restatement_preview import propose_metro

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_on_a_lock(database: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [database],
        )
        return int(cursor.fetchone()[0])


def test_a_record_committed_during_the_approval_is_named_and_then_corrected(  # type: ignore[no-untyped-def]
    record, make_person, make_staff
) -> None:
    # A ride before the change, so the approval has records to correct and its people to lock.
    first = record("commute_metro", "10", line="employees", region="GB").record
    late_person = make_person("employees")
    change = propose_metro(make_staff("sustainability_office"))
    settings = connection.settings_dict
    database = settings["NAME"]

    # Another transaction holds the key the late record will use: its insert waits there, after it
    # has read the reference data (the old row) and posted its entry.
    holder = psycopg.connect(
        dbname=database, host=settings["HOST"], port=settings["PORT"], user=settings["USER"]
    )
    holder.execute(
        """INSERT INTO behaviours_behaviourrecord
               (line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on,
                region_id, attributes, evidence_id, source, idempotency_key, payload_digest, status,
                review_reason, reduction_g, basis_id, ghg_category, fileable, claim_basis, points,
                created_at, decided_by, claim_fingerprint, external_programme)
           SELECT line_id, account_id, behaviour_id, quantity, counted_quantity, '', occurred_on,
                  region_id, attributes, '', 'tests', 'late-1', 'x', 'pending_review',
                  '', 0, basis_id, ghg_category, false, claim_basis, 0, now(), '', '', ''
             FROM behaviours_behaviourrecord WHERE id = %s""",
        [first.pk],
    )
    outcome: list[RecordOutcome] = []

    def record_late() -> None:
        try:
            outcome.append(
                record_behaviour(
                    request=RecordRequest(
                        line=late_person.line,
                        account=late_person,
                        behaviour_code="commute_metro",
                        quantity="10",
                        occurred_on=timezone.localdate(),
                        source="tests",
                        idempotency_key="late-1",
                        region="GB",
                    )
                )
            )
        finally:
            connections.close_all()

    late = threading.Thread(target=record_late)
    late.start()
    deadline = time.monotonic() + 20
    while _waiting_on_a_lock(database) == 0:
        assert time.monotonic() < deadline, "the late record never reached its insert"
        time.sleep(0.05)
    changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))
    holder.rollback()
    holder.close()
    late.join(timeout=20)
    assert outcome and outcome[0].created
    straggler = BehaviourRecord.objects.get(pk=outcome[0].record.pk)
    # It was computed with the old row and missed by the approval's own pass.
    assert straggler.basis_id == first.basis_id
    assert RecordCorrection.objects.filter(record_id=first.pk).count() == 1
    assert not RecordCorrection.objects.filter(record_id=straggler.pk).exists()
    assert check_ledger() == [
        f"invariant 4: 1 record(s) still counted with the row that change {change.pk} corrected; "
        "the late pass of its corrections (behaviours.post_late_corrections) posts them"
    ]

    # The second pass, as the worker runs it after the approval: the straggler is restated like
    # the first ride, and a third run changes nothing.
    assert post_late_corrections(change.pk) == 1
    corrections = {c.record_id: c for c in RecordCorrection.objects.all()}
    assert corrections[straggler.pk].restated_g == corrections[first.pk].restated_g
    assert corrections[straggler.pk].difference_g == corrections[first.pk].difference_g != 0
    late_person.refresh_from_db()
    assert late_person.balance_g == straggler.reduction_g + corrections[straggler.pk].difference_g
    assert post_late_corrections(change.pk) == 0
    assert check_ledger() == []
