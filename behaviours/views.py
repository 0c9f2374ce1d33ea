from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from behaviours import engagement, points_lots, selectors, services
from behaviours import quantify as pure
from behaviours.explain import (
    calculation,
    cap_in_words,
    factor_value,
    hold_reasons_in_words,
    not_counted,
    points_in_words,
)
from behaviours.models import Behaviour, BehaviourRecord, Region, SavedRoute
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.roles import Access, staff_page
from config.form_fields import PlainDateField, PlainDecimalField, PlainIntegerField
from config.numbers import format_kilograms, format_number
from config.units import amount, unit_name

FIELD_OF_REFUSAL = {
    "behaviour": "behaviour",
    "quantity": "quantity",
    "occurred_on": "occurred_on",
    "occupants": "occupants",
    "duration_minutes": "duration_minutes",
    "evidence_id": "evidence_id",
    "region": "region",
    "site": "region",
    "account": "account",
}


class NamedChoiceField(forms.ModelChoiceField):
    """Behaviours and regions offered by their names in the page's language, never by their codes."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name_en if (get_language() or "").startswith("en") else obj.name_zh)


class CalculatorForm(forms.Form):
    behaviour = NamedChoiceField(
        queryset=Behaviour.objects.filter(accrues_reduction=True), to_field_name="code", label=_("Behaviour")
    )
    quantity = PlainDecimalField(
        label=_("Quantity"), min_value=Decimal("0.001"), max_digits=12, decimal_places=3
    )
    region = NamedChoiceField(queryset=Region.objects.all(), label=_("Region"), initial="GLOBAL")
    day = PlainDateField(label=_("Date"))
    occupants = PlainIntegerField(label=_("Occupants (carpool)"), min_value=2, max_value=8, required=False)


def methodology(request: HttpRequest) -> HttpResponse:
    """Public: every behaviour, its method, factors and sources, and a calculator."""
    form = CalculatorForm(request.GET or None, initial={"day": timezone.localdate(), "region": "GLOBAL"})
    result: dict[str, Any] | None = None
    if request.GET and form.is_valid():
        data = form.cleaned_data
        try:
            quantification = selectors.quantify(
                behaviour_code=data["behaviour"].code,
                quantity=data["quantity"],
                region=data["region"].code,
                day=data["day"],
                occupants=data["occupants"],
            )
            result = {
                "quantification": quantification,
                "behaviour": data["behaviour"],
                "quantity": data["quantity"],
            }
        except pure.QuantificationError as error:
            form.add_error(None, str(error))
    factors = list(selectors.current_factors())
    return render(
        request,
        "behaviours/methodology.html",
        {
            "form": form,
            "result": result,
            "behaviours": selectors.catalogue(),
            "factors": factors,
            "shows_ogl": any(factor.is_open_government_licence for factor in factors),
        },
    )


class RecordForm(forms.Form):
    account = forms.TypedChoiceField(label=_("Account"), coerce=int)
    behaviour = forms.ChoiceField(
        label=_("What did you do?"),
        error_messages={
            "invalid_choice": _(
                "Choose an action from the list: what only the line's own systems see, they record themselves."
            )
        },
    )
    quantity = PlainDecimalField(
        label=_("How much"),
        help_text=_("In the unit shown next to the behaviour."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    round_trip = forms.BooleanField(label=_("Round trip (counts the distance twice)"), required=False)
    occurred_on = PlainDateField(label=_("Date"))
    occupants = PlainIntegerField(label=_("People in the car (carpool only)"), required=False)
    duration_minutes = PlainIntegerField(
        label=_("Duration in minutes (optional)"), required=False, min_value=1
    )
    evidence_id = forms.CharField(
        label=_("Evidence id (ticket, ride or order number)"), required=False, max_length=120
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, accounts: list[Any], category: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = (get_language() or "").startswith("en")
        account_field = self.fields["account"]
        behaviour_field = self.fields["behaviour"]
        assert isinstance(account_field, forms.ChoiceField) and isinstance(behaviour_field, forms.ChoiceField)
        account_field.choices = [(a.pk, a.line.name_en if english else a.line.name_zh) for a in accounts]
        audiences = {a.line.audience for a in accounts}
        # A person is offered what they may record, and what a reviewer confirms from their
        # evidence; what only a line's systems observe is never offered.
        behaviour_field.choices = [
            (
                b.code,
                f"{b.name_en if english else b.name_zh} ({unit_name(b.unit)})"
                + ("" if b.person_may_record else " · " + str(_("checked by a reviewer"))),
            )
            for b in Behaviour.objects.filter(
                audience__in=audiences, **({"category": category} if category else {})
            ).order_by("audience", "category", "code")
            if b.person_may_record or b.reviewer_may_confirm
        ]


@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    """Total, this month, a trend, a breakdown by behaviour, an everyday picture, each points
    wallet, points soon to lapse."""
    accounts = list(ledger_selectors.personal_accounts_of(request.user))
    if not accounts and not request.user.is_staff:
        # A new sign-up lands here: show them how to join rather than an empty account. Staff
        # need no line to work, so they keep this page.
        return redirect("join")
    account_ids = [account.pk for account in accounts]
    today = timezone.localdate()
    first_month = date(today.year - 1, today.month, 1)
    trend = selectors.monthly_reductions(account_ids=account_ids, since=first_month)
    this_month = sum(
        grams for month, grams in trend if (month.year, month.month) == (today.year, today.month)
    )
    total_g = sum(account.balance_g for account in accounts)
    kilometres, car_factor = selectors.car_kilometres_equivalent(total_g, day=today)
    return render(
        request,
        "behaviours/my_account.html",
        {
            "accounts": accounts,
            # Commutes are an employee's: a customer is offered the actions of their own lines.
            "is_employee": any(account.line and account.line.audience == "employee" for account in accounts),
            "total_g": total_g,
            "self_declared_g": selectors.self_declared_grams(account_ids=account_ids),
            "this_month_g": this_month,
            # Per wallet, never summed: a line's points are spent only on its own green rights.
            "expiring": points_lots.expiring_points_of(accounts=accounts, today=today),
            "car_kilometres": kilometres,
            "streak": engagement.streak_of(account_ids=account_ids, today=today),
            "car_factor": car_factor,
            "breakdown": selectors.breakdown_by_behaviour(account_ids=account_ids),
            "declarations": _declarations_of(int(request.user.pk or 0)),
            "trend": {
                "months": [m.strftime("%Y-%m") for m, _g in trend],
                "kg": [round(g / 1000, 3) for _m, g in trend],
            },
        },
    )


def _declarations_of(holder_id: int) -> list[tuple[Any, str]]:
    declarations = list(selectors.declarations_of(holder_id=holder_id))
    if not declarations:
        return []
    english = (get_language() or "").startswith("en")
    names = {kind.code: kind.name_en if english else kind.name_zh for kind in selectors.claim_kinds()}
    return [(declaration, names.get(declaration.kind, declaration.kind)) for declaration in declarations]


COMMUTE_MODES = (
    "commute_walk",
    "commute_cycle",
    "commute_ebike",
    "commute_bus",
    "commute_metro",
    "commute_rail",
    "commute_carpool",
    "commute_ev",
)


class CommuteForm(forms.Form):
    route = forms.TypedChoiceField(
        label=_("My usual routes"), coerce=int, required=False, widget=forms.RadioSelect
    )
    mode = forms.ChoiceField(label=_("How did you travel?"))
    distance = PlainDecimalField(
        label=_("Distance one way (km)"), widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    round_trip = forms.BooleanField(label=_("Round trip (there and back)"), required=False, initial=True)
    occurred_on = PlainDateField(label=_("Date"))
    occupants = PlainIntegerField(label=_("People in the car (carpool only)"), required=False)
    evidence_id = forms.CharField(
        label=_("Ticket, ride or order number (optional)"), required=False, max_length=120
    )
    save_as = forms.CharField(
        label=_("Save as a usual route named (optional)"), required=False, max_length=60
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, routes: list[SavedRoute], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = (get_language() or "").startswith("en")
        names = {
            b.code: (b.name_en if english else b.name_zh)
            for b in Behaviour.objects.filter(code__in=COMMUTE_MODES)
        }
        mode_field = self.fields["mode"]
        route_field = self.fields["route"]
        assert isinstance(mode_field, forms.ChoiceField) and isinstance(route_field, forms.ChoiceField)
        mode_field.choices = [(code, names.get(code, code)) for code in COMMUTE_MODES]
        route_field.choices = [("", _("None: enter the trip below"))] + [
            (
                route.pk,
                f"{route.name}: {names.get(route.behaviour_id, route.behaviour_id)}, "
                + amount(route.distance, "km"),
            )
            for route in routes
        ]


@login_required
def commute(request: HttpRequest) -> HttpResponse:
    """Log a commute in a few taps: a usual route, or mode and distance, one way or round trip."""
    account = ledger_selectors.personal_accounts_of(request.user).filter(line__audience="employee").first()
    if account is None:
        return render(request, "behaviours/commute.html", {"form": None})
    assert account.line is not None
    routes = list(SavedRoute.objects.filter(account=account).order_by("name"))
    initial = {"occurred_on": timezone.localdate(), "idempotency_key": uuid.uuid4().hex, "round_trip": True}
    form = CommuteForm(request.POST or None, routes=routes, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        route = next((r for r in routes if r.pk == data["route"]), None)
        mode = route.behaviour_id if route else data["mode"]
        distance: Any = route.distance if route else data["distance"]
        occupants = (route.occupants if route else None) or data["occupants"]
        try:
            one_way = pure.parse_quantity(distance)
        except pure.QuantificationError as error:
            form.add_error("distance", str(error))
        else:
            attributes: dict[str, Any] = {"round_trip": bool(data["round_trip"])}
            if occupants is not None:
                attributes["occupants"] = occupants
            if route is not None:
                attributes["route"] = route.name
            try:
                outcome = services.record_behaviour(
                    request=services.RecordRequest(
                        line=account.line,
                        account=account,
                        behaviour_code=mode,
                        quantity=one_way * 2 if data["round_trip"] else one_way,
                        occurred_on=data["occurred_on"],
                        source="web",
                        idempotency_key=f"{request.user.pk}:{data['idempotency_key']}",
                        attributes=attributes,
                        evidence_id=data["evidence_id"].strip(),
                    )
                )
            except services.RecordRefused as refusal:
                field = {"quantity": "distance", "behaviour": "mode"}.get(refusal.field or "", refusal.field)
                form.add_error(field if field in form.fields else None, refusal.message)
            else:
                if data["save_as"].strip() and route is None:
                    SavedRoute.objects.update_or_create(
                        account=account,
                        name=data["save_as"].strip(),
                        defaults={"behaviour_id": mode, "distance": one_way, "occupants": occupants},
                    )
                messages.success(request, _record_message(outcome.record))
                return redirect("record_detail", record_id=outcome.record.pk)
    return render(request, "behaviours/commute.html", {"form": form, "routes": routes})


@login_required
def record(request: HttpRequest) -> HttpResponse:
    accounts = list(ledger_selectors.personal_accounts_of(request.user))
    if not accounts:
        return render(request, "behaviours/record.html", {"form": None})
    initial = {
        "occurred_on": timezone.localdate(),
        "idempotency_key": uuid.uuid4().hex,
        "account": accounts[0].pk,
    }
    category = request.GET.get("category", "")
    if category not in {b.category for b in Behaviour.objects.all()}:
        category = ""
    form = RecordForm(request.POST or None, accounts=accounts, initial=initial, category=category)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = next(a for a in accounts if a.pk == data["account"])
        assert account.line is not None
        quantity: Any = data["quantity"]
        attributes: dict[str, Any] = {}
        if data["round_trip"]:
            try:
                quantity = pure.parse_quantity(quantity) * 2
            except pure.QuantificationError as error:
                form.add_error("quantity", str(error))
            attributes["round_trip"] = True
        for name in ("occupants", "duration_minutes"):
            if data[name] is not None:
                attributes[name] = data[name]
        if not form.errors:
            try:
                outcome = services.record_behaviour(
                    request=services.RecordRequest(
                        line=account.line,
                        account=account,
                        behaviour_code=data["behaviour"],
                        quantity=quantity,
                        occurred_on=data["occurred_on"],
                        source="web",
                        idempotency_key=f"{request.user.pk}:{data['idempotency_key']}",
                        attributes=attributes,
                        evidence_id=data["evidence_id"].strip(),
                    )
                )
            except services.RecordRefused as refusal:
                form.add_error(FIELD_OF_REFUSAL.get(refusal.field or ""), refusal.message)
            else:
                messages.success(request, _record_message(outcome.record))
                return redirect("record_detail", record_id=outcome.record.pk)
    return render(request, "behaviours/record.html", {"form": form, "category": category})


def _record_message(record: Any) -> str:
    if record.status == "pending_review":
        # In the person's words where the rule has them; the staff's English note otherwise.
        reasons = " ".join(hold_reasons_in_words(record)).rstrip(".")
        return gettext(
            "Recorded and held for a review: %(reason)s. Nothing is counted until it is approved."
        ) % {"reason": reasons or record.review_reason}
    text = gettext("Recorded: %(kg)s kg CO2e reduction, %(points)s.") % {
        "kg": format_kilograms(record.reduction_g),
        "points": ngettext("%(n)s green point", "%(n)s green points", record.points)
        % {"n": format_number(record.points)},
    }
    if record.cap_note:
        text += " " + gettext("Note: %(cap)s.") % {"cap": record.cap_note}
    if record.self_declared and record.reduction_g:
        text += " " + gettext("Self-declared: it counts on your account but is never filed with an exchange.")
    return text


class RecordFilterForm(forms.Form):
    behaviour = forms.ModelChoiceField(queryset=Behaviour.objects.all(), to_field_name="code", required=False)


@login_required
def my_records(request: HttpRequest) -> HttpResponse:
    account_ids = [a.pk for a in ledger_selectors.personal_accounts_of(request.user)]
    records = selectors.records_of(account_ids=account_ids)
    filters = RecordFilterForm(request.GET)
    if not filters.is_valid():
        raise BadRequest(gettext("This list cannot be filtered by that behaviour."))
    if filters.cleaned_data["behaviour"] is not None:
        records = records.filter(behaviour=filters.cleaned_data["behaviour"])
    records = records[:200]
    return render(request, "behaviours/my_records.html", {"records": records})


def _restated_g(record: BehaviourRecord) -> int | None:
    """A corrected record's grams now (its own and its corrections'); None if never corrected."""
    corrected = selectors.corrected_grams(record_ids=[record.pk])
    return record.reduction_g + corrected[record.pk] if record.pk in corrected else None


@login_required
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    account_ids = [a.pk for a in ledger_selectors.personal_accounts_of(request.user)]
    record = selectors.records_of(account_ids=account_ids).filter(pk=record_id).first()
    if record is None:
        raise Http404
    factors = record.basis.factors if record.basis is not None else []
    return render(
        request,
        "behaviours/record_detail.html",
        {
            "record": record,
            "not_counted": not_counted(record),
            "hold_reasons": hold_reasons_in_words(record),
            "cap": cap_in_words(record),
            "calculation": calculation(record),
            "points_reason": points_in_words(record),
            # Plain digits, as the command line reads them ("10", never "1E+1" or "10.000").
            "command_quantity": format(record.counted_quantity.normalize(), "f"),
            "factor_rows": [
                (factor, factor_value(factor.value_kgco2e, factor.per_unit)) for factor in factors
            ],
            "shows_ogl": any(factor.is_open_government_licence for factor in factors),
            "restated_g": _restated_g(record),
            "partner_programme": selectors.partner_overlap_of(record_id=record.pk)
            if record.claim_fingerprint and not record.external_programme
            else "",
        },
    )


@staff_page()
def review_queue(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    records = selectors.review_queue()
    if access.line_ids is not None:
        records = records.filter(line_id__in=access.line_ids)
    overlaps = selectors.partner_overlaps(
        line_ids=None if access.line_ids is None else sorted(access.line_ids)
    ).count()
    return render(
        request,
        "behaviours/review_queue.html",
        {"records": records[:200], "can_decide": access.can_write, "overlaps": overlaps},
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason for rejecting"), required=False, max_length=300)
    # A rejection cannot be undone: it is made only from the page that asks to confirm it.
    confirmed = forms.BooleanField(required=False)


class RejectConfirmForm(forms.Form):
    """The confirmation step of a rejection: the reason is asked for here, before anything changes."""

    decision = forms.CharField(widget=forms.HiddenInput, initial="reject")
    confirmed = forms.CharField(widget=forms.HiddenInput, initial="on")
    reason = forms.CharField(
        label=_("Reason for rejecting"),
        max_length=300,
        help_text=_("The person sees this reason."),
        error_messages={"required": _("Give the reason for rejecting.")},
    )


@staff_page(write=True)
@require_POST
def review_decision(request: HttpRequest, record_id: int) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    # Another line's record is answered exactly as a missing one: its status is not theirs to learn.
    visible = BehaviourRecord.objects.filter(pk=record_id)
    if access.line_ids is not None:
        visible = visible.filter(line_id__in=access.line_ids)
    if not visible.exists():
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("review_queue")
    rejecting = form.cleaned_data["decision"] == "reject"
    if rejecting and not (form.cleaned_data["confirmed"] and form.cleaned_data["reason"].strip()):
        record = selectors.review_queue().filter(pk=record_id).first()
        if record is None:
            messages.error(
                request, gettext("Record %(id)s is no longer waiting for review.") % {"id": record_id}
            )
            return redirect("review_queue")
        reason = form.cleaned_data["reason"].strip()
        # Asked the first time; on the confirmation itself, a missing reason is that field's error.
        confirm = (
            RejectConfirmForm({"decision": "reject", "confirmed": "on", "reason": reason})
            if form.cleaned_data["confirmed"]
            else RejectConfirmForm(initial={"reason": reason})
        )
        return render(request, "behaviours/review_reject_confirm.html", {"record": record, "form": confirm})
    reviewer = request.user.get_username()
    try:
        if form.cleaned_data["decision"] == "approve":
            services.approve(record_id=record_id, reviewer=reviewer)
            messages.success(request, gettext("Record %(id)s approved and counted.") % {"id": record_id})
        else:
            services.reject(record_id=record_id, reviewer=reviewer, reason=form.cleaned_data["reason"])
            messages.success(request, gettext("Record %(id)s rejected.") % {"id": record_id})
    except services.RecordRefused as refusal:
        messages.error(request, refusal.message)
    except BehaviourRecord.DoesNotExist:
        raise Http404 from None
    return redirect("review_queue")
