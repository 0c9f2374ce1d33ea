"""Two-factor secrets are encrypted at rest, sign-in still works, and the keys rotate."""

from __future__ import annotations

import importlib
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from config import mfa_secrets

pytestmark = pytest.mark.django_db

PASSWORD = "Staff-Pass-44"


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def signs_in_with_a_code(client: Client, user, secret: str) -> bool:  # type: ignore[no-untyped-def]
    client.logout()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, secure=True)
    client.post("/accounts/2fa/authenticate/", {"code": code_for(secret)}, secure=True)
    return client.session.get("_auth_user_id") == str(user.pk)


@pytest.fixture
def staff_member(django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("s@test.example", "s@test.example", PASSWORD, is_staff=True)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_the_stored_secret_is_not_the_clear_one_and_sign_in_still_works(client: Client, staff_member) -> None:  # type: ignore[no-untyped-def]
    secret = generate_totp_secret()
    TOTP.activate(staff_member, secret)
    seed_codes = RecoveryCodes.activate(staff_member).get_unused_codes()
    stored = Authenticator.objects.get(user=staff_member, type="totp").data["secret"]
    assert secret not in stored and stored.startswith("gA")
    seed = Authenticator.objects.get(user=staff_member, type="recovery_codes").data["seed"]
    assert mfa_secrets.looks_encrypted(seed)
    assert signs_in_with_a_code(client, staff_member, secret)
    # A wrong code still fails: decryption gave the real key, not something accepting anything.
    client.logout()
    client.post("/accounts/login/", {"login": staff_member.email, "password": PASSWORD}, secure=True)
    client.post("/accounts/2fa/authenticate/", {"code": "000000"}, secure=True)
    assert "_auth_user_id" not in client.session
    # Recovery codes come from the encrypted seed and still work.
    client.post("/accounts/2fa/authenticate/", {"code": seed_codes[0]}, secure=True)
    assert client.session["_auth_user_id"] == str(staff_member.pk)


def test_rotation_re_encrypts_and_the_old_key_can_go(client: Client, staff_member, settings) -> None:  # type: ignore[no-untyped-def]
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [old]
    secret = generate_totp_secret()
    TOTP.activate(staff_member, secret)
    before = Authenticator.objects.get(user=staff_member).data["secret"]

    settings.MFA_ENCRYPTION_KEYS = [new, old]
    assert signs_in_with_a_code(client, staff_member, secret)  # both keys listed: old secrets read
    call_command("rotate_mfa_keys")
    after = Authenticator.objects.get(user=staff_member).data["secret"]
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == secret

    settings.MFA_ENCRYPTION_KEYS = [new]
    cache_clear_used_codes()
    assert signs_in_with_a_code(client, staff_member, secret)


def test_removing_a_key_before_rotating_is_refused_and_changes_nothing(staff_member, settings) -> None:  # type: ignore[no-untyped-def]
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [old]
    TOTP.activate(staff_member, generate_totp_secret())
    before = Authenticator.objects.get(user=staff_member).data
    settings.MFA_ENCRYPTION_KEYS = [new]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_mfa_keys")
    assert Authenticator.objects.get(user=staff_member).data == before


def test_the_migration_encrypts_secrets_stored_in_clear(client: Client, staff_member) -> None:  # type: ignore[no-untyped-def]
    secret = generate_totp_secret()
    # As allauth stored it before: the secret in clear, and recovery codes migrated in clear.
    Authenticator.objects.create(user=staff_member, type="totp", data={"secret": secret})
    Authenticator.objects.create(
        user=staff_member,
        type="recovery_codes",
        data={"seed": "ab" * 40, "used_mask": 0, "migrated_codes": ["12345678"]},
    )
    migration = importlib.import_module("config.migrations.0001_encrypt_mfa_secrets")
    migration.encrypt_clear_secrets(apps, None)
    migration.encrypt_clear_secrets(apps, None)  # run twice: what is encrypted stays as it is
    totp = Authenticator.objects.get(user=staff_member, type="totp").data
    codes = Authenticator.objects.get(user=staff_member, type="recovery_codes").data
    assert mfa_secrets.decrypt(totp["secret"]) == secret
    assert mfa_secrets.decrypt(codes["seed"]) == "ab" * 40 and codes["used_mask"] == 0
    assert [mfa_secrets.decrypt(code) for code in codes["migrated_codes"]] == ["12345678"]
    assert signs_in_with_a_code(client, staff_member, secret)


def cache_clear_used_codes() -> None:
    """allauth refuses a code used once in its 30 seconds; the next sign-in types the same one."""
    from django.core.cache import cache

    cache.clear()


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "MFA_ENCRYPTION_KEYS is not set"), ("not-a-key", "is not a Fernet key")],
)
def test_a_missing_or_malformed_key_outside_debug_is_a_clear_start_up_error(value, message) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from django.conf import settings

    environment = {k: v for k, v in os.environ.items() if k not in {"MFA_ENCRYPTION_KEYS", "DEBUG"}}
    environment["PLATFORM_ENV_FILE"] = ""
    if value is not None:
        environment["MFA_ENCRYPTION_KEYS"] = value
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=environment,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert message in result.stderr
