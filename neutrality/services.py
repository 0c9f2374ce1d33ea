"""Every write of the inventory, the targets, the credit register and the statements."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from behaviours import selectors as behaviour_selectors
from carbon_accounts import selectors as ledger_selectors
from exchange_bridge import selectors as exchange_selectors
from neutrality import catalogue, selectors
from neutrality.models import (
    ActivityImport,
    ActivityRow,
    CreditKind,
    CreditRetirement,
    CreditSource,
    Durability,
    EcosystemGoal,
    QualityLabel,
    Site,
    Statement,
    Target,
)
from neutrality.quantify import emissions


class NeutralityError(ValueError):
    """A refusal in the domain's words."""


# --- Activity rows ------------------------------------------------------------------------------

_PERIOD = re.compile(r"([0-9]{4})(?:-(?:([0-9]{2})|[Qq]([1-4])))?", re.ASCII)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_REFERENCE = re.compile(r"[\w.:/#-]{1,100}")
QUANTITY_LIMIT = Decimal("1e12")


def parse_period(text: str, *, today: date) -> tuple[date, date]:
    """ "2025" (the year), "2025-03" (a month) or "2025-Q2" (a quarter), begun by today."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise NeutralityError(
            _("The period %(text)r is not a year (2025), a month (2025-03) or a quarter (2025-Q2).")
            % {"text": text[:30]}
        )
    year = int(match[1])
    if not 2000 <= year <= 2100:
        raise NeutralityError(_("The period %(text)r is not a year this inventory keeps.") % {"text": text})
    if match[2]:
        month = int(match[2])
        if not 1 <= month <= 12:
            raise NeutralityError(_("The period %(text)r names no month.") % {"text": text})
        first, last = month, month
    elif match[3]:
        first = 3 * int(match[3]) - 2
        last = first + 2
    else:
        first, last = 1, 12
    start = date(year, first, 1)
    end = date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)
    end = date.fromordinal(end.toordinal() - 1)
    if start > today:
        raise NeutralityError(_("The period %(text)r has not begun yet.") % {"text": text})
    return start, end


def parse_amount(text: str, *, name: str) -> Decimal:
    """A plain number of at most 3 decimals: digits and a point, nothing else Decimal() reads."""
    written = text.strip()
    if len(written) > 30 or not _NUMBER.fullmatch(written):
        raise NeutralityError(
            _("%(name)s %(text)r is not a plain number such as 12 or 3.5.")
            % {"name": name, "text": written[:30]}
        )
    if len(written.partition(".")[2].rstrip("0")) > 3:
        raise NeutralityError(
            _("%(name)s %(text)r has more than 3 decimal places.") % {"name": name, "text": written}
        )
    value = Decimal(written)
    if value >= QUANTITY_LIMIT:
        raise NeutralityError(_("%(name)s %(text)r is too large.") % {"name": name, "text": written})
    return value.quantize(Decimal("0.001"))


@dataclass(frozen=True)
class ActivityInput:
    row_ref: str
    site: Site
    activity: catalogue.Activity
    period_start: date
    period_end: date
    quantity: Decimal
    certified: Decimal
    evidence: str
    replaces: str

    @property
    def digest(self) -> str:
        payload = {
            "site": self.site.code,
            "activity": self.activity.code,
            "period": [self.period_start.isoformat(), self.period_end.isoformat()],
            "quantity": str(self.quantity),
            "unit": self.activity.unit,
            "certified_kwh": str(self.certified),
            "evidence": self.evidence,
            "replaces": self.replaces,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _field(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise NeutralityError(_("%(name)s must be text or a number.") % {"name": name})
    return str(value).strip()


def read_activity(row: dict[str, Any], *, sites: dict[str, Site], today: date) -> ActivityInput:
    """A row as sent (text from a file, or JSON values) checked and read, or NeutralityError."""
    row_ref = _field(row, "row_ref")
    if not _REFERENCE.fullmatch(row_ref):
        raise NeutralityError(_("row_ref is required: up to 100 letters, digits and . : / # - _."))
    site = sites.get(_field(row, "site"))
    if site is None:
        raise NeutralityError(
            _("There is no site %(site)r in this business line.") % {"site": _field(row, "site")[:60]}
        )
    activity = catalogue.ACTIVITIES.get(_field(row, "activity"))
    if activity is None:
        raise NeutralityError(
            _("Unknown activity %(activity)r; use one of: %(known)s.")
            % {"activity": _field(row, "activity")[:60], "known": ", ".join(catalogue.ACTIVITIES)}
        )
    start, end = parse_period(_field(row, "period"), today=today)
    quantity = parse_amount(_field(row, "quantity"), name="quantity")
    if quantity <= 0:
        raise NeutralityError(_("quantity must be positive."))
    unit = _field(row, "unit")
    if unit.lower() != activity.unit.lower():
        raise NeutralityError(
            _("%(activity)s is counted in %(unit)s, not %(sent)r.")
            % {"activity": activity.code, "unit": activity.unit, "sent": unit[:30]}
        )
    certified_text = _field(row, "certified_kwh")
    certified = parse_amount(certified_text, name="certified_kwh") if certified_text else Decimal(0)
    if certified and not activity.is_electricity:
        raise NeutralityError(_("certified_kwh applies to electricity only."))
    if certified > quantity:
        raise NeutralityError(_("certified_kwh cannot exceed the electricity used."))
    evidence = _field(row, "evidence")
    if len(evidence) > 200:
        raise NeutralityError(_("evidence is longer than 200 characters."))
    replaces = _field(row, "replaces")
    if replaces and (not _REFERENCE.fullmatch(replaces) or replaces == row_ref):
        raise NeutralityError(_("replaces must name another row's row_ref."))
    return ActivityInput(row_ref, site, activity, start, end, quantity, certified, evidence, replaces)


def _quantified(item: ActivityInput) -> dict[str, Any]:
    region = item.site.region_id
    factor = behaviour_selectors.factor_on
    try:
        grid = factor(activity=item.activity.factor_activity, region=region, day=item.period_start)
        certified = (
            factor(activity=catalogue.CERTIFIED_ELECTRICITY_FACTOR, region=region, day=item.period_start)
            if item.certified
            else None
        )
    except behaviour_selectors.QuantificationError as error:
        raise NeutralityError(str(error)) from None
    if grid.per_unit.lower() != item.activity.unit.lower():
        raise NeutralityError(
            _("The factor %(factor)s is per %(per)s, not per %(unit)s.")
            % {"factor": grid.activity, "per": grid.per_unit, "unit": item.activity.unit}
        )
    result = emissions(
        quantity=item.quantity,
        factor_kg=grid.value_kgco2e,
        certified=item.certified,
        certified_factor_kg=certified.value_kgco2e if certified is not None else None,
    )
    return {
        "factor_id": grid.row_id,
        "certified_factor_id": certified.row_id if certified is not None else None,
        "location_g": result.location_g,
        "market_g": result.market_g,
    }


def printable(text: str) -> str:
    """Text echoed back in a result, without the control characters (NUL among them) and lone
    surrogates a JSON column cannot hold."""
    return "".join(character for character in text if character.isprintable())


@dataclass(frozen=True)
class RowResult:
    row: int
    row_ref: str
    outcome: str  # created | unchanged | refused
    message: str = ""
    location_g: int | None = None
    market_g: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "row_ref": self.row_ref,
            "outcome": self.outcome,
            "message": self.message,
            "location_g": self.location_g,
            "market_g": self.market_g,
        }


def _same_or_conflict(existing: ActivityRow, item: ActivityInput, number: int) -> RowResult:
    if existing.payload_digest == item.digest:
        return RowResult(number, item.row_ref, "unchanged", "", existing.location_g, existing.market_g)
    return RowResult(
        number,
        item.row_ref,
        "refused",
        _(
            "This row_ref was already imported with other figures. To correct it, import a row "
            "with a new row_ref and replaces=%(ref)s."
        )
        % {"ref": item.row_ref},
    )


def _import_one(
    *,
    line_id: int,
    number: int,
    row: dict[str, Any],
    sites: dict[str, Site],
    batch: ActivityImport,
    today: date,
) -> RowResult:
    row_ref = printable(str(row.get("row_ref") or ""))[:100] if isinstance(row, dict) else ""
    if not isinstance(row, dict):
        return RowResult(number, "", "refused", _("A row must be an object of named fields."))
    try:
        item = read_activity(row, sites=sites, today=today)
    except NeutralityError as error:
        return RowResult(number, row_ref, "refused", str(error))
    existing = ActivityRow.objects.filter(line_id=line_id, row_ref=item.row_ref).first()
    if existing is not None:
        return _same_or_conflict(existing, item, number)
    replaced = None
    if item.replaces:
        replaced = ActivityRow.objects.filter(line_id=line_id, row_ref=item.replaces).first()
        if replaced is None:
            return RowResult(
                number,
                item.row_ref,
                "refused",
                _("There is no row %(ref)r to replace.") % {"ref": item.replaces},
            )
        if replaced.superseded_at is not None:
            return RowResult(
                number,
                item.row_ref,
                "refused",
                _("The row %(ref)r has already been replaced.") % {"ref": item.replaces},
            )
    try:
        figures = _quantified(item)
    except NeutralityError as error:
        return RowResult(number, item.row_ref, "refused", str(error))
    try:
        with transaction.atomic():
            created = ActivityRow.objects.create(
                line_id=line_id,
                site=item.site,
                row_ref=item.row_ref,
                source=batch.source,
                activity=item.activity.code,
                scope=item.activity.scope,
                category=item.activity.category,
                year=item.period_start.year,
                period_start=item.period_start,
                period_end=item.period_end,
                quantity=item.quantity,
                unit=item.activity.unit,
                certified_quantity=item.certified,
                evidence=item.evidence,
                payload_digest=item.digest,
                replaces=replaced,
                imported=batch,
                **figures,
            )
            if replaced is not None:
                updated = ActivityRow.objects.filter(pk=replaced.pk, superseded_at__isnull=True).update(
                    superseded_at=timezone.now()
                )
                if updated != 1:
                    raise IntegrityError("replaced concurrently")
    except IntegrityError:
        # Another import wrote the same reference (or replaced the same row) meanwhile.
        existing = ActivityRow.objects.filter(line_id=line_id, row_ref=item.row_ref).first()
        if existing is not None:
            return _same_or_conflict(existing, item, number)
        return RowResult(
            number,
            item.row_ref,
            "refused",
            _("The row %(ref)r has already been replaced.") % {"ref": item.replaces},
        )
    message = _("replaces %(ref)s") % {"ref": item.replaces} if replaced is not None else ""
    return RowResult(number, item.row_ref, "created", message, created.location_g, created.market_g)


def import_activity(
    *, line_id: int, rows: list[Any], source: str, submitted_by: str = "", first_row_number: int = 1
) -> ActivityImport:
    """Each row is created, found unchanged (the same row_ref with the same figures) or refused
    with its reason; a replayed import therefore changes nothing. One transaction for all."""
    today = timezone.localdate()
    sites = {site.code: site for site in Site.objects.filter(line_id=line_id).select_related("region")}
    with transaction.atomic():
        batch = ActivityImport.objects.create(
            line_id=line_id, source=printable(source)[:200], submitted_by=submitted_by[:150], rows=len(rows)
        )
        results = [
            _import_one(
                line_id=line_id,
                number=first_row_number + position,
                row=row,
                sites=sites,
                batch=batch,
                today=today,
            )
            for position, row in enumerate(rows)
        ]
        counts = {
            outcome: sum(1 for r in results if r.outcome == outcome)
            for outcome in ("created", "unchanged", "refused")
        }
        batch.created = counts["created"]
        batch.unchanged = counts["unchanged"]
        batch.refused = counts["refused"]
        batch.replaced = sum(1 for r in results if r.outcome == "created" and r.message)
        batch.results = [r.as_dict() for r in results]
        batch.save(update_fields=["created", "unchanged", "refused", "replaced", "results"])
    return batch


# --- Sites, targets and the ecosystem goal ---------------------------------------------------------


def add_site(
    *, line_id: int, code: str, name_en: str, name_zh: str, region: str, kind: str = "office"
) -> Site:
    site, _created = Site.objects.get_or_create(
        line_id=line_id,
        code=code,
        defaults={"name_en": name_en, "name_zh": name_zh, "region_id": region, "kind": kind},
    )
    return site


def set_target(*, scope: str, base_year: int, target_year: int, percent: Decimal, set_by: str = "") -> Target:
    other_base = (
        Target.objects.filter(scope=scope)
        .exclude(base_year=base_year)
        .values_list("base_year", flat=True)
        .first()
    )
    if other_base is not None:
        raise NeutralityError(
            _("This scope's targets count from %(year)s; remove them first to change the base year.")
            % {"year": other_base}
        )
    if target_year <= base_year:
        raise NeutralityError(_("The target year must come after the base year."))
    if not Decimal(0) < percent <= Decimal(100):
        raise NeutralityError(_("The reduction must be above 0 % and at most 100 %."))
    target, _created = Target.objects.update_or_create(
        scope=scope,
        target_year=target_year,
        defaults={"base_year": base_year, "percent": percent, "set_by": set_by},
    )
    return target


def remove_target(*, target_id: int) -> None:
    Target.objects.filter(pk=target_id).delete()


def set_ecosystem_goal(*, start_year: int, target_year: int, goal_tonnes: int) -> EcosystemGoal:
    if target_year < start_year:
        raise NeutralityError(_("The target year cannot come before the first year counted."))
    goal, _created = EcosystemGoal.objects.update_or_create(
        singleton=True,
        defaults={"start_year": start_year, "target_year": target_year, "goal_tonnes": goal_tonnes},
    )
    return goal


# --- Credits -------------------------------------------------------------------------------------


def _lock_year(year: int) -> None:
    """The lock the database's own check takes (migration 0002): one writer of a year at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('neutrality.year'), %s::integer)", [year])


def _check_room(year: int, tonnes: int) -> None:
    allowed = selectors.tonnes_allowed(year=year)
    retired = selectors.retired_tonnes(year=year)
    if allowed == 0:
        raise NeutralityError(
            _("%(year)s has no inventory yet: credits are retired only against residual emissions.")
            % {"year": year}
        )
    if retired + tonnes > allowed:
        raise NeutralityError(
            _(
                "%(year)s has residual emissions of %(allowed)s t (rounded up) and %(retired)s t already "
                "retired against them: at most %(room)s t more may be retired against it."
            )
            % {"year": year, "allowed": allowed, "retired": retired, "room": max(allowed - retired, 0)}
        )


def _create_credit(**values: Any) -> CreditRetirement:
    try:
        with transaction.atomic():
            return CreditRetirement.objects.create(**values)
    except IntegrityError as error:
        text = str(error)
        if (
            "credit_first_serial_once" in text
            or "credit_last_serial_once" in text
            or "exchange_retirement" in text
        ):
            raise NeutralityError(
                _("These serials are already in the register, retired against a year.")
            ) from None
        if "residual" in text:
            raise NeutralityError(_("These credits would exceed the year's residual emissions.")) from None
        raise


def retire_exchange_block(*, year: int, retirement_id: int, recorded_by: str = "") -> CreditRetirement:
    """Count certified tonnes retired at an exchange against one year's residual emissions."""
    block = exchange_selectors.retired_block(retirement_id=retirement_id)
    if block is None:
        raise NeutralityError(_("There is no such exchange retirement."))
    line = ledger_selectors.business_lines().filter(pk=block.line_id).first()
    if line is not None and line.is_operational:
        # Certified from the employees' own recorded reductions: already inside the inventory.
        raise NeutralityError(
            _(
                "These tonnes were certified from the employees' own reductions, which already lower the "
                "inventory; retiring them against it would count them twice."
            )
        )
    with transaction.atomic():
        _lock_year(year)
        already = CreditRetirement.objects.filter(exchange_retirement_id=retirement_id).first()
        if already is not None:
            raise NeutralityError(
                _("This retirement already counts against %(year)s; a tonne counts against one year only.")
                % {"year": already.year}
            )
        _check_room(year, block.tonnes)
        return _create_credit(
            year=year,
            source=CreditSource.EXCHANGE,
            exchange_retirement_id=block.retirement_id,
            registry=f"exchange:{block.line_code}",
            project=block.purpose[:200] or block.reference,
            serial_start=block.serial_start or block.reference,
            serial_end=block.serial_end or block.reference,
            tonnes=block.tonnes,
            vintage=block.retired_on.year,
            kind=CreditKind.AVOIDANCE,
            durability=Durability.NOT_APPLICABLE,
            quality_label=QualityLabel.EXCHANGE_CERTIFIED,
            retired_on=block.retired_on,
            beneficiary=block.beneficiary[:200],
            recorded_by=recorded_by[:150],
        )


@dataclass(frozen=True)
class RegistryCredit:
    registry: str
    project: str
    serial_start: str
    serial_end: str
    tonnes: int
    vintage: int
    kind: str
    durability: str
    quality_label: str
    retired_on: date
    beneficiary: str


def record_registry_credit(*, year: int, credit: RegistryCredit, recorded_by: str = "") -> CreditRetirement:
    """Credits bought and retired in another registry, counted against one year's residual."""
    if credit.tonnes <= 0:
        raise NeutralityError(_("The tonnes must be a positive whole number."))
    if credit.retired_on > timezone.localdate():
        raise NeutralityError(_("The retirement date is in the future."))
    if credit.vintage > credit.retired_on.year:
        raise NeutralityError(_("The vintage cannot come after the retirement."))
    if (credit.kind == CreditKind.AVOIDANCE) != (credit.durability == Durability.NOT_APPLICABLE):
        raise NeutralityError(_("Only a removal has a durability; an avoidance has none."))
    with transaction.atomic():
        _lock_year(year)
        _check_room(year, credit.tonnes)
        return _create_credit(
            year=year,
            source=CreditSource.REGISTRY,
            registry=credit.registry,
            project=credit.project,
            serial_start=credit.serial_start,
            serial_end=credit.serial_end,
            tonnes=credit.tonnes,
            vintage=credit.vintage,
            kind=credit.kind,
            durability=credit.durability,
            quality_label=credit.quality_label,
            retired_on=credit.retired_on,
            beneficiary=credit.beneficiary,
            recorded_by=recorded_by[:150],
        )


# --- Statements ----------------------------------------------------------------------------------


def issue_statement(*, year: int, issued_by: str) -> Statement:
    """Write the year's statement once, as XLSX and PDF, and keep both files with their hashes."""
    from neutrality import statements

    if not selectors.live_rows(year=year).exists():
        raise NeutralityError(_("%(year)s has no inventory to state.") % {"year": year})
    with transaction.atomic():
        _lock_year(year)
        number = (Statement.objects.filter(year=year).aggregate(n=Max("number"))["n"] or 0) + 1
        issued_at = timezone.now()
        figures = statements.figures(year=year, number=number, issued_at=issued_at, issued_by=issued_by)
        xlsx = statements.render_xlsx(figures)
        pdf = statements.render_pdf(figures)
        return Statement.objects.create(
            year=year,
            number=number,
            issued_at=issued_at,
            issued_by=issued_by[:150],
            figures=figures,
            xlsx=xlsx,
            xlsx_sha256=hashlib.sha256(xlsx).hexdigest(),
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        )
