"""Loading the reference CSVs into versioned rows (`manage.py load_reference_data`)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from behaviours import quantify as pure
from behaviours import selectors
from behaviours.models import Behaviour, EmissionFactor, Methodology, QuantificationBasis, Region

REFERENCE_DIR = Path(__file__).resolve().parent / "reference_data"


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    new_versions: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], table: str) -> None:
        bucket[table] = bucket.get(table, 0) + 1

    def summary(self) -> str:
        parts = []
        for label, bucket in (
            ("new", self.created),
            ("new versions", self.new_versions),
            ("updated", self.updated),
        ):
            if bucket:
                parts.append(label + ": " + ", ".join(f"{table} {n}" for table, n in sorted(bucket.items())))
        return "; ".join(parts) or "nothing changed"


def _rows(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / name).open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _optional_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@transaction.atomic
def load_reference_data(directory: Path = REFERENCE_DIR) -> LoadReport:
    report = LoadReport()
    _load_regions(directory, report)
    _load_behaviours(directory, report)
    _load_factors(directory, report)
    _load_methodologies(directory, report)
    add_bases()
    return report


def add_bases() -> int:
    """Add every quantification basis the rows in force can give, with the reference data that
    makes it possible. Recording then only reads bases: a record never waits for another
    transaction that added the basis it needs and has not committed yet."""
    snapshot = selectors.reference()
    reachable = pure.reachable_bases(
        parents=snapshot.parents, methodologies=snapshot.methodologies, factors=snapshot.factors
    )
    known = set(QuantificationBasis.objects.values_list("methodology_id", "factor_a_id", "factor_b_id"))
    added = QuantificationBasis.objects.bulk_create(
        [
            QuantificationBasis(methodology_id=m, factor_a_id=a, factor_b_id=b, method=method)
            for (m, a, b), method in reachable.items()
            if (m, a, b) not in known
        ],
        ignore_conflicts=True,
    )
    return len(added)


def _load_regions(directory: Path, report: LoadReport) -> None:
    rows = _rows(directory, "regions.csv")
    created_now = set()
    for row in rows:  # first without parents, so any order of rows works
        _region, created = Region.objects.get_or_create(
            code=row["region"],
            defaults={"name_en": row["name_en"], "name_zh": row["name_zh"], "note": row["note"]},
        )
        if created:
            created_now.add(row["region"])
            report.count(report.created, "regions")
    for row in rows:
        values = {
            "parent_id": row["parent"] or None,
            "name_en": row["name_en"],
            "name_zh": row["name_zh"],
            "note": row["note"],
        }
        changed = Region.objects.filter(code=row["region"]).exclude(**values).update(**values)
        if changed and row["region"] not in created_now:
            report.count(report.updated, "regions")


def _load_behaviours(directory: Path, report: LoadReport) -> None:
    for row in _rows(directory, "behaviours.csv"):
        values = {
            "audience": row["audience"],
            "category": row["category"],
            "unit": row["unit"],
            "ghg_category": row["ghg_category"],
            "accrues_reduction": row["accrues_reduction"] == "yes",
            "max_quantity_per_day": Decimal(row["max_quantity_per_day"])
            if row["max_quantity_per_day"]
            else None,
            "max_events_per_day": int(row["max_events_per_day"]) if row["max_events_per_day"] else None,
            "points_per_event": int(row["points_per_event"]) if row["points_per_event"] else None,
            "attributes": row["attributes"],
            "recorded_by": row["recorded_by"],
            "evidence_needed": row["evidence_needed"],
            "evidence": row["evidence"],
            "name_en": row["name_en"],
            "name_zh": row["name_zh"],
        }
        behaviour = Behaviour.objects.filter(code=row["code"]).first()
        if behaviour is None:
            Behaviour.objects.create(code=row["code"], **values)
            report.count(report.created, "behaviours")
        elif any(getattr(behaviour, name) != value for name, value in values.items()):
            # Records keep the caps and category they were recorded under; the catalogue may change.
            Behaviour.objects.filter(pk=behaviour.pk).update(**values)
            report.count(report.updated, "behaviours")


def _load_factors(directory: Path, report: LoadReport) -> None:
    for row in _rows(directory, "emission_factors.csv"):
        key = {
            "activity": row["activity"],
            "region_id": row["region"],
            "valid_from": date.fromisoformat(row["valid_from"]),
        }
        values = {
            "valid_to": _optional_date(row["valid_to"]),
            "value_kgco2e": Decimal(row["value_kgco2e"]),
            "per_unit": row["per_unit"],
            "gwp_basis": row["gwp_basis"],
            "dataset": row["dataset"],
            "source_ref": row["source_ref"],
            "licence": row["licence"],
            "status": row["status"],
            "note": row["note"],
        }
        _add_version(EmissionFactor, key, values, report, "emission factors")


def _load_methodologies(directory: Path, report: LoadReport) -> None:
    for row in _rows(directory, "methodologies.csv"):
        key = {
            "behaviour_id": row["behaviour"],
            "region_id": row["region"],
            "valid_from": date.fromisoformat(row["valid_from"]),
        }
        values = {
            "method": row["method"],
            "activity_a": row["activity_a"],
            "activity_b": row["activity_b"],
            "multiplier": Decimal(row["multiplier"]),
            "fileable": row["fileable"] == "yes",
            "note": row["note"],
        }
        _add_version(Methodology, key, values, report, "methodologies")


def _add_version(
    model: type[EmissionFactor] | type[Methodology],
    key: Mapping[str, object],
    values: Mapping[str, object],
    report: LoadReport,
    table: str,
) -> EmissionFactor | Methodology:
    """Leave an unchanged row alone; otherwise supersede it and add the next version. Returns
    the row now in force."""
    current = model.objects.select_for_update().filter(**key, superseded_at__isnull=True).first()  # type: ignore[attr-defined]
    if current is not None and all(getattr(current, name) == value for name, value in values.items()):
        return current  # type: ignore[no-any-return]
    version = 1
    if current is not None:
        version = current.version + 1
        model.objects.filter(pk=current.pk).update(superseded_at=timezone.now())  # type: ignore[attr-defined]
        report.count(report.new_versions, table)
    else:
        report.count(report.created, table)
    return model.objects.create(**key, **values, version=version)  # type: ignore[attr-defined,no-any-return]


@transaction.atomic
def add_factor_version(*, activity: str, region: str, valid_from: date, **values: object) -> EmissionFactor:
    """A new version of one factor: supersedes the current one, edits nothing."""
    row = _add_version(
        EmissionFactor,
        {"activity": activity, "region_id": region, "valid_from": valid_from},
        values,
        LoadReport(),
        "emission factors",
    )
    assert isinstance(row, EmissionFactor)
    add_bases()
    return row


@transaction.atomic
def add_methodology_version(
    *, behaviour: str, region: str, valid_from: date, **values: object
) -> Methodology:
    """A new version of one methodology: supersedes the current one, edits nothing."""
    row = _add_version(
        Methodology,
        {"behaviour_id": behaviour, "region_id": region, "valid_from": valid_from},
        values,
        LoadReport(),
        "methodologies",
    )
    assert isinstance(row, Methodology)
    add_bases()
    return row
