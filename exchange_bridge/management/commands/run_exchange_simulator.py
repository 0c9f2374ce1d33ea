"""`manage.py run_exchange_simulator --exchange seee|ceex --port N --storage PATH --member ID:KEY:SECRET`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange_bridge.profiles import PROFILES
from exchange_bridge.simulator import Exchange, Faults, parse_member, serve


class Command(BaseCommand):
    help = "Run a simulated carbon exchange (its own storage; never reads the platform's tables)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exchange", choices=sorted(PROFILES), required=True)
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--storage", type=Path, default=None, help="SQLite file (default .data/<exchange>.sqlite3)"
        )
        parser.add_argument(
            "--member", action="append", default=[], help="MEMBER_ID:KEY_ID:SECRET (repeatable)"
        )
        parser.add_argument("--review-delay", type=float, default=5.0)
        parser.add_argument("--error-rate", type=float, default=0.0)
        parser.add_argument("--drop-rate", type=float, default=0.0)
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument("--rate-limit", type=float, default=0.0)
        parser.add_argument("--reject-rate", type=float, default=0.0)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            members = [parse_member(text) for text in options["member"]]
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not members:
            members = _members_from_settings(options["exchange"])
        if not members:
            raise CommandError("no member: pass --member MEMBER_ID:KEY_ID:SECRET")
        storage = options["storage"] or Path(settings.BASE_DIR) / ".data" / f"{options['exchange']}.sqlite3"
        storage.parent.mkdir(parents=True, exist_ok=True)
        faults = Faults(
            error_rate=options["error_rate"],
            drop_rate=options["drop_rate"],
            latency_ms=options["latency_ms"],
            rate_limit=options["rate_limit"],
            review_delay=options["review_delay"],
            reject_rate=options["reject_rate"],
        )
        exchange = Exchange(
            PROFILES[options["exchange"]], str(storage), {m.key_id: m for m in members}, faults
        )
        server = serve(exchange, options["host"], options["port"])
        self.stdout.write(
            f"{options['exchange']} simulator on http://{options['host']}:{options['port']}{exchange.profile.prefix} "
            f"(storage {storage}, members {', '.join(m.member_id for m in members)})",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def _members_from_settings(exchange: str) -> list:  # type: ignore[type-arg]
    """Under `make run` the simulators know the members the platform is configured with."""
    return [
        parse_member(f"{m['member_id']}:{m['key_id']}:{m['secret']}")
        for m in settings.EXCHANGE_MEMBERSHIPS.values()
        if m.get("exchange") == exchange
    ]
