"""Deployment checks of the settings behaviours relies on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def claim_salt_is_set(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Fingerprints made under a salt derived from SECRET_KEY all change when the key is
    rotated, and then the same activity could be claimed again."""
    if settings.CLAIM_FINGERPRINT_SALT_IS_SET:
        return []
    return [
        checks.Warning(
            "CLAIM_FINGERPRINT_SALT is not set, so claim fingerprints follow SECRET_KEY.",
            hint="Set CLAIM_FINGERPRINT_SALT to a long random value and never change it (docs/configuration.md).",
            id="behaviours.W001",
        )
    ]
