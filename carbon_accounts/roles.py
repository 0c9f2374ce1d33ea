"""Who on the staff sees what: the office every line, an operator one line, an auditor and a
verifier read only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from carbon_accounts.models import StaffRole, StaffRoleKind


@dataclass(frozen=True)
class Access:
    role: str
    line_ids: frozenset[int] | None  # None: every line
    can_write: bool

    def sees_line(self, line_id: int | None) -> bool:
        return self.line_ids is None or line_id in self.line_ids


def access_of(user: AbstractBaseUser | AnonymousUser) -> Access | None:
    if not user.is_authenticated or not getattr(user, "is_staff", False):
        return None
    role = StaffRole.objects.filter(user_id=user.pk).first()
    if role is None:
        # A superuser without a role acts as the office; other staff need a role.
        return (
            Access(StaffRoleKind.SUSTAINABILITY_OFFICE, None, True)
            if getattr(user, "is_superuser", False)
            else None
        )
    if role.role == StaffRoleKind.LINE_OPERATOR:
        return Access(role.role, frozenset({role.line_id}) if role.line_id else frozenset(), True)
    return Access(role.role, None, role.role == StaffRoleKind.SUSTAINABILITY_OFFICE)


def is_read_only(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Staff whose role reads and never writes (auditors, verifiers)."""
    access = access_of(user)
    return access is not None and not access.can_write


def staff_page(*, write: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for staff with a role; with write=True, not for read-only roles (on POST)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access = access_of(request.user)
            if access is None:
                raise PermissionDenied("This page is for the group's staff.")
            if write and request.method == "POST" and not access.can_write:
                raise PermissionDenied("Auditors and verifiers read; they do not change anything.")
            request.staff_access = access  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
