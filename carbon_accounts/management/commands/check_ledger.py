from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from carbon_accounts.integrity import check_ledger


class Command(BaseCommand):
    help = "Recompute every balance and total from the transfers and check every ledger invariant."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = check_ledger()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger drift: {len(problems)} difference(s) found")
        self.stdout.write(self.style.SUCCESS("ledger clean: every invariant holds"))
