"""The reference changes pages: one staff member proposes, another decides, everyone reads the history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from behaviours.models import Behaviour, ChangeState, EmissionFactor, ReferenceChange
from rewards.models import PointsRule
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_staff(client, user)
    return client


def get(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path, secure=True, headers={"accept-language": "en"})
    assert response.status_code == status, (path, response.status_code)
    return response.content.decode()


def post(client: Client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(path, data, secure=True, headers={"accept-language": "en"})


def metro() -> EmissionFactor:
    # The current row of the latest period (the reference data also keeps an earlier period's).
    factor = (
        EmissionFactor.objects.filter(activity="metro", region_id="GLOBAL", superseded_at__isnull=True)
        .order_by("-valid_from")
        .first()
    )
    assert factor is not None
    return factor


def factor_form(**changes: str) -> dict[str, str]:
    row = metro()
    data = {
        "activity": row.activity,
        "region": row.region_id,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": "",
        "value_kgco2e": "0.0301",
        "per_unit": row.per_unit,
        "gwp_basis": row.gwp_basis,
        "dataset": "UK DESNZ GHG conversion factors 2025 (corrected)",
        "source_ref": row.source_ref,
        "licence": row.licence,
        "status": row.status,
        "note": "",
        "reason": "DESNZ corrected the London Underground factor",
    }
    data.update(changes)
    return data


def test_one_proposes_another_approves_and_the_history_keeps_both(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    proposer_user, approver_user = make_staff("sustainability_office"), make_staff("sustainability_office")
    proposer, approver = signed_in(proposer_user), signed_in(approver_user)
    old = metro()

    # The form starts from the row in force that was chosen on the factor versions page.
    assert f"/staff/changes/new/factor/?factor={old.pk}" in get(proposer, "/staff/factors/")
    form = get(proposer, f"/staff/changes/new/factor/?factor={old.pk}")
    assert 'value="0.0278"' in form and f'value="{old.dataset}"' in form
    response = post(proposer, "/staff/changes/new/factor/", factor_form())
    assert response.status_code == 302 and response["Location"] == "/staff/changes/"
    change = ReferenceChange.objects.get()
    assert metro().pk == old.pk  # nothing in force changed yet

    queue = get(proposer, "/staff/changes/")
    assert "metro@GLOBAL@2025-01-01" in queue and "DESNZ corrected the London Underground factor" in queue
    assert "You proposed this change: another staff member decides it." in queue
    assert f'data-testid="decide-{change.pk}"' not in queue
    # The proposer's own approval is refused on the page too, and changes nothing.
    refused = post(proposer, f"/staff/changes/{change.pk}/", {"decision": "approve", "reason": ""})
    assert refused.status_code == 400
    assert "You proposed this change" in refused.content.decode()
    assert ReferenceChange.objects.get().state == ChangeState.PROPOSED and metro().pk == old.pk

    assert f'data-testid="decide-{change.pk}"' in get(approver, "/staff/changes/")
    page = get(approver, f"/staff/changes/{change.pk}/")
    assert "<del>0.0278</del>" in page and "<ins>0.0301</ins>" in page
    approved = post(
        approver, f"/staff/changes/{change.pk}/", {"decision": "approve", "reason": "matches DESNZ"}
    )
    assert approved.status_code == 302 and approved["Location"] == "/staff/changes/history/"
    assert metro().value_kgco2e == Decimal("0.0301") and metro().version == old.version + 1

    history = get(proposer, "/staff/changes/history/")
    assert f"Proposed by {proposer_user.email}" in history and f"Decided by {approver_user.email}" in history
    assert "matches DESNZ" in history and "approved and applied" in history
    assert "Nothing is waiting for a decision." in get(proposer, "/staff/changes/")


def test_a_refusal_needs_a_reason_and_changes_nothing(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    proposer, decider = (
        signed_in(make_staff("sustainability_office")),
        signed_in(make_staff("sustainability_office")),
    )
    post(proposer, "/staff/changes/new/factor/", factor_form())
    change = ReferenceChange.objects.get()
    no_reason = post(decider, f"/staff/changes/{change.pk}/", {"decision": "refuse", "reason": " "})
    assert no_reason.status_code == 400 and "Say why the change is refused." in no_reason.content.decode()
    no_button = post(decider, f"/staff/changes/{change.pk}/", {"reason": "pressed nothing"})
    assert no_button.status_code == 400 and "Choose to approve or to refuse." in no_button.content.decode()
    assert 'name="decision" value="approve"' in no_button.content.decode()
    assert '<select name="decision"' not in no_button.content.decode()
    post(
        decider,
        f"/staff/changes/{change.pk}/",
        {"decision": "refuse", "reason": "The correction is a draft."},
    )
    change.refresh_from_db()
    assert change.state == ChangeState.REFUSED and change.decision_reason == "The correction is a draft."
    assert EmissionFactor.objects.filter(
        activity="metro", valid_from=metro().valid_from
    ).count() == 1 and metro().value_kgco2e == Decimal("0.0278")
    assert "The correction is a draft." in get(proposer, "/staff/changes/history/")


def test_bad_proposals_are_form_errors(reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    office = signed_in(make_staff("sustainability_office"))
    for data, message in (
        (factor_form(reason=""), "Say why the change is needed."),
        (factor_form(value_kgco2e="1e5"), "Enter the number in plain digits"),
        (factor_form(value_kgco2e="0.0278", dataset=metro().dataset), "nothing would change"),
        (factor_form(valid_to="2024-01-01"), "A factor cannot end before it starts."),
        (factor_form(activity="Metro Line"), "An activity code is lower-case letters"),
    ):
        response = post(office, "/staff/changes/new/factor/", data)
        assert response.status_code == 400 and message in response.content.decode(), message
    assert not ReferenceChange.objects.exists()
    get(office, "/staff/changes/new/nothing/", status=404)
    get(office, "/staff/changes/999999/", status=404)
    methodology = post(
        office,
        "/staff/changes/new/methodology/",
        {
            "behaviour": "commute_metro",
            "region": "GLOBAL",
            "valid_from": "2025-01-01",
            "method": "difference",
            "activity_a": "car_petrol_average",
            "activity_b": "teleport",
            "multiplier": "1",
            "reason": "try",
        },
    )
    assert (
        methodology.status_code == 400
        and "No emission factor exists for activity" in methodology.content.decode()
    )


def test_an_operator_proposes_their_lines_points_rule_and_another_operator_approves(
    reference, make_staff
) -> None:  # type: ignore[no-untyped-def]
    bank = reference["bank"]
    first, second = signed_in(make_staff("line_operator", bank)), signed_in(make_staff("line_operator", bank))
    # An operator proposes points rules of their own line only, never the group's factors.
    get(first, "/staff/changes/new/factor/", status=403)
    form = get(first, "/staff/changes/new/points-rule/?line=bank&behaviour=")
    assert 'value="10"' in form and 'value="500"' in form
    response = post(
        first,
        "/staff/changes/new/points-rule/",
        {
            "line": "bank",
            "behaviour": "",
            "points_per_event": "",
            "grams_per_point": "20",
            "daily_cap": "400",
            "reason": "the year's budget",
        },
    )
    assert response.status_code == 302
    elsewhere = post(
        first,
        "/staff/changes/new/points-rule/",
        {"line": "life", "behaviour": "", "grams_per_point": "20", "reason": "not my line"},
    )
    assert elsewhere.status_code == 400  # life is not among the lines offered
    change = ReferenceChange.objects.get()
    post(second, f"/staff/changes/{change.pk}/", {"decision": "approve", "reason": ""})
    rule = PointsRule.objects.get(line=bank, behaviour_code="", superseded_at__isnull=True)
    assert (rule.grams_per_point, rule.daily_cap, rule.version) == (20, 400, 2)


def test_the_admin_changes_no_reference_data_and_shows_changes_read_only(
    reference, make_staff, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    proposer = signed_in(make_staff("sustainability_office"))
    post(proposer, "/staff/changes/new/factor/", factor_form())
    change = ReferenceChange.objects.get()
    root = django_user_model.objects.create_superuser("root@test.example", "root@test.example", "x-Secret-1")
    TOTP.activate(root, generate_totp_secret())
    admin = signed_in(root)
    assert "metro@GLOBAL@2025-01-01" in get(admin, "/admin/behaviours/referencechange/")
    for path in (
        "/admin/behaviours/referencechange/add/",
        f"/admin/behaviours/referencechange/{change.pk}/delete/",
        "/admin/behaviours/emissionfactor/add/",
        "/admin/rewards/pointsrule/add/",
    ):
        assert admin.get(path, secure=True).status_code == 403, path
    assert (
        post(admin, f"/admin/behaviours/referencechange/{change.pk}/change/", {"reason": "x"}).status_code
        == 403
    )
    walk = Behaviour.objects.get(code="commute_walk")
    page = get(admin, f"/admin/behaviours/behaviour/{walk.pk}/change/")
    assert 'name="max_quantity_per_day"' not in page and 'name="max_events_per_day"' not in page
    change.refresh_from_db()
    assert (
        change.reason == "DESNZ corrected the London Underground factor"
        and change.state == ChangeState.PROPOSED
    )
