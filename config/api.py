"""What every API operation shares: authentication, permissions, throttling, strict JSON, and
one error format ({"code", "message", "fields"}) for every error."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, renderers, serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from carbon_accounts import credentials, roles
from carbon_accounts.models import ApiCredential, BusinessLine, CredentialKind
from config import rate_window

if TYPE_CHECKING:  # DRF imports this module while it loads rest_framework.views
    from rest_framework.views import APIView


# --- Input ----------------------------------------------------------------------------------


# The deepest nesting of arrays and objects a body (or an NDJSON line) may have. A record is
# three levels deep; the bound keeps a hostile body from exhausting the parser's recursion.
MAX_JSON_DEPTH = 32


class JSONRefused(ValueError):
    """Text that is not JSON this API accepts; the message says why, in a sentence."""


def _refuse_constant(name: str) -> None:
    raise JSONRefused(gettext("%(name)s is not a number this API accepts") % {"name": name})


def strict_json_loads(raw: bytes | str) -> Any:
    """JSON without NaN or Infinity, without numbers too long to be real, and nested at most
    MAX_JSON_DEPTH levels. Anything else raises JSONRefused."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise JSONRefused(_too_deep()) from None
    except UnicodeDecodeError:
        raise JSONRefused(gettext("it is not UTF-8 text")) from None
    except JSONRefused:
        raise
    except ValueError as error:  # json's own errors, and Python's limit on an integer's digits
        raise JSONRefused(str(error)) from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise JSONRefused(_too_deep())
    return value


def _too_deep() -> str:
    return gettext("it is nested deeper than %(levels)d levels") % {"levels": MAX_JSON_DEPTH}


_CONTAINERS = (dict, list)  # the only containers json.loads makes


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (a scalar is level 0). Walked
    level by level, so the check itself cannot run out of recursion; about 6 ms for a body
    of 10,000 records."""
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        for container in level:
            children = container.values() if type(container) is dict else container
            below.extend([child for child in children if type(child) in _CONTAINERS])
        level = below
    return False


def _text(stream: Any) -> str:
    try:
        return stream.read().decode(settings.DEFAULT_CHARSET)
    except UnicodeDecodeError:
        raise exceptions.ParseError(gettext("The body is not UTF-8 text.")) from None


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return strict_json_loads(_text(stream))
        except JSONRefused as error:
            raise exceptions.ParseError(
                gettext("The body is not valid JSON: %(reason)s") % {"reason": error}
            ) from None


class Unparseable:
    """An NDJSON line that is not a JSON value this API accepts: refused with its reason in
    the line's own result, while the other lines go on."""

    def __init__(self, message: str, code: str = "malformed_json") -> None:
        self.message = message
        self.code = code


def ndjson_row(line: bytes) -> Any:
    """One NDJSON line's value, or Unparseable with the reason."""
    try:
        # utf-8-sig: a file saved with a byte order mark still reads from its first line.
        return strict_json_loads(line.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return Unparseable(gettext("The line is not UTF-8 text."))
    except JSONRefused as error:
        return Unparseable(gettext("The line is not valid JSON: %(reason)s") % {"reason": error})


class NDJSONParser(BaseParser):
    """One JSON value per line (bulk ingestion); a line that is not JSON becomes Unparseable,
    refused in its own result. Lines end with a newline only: the other characters
    str.splitlines() breaks at may stand inside a JSON string."""

    media_type = "application/x-ndjson"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return [ndjson_row(line) for line in stream.read().split(b"\n") if line.strip()]


# Numbers sent as text are read as ASCII digits only: int() and Decimal() would also take
# other scripts' digits ("١٢", "𝟏"), digit separators ("1_000") and, for decimals, exponents.
_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_ASCII_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


class StrictIntegerField(serializers.IntegerField):
    """A whole number: a JSON integer, or its ASCII digits as a string."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and _ASCII_INTEGER.fullmatch(data.strip()))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A decimal: a JSON number, or ASCII digits with a point as a string; never an exponent."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float):
            data = repr(data)  # finite floats in range have no exponent; others are refused
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and _ASCII_DECIMAL.fullmatch(data.strip()))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    """A day as ASCII text: Django's date parsing would also read other scripts' digits."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error instead of silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [gettext("This field is not known.")] for name in unknown}
                )
        return super().to_internal_value(data)


class JSONRenderer(renderers.JSONRenderer):
    """JSON in UTF-8. An answer may echo text from the request (an unknown field's name, a
    code), and a lone surrogate in it cannot be encoded as UTF-8: that answer is written with
    \\u escapes instead."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _ASCII_JSON.render(data, accepted_media_type, renderer_context)


class _ASCIIJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


_ASCII_JSON = _ASCIIJSONRenderer()


# --- Who is calling ----------------------------------------------------------------------------


class CredentialAuthentication(BaseAuthentication):
    """`Authorization: Bearer cak_...`: a line system's key or a person's personal token."""

    def authenticate(self, request: Request) -> tuple[Any, ApiCredential] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        credential = credentials.authenticate(header.removeprefix("Bearer ").strip())
        if credential is None:
            raise exceptions.AuthenticationFailed(gettext("This API key is unknown or has been revoked."))
        if credential.kind == CredentialKind.PERSONAL:
            return credential.user, credential
        return AnonymousUser(), credential

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class SessionAuthenticationWith401(SessionAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def line_credential(request: Request) -> ApiCredential | None:
    auth = request.auth
    return auth if isinstance(auth, ApiCredential) and auth.kind == CredentialKind.LINE_SYSTEM else None


class IsPerson(BasePermission):
    message = gettext_lazy("Sign in, or use your personal token.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated)


class IsLineSystemOfThisLine(BasePermission):
    """A line system's key reaches its own line only."""

    message = gettext_lazy("This key belongs to another business line.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        credential = line_credential(request)
        if credential is None:
            raise exceptions.NotAuthenticated(gettext("Use the API key of this business line's system."))
        return credential.line is not None and credential.line.code == view.kwargs.get("line")


# Staff powers need two factors. A personal token is one, so a staff member's token (issued
# before they became staff, since none is issued to staff) acts as a plain person's.
SECOND_FACTOR_REQUIRED = gettext_lazy(
    "Staff read the group's and the lines' figures only from a session signed in with two-factor; "
    "a personal token is one factor."
)


def staff_access(request: Request) -> roles.Access | None:
    """What the caller may see as staff: nothing unless they came through a signed-in session
    (the two-factor middleware has checked that session)."""
    if isinstance(request.auth, ApiCredential):
        return None
    return roles.access_of(request.user)


def refuse_staff_token(request: Request) -> None:
    auth = request.auth
    if (
        isinstance(auth, ApiCredential)
        and auth.kind == CredentialKind.PERSONAL
        and getattr(request.user, "is_staff", False)
    ):
        raise ApiError(status_code=403, code="second_factor_required", message=str(SECOND_FACTOR_REQUIRED))


class IsLineSystemOfThisLineOrStaff(IsLineSystemOfThisLine):
    """The line's own system, or staff whose role covers the line (an operator theirs only)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        refuse_staff_token(request)
        access = staff_access(request)
        if access is not None:
            line = BusinessLine.objects.filter(code=view.kwargs.get("line")).first()
            return line is None or access.sees_line(line.pk)
        return super().has_permission(request, view)


class IsStaff(BasePermission):
    """Staff whose role covers the whole group (the office, auditors)."""

    message = gettext_lazy("Only the group sustainability office and auditors may read the group's figures.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        refuse_staff_token(request)
        access = staff_access(request)
        return access is not None and access.line_ids is None


def line_or_404(code: str, request: Request | None = None) -> BusinessLine:
    """The line named in the URL; a line system's own line comes with its credential, unread."""
    credential = line_credential(request) if request is not None else None
    if credential is not None and credential.line is not None and credential.line.code == code:
        return credential.line
    line = BusinessLine.objects.filter(code=code).first()
    if line is None:
        raise exceptions.NotFound(gettext("There is no business line %(line)r.") % {"line": code})
    return line


class CredentialRateThrottle(BaseThrottle):
    """Per key (or per signed-in person): each credential has its own rate per minute.

    Two counters per key in the shared cache (config/rate_window.py), so its cost does not grow
    with the rate. The request is counted before it is judged: concurrent workers cannot let more
    through than the limit, and a client that keeps calling while refused stays refused.
    """

    default_per_minute = 6000

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit = (
            request.auth.rate_per_minute
            if isinstance(request.auth, ApiCredential)
            else self.default_per_minute
        )
        key = self.get_cache_key(request)
        window, fraction = rate_window.window_of(time.time())
        current, previous = _count(f"{key}:{window}", previous_key=f"{key}:{window - 1}")
        if rate_window.estimate(previous=previous, current=current, fraction=fraction) <= limit:
            return True
        self._wait = rate_window.seconds_until_allowed(
            previous=previous, current=current, fraction=fraction, limit=limit
        )
        return False

    def wait(self) -> float | None:
        return self._wait

    def get_cache_key(self, request: Request) -> str:
        if isinstance(request.auth, ApiCredential):
            return f"rate:credential:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"rate:user:{request.user.pk}"
        return f"rate:ip:{self.get_ident(request)}"


# A counter lives two windows, since it is read as the previous one for a minute after, so it
# cannot expire while it is being counted.
_COUNTER_SECONDS = 2 * rate_window.WINDOW_SECONDS + 5


def _count(key: str, *, previous_key: str) -> tuple[int, int]:
    """Add one to a window's counter and read the previous window's: (current, previous)."""
    client = _redis()
    if client is None:  # no Redis configured: the process's own cache
        cache.add(key, 0, timeout=_COUNTER_SECONDS)
        return cache.incr(key), cache.get(previous_key, 0)
    # One round trip: make the counter with its expiry if it is new, add one, read the previous.
    # (Django's cache would take two, and build a Redis client object for each.) The keys are
    # the cache's own, so the counters read the same through it.
    counter = cache.make_and_validate_key(key)
    pipeline = client.pipeline(transaction=False)
    pipeline.set(counter, 0, ex=_COUNTER_SECONDS, nx=True)
    pipeline.incr(counter)
    pipeline.get(cache.make_and_validate_key(previous_key))
    _created, current, previous = pipeline.execute()
    return int(current), int(previous or 0)


@functools.cache
def _redis() -> redis.Redis | None:
    # One client (and its connection pool, which starts anew in a forked worker) per process.
    return redis.Redis.from_url(settings.REDIS_CACHE_URL) if settings.REDIS_CACHE_URL else None


# --- Errors ------------------------------------------------------------------------------------


class ApiError(exceptions.APIException):
    """A refusal in the domain's words: `code` for machines, `message` for people."""

    def __init__(
        self, *, status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.fields = fields or {}


def error_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """A validation error's messages by field; a nested field is named with dots
    ("attributes.site"), and a nested object's own errors go under its name."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for name, value in detail.items():
            own = str(name) == api_settings.NON_FIELD_ERRORS_KEY
            path = prefix if own and prefix else f"{prefix}.{name}" if prefix else str(name)
            for field, messages in error_fields(value, path).items():
                fields.setdefault(field, []).extend(messages)
        return fields
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        fields = {}
        for position, item in enumerate(detail):
            if item:
                for field, messages in error_fields(
                    item, f"{prefix}.{position}" if prefix else str(position)
                ).items():
                    fields.setdefault(field, []).extend(messages)
        return fields
    messages = [str(m) for m in (detail if isinstance(detail, list) else [detail])]
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: messages}


ERROR_CODES = {
    exceptions.ParseError: ("malformed_json", 400),
    exceptions.NotAuthenticated: ("not_authenticated", 401),
    exceptions.AuthenticationFailed: ("authentication_failed", 401),
    exceptions.PermissionDenied: ("forbidden", 403),
    exceptions.NotFound: ("not_found", 404),
    exceptions.MethodNotAllowed: ("method_not_allowed", 405),
    exceptions.NotAcceptable: ("not_acceptable", 406),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", 415),
    exceptions.Throttled: ("rate_limited", 429),
}


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(error, Http404):
        error = exceptions.NotFound(str(error) or gettext("Not found."))
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied()
    if isinstance(error, ApiError):
        body = {"code": error.error_code, "message": str(error.detail), "fields": error.fields}
        return Response(body, status=error.status_code)
    if isinstance(error, exceptions.ValidationError):
        fields = error_fields(error.detail)
        first = next(iter(fields.items()), ("", ["invalid"]))
        message = f"{first[0]}: {first[1][0]}" if first[0] and first[0] != "non_field_errors" else first[1][0]
        return Response({"code": "invalid", "message": message, "fields": fields}, status=400)
    if isinstance(error, exceptions.APIException):
        code, status_code = next(
            ((c, s) for kind, (c, s) in ERROR_CODES.items() if isinstance(error, kind)),
            ("error", error.status_code),
        )
        headers = {}
        wait = getattr(error, "wait", None)
        if isinstance(error, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        response = Response(
            {"code": code, "message": str(error.detail), "fields": {}}, status=status_code, headers=headers
        )
        if status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    return None


# The one error format, as the OpenAPI schema shows it.
ERROR_SCHEMA = inline_serializer(
    "Error",
    {"code": serializers.CharField(), "message": serializers.CharField(), "fields": serializers.DictField()},
)


def api_error_json(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "fields": {}}, status=status_code)


class ApiBodyLimitMiddleware:
    """413 for an API body larger than the limit, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                with translation.override(api_language(request)):
                    message = gettext("The Content-Length header is not a number.")
                return api_error_json(400, "bad_content_length", message)
            limit = (
                settings.API_MAX_UPLOAD_BYTES
                if request.path.endswith("/imports")
                else settings.API_MAX_BODY_BYTES
            )
            if length > limit:
                with translation.override(api_language(request)):
                    message = gettext(
                        "The body is %(length)d bytes; this operation takes at most %(limit)d. "
                        "Send large files to the imports operation."
                    ) % {"length": length, "limit": limit}
                return api_error_json(413, "body_too_large", message)
        return self.get_response(request)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return api_error_json(404, "not_found", gettext("There is no such API operation."))


def api_language(request: HttpRequest) -> str:
    """English, unless the request's Accept-Language asks for a language the platform speaks:
    machines calling the API rarely send the header, and their logs are read in English. The
    pages' language cookie does not count here."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return "en"


class ApiLanguageMiddleware:
    """Answers the API in api_language(); after LocaleMiddleware, which chose the pages' language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            language = api_language(request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


__all__ = ["status"]
