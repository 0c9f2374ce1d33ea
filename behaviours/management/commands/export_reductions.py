"""`manage.py export_reductions --period 2026-Q2 --format xlsx [--line CODE] [--output FILE]`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from behaviours import reports
from carbon_accounts.models import BusinessLine


class Command(BaseCommand):
    help = "Export the period's reductions by line, behaviour and GHG category (CSV or XLSX)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="2026-Q2, 2026-05 or 2026")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
        parser.add_argument(
            "--line", action="append", default=None, help="only this business line (repeatable)"
        )
        parser.add_argument(
            "--output", type=Path, default=None, help="file to write (default: reductions-PERIOD.FORMAT)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = reports.parse_period(options["period"])
        except reports.PeriodError as error:
            raise CommandError(str(error)) from None
        line_ids = None
        if options["line"]:
            found = dict(BusinessLine.objects.filter(code__in=options["line"]).values_list("code", "pk"))
            missing = set(options["line"]) - set(found)
            if missing:
                raise CommandError(f"unknown business line(s): {', '.join(sorted(missing))}")
            line_ids = list(found.values())
        output = options["output"] or Path(f"reductions-{period.label}.{options['format']}")
        started = time.monotonic()
        steps = iter(range(1, 5))

        def progress(step: str) -> None:
            self.stderr.write(f"[{next(steps, 4)}/4] {step} ({time.monotonic() - started:.1f} s)")

        if options["format"] == "csv":
            progress("totals and factor rows")
            with output.open("w", newline="", encoding="utf-8") as handle:
                reports.write_csv(period, line_ids, handle)  # type: ignore[arg-type]
        else:
            reports.write_xlsx(period, line_ids, output, progress)
        self.stdout.write(
            f"wrote {output} ({output.stat().st_size:,} bytes) in {time.monotonic() - started:.1f} s"
        )
        sys.stdout.flush()
