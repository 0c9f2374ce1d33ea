"""`manage.py quantify BEHAVIOUR QUANTITY --region R --date D`: explain any figure the platform shows."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from behaviours import quantify as pure
from behaviours import selectors
from behaviours.models import Behaviour


class Command(BaseCommand):
    help = "Compute the reduction of one behaviour and print it with the methodology and factor rows used (JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("behaviour")
        parser.add_argument("quantity")
        parser.add_argument("--region", default="GLOBAL")
        parser.add_argument("--date", dest="day", default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--occupants", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        behaviour = Behaviour.objects.filter(code=options["behaviour"]).first()
        if behaviour is None:
            raise CommandError(
                f"unknown behaviour {options['behaviour']!r}; see the methodology page for the list"
            )
        try:
            day = date.fromisoformat(options["day"]) if options["day"] else date.today()
        except ValueError:
            raise CommandError(f"bad date {options['day']!r}: use YYYY-MM-DD") from None
        try:
            quantity = pure.parse_quantity(options["quantity"])
            if not behaviour.accrues_reduction:
                raise CommandError(f"{behaviour.code} earns points only; it accrues no measured reduction")
            result = selectors.quantify(
                behaviour_code=behaviour.code,
                quantity=quantity,
                region=options["region"],
                day=day,
                occupants=options["occupants"],
            )
        except pure.QuantificationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(explain(behaviour, quantity, result), ensure_ascii=False, indent=2))


def explain(behaviour: Behaviour, quantity: Any, result: pure.Quantification) -> dict[str, Any]:
    return {
        "behaviour": behaviour.code,
        "quantity": str(quantity),
        "unit": behaviour.unit,
        "reduction_g": result.reduction_g,
        "reduction_kg_exact": str(result.reduction_kg_exact),
        "methodology": result.methodology.label,
        "method": result.methodology.method,
        "multiplier": str(result.methodology.multiplier.normalize()),
        "fileable": result.methodology.fileable,
        "ghg_category": behaviour.ghg_category,
        "factors": [
            {
                "activity": factor.activity,
                "region": factor.region,
                "valid_from": factor.valid_from.isoformat(),
                "value": str(factor.value_kgco2e.normalize()),
                "per_unit": factor.per_unit,
                "source": factor.source,
                "licence": factor.licence,
            }
            for factor in result.factors
        ],
    }
