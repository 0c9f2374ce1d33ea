from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from carbon_accounts.integrity import check_ledger, posting_lag


class Command(BaseCommand):
    help = "Recompute every balance and total along a second path, check every ledger invariant and report the posting lag."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = check_ledger()
        for lag in posting_lag():
            since = f", the oldest recorded {lag.oldest:%Y-%m-%d %H:%M:%S %Z}" if lag.oldest else ""
            self.stdout.write(f"posting lag: {lag.unposted} {lag.kind} entries not yet posted{since}")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger drift: {len(problems)} difference(s) found")
        self.stdout.write(self.style.SUCCESS("ledger clean: every invariant holds"))
