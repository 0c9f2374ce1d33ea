"""Reference data changes by two people: proposed with a reason, decided by someone else,
applied as new versions, kept as written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.forms.models import model_to_dict

from behaviours import reference_changes as changes
from behaviours import selectors
from behaviours.models import Behaviour, ChangeState, EmissionFactor, Methodology, ReferenceChange
from behaviours.reference import add_factor_version
from rewards.models import PointsRule

pytestmark = pytest.mark.django_db


def run_sql(statement: str, parameters: list[int]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, parameters)


def metro_factor() -> EmissionFactor:
    # The current row of the latest period (the reference data also keeps an earlier period's).
    factor = (
        EmissionFactor.objects.filter(activity="metro", region_id="GLOBAL", superseded_at__isnull=True)
        .order_by("-valid_from")
        .first()
    )
    assert factor is not None
    return factor


def new_metro_values(value: str = "0.03000") -> changes.FactorValues:
    current = metro_factor()
    return changes.FactorValues(
        valid_to=current.valid_to,
        value_kgco2e=Decimal(value),
        per_unit=current.per_unit,
        gwp_basis=current.gwp_basis,
        dataset="UK DESNZ GHG conversion factors 2025 (corrected)",
        source_ref=current.source_ref,
        licence=current.licence,
        status=current.status,
    )


def propose_metro(proposer, value: str = "0.03000"):  # type: ignore[no-untyped-def]
    current = metro_factor()
    return changes.propose_factor_change(
        proposer=proposer,
        activity="metro",
        region="GLOBAL",
        valid_from=current.valid_from,
        values=new_metro_values(value),
        reason="DESNZ published a corrected metro factor",
    )


def test_the_proposer_cannot_approve_their_own_change(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    proposer = make_staff("sustainability_office")
    change = propose_metro(proposer)
    before = model_to_dict(metro_factor())
    with pytest.raises(changes.ChangeRefused, match="You proposed this change"):
        changes.approve_change(change_id=change.pk, approver=proposer)
    with pytest.raises(changes.ChangeRefused, match="You proposed this change"):
        changes.refuse_change(change_id=change.pk, decider=proposer, reason="never mind")
    change.refresh_from_db()
    assert change.state == ChangeState.PROPOSED and change.decided_by is None
    assert model_to_dict(metro_factor()) == before


def test_the_database_refuses_a_decision_by_the_proposer(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    proposer = make_staff("sustainability_office")
    change = propose_metro(proposer)
    with pytest.raises(IntegrityError, match="change_decided_by_another_person"):
        run_sql(
            "UPDATE behaviours_referencechange SET state = 'approved', decided_by_id = proposed_by_id, "
            "decided_at = now() WHERE id = %s",
            [change.pk],
        )
    with pytest.raises(IntegrityError, match="change_decided_by_another_person"):
        run_sql(
            """INSERT INTO behaviours_referencechange
                   (kind, subject, key, current_row_id, before, after, reason, proposed_by_id, proposed_at,
                    state, decided_by_id, decided_at, decision_reason)
               VALUES ('caps', 'commute_walk', '{}', NULL, '{}', '{}', 'one person alone', %s, now(),
                       'approved', %s, now(), '')""",
            [proposer.pk, proposer.pk],
        )
    change.refresh_from_db()
    assert change.state == ChangeState.PROPOSED


def test_an_approved_factor_change_adds_a_version_and_leaves_the_old_row_as_it_was(
    reference, record, make_staff
) -> None:  # type: ignore[no-untyped-def]
    earlier = record("commute_metro", "10", region="GB").record
    old_row = metro_factor()
    old_values = model_to_dict(old_row)
    change = propose_metro(make_staff("sustainability_office"))
    current = metro_factor()
    assert (
        EmissionFactor.objects.filter(
            activity="metro", region_id="GLOBAL", valid_from=current.valid_from
        ).count()
        == 1
    )  # nothing yet
    approved = changes.approve_change(
        change_id=change.pk, approver=make_staff("sustainability_office"), note="checked against DESNZ"
    )

    new_row = metro_factor()
    assert approved.state == ChangeState.APPROVED and approved.applied_row_id == new_row.pk
    assert new_row.pk != old_row.pk and new_row.version == old_row.version + 1
    assert new_row.value_kgco2e == Decimal("0.03") and new_row.dataset.endswith("(corrected)")
    old_row.refresh_from_db()
    assert old_row.superseded_at is not None
    assert {k: v for k, v in model_to_dict(old_row).items() if k != "superseded_at"} == {
        k: v for k, v in old_values.items() if k != "superseded_at"
    }
    # The earlier record keeps its row and its grams; a new one is computed with the new version.
    assert [row.factor.pk for row in selectors.factor_rows_of(record_id=earlier.pk) if row.role == "a"] != [
        new_row.pk
    ]
    assert selectors.recompute(earlier) == earlier.reduction_g
    later = record("commute_metro", "10", region="GB", idempotency_key="after the change").record
    assert new_row.pk in [row.factor.pk for row in selectors.factor_rows_of(record_id=later.pk)]
    assert later.reduction_g != earlier.reduction_g
    # Who proposed, who approved, why and when are kept.
    assert approved.reason == "DESNZ published a corrected metro factor"
    assert approved.decision_reason == "checked against DESNZ"
    assert approved.decided_at is not None and approved.decided_at >= approved.proposed_at
    assert approved.proposed_by_id != approved.decided_by_id
    assert approved.before["value_kgco2e"] == str(old_row.value_kgco2e)


def test_a_refused_change_changes_nothing(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    factors = sorted(model_to_dict(f).items().__repr__() for f in EmissionFactor.objects.all())
    change = propose_metro(make_staff("sustainability_office"))
    with pytest.raises(changes.ChangeRefused, match="Say why"):
        changes.refuse_change(change_id=change.pk, decider=make_staff("sustainability_office"), reason="  ")
    refused = changes.refuse_change(
        change_id=change.pk, decider=make_staff("sustainability_office"), reason="The source is a draft."
    )
    assert refused.state == ChangeState.REFUSED and refused.applied_row_id is None
    assert sorted(model_to_dict(f).items().__repr__() for f in EmissionFactor.objects.all()) == factors
    with pytest.raises(changes.ChangeRefused, match="decided already"):
        changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))


def test_methodology_limits_and_points_rules_change_the_versioned_way(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    office, second = make_staff("sustainability_office"), make_staff("sustainability_office")
    current = Methodology.objects.get(
        behaviour_id="commute_metro", region_id="GLOBAL", superseded_at__isnull=True
    )
    methodology = changes.propose_methodology_change(
        proposer=office,
        behaviour="commute_metro",
        region="GLOBAL",
        valid_from=current.valid_from,
        values=changes.MethodologyValues(
            method=current.method,
            activity_a=current.activity_a,
            activity_b=current.activity_b,
            multiplier=Decimal("0.9"),
            fileable=current.fileable,
            note="a conservative ten per cent less",
        ),
        reason="conservative assumption asked by the exchange",
    )
    changes.approve_change(change_id=methodology.pk, approver=second)
    rows = Methodology.objects.filter(
        behaviour_id="commute_metro", region_id="GLOBAL", valid_from=current.valid_from
    )
    assert [(row.version, row.multiplier, row.superseded_at is None) for row in rows.order_by("version")] == [
        (current.version, current.multiplier, False),
        (current.version + 1, Decimal("0.9"), True),
    ]

    caps = changes.propose_caps_change(
        proposer=second,
        behaviour="commute_walk",
        values=changes.CapsValues(max_quantity_per_day=Decimal("12"), max_events_per_day=3),
        reason="walks over 12 km a day were not real",
    )
    changes.approve_change(change_id=caps.pk, approver=office)
    walk = Behaviour.objects.get(code="commute_walk")
    assert (walk.max_quantity_per_day, walk.max_events_per_day) == (Decimal("12"), 3)

    operator = make_staff("line_operator", reference["bank"])
    rule = changes.propose_points_rule_change(
        proposer=operator,
        line=reference["bank"],
        behaviour_code="",
        values=changes.PointsRuleValues(points_per_event=None, grams_per_point=20, daily_cap=400),
        reason="the budget for the year",
    )
    changes.approve_change(change_id=rule.pk, approver=office)
    rules = PointsRule.objects.filter(line=reference["bank"], behaviour_code="").order_by("version")
    assert [(r.grams_per_point, r.daily_cap, r.superseded_at is None) for r in rules] == [
        (10, 500, False),
        (20, 400, True),
    ]


def test_who_may_propose_and_decide(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    for role in ("auditor", "verifier"):
        with pytest.raises(changes.ChangeRefused, match="Your role"):
            propose_metro(make_staff(role))
    bank_operator = make_staff("line_operator", reference["bank"])
    with pytest.raises(changes.ChangeRefused, match="Your role"):
        propose_metro(bank_operator)  # the group's factors are the office's
    values = changes.PointsRuleValues(points_per_event=3, grams_per_point=None, daily_cap=None)
    with pytest.raises(changes.ChangeRefused, match="Your role"):
        changes.propose_points_rule_change(
            proposer=bank_operator, line=reference["life"], behaviour_code="", values=values, reason="x"
        )
    change = changes.propose_points_rule_change(
        proposer=make_staff("line_operator", reference["life"]),
        line=reference["life"],
        behaviour_code="e_policy",
        values=values,
        reason="e-policies earn 3 points",
    )
    for decider in (bank_operator, make_staff("auditor"), make_staff("verifier")):
        with pytest.raises(changes.ChangeRefused, match="Your role"):
            changes.approve_change(change_id=change.pk, approver=decider)
    changes.approve_change(change_id=change.pk, approver=make_staff("line_operator", reference["life"]))


def test_one_open_proposal_per_subject_and_no_approval_over_an_unseen_change(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    office = make_staff("sustainability_office")
    first = propose_metro(office)
    with pytest.raises(changes.ChangeRefused, match="already waiting"):
        propose_metro(make_staff("sustainability_office"), value="0.02")
    with pytest.raises(changes.ChangeRefused, match="nothing would change"):
        changes.propose_caps_change(
            proposer=office,
            behaviour="commute_walk",
            values=changes.CapsValues(
                Behaviour.objects.get(code="commute_walk").max_quantity_per_day,
                Behaviour.objects.get(code="commute_walk").max_events_per_day,
            ),
            reason="no change",
        )
    # A version added meanwhile (the reference files loaded again): the proposal is stale.
    values = new_metro_values("0.05")
    add_factor_version(
        activity="metro", region="GLOBAL", valid_from=metro_factor().valid_from, **values.__dict__
    )
    with pytest.raises(changes.ChangeRefused, match="changed since this was proposed"):
        changes.approve_change(change_id=first.pk, approver=make_staff("sustainability_office"))
    assert metro_factor().value_kgco2e == Decimal("0.05")


def test_a_change_is_kept_as_written(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    change = propose_metro(make_staff("sustainability_office"))
    for statement in (
        "UPDATE behaviours_referencechange SET reason = 'something else' WHERE id = %s",
        "DELETE FROM behaviours_referencechange WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match=r"kept as proposed|never deleted"):
            run_sql(statement, [change.pk])
    changes.refuse_change(change_id=change.pk, decider=make_staff("sustainability_office"), reason="draft")
    with pytest.raises(DatabaseError, match="decision is final"):
        run_sql(
            "UPDATE behaviours_referencechange SET state = 'approved', decision_reason = '' WHERE id = %s",
            [change.pk],
        )
    assert ReferenceChange.objects.get(pk=change.pk).state == ChangeState.REFUSED


def test_a_new_factor_row_is_version_one(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    values = new_metro_values("0.041")
    change = changes.propose_factor_change(
        proposer=make_staff("sustainability_office"),
        activity="metro",
        region="GLOBAL",
        valid_from=date(2030, 1, 1),
        values=values,
        reason="next year's factor",
    )
    assert change.current_row_id is None and change.before == {}
    changes.approve_change(change_id=change.pk, approver=make_staff("sustainability_office"))
    added = EmissionFactor.objects.get(activity="metro", region_id="GLOBAL", valid_from=date(2030, 1, 1))
    assert (added.version, added.value_kgco2e) == (1, Decimal("0.041"))


def test_check_ledger_finds_a_change_decided_by_its_proposer_and_a_disabled_guard(
    reference, make_staff
) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts.integrity import check_ledger

    approved = propose_metro(make_staff("sustainability_office"))
    changes.approve_change(change_id=approved.pk, approver=make_staff("sustainability_office"))
    waiting = changes.propose_caps_change(
        proposer=make_staff("sustainability_office"),
        behaviour="commute_walk",
        values=changes.CapsValues(None, 2),
        reason="fewer walks",
    )
    assert not [p for p in check_ledger() if "reference change" in p]
    # What an owner of the database could still do: drop the guards, then decide alone.
    run_sql("SET CONSTRAINTS ALL IMMEDIATE", [])
    run_sql("ALTER TABLE behaviours_referencechange DROP CONSTRAINT change_decided_by_another_person", [])
    run_sql("ALTER TABLE behaviours_referencechange DISABLE TRIGGER reference_change_kept", [])
    run_sql(
        "UPDATE behaviours_referencechange SET state = 'refused', decided_by_id = proposed_by_id, "
        "decided_at = now(), decision_reason = 'alone' WHERE id = %s",
        [waiting.pk],
    )
    problems = check_ledger()
    assert f"reference change {waiting.pk} was decided by the person who proposed it" in problems
    assert "the trigger that keeps reference changes as written is missing or disabled" in problems
