from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from carbon_accounts import selectors


@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    accounts = list(selectors.personal_accounts_of(request.user))
    return render(
        request,
        "carbon_accounts/my_account.html",
        {
            "accounts": accounts,
            "total_g": sum(account.balance_g for account in accounts),
            "total_points": sum(account.balance_points for account in accounts),
        },
    )


@login_required
def account_statement(request: HttpRequest, account_id: int) -> HttpResponse:
    # Only the holder sees a personal account: anyone else gets the same 404 as a missing one.
    account = selectors.personal_accounts_of(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404
    raw_cursor = request.GET.get("cursor", "")
    cursor = int(raw_cursor) if raw_cursor.isdigit() else None
    page = selectors.statement(account_id=account.pk, cursor=cursor, limit=50)
    return render(request, "carbon_accounts/statement.html", {"account": account, "page": page})
