"""Staff must pass TOTP two-factor: until they set it up, every page sends them to set it up,
and a session that signed in without the second factor (the Django admin's own sign-in form, a
session from before two-factor was required) is asked for a code before going on.

Staff can see every business line's data, so a stolen password alone must not be enough. The
API answers 403 `second_factor_required` in its own error shape instead of redirecting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib.auth.models import AbstractBaseUser
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from config.api import SECOND_FACTOR_REQUIRED, api_error_json

# Pages a staff member must still reach to set up two-factor, type a code (or leave).
_ALLOWED_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz", "/readyz")


def passed_second_factor(request: HttpRequest, user: AbstractBaseUser) -> bool:
    """Whether the sign-in behind this request included a second factor (allauth records each step)."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


@receiver(authenticator_added)
def _setting_up_totp_proves_it(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Setting up TOTP takes a valid code from the new app: that session has shown both factors."""
    authenticator = kwargs.get("authenticator")
    if request is not None and authenticator is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_staff) or request.path.startswith(_ALLOWED_PREFIXES):
            return self.get_response(request)
        set_up = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        if set_up and passed_second_factor(request, user):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return api_error_json(403, "second_factor_required", str(SECOND_FACTOR_REQUIRED))
        if not set_up:
            return redirect(reverse("mfa_activate_totp"))
        return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")
