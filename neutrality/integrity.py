"""Checks run by `manage.py check_ledger`: every activity row recomputes from the factor rows it
kept, every issued statement still matches its hashes, and no year's credits exceed its
residual (a correction imported after the credits were retired can lower it)."""

from __future__ import annotations

import hashlib

from neutrality import selectors
from neutrality.models import ActivityRow, Statement
from neutrality.quantify import emissions


def activity_rows_recompute() -> list[str]:
    problems = []
    rows = ActivityRow.objects.select_related("factor", "certified_factor").order_by("id")
    for row in rows.iterator(chunk_size=2000):
        result = emissions(
            quantity=row.quantity,
            factor_kg=row.factor.value_kgco2e,
            certified=row.certified_quantity,
            certified_factor_kg=row.certified_factor.value_kgco2e if row.certified_factor else None,
        )
        if (result.location_g, result.market_g) != (row.location_g, row.market_g):
            problems.append(
                f"neutrality: activity row {row.pk} ({row.row_ref}) holds {row.location_g}/{row.market_g} g, "
                f"its factor rows give {result.location_g}/{result.market_g} g"
            )
    return problems


def statements_match_their_hashes() -> list[str]:
    problems = []
    for statement in Statement.objects.order_by("id").iterator(chunk_size=20):
        for kind in ("xlsx", "pdf"):
            if hashlib.sha256(bytes(getattr(statement, kind))).hexdigest() != getattr(
                statement, f"{kind}_sha256"
            ):
                problems.append(
                    f"neutrality: statement {statement.year} #{statement.number} {kind} differs from its hash"
                )
    return problems


def credits_within_residual() -> list[str]:
    return [
        f"neutrality: {year} has {selectors.retired_tonnes(year=year)} t of credits against a residual of "
        f"{selectors.residual_g(year=year)} g"
        for year in selectors.years()
        if selectors.retired_tonnes(year=year) > selectors.tonnes_allowed(year=year)
    ]
