"""What the ledger's invariants hang on cannot be changed or deleted: not in the admin, and not
with raw SQL (the database's triggers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from behaviours import points_lots
from behaviours.models import BehaviourRecord
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, Transfer
from rewards import services as rewards
from rewards.models import GreenRight, PointsExpiry, Redemption
from tests.conftest import sign_in_staff


@pytest.fixture
def history(record, reference):  # type: ignore[no-untyped-def]
    """A recorded behaviour with its points, a redemption, and an expiry: one row of each."""
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        old = record("commute_metro", "10", region="GB", line="employees").record
    saved = record("commute_metro", "10", region="GB", line="employees").record
    right = GreenRight.objects.create(
        line=reference["employees"],
        code="tree",
        kind="tree_planting",
        name_en="Plant a tree",
        name_zh="种一棵树",
        cost_points=1,
        valid_from=timezone.localdate() - timedelta(days=1),
    )
    redemption = rewards.redeem(
        account=saved.account, green_right_id=right.pk, idempotency_key="r1"
    ).redemption
    # The points of the record of 400 days ago lapse (all but the 1 point redeemed).
    assert points_lots.expire_points() == old.points - 1
    assert check_ledger() == []
    return {
        "record": saved,
        "redemption": redemption,
        "expiry": PointsExpiry.objects.get(),
        "account": saved.account,
        "other_line": reference["bank"],
    }


@pytest.fixture
def admin_client(client: Client, django_user_model):  # type: ignore[no-untyped-def]
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    admin = django_user_model.objects.create_superuser("root@test.example", "root@test.example", "x-Secret-1")
    TOTP.activate(admin, generate_totp_secret())
    sign_in_staff(client, admin)
    return client


def test_the_admin_shows_an_accounts_line_read_only_and_ignores_a_posted_one(admin_client, history) -> None:  # type: ignore[no-untyped-def]
    account = history["account"]
    url = f"/admin/carbon_accounts/account/{account.pk}/change/"
    page = admin_client.get(url, secure=True).content.decode()
    for field in ("kind", "line", "holder", "external_ref", "balance_g", "balance_points"):
        assert f'name="{field}"' not in page, field
    assert 'name="display_name"' in page
    response = admin_client.post(
        url,
        {
            "display_name": "Renamed",
            "team": "",
            "office": "",
            "line": history["other_line"].pk,
            "kind": AccountKind.LINE,
            "balance_g": 999,
        },
        secure=True,
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.display_name == "Renamed"
    assert account.line_id != history["other_line"].pk and account.kind == AccountKind.PERSONAL
    assert check_ledger() == []


@pytest.mark.parametrize(
    ("model", "can_add"),
    [
        (Account, False),
        (Transfer, False),
        (Redemption, False),
        (BehaviourRecord, False),
        (PointsExpiry, None),  # not in the admin at all
    ],
)
def test_the_admin_offers_no_deletion_of_ledger_rows(admin_client, history, model, can_add) -> None:  # type: ignore[no-untyped-def]
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    if can_add is None:
        assert admin_client.get(base, secure=True).status_code == 404
        return
    row = model.objects.order_by("pk").first()
    listing = admin_client.get(base, secure=True)
    assert listing.status_code == 200
    assert "delete_selected" not in listing.content.decode()
    assert admin_client.get(f"{base}{row.pk}/delete/", secure=True).status_code == 403
    assert admin_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}, secure=True).status_code == 403
    assert admin_client.get(f"{base}add/", secure=True).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_the_admin_refuses_a_personal_token_for_staff(admin_client, make_staff) -> None:  # type: ignore[no-untyped-def]
    staff = make_staff("auditor")
    response = admin_client.post(
        "/admin/carbon_accounts/apicredential/add/",
        {"name": "laptop", "user": staff.pk, "rate_per_minute": 6000},
        secure=True,
        headers={"accept-language": "en"},
    )
    assert "Staff get no personal API token" in response.content.decode()
    assert not staff.api_credentials.exists()


def refused(sql: str, parameters: list[int]) -> None:
    """The statement fails on a trigger's refusal (not on some other error)."""
    with (
        pytest.raises(DatabaseError, match=r"refused|never change"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, parameters)


def test_the_database_refuses_changing_or_deleting_what_the_ledger_hangs_on(history) -> None:  # type: ignore[no-untyped-def]
    account, record = history["account"], history["record"]
    redemption, expiry = history["redemption"], history["expiry"]
    refused(
        "UPDATE carbon_accounts_account SET line_id = %s WHERE id = %s",
        [history["other_line"].pk, account.pk],
    )
    refused("UPDATE carbon_accounts_account SET kind = 'line' WHERE id = %s", [account.pk])
    transfer = Transfer.objects.filter(posting_id=record.posting_id).first()
    assert transfer is not None
    refused("DELETE FROM carbon_accounts_transfer WHERE id = %s", [transfer.pk])
    refused("DELETE FROM carbon_accounts_posting WHERE id = %s", [record.posting_id])
    refused("DELETE FROM rewards_redemption WHERE id = %s", [redemption.pk])
    refused("UPDATE rewards_redemption SET points = 0 WHERE id = %s", [redemption.pk])
    refused("DELETE FROM rewards_pointsexpiry WHERE id = %s", [expiry.pk])
    refused("UPDATE rewards_pointsexpiry SET points = 0 WHERE id = %s", [expiry.pk])
    refused("UPDATE rewards_pointsexpiry SET account_id = %s WHERE id = %s", [account.pk + 1, expiry.pk])
    refused("UPDATE rewards_redemption SET account_id = %s WHERE id = %s", [account.pk + 1, redemption.pk])
    refused("DELETE FROM behaviours_behaviourrecord WHERE id = %s", [record.pk])
    refused("UPDATE behaviours_behaviourrecord SET reduction_g = reduction_g + 1 WHERE id = %s", [record.pk])
    refused("UPDATE behaviours_behaviourrecord SET quantity = 1000 WHERE id = %s", [record.pk])
    refused("UPDATE behaviours_behaviourrecord SET posting_id = NULL WHERE id = %s", [record.pk])
    refused("UPDATE behaviours_behaviourrecord SET basis_id = NULL WHERE id = %s", [record.pk])
    refused("DELETE FROM behaviours_quantificationbasis WHERE id = %s", [record.basis_id])
    refused(
        "UPDATE behaviours_quantificationbasis SET factor_a_id = factor_a_id WHERE id = %s", [record.basis_id]
    )
    assert check_ledger() == []


def test_what_the_services_change_is_still_allowed(history) -> None:  # type: ignore[no-untyped-def]
    """Renaming a person, cancelling a redemption, and a whole-row save that changes nothing."""
    account, redemption = history["account"], history["redemption"]
    Account.objects.filter(pk=account.pk).update(display_name="New name", on_leaderboard=True)
    account.refresh_from_db()
    account.save()
    history["record"].save()
    rewards.cancel_redemption(redemption_id=redemption.pk)
    redemption.refresh_from_db()
    assert redemption.status == "cancelled"
    # A cancellation is final.
    refused("UPDATE rewards_redemption SET status = 'completed' WHERE id = %s", [redemption.pk])
    # So is a use at the counter: a code buys one thing.
    right_id = redemption.green_right_id
    used = rewards.redeem(account=account, green_right_id=right_id, idempotency_key="r2").redemption
    rewards.use_redemption(code=used.code)
    refused("UPDATE rewards_redemption SET status = 'completed' WHERE id = %s", [used.pk])
    refused("UPDATE rewards_redemption SET used_at = now() WHERE id = %s", [used.pk])
    assert check_ledger() == []
