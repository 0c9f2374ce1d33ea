from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carbon_accounts import credentials
from carbon_accounts.models import BusinessLine


class Command(BaseCommand):
    help = "Create an API key for a business-line system (--line) or a person (--email). Shown once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="what the key is for, e.g. 'card system'")
        parser.add_argument("--line", help="business line code")
        parser.add_argument("--email", help="a person's sign-in email")
        parser.add_argument("--rate-per-minute", type=int, default=6000)

    def handle(self, *args: Any, **options: Any) -> None:
        line = user = None
        if options["line"]:
            line = BusinessLine.objects.filter(code=options["line"]).first()
            if line is None:
                raise CommandError(f"unknown business line {options['line']!r}")
        if options["email"]:
            user = get_user_model().objects.filter(email=options["email"]).first()
            if user is None:
                raise CommandError(f"no person signs in as {options['email']!r}")
        if (line is None) == (user is None):
            raise CommandError("give exactly one of --line and --email")
        try:
            credential, key = credentials.issue(
                name=options["name"], line=line, user=user, rate_per_minute=options["rate_per_minute"]
            )
        except credentials.StaffTokenRefused as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(f"{credential}: {key}")
        self.stderr.write("Keep this key now: only its hash is stored, it cannot be shown again.")
