"""Two-factor secrets (TOTP keys, recovery-code seeds) encrypted at rest with Fernet.

allauth stores them in Authenticator.data and passes each through its MFA adapter's encrypt
and decrypt. The keys come from MFA_ENCRYPTION_KEYS: the first encrypts, any of them decrypts,
so a new key is put first, `manage.py rotate_mfa_keys` re-encrypts, then the old one can go
(docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Where each kind of authenticator keeps its secrets in Authenticator.data.
SECRET_FIELDS = {"totp": ("secret",), "recovery_codes": ("seed", "migrated_codes")}


class UnreadableSecret(RuntimeError):
    """A stored secret that no configured key decrypts: a key was dropped too early."""


def keys(configured: list[str] | None = None) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in (configured or settings.MFA_ENCRYPTION_KEYS)])


def encrypt(text: str) -> str:
    return keys().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "A two-factor secret cannot be decrypted with any key in MFA_ENCRYPTION_KEYS. "
            "Put back the key it was encrypted with (keep it after the new one), run "
            "`manage.py rotate_mfa_keys`, and only then remove it."
        ) from None


def looks_encrypted(value: str) -> bool:
    """A Fernet token starts with its version byte, 0x80 ("gA" in base64); a clear TOTP key is
    base32 (capitals and digits) and a recovery-code seed hex, so neither can."""
    return value.startswith("gA")


def encrypted_with_first_key(value: str, fernet: MultiFernet) -> str:
    """A secret re-encrypted with the first key, or encrypted if it was still in clear."""
    if not looks_encrypted(value):
        return fernet.encrypt(value.encode()).decode()
    try:
        return fernet.rotate(value.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "A two-factor secret cannot be decrypted with any key in MFA_ENCRYPTION_KEYS: put back "
            "the key it was encrypted with, after the new one, and run this again."
        ) from None


def transform_secrets(data: dict[str, Any], kind: str, change: Callable[[str], str]) -> dict[str, Any]:
    """Authenticator.data with each secret passed through `change` (a list item by item)."""
    changed = dict(data)
    for field in SECRET_FIELDS.get(kind, ()):
        value = changed.get(field)
        if isinstance(value, str):
            changed[field] = change(value)
        elif isinstance(value, list):
            changed[field] = [change(item) for item in value]
    return changed


class EncryptingMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)
