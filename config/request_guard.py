"""A NUL character in the address, the query string or a posted form is refused with a 400.

PostgreSQL cannot hold NUL in text, so such a value reaching any query, ours or one of the
admin's or allauth's, would end in a database error (500). No person types one; refusing it
here, for every page, is simpler and surer than checking it in each.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext

from config.api import api_error_json


def _holds_nul(values: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values.getlist(key)) for key in values)


class NulCharacterGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        # API bodies are JSON, read by the API's own parsers; pages post forms.
        posted = request.method == "POST" and not api and _holds_nul(request.POST)
        if "\x00" in request.path or _holds_nul(request.GET) or posted:
            message = gettext("The request holds a NUL character, which no field accepts.")
            if api:
                return api_error_json(400, "invalid_request", message)
            return render(request, "errors/400.html", {"message": message}, status=400)
        return self.get_response(request)
