"""Whose address a request comes from.

Anyone can send X-Forwarded-For, so the client's address is read from it only past the proxies
the operator says are theirs (TRUSTED_PROXY_COUNT); with none, REMOTE_ADDR is the client's.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry our last proxy added."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < trusted:
        # Not through all of our proxies (a request to the server itself): its own address.
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-trusted]))
    except ValueError:
        return remote


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's own reading fails with a server error when X-Forwarded-For is shorter
        # than the proxy count; a request that did not pass our proxies is answered normally.
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address.")
        return address

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # A mail server that is down must not turn a sign-up or a new address into a server
        # error: what was saved stays saved, the person is told, and the link can be sent again.
        try:
            super().send_mail(template_prefix, email, context)
        except (smtplib.SMTPException, OSError):
            logger.exception("email to %s (%s) could not be sent", email, template_prefix)
            request = allauth_context.request
            if request is not None:
                messages.error(
                    request,
                    gettext(
                        "We could not send the email to %(email)s just now. Please try again in a few "
                        "minutes: you can send the link again from your email addresses page."
                    )
                    % {"email": email},
                )
