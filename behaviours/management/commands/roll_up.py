"""`manage.py roll_up [--rebuild]`: bring the export's day totals up to the ledger now."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from behaviours import rollup


class Command(BaseCommand):
    help = "Add the transfers posted since the last rollup to the reduction day totals (beat does this every minute)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="forget the day totals and sum them again from the ledger"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = rollup.rebuild() if options["rebuild"] else rollup.roll_up()
        seconds = time.perf_counter() - started
        if result.rolled_up:
            self.stdout.write(
                f"rolled up {result.transfers} transfers; day totals now hold every transfer up to "
                f"#{result.through_transfer_id} ({seconds:.1f} s)"
            )
        else:
            self.stdout.write(
                f"day totals hold every transfer up to #{result.through_transfer_id}: {result.reason}"
            )
