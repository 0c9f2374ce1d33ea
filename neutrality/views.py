"""The neutrality pages: the office and auditors see the group; a line operator their line."""

from __future__ import annotations

import hashlib
import textwrap
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import BusinessLine
from carbon_accounts.roles import Access, staff_page
from exchange_bridge import selectors as exchange_selectors
from neutrality import catalogue, files, selectors, services
from neutrality.forms import EcosystemGoalForm, ExchangeCreditForm, RegistryCreditForm, TargetForm, UploadForm
from neutrality.models import ActivityImport, Site, Statement, Target

GRAMS_PER_TONNE = 1_000_000


def _access(request: HttpRequest) -> Access:
    return request.staff_access  # type: ignore[attr-defined,no-any-return]


def _group_wide(access: Access) -> Access:
    """The group's balance, credits, targets and statements: the office and auditors only."""
    if access.line_ids is not None:
        raise PermissionDenied(
            _("This page shows the whole group; a line operator sees their own line's inventory.")
        )
    return access


def _lines(access: Access) -> list[BusinessLine]:
    return [line for line in ledger_selectors.business_lines() if access.sees_line(line.pk)]


def _line_ids(access: Access) -> list[int] | None:
    return None if access.line_ids is None else sorted(access.line_ids)


def _name(item: Any) -> str:
    return str(getattr(item, "name_en" if (get_language() or "").startswith("en") else "name_zh"))


def _t(grams: int) -> float:
    """Tonnes for a chart only; every figure people read is formatted from the integer grams."""
    return round(grams / GRAMS_PER_TONNE, 3)


def _waterfall(balance: selectors.Balance) -> dict[str, Any]:
    gross = balance.gross_g
    exchange = balance.exchange_tonnes * GRAMS_PER_TONNE
    registry = balance.registry_tonnes * GRAMS_PER_TONNE
    steps = [
        ("total", _("Without the recorded actions"), 0, balance.without_recorded_actions_g),
        ("contribution", _("Recorded employee and site actions"), gross, balance.without_recorded_actions_g),
        ("total", _("Gross operational emissions = residual"), 0, gross),
        ("credit", _("Credits retired at exchanges"), gross - exchange, gross),
        ("credit", _("Credits from other registries"), gross - exchange - registry, gross - exchange),
        ("total", _("Not covered"), 0, balance.uncovered_g),
    ]
    return {
        # Short lines, so a phone shows every label under its bar.
        "labels": [textwrap.wrap(str(label), 14) for _kind, label, _low, _high in steps],
        "kinds": [kind for kind, _label, _low, _high in steps],
        # Whole tonnes of credits may pass the residual by under a tonne: the bars stop at zero.
        "bars": [[_t(max(low, 0)), _t(max(high, 0))] for _kind, _label, low, high in steps],
        "unit": "t CO2e",
    }


def _year_rows(line_ids: list[int] | None) -> list[dict[str, Any]]:
    rows = []
    for year in selectors.years(line_ids=line_ids):
        inventory = selectors.inventory(year=year, line_ids=line_ids)
        rows.append(
            {"year": year, "inventory": inventory, "balance": selectors.balance(year=year, line_ids=line_ids)}
        )
    return rows


def _path_chart(paths: list[selectors.TargetPath]) -> list[dict[str, Any]]:
    return [
        {
            "scope": item.scope,
            "labels": [str(y.year) for y in item.years],
            "path": [_t(y.expected_g) for y in item.years],
            "actual": [_t(y.actual_g) if y.actual_g is not None else None for y in item.years],
            "path_label": _("Path to the target"),
            "actual_label": _("Actual"),
        }
        for item in paths
        if item.years
    ]


@staff_page()
def overview(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    line_ids = _line_ids(access)
    years = _year_rows(line_ids)
    context: dict[str, Any] = {"access": access, "years": years, "lines": _lines(access)}
    if line_ids is None:
        paths = selectors.target_paths()
        goal, ecosystem = selectors.ecosystem(up_to=timezone.localdate().year)
        context.update(
            {
                "paths": paths,
                "path_chart": _path_chart(paths),
                "latest": years[-1] if years else None,
                "waterfall": _waterfall(years[-1]["balance"]) if years else None,
                "goal": goal,
                "ecosystem": ecosystem if goal is not None or any(e.reduction_g for e in ecosystem) else [],
            }
        )
    return render(request, "neutrality/overview.html", context)


@staff_page()
def year_detail(request: HttpRequest, year: int) -> HttpResponse:
    access = _access(request)
    line_ids = _line_ids(access)
    inventory = selectors.inventory(year=year, line_ids=line_ids)
    if not inventory.categories and (line_ids is not None or not selectors.credits(year=year).exists()):
        raise Http404(_("There is no inventory for this year."))
    balance = selectors.balance(year=year, line_ids=line_ids)
    lines = {line.pk: line for line in ledger_selectors.business_lines()}
    sites = {site.pk: site for site in Site.objects.filter(pk__in=[s for s, _l, _m in inventory.by_site])}
    rows = list(selectors.rows_of(year=year, line_ids=line_ids))
    context: dict[str, Any] = {
        "access": access,
        "year": year,
        "inventory": inventory,
        "balance": balance,
        "by_line": [
            (_name(lines[line_id]), location, market) for line_id, location, market in inventory.by_line
        ],
        "by_site": [(sites[site_id], location, market) for site_id, location, market in inventory.by_site],
        "categories": [
            {"total": category, "rows": [row for row in rows if row.category == category.category]}
            for category in inventory.categories
        ],
        "activity_labels": {code: activity.label for code, activity in catalogue.ACTIVITIES.items()},
    }
    if line_ids is None:
        context.update(
            {
                "waterfall": _waterfall(balance),
                "credits": selectors.credits(year=year),
                "statements": selectors.statements(year=year),
                "can_issue": access.can_write,
            }
        )
    return render(request, "neutrality/year.html", context)


@staff_page(write=True)
def issue_statement(request: HttpRequest, year: int) -> HttpResponse:
    access = _group_wide(_access(request))
    if request.method != "POST":
        return redirect("neutrality_year", year=year)
    if not access.can_write:  # pragma: no cover - staff_page(write=True) refuses auditors first
        raise PermissionDenied
    try:
        statement = services.issue_statement(year=year, issued_by=request.user.get_username())
    except services.NeutralityError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Statement %(year)s issue %(n)s issued.") % {"year": statement.year, "n": statement.number},
        )
    return redirect("neutrality_year", year=year)


@staff_page()
def statement_file(request: HttpRequest, statement_id: int, kind: str) -> HttpResponse:
    _group_wide(_access(request))
    if kind not in ("xlsx", "pdf"):
        raise Http404
    statement = get_object_or_404(Statement, pk=statement_id)
    content = bytes(getattr(statement, kind))
    # The file as issued: refused rather than served if it no longer matches its recorded hash.
    if hashlib.sha256(content).hexdigest() != getattr(statement, f"{kind}_sha256"):
        raise PermissionDenied(
            _("This statement file no longer matches the hash recorded when it was issued.")
        )
    content_type = (
        "application/pdf"
        if kind == "pdf"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="neutrality-{statement.year}-{statement.number}.{kind}"'
    )
    response["X-Content-SHA256"] = getattr(statement, f"{kind}_sha256")
    return response


@staff_page(write=True)
def activity(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    lines = _lines(access)
    form = UploadForm(request.POST or None, request.FILES or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        line = form.cleaned_data["line"]
        upload = form.cleaned_data["file"]
        try:
            rows = files.read(upload.name, upload.read(files.MAX_BYTES + 1))
        except files.FileRefused as error:
            form.add_error("file", str(error))
        else:
            batch = services.import_activity(
                line_id=line.pk,
                rows=rows,
                source=f"file:{upload.name}",
                submitted_by=request.user.get_username(),
                first_row_number=2,  # the header is the file's first row
            )
            return redirect("neutrality_import", import_id=batch.pk)
    imports = ActivityImport.objects.filter(line__in=lines).select_related("line")[:20]
    sites = Site.objects.filter(line__in=lines).select_related("line", "region")
    return render(
        request,
        "neutrality/activity.html",
        {
            "access": access,
            "form": form if access.can_write else None,
            "imports": imports,
            "sites": sites,
            "activities": catalogue.ACTIVITIES.values(),
        },
        status=400 if request.method == "POST" else 200,
    )


@staff_page()
def import_results(request: HttpRequest, import_id: int) -> HttpResponse:
    access = _access(request)
    batch = get_object_or_404(ActivityImport.objects.select_related("line"), pk=import_id)
    if not access.sees_line(batch.line_id):
        raise Http404
    return render(request, "neutrality/import.html", {"batch": batch})


def _retirement_choices(access: Access) -> list[tuple[int, str]]:
    operational = {line.pk for line in ledger_selectors.business_lines() if line.is_operational}
    blocks = exchange_selectors.retired_blocks(exclude_ids=selectors.accounted_exchange_retirements())
    return [
        (
            block.retirement_id,
            f"{block.reference} · {block.line_code} · {block.tonnes} t · {block.serial_start} … {block.serial_end}",
        )
        for block in blocks
        if block.line_id not in operational
    ]


@staff_page(write=True)
def credits(request: HttpRequest) -> HttpResponse:
    access = _group_wide(_access(request))
    years = selectors.years()
    exchange_form = ExchangeCreditForm(
        request.POST if request.POST.get("form") == "exchange" else None,
        retirements=_retirement_choices(access),
        years=years,
        prefix="exchange",
    )
    registry_form = RegistryCreditForm(
        request.POST if request.POST.get("form") == "registry" else None, years=years, prefix="registry"
    )
    status = 200
    if request.method == "POST":
        status = 400
        user = request.user.get_username()
        try:
            if request.POST.get("form") == "exchange" and exchange_form.is_valid():
                services.retire_exchange_block(
                    year=exchange_form.cleaned_data["year"],
                    retirement_id=exchange_form.cleaned_data["retirement"],
                    recorded_by=user,
                )
                messages.success(request, _("The exchange retirement now counts against its year."))
                return redirect("neutrality_credits")
            if request.POST.get("form") == "registry" and registry_form.is_valid():
                data = registry_form.cleaned_data
                services.record_registry_credit(
                    year=data["year"],
                    credit=services.RegistryCredit(
                        registry=data["registry"],
                        project=data["project"],
                        serial_start=data["serial_start"],
                        serial_end=data["serial_end"],
                        tonnes=data["tonnes"],
                        vintage=data["vintage"],
                        kind=data["kind"],
                        durability=data["durability"],
                        quality_label=data["quality_label"],
                        retired_on=data["retired_on"],
                        beneficiary=data["beneficiary"],
                    ),
                    recorded_by=user,
                )
                messages.success(request, _("The credits are in the register."))
                return redirect("neutrality_credits")
        except services.NeutralityError as error:
            (exchange_form if request.POST.get("form") == "exchange" else registry_form).add_error(
                None, str(error)
            )
    by_year = [(year, selectors.balance(year=year)) for year in years]
    return render(
        request,
        "neutrality/credits.html",
        {
            "register": selectors.credits(),
            "by_year": by_year,
            "exchange_form": exchange_form if access.can_write else None,
            "registry_form": registry_form if access.can_write else None,
        },
        status=status,
    )


@staff_page(write=True)
def targets(request: HttpRequest) -> HttpResponse:
    access = _group_wide(_access(request))
    kind = request.POST.get("form")
    target_form = TargetForm(request.POST if kind == "target" else None, prefix="target")
    goal = selectors.ecosystem_goal()
    goal_form = EcosystemGoalForm(
        request.POST if kind == "goal" else None,
        prefix="goal",
        initial={
            "start_year": goal.start_year,
            "target_year": goal.target_year,
            "goal_tonnes": goal.goal_tonnes,
        }
        if goal
        else None,
    )
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if kind == "target" and target_form.is_valid():
                services.set_target(**target_form.cleaned_data, set_by=request.user.get_username())
                messages.success(request, _("Target saved."))
                return redirect("neutrality_targets")
            if kind == "goal" and goal_form.is_valid():
                services.set_ecosystem_goal(**goal_form.cleaned_data)
                messages.success(request, _("Ecosystem goal saved."))
                return redirect("neutrality_targets")
            if kind == "remove":
                target_id = request.POST.get("target", "")
                if target_id.isascii() and target_id.isdigit():
                    services.remove_target(target_id=int(target_id))
                    messages.success(request, _("Target removed."))
                    return redirect("neutrality_targets")
        except services.NeutralityError as error:
            (goal_form if kind == "goal" else target_form).add_error(None, str(error))
    return render(
        request,
        "neutrality/targets.html",
        {
            "targets": Target.objects.all(),
            "paths": selectors.target_paths(),
            "target_form": target_form if access.can_write else None,
            "goal_form": goal_form if access.can_write else None,
            "goal": goal,
        },
        status=status,
    )
