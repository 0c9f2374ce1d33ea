"""Talking to an exchange over HTTP, signed as the contract says."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from exchange_bridge.profiles import PROFILES, Profile
from exchange_bridge.signing import signature


class MembershipMissing(Exception):
    pass


@dataclass(frozen=True)
class Membership:
    line_code: str
    exchange: str
    url: str
    member_id: str
    key_id: str
    secret: str
    salt: str
    period_days: int
    item_limit: int | None = None

    @property
    def profile(self) -> Profile:
        return PROFILES[self.exchange]

    @property
    def max_items(self) -> int:
        """Items per filing: the profile's limit, or a smaller one set for the member."""
        return min(self.profile.max_items, self.item_limit or self.profile.max_items)


def membership(line_code: str) -> Membership | None:
    raw = settings.EXCHANGE_MEMBERSHIPS.get(line_code)
    if not raw:
        return None
    return Membership(
        line_code=line_code,
        exchange=str(raw["exchange"]),
        url=str(raw["url"]).rstrip("/"),
        member_id=str(raw["member_id"]),
        key_id=str(raw["key_id"]),
        secret=str(raw["secret"]),
        salt=str(raw["salt"]),
        period_days=int(str(raw.get("period_days", 1))),
        item_limit=int(str(raw["max_items"])) if raw.get("max_items") else None,
    )


def memberships() -> list[Membership]:
    return [m for code in settings.EXCHANGE_MEMBERSHIPS if (m := membership(code)) is not None]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    retry_after: float | None


class ExchangeUnreachable(Exception):
    """No answer (refused, timed out, or the connection dropped): safe to ask again."""


def call(member: Membership, method: str, route: str, body: bytes = b"") -> Answer:
    path = member.profile.prefix + route
    stamp = str(int(time.time()))
    headers = {
        member.profile.key_header: member.key_id,
        member.profile.timestamp_header: stamp,
        member.profile.signature_header: signature(
            secret=member.secret, method=method, path=path, timestamp=stamp, body=body
        ),
        "Content-Type": "application/json",
    }
    try:
        response = httpx.request(
            method,
            member.url + path,
            content=body,
            headers=headers,
            timeout=settings.EXCHANGE_REQUEST_TIMEOUT,
        )
    except httpx.HTTPError as error:
        raise ExchangeUnreachable(f"{type(error).__name__}: {error}") from None
    try:
        parsed = response.json()
    except json.JSONDecodeError:
        parsed = {"error": response.text[:200]}
    retry_after = response.headers.get("Retry-After")
    return Answer(
        response.status_code, parsed, float(retry_after) if retry_after and retry_after.isdigit() else None
    )
