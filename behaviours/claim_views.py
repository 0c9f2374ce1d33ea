"""Pages about claims: a person's external programmes, and the staff's exchange of claim
fingerprints with partner programmes (salted hashes only) and the overlaps they find."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from behaviours import claims, reports, selectors, services
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.roles import Access, staff_page

# About 80 bytes a line: room for the most fingerprints a file may hold.
MAX_PARTNER_FILE_BYTES = 50 * 1024 * 1024


def _user_id(request: HttpRequest) -> int:
    assert request.user.pk is not None  # the pages are for people signed in
    return int(request.user.pk)


def _english() -> bool:
    return (get_language() or "").startswith("en")


class DeclarationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of activity"))
    programme = forms.CharField(
        label=_("Programme that already claims it"),
        max_length=100,
        help_text=_("For example your city's carbon-inclusion platform."),
    )

    def __init__(self, *args: Any, audiences: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (kind.code, kind.name_en if _english() else kind.name_zh)
            for kind in selectors.claim_kinds(audiences=audiences)
        ]


@login_required
def external_programmes(request: HttpRequest) -> HttpResponse:
    """Kinds of activity of mine that another programme already claims: recorded here, they earn
    points and are never filed, so no reduction is claimed twice."""
    # The kinds of the person's own lines (an employee's commute, a customer's trips); all of
    # them for someone with no account yet.
    audiences = {
        account.line.audience
        for account in ledger_selectors.personal_accounts_of(request.user)
        if account.line
    }
    form = DeclarationForm(
        request.POST if request.method == "POST" and "withdraw" not in request.POST else None,
        audiences=audiences,
    )
    if request.method == "POST":
        if "withdraw" in request.POST:
            withdrawn = request.POST.get("withdraw", "")
            if withdrawn.isdigit():
                services.withdraw_external_programme(
                    holder_id=_user_id(request), declaration_id=int(withdrawn)
                )
                messages.success(
                    request, gettext("Withdrawn. Records you make from now on may be filed again.")
                )
            return redirect("external_programmes")
        if form.is_valid():
            try:
                services.declare_external_programme(
                    holder_id=_user_id(request),
                    kind=form.cleaned_data["kind"],
                    programme=form.cleaned_data["programme"],
                )
            except services.RecordRefused as refusal:
                form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            else:
                messages.success(
                    request,
                    gettext(
                        "Saved. Your records of this kind earn points and are not filed with an exchange."
                    ),
                )
                return redirect("external_programmes")
    names = {kind.code: kind.name_en if _english() else kind.name_zh for kind in selectors.claim_kinds()}
    declarations = [
        (declaration, names.get(declaration.kind, declaration.kind))
        for declaration in selectors.declarations_of(holder_id=_user_id(request))
    ]
    return render(
        request,
        "behaviours/external_programmes.html",
        {"form": form, "declarations": declarations},
        status=400 if request.method == "POST" else 200,
    )


# --- Staff --------------------------------------------------------------------------------------


class FingerprintExportForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), help_text=_("2026-Q2, 2026-05, 2026 or 2026-03-05..2026-04-10"), max_length=22
    )

    def clean_period(self) -> reports.Period:
        try:
            return reports.parse_period(self.cleaned_data["period"])
        except reports.PeriodError as error:
            raise forms.ValidationError(str(error)) from None


class PartnerImportForm(forms.Form):
    programme = forms.CharField(label=_("Partner programme"), max_length=100)
    file = forms.FileField(
        label=_("Fingerprints (CSV)"),
        help_text=_("Columns fingerprint, day, kind: the same shape as our export."),
    )

    def clean_file(self) -> list[claims.PartnerClaimRow]:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_PARTNER_FILE_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 50 MB."))
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError(gettext("The file is not UTF-8 text.")) from None
        try:
            return claims.read_claims_csv(text)
        except claims.ClaimFileError as error:
            raise forms.ValidationError(_file_problem(error)) from None


def _file_problem(error: claims.ClaimFileError) -> str:
    messages_by_problem = {
        "header": gettext("The first line must be the header fingerprint,day,kind."),
        "columns": gettext("Line %(line)s does not have the 3 values fingerprint, day, kind."),
        "fingerprint": gettext("Line %(line)s: the fingerprint must be 64 hexadecimal characters."),
        "day": gettext("Line %(line)s: the day must be a date such as 2026-05-31."),
        "kind": gettext("Line %(line)s: the kind must be a code such as metro."),
        "too_many": gettext("A file holds at most %(most)s fingerprints."),
        "empty": gettext("The file holds no fingerprints."),
    }
    message = messages_by_problem.get(error.problem, str(error))
    return message % {"line": error.line, "most": f"{claims.MAX_PARTNER_ROWS:,}"}


def _group_wide(access: Access) -> bool:
    """Fingerprints are the group's: exchanged by staff who see every line."""
    return access.line_ids is None


@staff_page(write=True)
def staff_claims(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    may_import = access.can_write and _group_wide(access)
    import_form = PartnerImportForm()
    status = 200
    if request.method == "POST":
        if not may_import:
            raise PermissionDenied("Partner fingerprints are imported by the sustainability office.")
        import_form = PartnerImportForm(request.POST, request.FILES)
        if import_form.is_valid():
            partner_import = services.import_partner_claims(
                programme=import_form.cleaned_data["programme"],
                file_name=str(getattr(request.FILES.get("file"), "name", "") or ""),
                rows=import_form.cleaned_data["file"],
                imported_by_id=_user_id(request),
            )
            messages.success(
                request,
                ngettext(
                    "Imported %(count)s fingerprint of %(programme)s.",
                    "Imported %(count)s fingerprints of %(programme)s.",
                    partner_import.rows,
                )
                % {"count": f"{partner_import.rows:,}", "programme": partner_import.programme},
            )
            return redirect("staff_claims")
        status = 400
    line_ids = None if access.line_ids is None else sorted(access.line_ids)
    overlaps = selectors.partner_overlaps(line_ids=line_ids)
    return render(
        request,
        "behaviours/staff/claims.html",
        {
            "export_form": FingerprintExportForm() if _group_wide(access) else None,
            "import_form": import_form if may_import else None,
            "overlaps": overlaps[:200],
            "overlap_count": overlaps.count(),
            "imports": selectors.partner_imports(),
        },
        status=status,
    )


@staff_page()
def staff_claims_export(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    if not _group_wide(access):
        raise PermissionDenied("The group's fingerprints are exported by staff who see every line.")
    form = FingerprintExportForm(request.GET)
    if not form.is_valid():
        return render(request, "behaviours/staff/claims_export_error.html", {"form": form}, status=400)
    period: reports.Period = form.cleaned_data["period"]
    buffer = StringIO()
    claims.write_claims_csv(selectors.claim_fingerprints(start=period.start, end=period.end), buffer)
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="claim-fingerprints-{period.label}.csv"'
    return response
