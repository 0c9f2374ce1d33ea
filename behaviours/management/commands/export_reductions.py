"""`manage.py export_reductions --period 2026-Q2 --format xlsx [--line CODE] [--as-reported-on DAY]
[--output FILE]`."""

from __future__ import annotations

import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from behaviours import reports
from carbon_accounts import selectors as ledger_selectors
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
            "--as-reported-on",
            default=None,
            metavar="DAY",
            help="only the postings made by the end of this day (2026-07-05), as an export made then "
            "showed; without it, as restated: every posting up to now",
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            help="file to write (default: reductions-PERIOD-as-reported-DAY.FORMAT or "
            "reductions-PERIOD-as-restated-TODAY.FORMAT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = reports.parse_period(options["period"])
        except reports.PeriodError as error:
            raise CommandError(str(error)) from None
        today = timezone.localdate()
        as_reported_on = self._reported_on(options["as_reported_on"], today)
        line_ids = None
        if options["line"]:
            found = dict(BusinessLine.objects.filter(code__in=options["line"]).values_list("code", "pk"))
            missing = set(options["line"]) - set(found)
            if missing:
                raise CommandError(f"unknown business line(s): {', '.join(sorted(missing))}")
            line_ids = list(found.values())
        stem = reports.file_stem(period, as_reported_on, made_on=today)
        output = options["output"] or Path(f"{stem}.{options['format']}")
        started = time.monotonic()
        steps = iter(range(1, 5))

        def progress(step: str) -> None:
            self.stderr.write(f"[{next(steps, 4)}/4] {step} ({time.monotonic() - started:.1f} s)")

        if options["format"] == "csv":
            progress("totals and factor rows")
            with output.open("w", newline="", encoding="utf-8") as handle:
                reports.write_csv(period, line_ids, handle, as_reported_on=as_reported_on)  # type: ignore[arg-type]
        else:
            reports.write_xlsx(period, line_ids, output, progress, as_reported_on=as_reported_on)
        self.stdout.write(
            f"wrote {output} ({output.stat().st_size:,} bytes) in {time.monotonic() - started:.1f} s"
        )
        sys.stdout.flush()

    @staticmethod
    def _reported_on(text: str | None, today: date) -> date | None:
        if text is None:
            return None
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
                raise ValueError(text)
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise CommandError(f"--as-reported-on {text!r} is not a day: use 2026-07-05.") from None
        try:
            ledger_selectors.check_reported_on(day, today=today)
        except ledger_selectors.ReportedOnError as error:
            raise CommandError(str(error)) from None
        return day
