"""Staff reach staff data, on pages and over the API, only after a second factor."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from carbon_accounts import credentials
from carbon_accounts.models import StaffRole
from tests.api.conftest import ApiClient
from tests.conftest import sign_in_staff

STAFF_ENDPOINTS = ("/api/v1/totals", "/api/v1/lines/bank/totals", "/api/v1/lines/bank/filing-batches")
PASSWORD = "Staff-Pass-31"


def current_code(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def office(django_user_model, lines):  # type: ignore[no-untyped-def]
    """A sustainability officer with a verified email, TOTP set up, and the secret to type codes."""
    user = django_user_model.objects.create_user("office@test.example", "office@test.example", PASSWORD)
    user.is_staff = True
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    StaffRole.objects.create(user=user, role="sustainability_office")
    user.totp_secret = generate_totp_secret()
    TOTP.activate(user, user.totp_secret)
    return user


def test_staff_get_no_personal_token(office, django_user_model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="Staff get no personal API token"):
        call_command("create_api_credential", "--name", "laptop", "--email", office.email)
    with pytest.raises(credentials.StaffTokenRefused):
        credentials.issue(name="laptop", user=office)
    assert not office.api_credentials.exists()
    # A person who is not staff still gets one.
    person = django_user_model.objects.create_user("p@test.example", "p@test.example", "x-Secret-123")
    call_command("create_api_credential", "--name", "phone", "--email", person.email)
    assert person.api_credentials.count() == 1


def test_a_token_of_someone_who_became_staff_has_no_staff_powers(office, lines) -> None:  # type: ignore[no-untyped-def]
    office.is_staff = False
    office.save()
    _credential, key = credentials.issue(name="from before", user=office)
    office.is_staff = True
    office.save()
    token = ApiClient(key)
    for path in STAFF_ENDPOINTS:
        response = token.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "second_factor_required"
        assert "two-factor" in response.json()["message"]
    # As a plain person the token still reads the holder's own accounts.
    assert token.get("/api/v1/me/accounts").status_code == 200


def test_a_session_signed_in_with_password_and_totp_reads_staff_endpoints(client: Client, office) -> None:  # type: ignore[no-untyped-def]
    client.post("/accounts/login/", {"login": office.email, "password": PASSWORD}, secure=True)
    assert "_auth_user_id" not in client.session  # the password alone does not sign staff in
    client.post("/accounts/2fa/authenticate/", {"code": current_code(office.totp_secret)}, secure=True)
    assert client.session["_auth_user_id"] == str(office.pk)
    for path in STAFF_ENDPOINTS:
        assert client.get(path, secure=True).status_code == 200, path
    assert client.get("/staff/", secure=True).status_code == 200


def test_a_staff_session_without_the_second_factor_reads_nothing(
    client: Client, office, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    # A session that never typed a code (signed in some other way than allauth's two steps).
    client.force_login(office)
    for path in STAFF_ENDPOINTS:
        response = client.get(path, secure=True)
        assert response.status_code == 403, path
        assert response.json()["code"] == "second_factor_required"
    page = client.get("/staff/", secure=True)
    assert page.status_code == 302 and page["Location"].startswith("/accounts/2fa/reauthenticate/")
    # Typing a code in the same sign-in lets it through.
    client.post("/accounts/2fa/reauthenticate/", {"code": current_code(office.totp_secret)}, secure=True)
    assert client.get("/api/v1/totals", secure=True).status_code == 200

    # Staff without TOTP set up: the API refuses, pages send them to set it up.
    newcomer = django_user_model.objects.create_user("new@test.example", "new@test.example", PASSWORD)
    newcomer.is_staff = True
    newcomer.save()
    StaffRole.objects.create(user=newcomer, role="sustainability_office")
    client.force_login(newcomer)
    assert client.get("/api/v1/totals", secure=True).json()["code"] == "second_factor_required"
    assert client.get("/staff/", secure=True)["Location"].startswith("/accounts/2fa/totp/activate")


def test_the_admin_sign_in_form_goes_through_two_factor(client: Client, office) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/admin/login/", {"username": office.username, "password": PASSWORD, "next": "/admin/"}, secure=True
    )
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/", secure=True).status_code == 302


def test_setting_up_totp_passes_the_second_factor(
    client: Client, django_user_model, transactional_db, lines
) -> None:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("fresh@test.example", "fresh@test.example", PASSWORD)
    user.is_staff = True
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    StaffRole.objects.create(user=user, role="auditor")
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, secure=True)
    assert client.get("/api/v1/totals", secure=True).json()["code"] == "second_factor_required"
    client.post("/accounts/reauthenticate/", {"password": PASSWORD}, secure=True)  # allauth asks again
    form = client.get("/accounts/2fa/totp/activate/", secure=True).context["form"]
    # allauth announces the new authenticator once its transaction commits (hence a real
    # commit in this test), while the request still runs and its session is not yet saved.
    client.post("/accounts/2fa/totp/activate/", {"code": current_code(form.secret)}, secure=True)
    assert user.authenticator_set.filter(type="totp").exists()
    assert client.get("/api/v1/totals", secure=True).status_code == 200


def test_staff_sessions_in_tests_record_both_steps(client: Client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """The tests' shortcut leaves the session as a real sign-in does (compare the test above)."""
    sign_in_staff(client, make_staff("auditor"))
    assert client.get("/api/v1/totals", secure=True).status_code == 200
