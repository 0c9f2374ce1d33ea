from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carbon_accounts import demo


class Command(BaseCommand):
    help = "Create the demo group, its four business lines, demo sign-ins and generated people."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employees", type=int, default=200, help="generated employees (default 200)")
        parser.add_argument("--customers", type=int, default=300, help="generated customers (default 300)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        demo.set_up_group_and_lines()
        demo.seed_named_demo_people()
        demo.seed_generated_people(
            employees=options["employees"], customers=options["customers"], progress=self._progress
        )
        for hook in demo_hooks():
            hook(self.stdout)
        self.stdout.write(f"demo data ready in {time.monotonic() - started:.1f} s")

    def _progress(self, label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        self.stdout.write(f"\r{label:>10} [{bar}] {done:>9,}/{total:,}", ending=end)
        sys.stdout.flush()


def demo_hooks() -> list:  # type: ignore[type-arg]
    """Higher apps add their demo data (catalogues, activity) through demo.register_hook."""
    return list(demo.HOOKS)
