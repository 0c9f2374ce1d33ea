"""Re-encrypt every stored two-factor secret with the first key of MFA_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from config import mfa_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every TOTP key and recovery-code seed with the first key of MFA_ENCRYPTION_KEYS "
        "(any key listed decrypts). Afterwards the other keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        fernet = mfa_secrets.keys()
        changed = 0
        # One transaction: either every secret is under the new key, or none moved.
        with transaction.atomic():
            authenticators = Authenticator.objects.select_for_update().filter(
                type__in=list(mfa_secrets.SECRET_FIELDS)
            )
            for authenticator in authenticators:
                try:
                    authenticator.data = mfa_secrets.transform_secrets(
                        authenticator.data,
                        authenticator.type,
                        lambda value: mfa_secrets.encrypted_with_first_key(value, fernet),
                    )
                except mfa_secrets.UnreadableSecret as error:
                    raise CommandError(f"authenticator {authenticator.pk}: {error}") from None
                authenticator.save(update_fields=["data"])
                changed += 1
        self.stdout.write(f"re-encrypted the secrets of {changed} authenticators with the first key")
