"""Error pages in the site layout, so that a person who hits one can find their way back."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from config.api import api_error_json, api_not_found


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return render(request, "errors/404.html", status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A view refuses a value it cannot use with BadRequest("what is wrong"); say it to the person.
    message = str(exception) if isinstance(exception, BadRequest) else ""
    if request.path.startswith("/api/"):
        # The API answers in its one error shape, never with a page.
        return api_error_json(400, "bad_request", message or gettext("The request cannot be read."))
    return render(request, "errors/400.html", {"message": message}, status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "errors/403.html", status=403)
