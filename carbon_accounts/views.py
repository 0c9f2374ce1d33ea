from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from carbon_accounts import selectors, services
from carbon_accounts.models import Account, Audience, BusinessLine, JoiningCode, JoiningCodeKind
from carbon_accounts.roles import Access, staff_page


class LeaderboardForm(forms.Form):
    on_leaderboard = forms.BooleanField(required=False)


@login_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Teams and offices of the employee line, counting only people who opted in."""
    account = selectors.personal_accounts_of(request.user).filter(line__audience=Audience.EMPLOYEE).first()
    if account is None:
        return render(request, "carbon_accounts/leaderboard.html", {"account": None})
    if request.method == "POST":
        choice = LeaderboardForm(request.POST)
        if not choice.is_valid():
            raise BadRequest(gettext("This choice could not be read."))
        shown = choice.cleaned_data["on_leaderboard"]
        Account.objects.filter(pk=account.pk).update(on_leaderboard=shown)
        messages.success(
            request,
            gettext("You are now shown on the leaderboard.")
            if shown
            else gettext("You are no longer shown on the leaderboard."),
        )
        return redirect("leaderboard")
    assert account.line_id is not None
    return render(
        request,
        "carbon_accounts/leaderboard.html",
        {
            "account": account,
            "teams": selectors.leaderboard(line_id=account.line_id, by="team"),
            "offices": selectors.leaderboard(line_id=account.line_id, by="office"),
        },
    )


class JoinByEmailForm(forms.Form):
    line = forms.ModelChoiceField(queryset=BusinessLine.objects.exclude(work_email_domains=""))
    email = forms.EmailField(max_length=254)


class JoiningCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("12 letters and digits, like 7KQM-4XPR-2WHD"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
    )


def _person(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in person (the views that call this require a sign-in)."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    return user


def _line_name(line: BusinessLine) -> str:
    return line.name_en if (get_language() or "").startswith("en") else line.name_zh


@login_required
def join(request: HttpRequest) -> HttpResponse:
    """Where a person joins a business line: by a verified work email's domain, or by a code
    from the line (a staff-id invitation, or a customer binding code from the line's app)."""
    code_form = JoiningCodeForm()
    if request.method == "POST" and request.POST.get("action") == "email":
        return _join_by_email(request)
    if request.method == "POST":
        code_form = JoiningCodeForm(request.POST)
        if code_form.is_valid():
            try:
                account = services.redeem_joining_code(
                    user=_person(request), code=code_form.cleaned_data["code"]
                )
            except services.JoiningRefused as refusal:
                code_form.add_error("code", str(refusal))
            else:
                return _joined(request, account)
    accounts = list(selectors.personal_accounts_of(request.user))
    return render(
        request,
        "carbon_accounts/join.html",
        {
            "accounts": accounts,
            "email_joins": selectors.joins_by_email(request.user),
            "email_lines": [
                line
                for line in selectors.lines_joinable_by_email()
                if line.pk not in {account.line_id for account in accounts}
            ],
            "code_form": code_form,
        },
    )


def _join_by_email(request: HttpRequest) -> HttpResponse:
    form = JoinByEmailForm(request.POST)
    if not form.is_valid():
        raise BadRequest(gettext("This choice could not be read."))
    try:
        account = services.join_by_work_email(
            user=_person(request), line=form.cleaned_data["line"], email=form.cleaned_data["email"]
        )
    except services.JoiningRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("join")
    return _joined(request, account)


def _joined(request: HttpRequest, account: Account) -> HttpResponse:
    assert account.line is not None
    messages.success(
        request, gettext("Welcome! You have joined %(line)s.") % {"line": _line_name(account.line)}
    )
    return redirect("my_account")


class InvitationForm(forms.Form):
    line = forms.ModelChoiceField(label=_("Business line"), queryset=BusinessLine.objects.none())
    staff_id = forms.CharField(label=_("Staff id"), max_length=64)
    name = forms.CharField(label=_("Name (optional)"), max_length=200, required=False)

    def __init__(self, *args: Any, lines: list[BusinessLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.ModelChoiceField)
        line_field.queryset = BusinessLine.objects.filter(pk__in=[line.pk for line in lines])
        line_field.label_from_instance = _line_name  # type: ignore[method-assign, assignment]
        if len(lines) == 1:
            line_field.initial = lines[0].pk


@staff_page(write=True)
def staff_invitations(request: HttpRequest) -> HttpResponse:
    """Line staff invite an employee by their staff id: a one-time code, shown once."""
    access: Access = request.staff_access  # type: ignore[attr-defined]
    lines = [
        line
        for line in selectors.business_lines()
        if access.sees_line(line.pk) and line.audience == Audience.EMPLOYEE
    ]
    form = InvitationForm(lines=lines)
    issued = None
    if request.method == "POST":
        form = InvitationForm(request.POST, lines=lines)
        if form.is_valid():
            try:
                invitation, code = services.issue_joining_code(
                    kind=JoiningCodeKind.INVITATION,
                    line=form.cleaned_data["line"],
                    external_ref=form.cleaned_data["staff_id"],
                    display_name=form.cleaned_data["name"],
                    created_by=_person(request),
                )
            except services.JoiningRefused as refusal:
                form.add_error("staff_id", str(refusal))
            else:
                issued = {"invitation": invitation, "code": code}
                form = InvitationForm(lines=lines)
    return render(
        request,
        "carbon_accounts/staff_invitations.html",
        {
            "form": form,
            "issued": issued,
            "can_write": access.can_write,
            "invitations": JoiningCode.objects.filter(kind=JoiningCodeKind.INVITATION, line__in=lines)
            .select_related("line", "used_by")
            .order_by("-created_at")[:50],
            "now": timezone.now(),
        },
    )
