"""Sign-up, email verification, sign-in, password reset, throttling, staff two-factor, language."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.test import Client

from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def _link_in_last_email() -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/\S+)", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_sign_up_verify_and_sign_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new.person@test.example",
            "password1": "a-Long-Passphrase-42",
            "password2": "a-Long-Passphrase-42",
        },
        secure=True,
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "new.person@test.example" in mail.outbox[0].to

    # Not verified yet: signing in sends the person to verify their email.
    client.logout()
    response = client.post(
        "/accounts/login/",
        {"login": "new.person@test.example", "password": "a-Long-Passphrase-42"},
        secure=True,
    )
    assert response.status_code == 302 and "confirm-email" in response["Location"]

    confirm = _link_in_last_email()
    client.post(confirm, secure=True)
    client.logout()
    response = client.post(
        "/accounts/login/",
        {"login": "new.person@test.example", "password": "a-Long-Passphrase-42"},
        secure=True,
    )
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    # Someone who belongs to no business line yet is shown how to join one.
    landing = client.get("/me/", secure=True, follow=True)
    assert landing.status_code == 200 and landing.redirect_chain == [("/me/join/", 302)]


def test_password_reset_sends_a_working_link(client: Client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    user = django_user_model.objects.create_user(
        "forgetful@test.example", "forgetful@test.example", "Old-Passphrase-1"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.post("/accounts/password/reset/", {"email": "forgetful@test.example"}, secure=True)
    reset = _link_in_last_email()
    response = client.get(reset, secure=True, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else reset
    client.post(form_url, {"password1": "New-Passphrase-77", "password2": "New-Passphrase-77"}, secure=True)
    user.refresh_from_db()
    assert user.check_password("New-Passphrase-77")


def test_repeated_failed_sign_ins_are_throttled(client: Client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    user = django_user_model.objects.create_user(
        "target@test.example", "target@test.example", "Right-Passphrase-9"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    for _attempt in range(5):
        client.post("/accounts/login/", {"login": "target@test.example", "password": "wrong"}, secure=True)
    # Even the right password is refused while the throttle holds.
    response = client.post(
        "/accounts/login/",
        {"login": "target@test.example", "password": "Right-Passphrase-9"},
        secure=True,
        headers={"accept-language": "en"},
    )
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_staff_without_two_factor_are_sent_to_set_it_up(client: Client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    staff = django_user_model.objects.create_user(
        "officer@test.example", "officer@test.example", "Staff-Pass-1", is_staff=True
    )
    client.force_login(staff)
    response = client.get("/me/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate")

    TOTP.activate(staff, generate_totp_secret())
    # Set up, but this sign-in went without it: a code first.
    response = client.get("/me/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")
    sign_in_staff(client, staff)
    assert client.get("/me/", secure=True).status_code == 200


def test_people_may_use_two_factor_too(client: Client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    person = django_user_model.objects.create_user(
        "careful@test.example", "careful@test.example", "Pass-Phrase-11"
    )
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    client.post("/accounts/login/", {"login": person.email, "password": "Pass-Phrase-11"}, secure=True)
    # Turning on two-factor asks for the password once more (allauth's reauthentication).
    client.post("/accounts/reauthenticate/", {"password": "Pass-Phrase-11"}, secure=True)
    response = client.get("/accounts/2fa/totp/activate/", secure=True)
    assert response.status_code == 200
    # The page offers a TOTP secret and asks for a code from the person's app.
    assert response.context["form"].secret
    assert 'name="code"' in response.content.decode()


def test_language_switch_between_chinese_and_english(client: Client) -> None:
    response = client.get("/", secure=True)
    assert "每一次低碳行动" in response.content.decode()  # Chinese is the default
    client.post("/i18n/setlang/", {"language": "en", "next": "/"}, secure=True)
    response = client.get("/", secure=True)
    assert "Every low-carbon action, measured and counted" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"}, secure=True)
    assert "每一次低碳行动" in client.get("/", secure=True).content.decode()


def test_a_code_typed_at_the_end_of_its_step_still_signs_in(client: Client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """A code read off the app at second 29 arrives in the next 30-second step; one step of delay
    is accepted (RFC 6238, 5.2), two are not."""
    import time_machine
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

    staff = django_user_model.objects.create_user(
        "late@test.example", "late@test.example", "Staff-Pass-22", is_staff=True
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    step = 1_800_000_000 // 30

    def code_of(counter: int) -> str:
        return format_hotp_value(hotp_value(secret, counter))

    with time_machine.travel(step * 30 + 1, tick=False):
        client.post("/accounts/login/", {"login": staff.email, "password": "Staff-Pass-22"}, secure=True)
        refused = client.post("/accounts/2fa/authenticate/", {"code": code_of(step - 2)}, secure=True)
        assert refused.status_code == 200
        assert "_auth_user_id" not in client.session
        accepted = client.post("/accounts/2fa/authenticate/", {"code": code_of(step - 1)}, secure=True)
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_a_mail_server_that_is_down_is_explained_not_a_server_error(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens on the port: the sign-up is kept, the person is told, and can resend."""
    import socket

    from allauth.account.models import EmailAddress

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    response = client.post(
        "/accounts/signup/",
        {
            "email": "mail.down@test.example",
            "password1": "a-Long-Passphrase-42",
            "password2": "a-Long-Passphrase-42",
        },
        secure=True,
        follow=True,
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200
    assert "We could not send the email to mail.down@test.example just now." in response.content.decode()
    assert EmailAddress.objects.filter(email="mail.down@test.example", verified=False).exists()
