"""The exchanges' request signature (exchange-api.md, "Authentication"). Shared by the
simulator and the bridge; no Django here."""

from __future__ import annotations

import hashlib
import hmac


def signature(*, secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    message = f"{method.upper()}\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def pseudonym(*, salt: str, person_id: str) -> str:
    """The `subject` of an item: SHA-256 of the person's id with the member's salt, never a name."""
    return hashlib.sha256(f"{salt}:{person_id}".encode()).hexdigest()
