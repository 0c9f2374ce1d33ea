"""Issuing, checking and revoking API credentials (keys look like `cak_<prefix>_<secret>`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.contrib.auth.models import User
from django.utils import timezone

from carbon_accounts.models import ApiCredential, BusinessLine, CredentialKind

KEY_PREFIX = "cak"


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


def authenticate(key: str) -> ApiCredential | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    credential = ApiCredential.objects.select_related("line", "user").filter(prefix=parts[1]).first()
    if credential is None or not credential.is_active:
        return None
    if not hmac.compare_digest(credential.secret_hash, _hash(parts[2])):
        return None
    return credential


def revoke(*, credential: ApiCredential) -> None:
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
