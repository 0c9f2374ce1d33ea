from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from behaviours.reference import REFERENCE_DIR, load_reference_data


class Command(BaseCommand):
    help = "Load behaviours, methodologies, emission factors and regions (idempotent, versioned)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--directory", type=Path, default=REFERENCE_DIR, help="folder with the four CSV files"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = load_reference_data(options["directory"])
        self.stdout.write(f"reference data loaded: {report.summary()}")
