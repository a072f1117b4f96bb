"""Role checks shared by API views."""

from __future__ import annotations

from collections.abc import Iterable

from dcc.errors import PermissionDenied
from dcc.users.models import Role, User


def require_role(user: User, roles: Iterable[Role]) -> None:
    allowed = set(roles)
    if user.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied("auth.role_required", roles=names)
