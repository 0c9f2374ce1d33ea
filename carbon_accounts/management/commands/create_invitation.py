from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carbon_accounts import services
from carbon_accounts.models import BusinessLine, JoiningCodeKind


class Command(BaseCommand):
    help = "Create a one-time invitation code for an employee's staff id. Shown once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--line", required=True, help="business line code, e.g. employees")
        parser.add_argument("--staff-id", required=True, help="the employee's id in the line's systems")
        parser.add_argument("--name", default="", help="the employee's name (optional)")

    def handle(self, *args: Any, **options: Any) -> None:
        line = BusinessLine.objects.filter(code=options["line"]).first()
        if line is None:
            raise CommandError(f"unknown business line {options['line']!r}")
        try:
            invitation, code = services.issue_joining_code(
                kind=JoiningCodeKind.INVITATION,
                line=line,
                external_ref=options["staff_id"],
                display_name=options["name"],
            )
        except services.JoiningRefused as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(f"{invitation.line.code} {invitation.external_ref}: {code}")
        self.stderr.write(
            f"Valid until {invitation.expires_at:%Y-%m-%d %H:%M %Z}, once. Only its hash is stored."
        )
