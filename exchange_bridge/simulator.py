"""A simulated carbon exchange (SEEE or CEEX profile) as a real HTTP server.

It keeps its own SQLite storage (survives a restart), never reads the platform's tables,
and answers exactly as exchange-api.md says, faults included. Review is decided lazily on
the first read after the review delay, and decisions are stored, so a restart during
review changes nothing. Item rejections drawn by the reject rate depend only on the item,
so the same item always gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from exchange_bridge.profiles import Profile
from exchange_bridge.signing import signature

MAX_BODY = 20 * 1024 * 1024
CLOCK_SKEW_SECONDS = 300
GRAMS_PER_TONNE = 1_000_000
METHODOLOGY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*@[A-Z][A-Z-]*@\d{4}-\d{2}-\d{2}$")
SUBJECT_PATTERN = re.compile(r"^[0-9a-f]{64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS filings (
    filing_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, batch_ref TEXT NOT NULL, body_hash TEXT NOT NULL,
    received_at REAL NOT NULL, status TEXT NOT NULL, item_count INTEGER NOT NULL, submitted_g INTEGER NOT NULL,
    accepted_g INTEGER, tonnes INTEGER, serial_first INTEGER, serial_last INTEGER, rejected_items TEXT,
    decided_at REAL, period_start TEXT, period_end TEXT, UNIQUE (member_id, batch_ref));
CREATE TABLE IF NOT EXISTS items (
    filing_id TEXT NOT NULL, item_ref TEXT NOT NULL, subject TEXT NOT NULL, behaviour TEXT NOT NULL,
    methodology TEXT NOT NULL, occurred_on TEXT NOT NULL, evidence TEXT NOT NULL, grams INTEGER NOT NULL,
    accepted INTEGER, PRIMARY KEY (filing_id, item_ref));
CREATE INDEX IF NOT EXISTS accepted_item_refs ON items (item_ref) WHERE accepted = 1;
CREATE INDEX IF NOT EXISTS accepted_claims ON items (subject, behaviour, occurred_on, evidence) WHERE accepted = 1;
CREATE TABLE IF NOT EXISTS members (
    member_id TEXT PRIMARY KEY, remainder_g INTEGER NOT NULL DEFAULT 0, accepted_g INTEGER NOT NULL DEFAULT 0,
    certified_tonnes INTEGER NOT NULL DEFAULT 0, retired_tonnes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS serials (name TEXT PRIMARY KEY, next_number INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS retirements (
    retirement_ref TEXT PRIMARY KEY, member_id TEXT NOT NULL, body_hash TEXT NOT NULL, answer TEXT NOT NULL);
"""


@dataclass
class Faults:
    error_rate: float = 0.0
    drop_rate: float = 0.0
    latency_ms: int = 0
    rate_limit: float = 0.0  # requests per second per member; 0 = no limit
    review_delay: float = 5.0
    reject_rate: float = 0.0

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {name!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
            setattr(self, name, type(getattr(self, name))(value))


@dataclass
class Member:
    member_id: str
    key_id: str
    secret: str


@dataclass
class Exchange:
    profile: Profile
    storage: str
    members: dict[str, Member]  # by key id
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)
    request_times: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db = sqlite3.connect(self.storage, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        for member in self.members.values():
            self.db.execute("INSERT OR IGNORE INTO members (member_id) VALUES (?)", (member.member_id,))

    # --- filings -------------------------------------------------------------------------------

    def submit(self, member: Member, body: bytes, payload: Any) -> tuple[int, dict[str, Any]]:
        body_hash = hashlib.sha256(body).hexdigest()
        batch_ref = payload.get("batch_ref") if isinstance(payload, dict) else None
        with self.lock:
            if isinstance(batch_ref, str):
                known = self.db.execute(
                    "SELECT filing_id, body_hash FROM filings WHERE member_id = ? AND batch_ref = ?",
                    (member.member_id, batch_ref),
                ).fetchone()
                if known is not None:
                    if known[1] != body_hash:
                        return 409, {"error": "batch_ref_conflict"}
                    filing = self._advance(known[0])
                    return 200, {"filing_id": known[0], "status": self.profile.status(filing["status"])}
            details = self._validate(member, payload)
            if details:
                return 422, {"error": "invalid", "details": details}
            filing_id = f"{self.profile.name}-{hashlib.sha256(f'{member.member_id}:{batch_ref}'.encode()).hexdigest()[:20]}"
            grams = [self.profile.item_grams(item) or 0 for item in payload["items"]]
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO filings (filing_id, member_id, batch_ref, body_hash, received_at, status, item_count, "
                "submitted_g, period_start, period_end) VALUES (?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)",
                (
                    filing_id,
                    member.member_id,
                    batch_ref,
                    body_hash,
                    time.time(),
                    len(grams),
                    sum(grams),
                    payload["period"]["start"],
                    payload["period"]["end"],
                ),
            )
            self.db.executemany(
                "INSERT INTO items (filing_id, item_ref, subject, behaviour, methodology, occurred_on, evidence, grams) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        filing_id,
                        item["item_ref"],
                        item["subject"],
                        item["behaviour"],
                        item["methodology"],
                        item["occurred_on"],
                        str(item.get("evidence") or ""),
                        amount,
                    )
                    for item, amount in zip(payload["items"], grams, strict=True)
                ],
            )
            self.db.execute("COMMIT")
        return 202, {"filing_id": filing_id, "status": self.profile.status("received")}

    def _validate(self, member: Member, payload: Any) -> list[str]:
        if not isinstance(payload, dict):
            return ["the body must be a JSON object"]
        details: list[str] = []
        batch_ref = payload.get("batch_ref")
        if not isinstance(batch_ref, str) or not 1 <= len(batch_ref) <= 100:
            details.append("batch_ref must be a string of 1 to 100 characters")
        if payload.get("member_id") != member.member_id:
            details.append("member_id does not match the key")
        period = payload.get("period")
        start: date | None = None
        end: date | None = None
        try:
            start = date.fromisoformat(period["start"])  # type: ignore[index]
            end = date.fromisoformat(period["end"])  # type: ignore[index]
            if end < start:
                details.append("period end is before its start")
        except (TypeError, KeyError, ValueError):
            details.append("period must have start and end dates (YYYY-MM-DD)")
        items = payload.get("items")
        if not isinstance(items, list) or not items:
            return [*details, "items must be a non-empty list"]
        if len(items) > self.profile.max_items:
            details.append(f"too many items: {len(items)} (at most {self.profile.max_items})")
        seen: set[str] = set()
        total = 0
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                details.append(f"items[{index}] is not an object")
                continue
            reference = item.get("item_ref")
            if not isinstance(reference, str) or not reference:
                details.append(f"items[{index}].item_ref is missing")
            elif reference in seen:
                details.append(f"items[{index}].item_ref {reference} repeats inside the filing")
            else:
                seen.add(reference)
            if not isinstance(item.get("subject"), str) or not SUBJECT_PATTERN.match(item["subject"]):
                details.append(f"items[{index}].subject must be a SHA-256 pseudonym")
            for name in ("behaviour", "methodology", "quantity", "unit"):
                if not isinstance(item.get(name), str) or not item[name]:
                    details.append(f"items[{index}].{name} is missing")
            grams = self.profile.item_grams(item)
            if grams is None or grams <= 0:
                details.append(
                    f"items[{index}] amount is not positive or not in the {self.profile.name} format"
                )
            else:
                total += grams
            try:
                day = date.fromisoformat(item.get("occurred_on", ""))
                if start is not None and end is not None and not start <= day <= end:
                    details.append(f"items[{index}].occurred_on {day} is outside the period")
            except (TypeError, ValueError):
                details.append(f"items[{index}].occurred_on is not a date")
        totals = payload.get("totals")
        if (
            not isinstance(totals, dict)
            or totals.get("items") != len(items)
            or self.profile.total_grams(totals) != total
        ):
            details.append("totals do not match the items")
        return details

    def _advance(self, filing_id: str) -> dict[str, Any]:
        """Move a filing along by the clock; decide it once, store the decision. Holds self.lock."""
        row = self.db.execute(
            "SELECT filing_id, member_id, batch_ref, received_at, status, item_count, submitted_g, accepted_g, "
            "tonnes, serial_first, serial_last, rejected_items, period_start, period_end FROM filings WHERE filing_id = ?",
            (filing_id,),
        ).fetchone()
        keys = (
            "filing_id",
            "member_id",
            "batch_ref",
            "received_at",
            "status",
            "item_count",
            "submitted_g",
            "accepted_g",
            "tonnes",
            "serial_first",
            "serial_last",
            "rejected_items",
            "period_start",
            "period_end",
        )
        filing = dict(zip(keys, row, strict=True))
        if filing["status"] in ("certified", "rejected"):
            return filing
        elapsed = time.time() - filing["received_at"]
        if elapsed >= self.faults.review_delay:
            self._decide(filing)
            return self._advance(filing_id)
        if elapsed >= self.faults.review_delay / 2 and filing["status"] == "received":
            self.db.execute("UPDATE filings SET status = 'under_review' WHERE filing_id = ?", (filing_id,))
            filing["status"] = "under_review"
        return filing

    def _decide(self, filing: dict[str, Any]) -> None:
        items = self.db.execute(
            "SELECT item_ref, subject, behaviour, methodology, occurred_on, evidence, grams FROM items "
            "WHERE filing_id = ? ORDER BY rowid",
            (filing["filing_id"],),
        ).fetchall()
        rejected: list[dict[str, str]] = []
        accepted_g = 0
        self.db.execute("BEGIN IMMEDIATE")
        for item_ref, subject, behaviour, methodology, occurred_on, evidence, grams in items:
            reason = self._rejection(item_ref, subject, behaviour, occurred_on, evidence, methodology)
            self.db.execute(
                "UPDATE items SET accepted = ? WHERE filing_id = ? AND item_ref = ?",
                (0 if reason else 1, filing["filing_id"], item_ref),
            )
            if reason:
                rejected.append({"item_ref": item_ref, "reason": reason})
            else:
                accepted_g += grams
        if accepted_g == 0:
            self.db.execute(
                "UPDATE filings SET status = 'rejected', accepted_g = 0, rejected_items = ?, decided_at = ? WHERE filing_id = ?",
                (json.dumps(rejected), time.time(), filing["filing_id"]),
            )
            self.db.execute("COMMIT")
            return
        remainder, certified = self.db.execute(
            "SELECT remainder_g, certified_tonnes FROM members WHERE member_id = ?", (filing["member_id"],)
        ).fetchone()
        # Whole tonnes only: the member's remainder carries to its next certification.
        tonnes, remainder = divmod(remainder + accepted_g, GRAMS_PER_TONNE)
        serial_first = serial_last = None
        if tonnes:
            self.db.execute(
                "INSERT OR IGNORE INTO serials (name, next_number) VALUES (?, 1)", (self.profile.name,)
            )
            serial_first = self.db.execute(
                "SELECT next_number FROM serials WHERE name = ?", (self.profile.name,)
            ).fetchone()[0]
            serial_last = serial_first + tonnes - 1
            self.db.execute(
                "UPDATE serials SET next_number = ? WHERE name = ?", (serial_last + 1, self.profile.name)
            )
        self.db.execute(
            "UPDATE members SET remainder_g = ?, accepted_g = accepted_g + ?, certified_tonnes = ? WHERE member_id = ?",
            (remainder, accepted_g, certified + tonnes, filing["member_id"]),
        )
        self.db.execute(
            "UPDATE filings SET status = 'certified', accepted_g = ?, tonnes = ?, serial_first = ?, serial_last = ?, "
            "rejected_items = ?, decided_at = ? WHERE filing_id = ?",
            (
                accepted_g,
                tonnes,
                serial_first,
                serial_last,
                json.dumps(rejected),
                time.time(),
                filing["filing_id"],
            ),
        )
        self.db.execute("COMMIT")

    def _rejection(
        self, item_ref: str, subject: str, behaviour: str, day: str, evidence: str, methodology: str
    ) -> str | None:
        if self.db.execute(
            "SELECT 1 FROM items WHERE item_ref = ? AND accepted = 1 LIMIT 1", (item_ref,)
        ).fetchone():
            return "duplicate_claim"
        if (
            evidence
            and self.db.execute(
                "SELECT 1 FROM items WHERE subject = ? AND behaviour = ? AND occurred_on = ? AND evidence = ? AND accepted = 1 LIMIT 1",
                (subject, behaviour, day, evidence),
            ).fetchone()
        ):
            return "duplicate_claim"
        if not METHODOLOGY_PATTERN.match(methodology):
            return "methodology_not_recognised"
        draw = int(hashlib.sha256(f"reject:{item_ref}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if draw < self.faults.reject_rate:
            return "evidence_insufficient"
        return None

    def describe(self, filing: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "filing_id": filing["filing_id"],
            "batch_ref": filing["batch_ref"],
            "member_id": filing["member_id"],
            "status": self.profile.status(filing["status"]),
            "received_at": datetime.fromtimestamp(filing["received_at"], tz=UTC).isoformat(),
            "period": {"start": filing["period_start"], "end": filing["period_end"]},
            "totals": {"items": filing["item_count"], **self.profile.total_amount(filing["submitted_g"])},
        }
        if filing["status"] in ("certified", "rejected"):
            answer["rejected_items"] = json.loads(filing["rejected_items"] or "[]")
            answer["accepted_reduction_g"] = filing["accepted_g"] or 0
        if filing["status"] == "certified":
            year = datetime.fromtimestamp(filing["received_at"], tz=UTC).year
            answer["certificate"] = {
                "tonnes": filing["tonnes"],
                "serial_start": self.profile.serial(year, filing["serial_first"])
                if filing["tonnes"]
                else None,
                "serial_end": self.profile.serial(year, filing["serial_last"]) if filing["tonnes"] else None,
            }
        return answer

    def filing(self, member: Member, filing_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.db.execute(
                "SELECT filing_id FROM filings WHERE filing_id = ? AND member_id = ?",
                (filing_id, member.member_id),
            ).fetchone()
            return self.describe(self._advance(row[0])) if row else None

    def filings_since(self, member: Member, since: float) -> list[dict[str, Any]]:
        with self.lock:
            ids = [
                row[0]
                for row in self.db.execute(
                    "SELECT filing_id FROM filings WHERE member_id = ? AND received_at >= ? ORDER BY received_at",
                    (member.member_id, since),
                )
            ]
            return [self.describe(self._advance(filing_id)) for filing_id in ids]

    def balance(self, member: Member) -> dict[str, Any]:
        with self.lock:
            for (filing_id,) in self.db.execute(
                "SELECT filing_id FROM filings WHERE member_id = ? AND status NOT IN ('certified', 'rejected')",
                (member.member_id,),
            ).fetchall():
                self._advance(filing_id)
            remainder, accepted, certified, retired = self.db.execute(
                "SELECT remainder_g, accepted_g, certified_tonnes, retired_tonnes FROM members WHERE member_id = ?",
                (member.member_id,),
            ).fetchone()
        return {
            "member_id": member.member_id,
            "certified_tonnes": certified,
            "remainder_g": remainder,
            "accepted_reduction_g": accepted,
            "retired_tonnes": retired,
        }

    def retire(self, member: Member, body: bytes, payload: Any) -> tuple[int, dict[str, Any]]:
        body_hash = hashlib.sha256(body).hexdigest()
        details = []
        if not isinstance(payload, dict):
            return 422, {"error": "invalid", "details": ["the body must be a JSON object"]}
        reference = payload.get("retirement_ref")
        tonnes = payload.get("tonnes")
        if not isinstance(reference, str) or not reference:
            details.append("retirement_ref is missing")
        if isinstance(tonnes, bool) or not isinstance(tonnes, int) or tonnes <= 0:
            details.append("tonnes must be a positive whole number")
        for name in ("beneficiary", "purpose"):
            if not isinstance(payload.get(name), str) or not payload[name]:
                details.append(f"{name} is missing")
        if details:
            return 422, {"error": "invalid", "details": details}
        with self.lock:
            known = self.db.execute(
                "SELECT body_hash, answer FROM retirements WHERE retirement_ref = ? AND member_id = ?",
                (reference, member.member_id),
            ).fetchone()
            if known is not None:
                return (
                    (200, json.loads(known[1]))
                    if known[0] == body_hash
                    else (409, {"error": "retirement_ref_conflict"})
                )
            assert isinstance(tonnes, int)
            blocks = self._retirable_blocks(member.member_id, tonnes)
            if blocks is None:
                return 422, {"error": "invalid", "details": ["not enough certified tonnes to retire"]}
            answer = {
                "retirement_ref": reference,
                "tonnes": tonnes,
                "serial_start": blocks[0]["serial_start"],
                "serial_end": blocks[-1]["serial_end"],
                "blocks": blocks,
            }
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "UPDATE members SET retired_tonnes = retired_tonnes + ? WHERE member_id = ?",
                (tonnes, member.member_id),
            )
            self.db.execute(
                "INSERT INTO retirements (retirement_ref, member_id, body_hash, answer) VALUES (?, ?, ?, ?)",
                (reference, member.member_id, body_hash, json.dumps(answer)),
            )
            self.db.execute("COMMIT")
        return 201, answer

    def _retirable_blocks(self, member_id: str, tonnes: int) -> list[dict[str, Any]] | None:
        """The member's certified serials, oldest first, after the ones already retired."""
        certified, retired = self.db.execute(
            "SELECT certified_tonnes, retired_tonnes FROM members WHERE member_id = ?", (member_id,)
        ).fetchone()
        if certified - retired < tonnes:
            return None
        skip, wanted, blocks = retired, tonnes, []
        for first, last, received_at in self.db.execute(
            "SELECT serial_first, serial_last, received_at FROM filings WHERE member_id = ? AND tonnes > 0 "
            "ORDER BY serial_first",
            (member_id,),
        ):
            size = last - first + 1
            if skip >= size:
                skip -= size
                continue
            start = first + skip
            take = min(wanted, last - start + 1)
            year = datetime.fromtimestamp(received_at, tz=UTC).year
            blocks.append(
                {
                    "serial_start": self.profile.serial(year, start),
                    "serial_end": self.profile.serial(year, start + take - 1),
                    "tonnes": take,
                }
            )
            skip, wanted = 0, wanted - take
            if not wanted:
                break
        return blocks

    # --- faults --------------------------------------------------------------------------------

    def over_rate_limit(self, member_id: str) -> bool:
        if not self.faults.rate_limit:
            return False
        with self.lock:
            now = time.monotonic()
            recent = [moment for moment in self.request_times.get(member_id, []) if now - moment < 1.0]
            if len(recent) >= self.faults.rate_limit:
                self.request_times[member_id] = recent
                return True
            recent.append(now)
            self.request_times[member_id] = recent
            return False


def make_handler(exchange: Exchange) -> type[BaseHTTPRequestHandler]:
    profile = exchange.profile

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{profile.name}-simulator/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, answer: dict[str, Any] | list[Any], headers: dict[str, str] | None = None
        ) -> None:
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": "too_large"})
                return None
            return self.rfile.read(length) if length else b""

        def _authenticate(self, body: bytes) -> Member | None:
            member = exchange.members.get(self.headers.get(profile.key_header, ""))
            if member is None:
                self._send(401, {"error": "unknown_key"})
                return None
            stamp = self.headers.get(profile.timestamp_header, "")
            if not stamp.isdigit() or abs(time.time() - int(stamp)) > CLOCK_SKEW_SECONDS:
                self._send(401, {"error": "stale_timestamp"})
                return None
            expected = signature(
                secret=member.secret, method=self.command, path=self.path, timestamp=stamp, body=body
            )
            if self.headers.get(profile.signature_header, "") != expected:
                self._send(401, {"error": "bad_signature"})
                return None
            return member

        def _injected_fault(self, member: Member) -> bool:
            if exchange.faults.latency_ms:
                time.sleep(exchange.faults.latency_ms / 1000)
            if exchange.over_rate_limit(member.member_id):
                self._send(429, {"error": "rate_limited"}, {"Retry-After": "1"})
                return True
            if random.random() < exchange.faults.error_rate:
                self._send(503, {"error": "unavailable"})
                return True
            return False

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/_sim/faults":
                self._send(200, asdict(exchange.faults))
                return
            if parts.path == "/_sim/health":
                self._send(200, {"status": "ok", "profile": profile.name})
                return
            member = self._authenticate(b"")
            if member is None or self._injected_fault(member):
                return
            route = parts.path.removeprefix(profile.prefix)
            if route == "/filings":
                since_text = parse_qs(parts.query).get("since", ["1970-01-01T00:00:00+00:00"])[0]
                try:
                    since = datetime.fromisoformat(since_text.replace("Z", "+00:00"))
                except ValueError:
                    self._send(422, {"error": "invalid", "details": ["since must be an ISO 8601 time"]})
                    return
                if since.tzinfo is None:
                    since = since.replace(tzinfo=UTC)
                self._send(200, {"filings": exchange.filings_since(member, since.timestamp())})
            elif route.startswith("/filings/"):
                found = exchange.filing(member, route.removeprefix("/filings/"))
                self._send(200, found) if found else self._send(404, {"error": "not_found"})
            elif route == f"/members/{member.member_id}/balance":
                self._send(200, exchange.balance(member))
            elif route.startswith("/members/"):
                self._send(404, {"error": "not_found"})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            body = self._body()
            if body is None:
                return
            route = urlsplit(self.path).path
            if route == "/_sim/faults":
                if self.client_address[0] not in ("127.0.0.1", "::1"):
                    self._send(403, {"error": "loopback_only"})
                    return
                try:
                    exchange.faults.update(json.loads(body or b"{}"))
                except (ValueError, TypeError) as error:
                    self._send(422, {"error": "invalid", "details": [str(error)]})
                    return
                self._send(200, asdict(exchange.faults))
                return
            member = self._authenticate(body)
            if member is None or self._injected_fault(member):
                return
            try:
                payload = json.loads(body)
            except ValueError:
                self._send(422, {"error": "invalid", "details": ["the body is not JSON"]})
                return
            route = route.removeprefix(profile.prefix)
            if route == "/filings":
                status, answer = exchange.submit(member, body, payload)
                if status == 202 and random.random() < exchange.faults.drop_rate:
                    # Stored, then the connection is closed before the answer: the client must replay.
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._send(status, answer)
            elif route == "/retirements":
                self._send(*exchange.retire(member, body, payload))
            else:
                self._send(404, {"error": "not_found"})

    return Handler


def serve(exchange: Exchange, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(exchange))
    server.daemon_threads = True
    return server


def parse_member(text: str) -> Member:
    member_id, key_id, secret = text.split(":", 2)
    if not (member_id and key_id and secret):
        raise ValueError("a member is MEMBER_ID:KEY_ID:SECRET")
    return Member(member_id, key_id, secret)


__all__ = ["Exchange", "Faults", "HTTPStatus", "Member", "parse_member", "serve"]
