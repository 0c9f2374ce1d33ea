from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from behaviours.models import BehaviourRecord, EmissionFactor, RecordStatus
from behaviours.reference import REFERENCE_DIR, load_reference_data
from carbon_accounts.models import Account
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def quantify(*args: str) -> dict:
    out = StringIO()
    call_command("quantify", *args, stdout=out)
    return json.loads(out.getvalue())


def test_quantify_prints_the_figure_and_every_row_behind_it(reference) -> None:  # type: ignore[no-untyped-def]
    result = quantify("commute_metro", "10", "--region", "GB", "--date", "2026-05-03")
    assert result["reduction_g"] == 1349
    assert result["methodology"] == "commute_metro@GLOBAL@2025-01-01"
    assert result["fileable"] is True
    assert [(f["activity"], f["region"], f["valid_from"], f["value"]) for f in result["factors"]] == [
        ("car_petrol_average", "GLOBAL", "2025-01-01", "0.16272"),
        ("metro", "GLOBAL", "2025-01-01", "0.0278"),
    ]
    assert "UK DESNZ" in result["factors"][0]["source"]
    carpool = quantify(
        "commute_carpool", "20", "--region", "GLOBAL", "--date", "2026-05-03", "--occupants", "4"
    )
    assert carpool["reduction_g"] == 2441


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["teleport", "1"], "unknown behaviour"),
        (["commute_metro", "-1"], "must be positive"),
        (["commute_metro", "lots"], "not a number"),
        (["commute_metro", "1", "--date", "yesterday"], "bad date"),
        (
            ["office_electricity_saved", "1", "--region", "GLOBAL", "--date", "2026-01-01"],
            "No emission factor for 'grid_electricity'",
        ),
        (["qr_payment", "1"], "earns points only"),
    ],
)
def test_quantify_fails_clearly(reference, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=message):
        call_command("quantify", *args, stdout=StringIO())


def test_loading_twice_changes_nothing_and_a_changed_row_is_a_new_version(reference, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert load_reference_data().summary() == "nothing changed"
    for name in ("behaviours.csv", "methodologies.csv", "regions.csv"):
        (tmp_path / name).write_text((REFERENCE_DIR / name).read_text())
    factors = (REFERENCE_DIR / "emission_factors.csv").read_text().replace("0.02780", "0.02790")
    (tmp_path / "emission_factors.csv").write_text(factors)
    report = load_reference_data(tmp_path)
    assert report.new_versions == {"emission factors": 1}
    versions = EmissionFactor.objects.filter(activity="metro", valid_from="2025-01-01").order_by("version")
    assert [(str(f.value_kgco2e.normalize()), f.version, f.superseded_at is None) for f in versions] == [
        ("0.0278", 1, False),
        ("0.0279", 2, True),
    ]
    assert "OGL-3.0" in {f.licence for f in versions}


def test_import_behaviours_records_a_csv_and_a_rerun_records_nothing_twice(reference, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate().isoformat()
    path = tmp_path / "bank-day.csv"
    path.write_text(
        "person,behaviour,quantity,occurred_on,region,evidence_id\n"
        f"C1,green_travel_metro,10,{today},CN-SZ,R-1\n"
        f"C2,e_statement,1,{today},,S-9\n"
        f"C1,green_travel_metro,-4,{today},CN-SZ,R-2\n"
        f"C3,commute_metro,4,{today},,R-3\n"
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 row"):
        call_command("import_behaviours", str(path), "--line", "bank", stdout=out, stderr=err)
    assert "accepted 2" in out.getvalue()
    assert "row 4: refused (invalid_quantity)" in err.getvalue()
    assert "row 5: refused (behaviour_not_for_audience)" in err.getvalue()
    assert BehaviourRecord.objects.get(evidence_id="R-1").reduction_g == 467
    # C3's only row was refused: no account is opened for them.
    assert set(
        Account.objects.filter(line__code="bank", external_ref__in=["C1", "C2", "C3"]).values_list(
            "external_ref", flat=True
        )
    ) == {"C1", "C2"}
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_behaviours", str(path), "--line", "bank", stdout=out, stderr=StringIO())
    assert "replayed 2" in out.getvalue()
    assert BehaviourRecord.objects.count() == 2


def test_import_needs_a_known_line_and_the_columns(reference, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text("who,what\n1,2\n")
    with pytest.raises(CommandError, match="unknown business line"):
        call_command("import_behaviours", str(path), "--line", "nope")
    with pytest.raises(CommandError, match="lacks column"):
        call_command("import_behaviours", str(path), "--line", "bank")


# --- Pages ------------------------------------------------------------------------------------


def test_methodology_page_lists_every_behaviour_and_computes(client: Client, reference) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/methodology/", secure=True, headers={"accept-language": "en"}).content.decode()
    assert page.count('<code class="muted">') == 38
    assert "Open Government Licence v3.0" in page
    result = client.get(
        "/methodology/",
        {"behaviour": "commute_metro", "quantity": "10", "region": "CN-SZ", "day": "2026-05-03"},
        secure=True,
    ).content.decode()
    assert "467 克二氧化碳当量" in result and "commute_metro@CN-SZ@2022-09-01" in result
    missing = client.get(
        "/methodology/",
        {"behaviour": "office_electricity_saved", "quantity": "1", "region": "GLOBAL", "day": "2026-05-03"},
        secure=True,
    )
    assert missing.status_code == 200 and "No emission factor for" in missing.content.decode()


def test_an_employee_records_a_commute_on_the_web_and_sees_how_it_was_computed(
    client: Client, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    client.force_login(person.holder)
    form = client.get("/me/record/", secure=True)
    key = form.context["form"].initial["idempotency_key"]
    response = client.post(
        "/me/record/",
        {
            "account": person.pk,
            "behaviour": "commute_metro",
            "quantity": "5",
            "round_trip": "on",
            "occurred_on": timezone.localdate().isoformat(),
            "idempotency_key": key,
        },
        secure=True,
        follow=True,
        headers={"accept-language": "en"},
    )
    page = response.content.decode()
    assert "0.47 kg" in page  # 10 passenger-km in Shenzhen (round trip) = 467 g
    assert "commute_metro@CN-SZ@2022-09-01" in page and "metro_reduction_sz" in page
    assert "manage.py quantify commute_metro 10 --region CN-SZ" in page
    # Submitting the same form twice (a double tap) records once.
    client.post(
        "/me/record/",
        {
            "account": person.pk,
            "behaviour": "commute_metro",
            "quantity": "5",
            "round_trip": "on",
            "occurred_on": timezone.localdate().isoformat(),
            "idempotency_key": key,
        },
        secure=True,
    )
    assert BehaviourRecord.objects.count() == 1


def test_a_refusal_is_shown_next_to_its_field(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    client.force_login(person.holder)
    response = client.post(
        "/me/record/",
        {
            "account": person.pk,
            "behaviour": "commute_carpool",
            "quantity": "12",
            "occurred_on": timezone.localdate().isoformat(),
            "idempotency_key": "k",
            "occupants": "12",
        },
        secure=True,
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["occupants"] == ["Occupants must be from 2 to 8, not 12."]
    assert 'id="id_occupants_error"' in response.content.decode()
    assert BehaviourRecord.objects.count() == 0


def test_a_person_cannot_see_another_persons_record(client: Client, record, make_person) -> None:  # type: ignore[no-untyped-def]
    saved = record("commute_walk", "3").record
    client.force_login(make_person("employees").holder)
    assert client.get(f"/me/records/{saved.pk}/", secure=True).status_code == 404


def test_staff_approve_a_held_record_from_the_review_queue(client: Client, record, make_staff) -> None:  # type: ignore[no-untyped-def]
    held = record("commute_cycle", "30", attributes={"duration_minutes": "20"}).record
    sign_in_staff(client, make_staff("sustainability_office"))
    assert "implausible speed" in client.get("/review/", secure=True).content.decode()
    client.post(f"/review/{held.pk}/decision/", {"decision": "approve"}, secure=True)
    held.refresh_from_db()
    assert held.status == RecordStatus.ACCEPTED


def test_people_cannot_reach_the_review_queue(client: Client, record, make_person) -> None:  # type: ignore[no-untyped-def]
    held = record("commute_cycle", "30", attributes={"duration_minutes": "20"}).record
    client.force_login(make_person("bank").holder)
    assert client.get("/review/", secure=True).status_code == 403
    client.post(f"/review/{held.pk}/decision/", {"decision": "approve"}, secure=True)
    held.refresh_from_db()
    assert held.status == RecordStatus.PENDING_REVIEW
