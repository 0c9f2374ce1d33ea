from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carbon_accounts.demo import DEMO_PASSWORD, DEMO_SIGN_INS


class Command(BaseCommand):
    help = "Print the URL and the demo sign-in accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("")
        self.stdout.write("The platform is starting at  http://127.0.0.1:8000/")
        self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD}):")
        for sign_in in DEMO_SIGN_INS:
            self.stdout.write(f"  {sign_in.email:<28} {sign_in.role}")
        self.stdout.write("Verification and password-reset emails are printed by the web process.")
        self.stdout.write("Press Ctrl-C to stop everything.")
        self.stdout.write("")
