"""Issuing, checking and revoking API credentials (keys look like `cak_<prefix>_<secret>`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from carbon_accounts.models import ApiCredential, BusinessLine, CredentialKind
from config import fixed_sql

KEY_PREFIX = "cak"

NO_KEY_FOR_STAFF = (
    "Staff get no personal API token: a token is one factor, and staff figures need two. "
    "Staff use the API from their signed-in session, which passed two-factor."
)


class StaffTokenRefused(ValueError):
    """A personal token for a staff member: refused, so that staff data always needs two factors."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    *,
    name: str,
    line: BusinessLine | None = None,
    user: User | None = None,
    rate_per_minute: int = 6000,
) -> tuple[ApiCredential, str]:
    """A new credential and its full key. The key is returned once and never stored."""
    if (line is None) == (user is None):
        raise ValueError("a credential belongs to exactly one business line or one person")
    if user is not None and user.is_staff:
        raise StaffTokenRefused(NO_KEY_FOR_STAFF)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    credential = ApiCredential.objects.create(
        kind=CredentialKind.LINE_SYSTEM if line is not None else CredentialKind.PERSONAL,
        line=line,
        user=user,
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        rate_per_minute=rate_per_minute,
    )
    return credential, f"{KEY_PREFIX}_{prefix}_{secret}"


@cache
def _credential_sql() -> str:
    # Every API request runs this: a statement written once, with the line and the person.
    user = get_user_model()
    return (
        f"SELECT {fixed_sql.columns(ApiCredential, 'c')}, {fixed_sql.columns(BusinessLine, 'l')},"
        f" {fixed_sql.columns(user, 'u')}"
        f" FROM {ApiCredential._meta.db_table} c"
        f" LEFT JOIN {BusinessLine._meta.db_table} l ON l.id = c.line_id"
        f" LEFT JOIN {user._meta.db_table} u ON u.id = c.user_id"
        " WHERE c.prefix = %s"
    )


def _credential(prefix: str) -> ApiCredential | None:
    with connection.cursor() as cursor:
        cursor.execute(_credential_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    user_model = get_user_model()
    split = fixed_sql.width(ApiCredential)
    joined = split + fixed_sql.width(BusinessLine)
    credential = fixed_sql.instance(ApiCredential, row[:split])
    credential.line = fixed_sql.instance(BusinessLine, row[split:joined]) if credential.line_id else None
    credential.user = fixed_sql.instance(user_model, row[joined:]) if credential.user_id else None  # type: ignore[assignment]
    return credential


def authenticate(key: str) -> ApiCredential | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    credential = _credential(parts[1])
    if credential is None or not credential.is_active:
        return None
    if not hmac.compare_digest(credential.secret_hash, _hash(parts[2])):
        return None
    # A person whose sign-in was switched off loses their personal token with it.
    if credential.user is not None and not credential.user.is_active:
        return None
    return credential


def revoke(*, credential: ApiCredential) -> None:
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
