"""Staff whose role only reads (auditors, verifiers) change nothing, on any page or API.

Each write page also refuses them itself; this is the one rule that holds for every page, the
admin's and those added later, so a forgotten check cannot let a read-only role write. What
stays open is the person's own sign-in (sign out, two-factor) and the page language.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from config.api import api_error_json

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OWN_SIGN_IN_PREFIXES = ("/accounts/", "/i18n/")


class ReadOnlyRoleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from carbon_accounts.roles import is_read_only

        user = request.user
        if (
            request.method in SAFE_METHODS
            or not (user.is_authenticated and user.is_staff)
            or request.path.startswith(_OWN_SIGN_IN_PREFIXES)
            or not is_read_only(user)
        ):
            return self.get_response(request)
        message = gettext("Your role reads only: it cannot change anything.")
        if request.path.startswith("/api/"):
            return api_error_json(403, "read_only_role", message)
        return render(request, "errors/403.html", {"message": message}, status=403)
