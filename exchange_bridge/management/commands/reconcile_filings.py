from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from exchange_bridge import client, services


class Command(BaseCommand):
    help = "Reconcile every member's filings with its exchange; non-zero exit when any does not close."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        for member in client.memberships():
            try:
                run = services.reconcile(member=member)
            except (services.FilingError, client.ExchangeUnreachable) as error:
                self.stderr.write(f"{member.member_id}: could not reconcile: {error}")
                failures += 1
                continue
            verdict = "closes" if run.closes else "DOES NOT CLOSE"
            self.stdout.write(
                f"{member.member_id} ({member.exchange}): filed {run.platform_filed_g} g, accepted "
                f"{run.exchange_accepted_g} g, {run.certified_tonnes} t + {run.remainder_g} g: {verdict}"
            )
            if run.details:
                self.stdout.write("  " + run.details.replace("\n", "\n  "))
            failures += not run.closes
        if failures:
            raise CommandError(f"{failures} member(s) do not reconcile")
