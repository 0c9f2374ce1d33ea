"""Staff pages for changing reference data by two people: propose, decide, and the history."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from behaviours import change_forms, restatement
from behaviours import reference_changes as changes
from behaviours.models import Behaviour, ChangeKind, ChangeState, EmissionFactor, Methodology, ReferenceChange
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import BusinessLine
from carbon_accounts.roles import Access, staff_page
from rewards import selectors as rewards_selectors

KIND_OF_PATH = {
    "factor": ChangeKind.FACTOR,
    "methodology": ChangeKind.METHODOLOGY,
    "caps": ChangeKind.CAPS,
    "points-rule": ChangeKind.POINTS_RULE,
}
PATH_OF_KIND = {kind: path for path, kind in KIND_OF_PATH.items()}
HEADINGS = {
    ChangeKind.FACTOR: _("Propose an emission factor version"),
    ChangeKind.METHODOLOGY: _("Propose a methodology version"),
    ChangeKind.CAPS: _("Propose new daily limits for a behaviour"),
    ChangeKind.POINTS_RULE: _("Propose a points rule"),
}
# What the list of rows in force shows in its second column, for each kind.
ROW_COLUMNS = {
    ChangeKind.FACTOR: _("Value and dataset"),
    ChangeKind.METHODOLOGY: _("Method"),
    ChangeKind.CAPS: _("Daily quantity cap · daily event limit"),
    ChangeKind.POINTS_RULE: _("Points per event · grams per point · daily cap"),
}
HISTORY_LENGTH = 200
# The page lists this many affected records; the CSV download lists them all.
RECORDS_SHOWN = 50


def _shown(value: Any) -> str:
    """A stored value as people read it: no trailing zeros, yes or no, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _staff_member(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    assert isinstance(user, AbstractBaseUser)  # staff_page signed them in
    return user


def _visible(access: Access) -> QuerySet[ReferenceChange]:
    """An operator sees the group's reference changes and their own line's points rules."""
    found = ReferenceChange.objects.select_related("proposed_by", "decided_by", "line")
    if access.line_ids is not None:
        found = found.filter(Q(line__isnull=True) | Q(line_id__in=access.line_ids))
    return found


def _line_ids(access: Access) -> list[int] | None:
    """A line's operator sees the restatement of their own line's records only."""
    return None if access.line_ids is None else sorted(access.line_ids)


def _lines_for_points(access: Access) -> list[BusinessLine]:
    return [
        line
        for line in ledger_selectors.business_lines()
        if changes.may_change(access, kind=ChangeKind.POINTS_RULE, line_id=line.pk)
    ]


def _describe(change: ReferenceChange, request: HttpRequest) -> dict[str, Any]:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    values = [
        {
            "label": item.label,
            "before": _shown(item.before),
            "after": _shown(item.after),
            "changed": item.changed,
        }
        for item in changes.differences(change)
    ]
    return {
        "change": change,
        "values": values,
        "new_row": change.current_row_id is None,
        "own": change.proposed_by_id == request.user.pk,
        "may_decide": change.state == ChangeState.PROPOSED
        and change.proposed_by_id != request.user.pk
        and changes.may_change(access, kind=change.kind, line_id=change.line_id),
    }


def _proposable_kinds(access: Access) -> list[tuple[str, str]]:
    kinds = []
    for kind in (ChangeKind.FACTOR, ChangeKind.METHODOLOGY, ChangeKind.CAPS):
        if changes.may_change(access, kind=kind):
            kinds.append((PATH_OF_KIND[kind], str(HEADINGS[kind])))
    if _lines_for_points(access):
        kinds.append((PATH_OF_KIND[ChangeKind.POINTS_RULE], str(HEADINGS[ChangeKind.POINTS_RULE])))
    return kinds


@staff_page()
def change_queue(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    waiting = _visible(access).filter(state=ChangeState.PROPOSED).order_by("proposed_at")
    return render(
        request,
        "behaviours/staff/changes.html",
        {"items": [_describe(change, request) for change in waiting], "kinds": _proposable_kinds(access)},
    )


@staff_page()
def change_history(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    decided = _visible(access).exclude(state=ChangeState.PROPOSED).order_by("-decided_at", "-id")
    return render(
        request,
        "behaviours/staff/change_history.html",
        {
            "items": [_describe(change, request) for change in decided[:HISTORY_LENGTH]],
            "limit": HISTORY_LENGTH,
        },
    )


@staff_page(write=True)
def change_detail(request: HttpRequest, change_id: int) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    change = _visible(access).filter(pk=change_id).first()
    if change is None:
        raise Http404
    form = change_forms.DecisionForm()
    status = 200
    if request.method == "POST":
        form = change_forms.DecisionForm(request.POST)
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == change_forms.APPROVE:
                    changes.approve_change(
                        change_id=change.pk, approver=_staff_member(request), note=form.cleaned_data["reason"]
                    )
                    messages.success(request, gettext("The change is approved and in force."))
                else:
                    changes.refuse_change(
                        change_id=change.pk,
                        decider=_staff_member(request),
                        reason=form.cleaned_data["reason"],
                    )
                    messages.success(request, gettext("The change is refused; nothing in force changed."))
                return redirect("reference_change_history")
            except changes.ChangeRefused as refusal:
                form.add_error("reason" if refusal.field == "reason" else None, refusal.message)
        status = 400
        change.refresh_from_db()
    context = _describe(change, request)
    context["form"] = form
    preview = restatement.restatement_preview(change, line_ids=_line_ids(access))
    if preview is not None:
        context["preview"] = preview
        english = get_language() == "en"
        context["line_names"] = {
            line.code: line.name_en if english else line.name_zh for line in ledger_selectors.business_lines()
        }
        context["records_shown"] = preview.records[:RECORDS_SHOWN]
        context["sides"] = [
            {
                "heading": gettext("Corrected") if preview.posted else gettext("Not yet filed"),
                "note": gettext(
                    "A correction of each of these records was posted when the change was approved."
                )
                if preview.posted
                else gettext("These records would be corrected."),
                "sums": preview.sums.not_filed,
                "testid": "restated-not-filed",
            },
            {
                "heading": gettext("Filed with an exchange (under way or certified)"),
                "note": gettext("These keep the grams the exchange has; the difference is reported apart."),
                "sums": preview.sums.certified,
                "testid": "restated-certified",
            },
        ]
    return render(request, "behaviours/staff/change.html", context, status=status)


def _filing_words(certified: bool, *, posted: bool) -> str:
    """The CSV's fixed words for a record's side (read by programs, so never translated)."""
    if certified:
        return "filed, not restated"
    return "corrected" if posted else "not filed"


@staff_page()
def restatement_csv(request: HttpRequest, change_id: int) -> HttpResponse:
    """Every affected record of a correction, its stored and restated grams, and the sums."""
    access: Access = request.staff_access  # type: ignore[attr-defined]
    change = _visible(access).filter(pk=change_id).first()
    preview = (
        restatement.restatement_preview(change, line_ids=_line_ids(access)) if change is not None else None
    )
    if preview is None:
        raise Http404
    buffer = StringIO()
    out = csv.writer(buffer)
    out.writerow(
        ["record", "line", "date", "ghg_category", "stored_g", "restated_g", "difference_g", "filing"]
    )
    for item in preview.records:
        out.writerow(
            [
                item.record_id,
                item.line,
                item.occurred_on.isoformat(),
                item.ghg_category,
                item.stored_g,
                item.restated_g,
                item.difference_g,
                _filing_words(item.certified, posted=preview.posted),
            ]
        )
    out.writerow([])
    out.writerow(
        ["filing", "line", "month", "ghg_category", "records", "stored_g", "restated_g", "difference_g"]
    )
    for side, sums in (
        (_filing_words(False, posted=preview.posted), preview.sums.not_filed),
        (_filing_words(True, posted=preview.posted), preview.sums.certified),
    ):
        for row in [*sums.rows, sums.total]:
            out.writerow(
                [
                    side,
                    row.line or "total",
                    row.month,
                    row.ghg_category,
                    row.records,
                    row.stored_g,
                    row.restated_g,
                    row.difference_g,
                ]
            )
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="restatement-change-{change.pk}.csv"'  # type: ignore[union-attr]
    return response


def _prefill(kind: str, query: dict[str, str]) -> dict[str, Any]:
    """A proposal starts from the row in force that the staff member chose to change."""
    if kind == ChangeKind.FACTOR and query.get("factor", "").isdigit():
        factor = EmissionFactor.objects.filter(pk=int(query["factor"]), superseded_at__isnull=True).first()
        if factor is not None:
            initial = {name: getattr(factor, name) for name in forms.fields_for_model(EmissionFactor)}
            return {**initial, "region": factor.region_id, "value_kgco2e": _shown(factor.value_kgco2e)}
    if kind == ChangeKind.METHODOLOGY and query.get("methodology", "").isdigit():
        row = Methodology.objects.filter(pk=int(query["methodology"]), superseded_at__isnull=True).first()
        if row is not None:
            initial = {name: getattr(row, name) for name in forms.fields_for_model(Methodology)}
            return {
                **initial,
                "behaviour": row.behaviour_id,
                "region": row.region_id,
                "multiplier": _shown(row.multiplier),
            }
    if kind == ChangeKind.CAPS:
        behaviour = Behaviour.objects.filter(code=query.get("behaviour", "")).first()
        if behaviour is not None:
            cap = behaviour.max_quantity_per_day
            return {
                "behaviour": behaviour.code,
                "max_quantity_per_day": _shown(cap) if cap is not None else None,
                "max_events_per_day": behaviour.max_events_per_day,
            }
    if kind == ChangeKind.POINTS_RULE:
        line = BusinessLine.objects.filter(code=query.get("line", "")).first()
        if line is not None:
            code = query.get("behaviour", "")
            rule = rewards_selectors.current_points_rule(line_id=line.pk, behaviour_code=code)
            rule_values: dict[str, Any] = {"line": line.code, "behaviour": code}
            if rule is not None:
                rule_values.update(
                    points_per_event=rule.points_per_event,
                    grams_per_point=rule.grams_per_point,
                    daily_cap=rule.daily_cap,
                )
            return rule_values
    return {}


def _rows_in_force(kind: str, access: Access) -> list[dict[str, str]]:
    """The rows a proposal may start from, each with the query that fills the form with it."""
    if kind == ChangeKind.FACTOR:
        return [
            {
                "name": f"{f.activity}@{f.region_id}@{f.valid_from.isoformat()} v{f.version}",
                "values": f"{_shown(f.value_kgco2e)} / {f.per_unit} · {f.dataset}",
                "query": f"factor={f.pk}",
            }
            for f in EmissionFactor.objects.filter(superseded_at__isnull=True).order_by(
                "activity", "region_id", "valid_from"
            )
        ]
    if kind == ChangeKind.METHODOLOGY:
        return [
            {
                "name": f"{m.label} v{m.version}",
                "values": f"{m.method}: {m.activity_a}{' − ' + m.activity_b if m.activity_b else ''}"
                f" × {_shown(m.multiplier)}",
                "query": f"methodology={m.pk}",
            }
            for m in Methodology.objects.filter(superseded_at__isnull=True).order_by(
                "behaviour_id", "region_id", "valid_from"
            )
        ]
    if kind == ChangeKind.CAPS:
        return [
            {
                "name": b.code,
                "values": f"{_shown(b.max_quantity_per_day)} {b.unit} · {_shown(b.max_events_per_day)}",
                "query": f"behaviour={b.code}",
            }
            for b in Behaviour.objects.order_by("code")
        ]
    lines = _lines_for_points(access)
    return [
        {
            "name": f"{rule.line.code}/{rule.behaviour_code or '*'} v{rule.version}",
            "values": " · ".join(
                _shown(value) for value in (rule.points_per_event, rule.grams_per_point, rule.daily_cap)
            ),
            "query": f"line={rule.line.code}&behaviour={rule.behaviour_code}",
        }
        for rule in rewards_selectors.current_points_rules(line_ids=[line.pk for line in lines])
    ]


def _form_for(
    kind: str, access: Access, data: Any = None, initial: dict[str, Any] | None = None
) -> forms.Form:
    if kind == ChangeKind.FACTOR:
        return change_forms.FactorChangeForm(data, initial=initial)
    if kind == ChangeKind.METHODOLOGY:
        return change_forms.MethodologyChangeForm(data, initial=initial)
    if kind == ChangeKind.CAPS:
        return change_forms.CapsChangeForm(data, initial=initial)
    return change_forms.PointsRuleChangeForm(data, initial=initial, lines=_lines_for_points(access))


def _propose(kind: str, data: dict[str, Any], proposer: AbstractBaseUser) -> ReferenceChange:
    reason = data["reason"]
    if kind == ChangeKind.FACTOR:
        return changes.propose_factor_change(
            proposer=proposer,
            activity=data["activity"],
            region=data["region"].code,
            valid_from=data["valid_from"],
            values=changes.FactorValues(
                valid_to=data["valid_to"],
                value_kgco2e=data["value_kgco2e"],
                per_unit=data["per_unit"].strip(),
                gwp_basis=data["gwp_basis"].strip(),
                dataset=data["dataset"].strip(),
                source_ref=data["source_ref"].strip(),
                licence=data["licence"].strip(),
                status=data["status"],
                note=data["note"].strip(),
            ),
            reason=reason,
        )
    if kind == ChangeKind.METHODOLOGY:
        return changes.propose_methodology_change(
            proposer=proposer,
            behaviour=data["behaviour"].code,
            region=data["region"].code,
            valid_from=data["valid_from"],
            values=changes.MethodologyValues(
                method=data["method"],
                activity_a=data["activity_a"],
                activity_b=data["activity_b"],
                multiplier=data["multiplier"],
                fileable=data["fileable"],
                note=data["note"].strip(),
            ),
            reason=reason,
        )
    if kind == ChangeKind.CAPS:
        return changes.propose_caps_change(
            proposer=proposer,
            behaviour=data["behaviour"].code,
            values=changes.CapsValues(data["max_quantity_per_day"], data["max_events_per_day"]),
            reason=reason,
        )
    return changes.propose_points_rule_change(
        proposer=proposer,
        line=data["line"],
        behaviour_code=data["behaviour"].code if data["behaviour"] is not None else "",
        values=changes.PointsRuleValues(data["points_per_event"], data["grams_per_point"], data["daily_cap"]),
        reason=reason,
    )


@staff_page(write=True)
def propose_change(request: HttpRequest, kind_path: str) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    kind = KIND_OF_PATH.get(kind_path)
    if kind is None:
        raise Http404
    if kind_path not in dict(_proposable_kinds(access)):
        raise PermissionDenied("This role does not propose this kind of change.")
    status = 200
    initial: dict[str, Any] = {}
    if request.method == "POST":
        form = _form_for(kind, access, request.POST)
        if form.is_valid():
            try:
                change = _propose(kind, form.cleaned_data, _staff_member(request))
            except changes.ChangeRefused as refusal:
                form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            else:
                messages.success(
                    request,
                    gettext("Proposed: %(subject)s. Another staff member approves or refuses it.")
                    % {"subject": change.subject},
                )
                return redirect("reference_changes")
        status = 400
    else:
        initial = _prefill(kind, request.GET.dict())
        form = _form_for(kind, access, initial=initial)
    return render(
        request,
        "behaviours/staff/change_propose.html",
        {
            "form": form,
            "heading": HEADINGS[kind],
            "kind": kind,
            "kind_path": kind_path,
            "rows": _rows_in_force(kind, access),
            "row_columns": ROW_COLUMNS[kind],
            # A blank form opens the rows in force first: most proposals correct one of them.
            "choosing_row": request.method != "POST" and not initial,
        },
        status=status,
    )
