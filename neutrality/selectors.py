"""Reads of the inventory, the balance, the path against the targets and the credit register.

Every figure is a sum over live activity rows (those no later row replaces) and credit rows.
Gross operational emissions use market-based Scope 2. The reductions recorded on the platform
are read as a contribution only: they already lower the inventory, so the residual is the gross
figure itself and nothing is subtracted from it a second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from behaviours import selectors as behaviour_selectors
from neutrality import catalogue
from neutrality.models import (
    ActivityRow,
    CreditRetirement,
    CreditSource,
    EcosystemGoal,
    Statement,
    Target,
    TargetScope,
)
from neutrality.path import Milestone, YearOnPath, path

GRAMS_PER_TONNE = 1_000_000

# Which scopes each target scope adds up, with Scope 2 market-based.
TARGET_SCOPES: dict[str, tuple[int, ...]] = {
    TargetScope.SCOPE_1: (1,),
    TargetScope.SCOPE_2: (2,),
    TargetScope.SCOPE_1_2: (1, 2),
    TargetScope.SCOPE_3: (3,),
    TargetScope.OPERATIONAL: (1, 2, 3),
}


def live_rows(*, year: int | None = None, line_ids: Iterable[int] | None = None) -> QuerySet[ActivityRow]:
    rows = ActivityRow.objects.filter(superseded_at__isnull=True)
    if year is not None:
        rows = rows.filter(year=year)
    if line_ids is not None:
        rows = rows.filter(line_id__in=list(line_ids))
    return rows


def years(*, line_ids: Iterable[int] | None = None) -> list[int]:
    """Years with an inventory (or, for the whole group, with credits retired against them)."""
    found = set(live_rows(line_ids=line_ids).values_list("year", flat=True).distinct())
    if line_ids is None:
        found |= set(CreditRetirement.objects.values_list("year", flat=True).distinct())
    return sorted(found)


@dataclass(frozen=True)
class CategoryTotal:
    category: str
    scope: int
    rows: int
    location_g: int
    market_g: int

    @property
    def label(self) -> str:
        return catalogue.category_label(self.category)


@dataclass(frozen=True)
class Inventory:
    year: int
    categories: list[CategoryTotal]
    by_line: list[tuple[int, int, int]]  # (line id, location g, market g)
    by_site: list[tuple[int, int, int]]  # (site id, location g, market g)

    def scope_g(self, scope: int, *, market: bool = True) -> int:
        return sum(c.market_g if market else c.location_g for c in self.categories if c.scope == scope)

    @property
    def scope_1_g(self) -> int:
        return self.scope_g(1)

    @property
    def scope_2_location_g(self) -> int:
        return self.scope_g(2, market=False)

    @property
    def scope_2_market_g(self) -> int:
        return self.scope_g(2)

    @property
    def scope_3_g(self) -> int:
        return self.scope_g(3)

    @property
    def total_location_g(self) -> int:
        return sum(c.location_g for c in self.categories)

    @property
    def total_market_g(self) -> int:
        return sum(c.market_g for c in self.categories)

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.categories)


def inventory(*, year: int, line_ids: Iterable[int] | None = None) -> Inventory:
    rows = live_rows(year=year, line_ids=line_ids)
    by_category = {
        item["category"]: item
        for item in rows.values("category", "scope").annotate(
            rows=Count("id"), location=Sum("location_g"), market=Sum("market_g")
        )
    }
    order = list(catalogue.CATEGORIES)
    categories = [
        CategoryTotal(
            category=code,
            scope=item["scope"],
            rows=item["rows"],
            location_g=int(item["location"] or 0),
            market_g=int(item["market"] or 0),
        )
        for code, item in sorted(
            by_category.items(), key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order)
        )
    ]

    def grouped(name: str) -> list[tuple[int, int, int]]:
        return [
            (item[name], int(item["location"] or 0), int(item["market"] or 0))
            for item in rows.values(name)
            .annotate(location=Sum("location_g"), market=Sum("market_g"))
            .order_by(name)
        ]

    return Inventory(year=year, categories=categories, by_line=grouped("line_id"), by_site=grouped("site_id"))


def rows_of(
    *, year: int, category: str | None = None, line_ids: Iterable[int] | None = None
) -> QuerySet[ActivityRow]:
    """The live rows behind a figure, with their site and exact factor rows."""
    rows = live_rows(year=year, line_ids=line_ids).select_related(
        "site", "line", "factor", "certified_factor", "replaces"
    )
    if category is not None:
        rows = rows.filter(category=category)
    return rows.order_by("category", "site__code", "period_start", "row_ref")


def retired_tonnes(*, year: int) -> int:
    return int(CreditRetirement.objects.filter(year=year).aggregate(t=Sum("tonnes"))["t"] or 0)


def residual_g(*, year: int) -> int:
    """The year's residual emissions: gross operational emissions (market-based), from which
    nothing is subtracted. Credits are retired against this figure."""
    return int(live_rows(year=year).aggregate(g=Sum("market_g"))["g"] or 0)


def tonnes_allowed(*, year: int) -> int:
    """Whole tonnes that may be retired against the year: the residual rounded up."""
    return -(-residual_g(year=year) // GRAMS_PER_TONNE)


@dataclass(frozen=True)
class Balance:
    year: int
    gross_location_g: int
    gross_g: int  # market-based: what the residual is
    contribution_g: int  # recorded employee and site reductions, already inside gross_g
    exchange_tonnes: int
    registry_tonnes: int

    @property
    def residual_g(self) -> int:
        # The contribution is never subtracted here: it has already lowered the inventory.
        return self.gross_g

    @property
    def without_recorded_actions_g(self) -> int:
        """What the inventory would have shown without the recorded actions (illustration)."""
        return self.gross_g + self.contribution_g

    @property
    def credits_tonnes(self) -> int:
        return self.exchange_tonnes + self.registry_tonnes

    @property
    def credits_g(self) -> int:
        return self.credits_tonnes * GRAMS_PER_TONNE

    @property
    def uncovered_g(self) -> int:
        return max(self.residual_g - self.credits_g, 0)

    @property
    def neutral(self) -> bool:
        """A neutrality claim only when the year has an inventory and its credits cover it."""
        return self.residual_g > 0 and self.credits_g >= self.residual_g


def balance(*, year: int, line_ids: Iterable[int] | None = None) -> Balance:
    """The group's balance; with line_ids, that part of the inventory and contribution only
    (credits are the group's and count against the group's residual alone)."""
    lines = list(line_ids) if line_ids is not None else None
    totals = live_rows(year=year, line_ids=lines).aggregate(
        location=Sum("location_g"), market=Sum("market_g")
    )
    if lines is None:
        contribution = behaviour_selectors.operational_reductions_by_year(year=year)
    else:
        contribution = sum(
            behaviour_selectors.operational_reductions_by_year(year=year, line_id=line_id)
            for line_id in lines
        )
    credits = {
        item["source"]: int(item["t"] or 0)
        for item in CreditRetirement.objects.filter(year=year).values("source").annotate(t=Sum("tonnes"))
    }
    whole_group = lines is None
    return Balance(
        year=year,
        gross_location_g=int(totals["location"] or 0),
        gross_g=int(totals["market"] or 0),
        contribution_g=contribution,
        exchange_tonnes=credits.get(CreditSource.EXCHANGE, 0) if whole_group else 0,
        registry_tonnes=credits.get(CreditSource.REGISTRY, 0) if whole_group else 0,
    )


def credits(*, year: int | None = None) -> QuerySet[CreditRetirement]:
    register = CreditRetirement.objects.select_related("exchange_retirement")
    return register.filter(year=year) if year is not None else register.order_by("-year", "id")


def accounted_exchange_retirements() -> set[int]:
    return set(
        CreditRetirement.objects.filter(exchange_retirement__isnull=False).values_list(
            "exchange_retirement_id", flat=True
        )
    )


def scope_actuals(*, scopes: tuple[int, ...]) -> dict[int, int]:
    """A target scope's emissions (Scope 2 market-based) per year with an inventory."""
    rows = live_rows().filter(scope__in=scopes).values("year").annotate(g=Sum("market_g")).order_by("year")
    return {item["year"]: int(item["g"] or 0) for item in rows}


@dataclass
class TargetPath:
    scope: str
    base_year: int
    base_g: int | None
    milestones: list[Milestone]
    years: list[YearOnPath] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(TargetScope(self.scope).label)


def target_paths() -> list[TargetPath]:
    """Each scope with targets: its straight-line path and the actual of each year."""
    by_scope: dict[str, list[Target]] = {}
    for target in Target.objects.order_by("scope", "target_year"):
        by_scope.setdefault(target.scope, []).append(target)
    all_years = years()
    paths = []
    for scope in TargetScope.values:
        targets = by_scope.get(scope)
        if not targets:
            continue
        base_year = targets[0].base_year
        actuals = scope_actuals(scopes=TARGET_SCOPES[scope])
        milestones = [Milestone(t.target_year, t.percent) for t in targets]
        base_g = actuals.get(base_year)
        item = TargetPath(scope=scope, base_year=base_year, base_g=base_g, milestones=milestones)
        if base_g:
            item.years = path(
                base_year=base_year,
                base_g=base_g,
                milestones=milestones,
                actuals={year: g for year, g in actuals.items() if year >= base_year},
                last_year=max(all_years, default=base_year),
            )
        paths.append(item)
    return paths


@dataclass(frozen=True)
class EcosystemYear:
    year: int
    reduction_g: int
    cumulative_g: int
    goal_cumulative_g: int | None  # the straight-line share of the goal reached by this year


def ecosystem_goal() -> EcosystemGoal | None:
    return EcosystemGoal.objects.first()


def ecosystem(*, up_to: int) -> tuple[EcosystemGoal | None, list[EcosystemYear]]:
    """Customers' reductions (Scope 3+) per year and cumulated against their own goal."""
    goal = ecosystem_goal()
    first = goal.start_year if goal is not None else min(years() or [up_to])
    last = max(up_to, goal.target_year if goal is not None else up_to)
    rows = []
    cumulative = 0
    for year in range(first, last + 1):
        reduction = behaviour_selectors.ecosystem_reductions_by_year(year=year) if year <= up_to else 0
        cumulative += reduction
        share = None
        if goal is not None:
            span = goal.target_year - goal.start_year + 1
            share = int(Decimal(goal.goal_tonnes * GRAMS_PER_TONNE) * (year - goal.start_year + 1) / span)
        rows.append(EcosystemYear(year, reduction, cumulative, share))
    return goal, rows


def statements(*, year: int | None = None) -> QuerySet[Statement]:
    issued = Statement.objects.defer("xlsx", "pdf", "figures")
    return issued.filter(year=year) if year is not None else issued
