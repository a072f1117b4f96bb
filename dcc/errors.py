"""Named failures of the domain. HTTP handlers map each to a status code and a message.

Each error may name the field it is about, so that an API client or a form can point at it.
"""

from __future__ import annotations

from collections.abc import Sequence


class DCCError(Exception):
    """Base of every domain error."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ConfigurationError(DCCError):
    """Settings that are missing or malformed; the service refuses to start.

    ``problems`` holds one line per problem, each naming its setting
    (``"DCC_TIMEZONE: 'Mars/Base' is not a time zone"``).
    """

    def __init__(
        self, message: str, *, field: str | None = None, problems: Sequence[str] = ()
    ) -> None:
        super().__init__(message, field=field)
        self.problems = list(problems) or [f"{field}: {message}" if field else message]


class ValidationError(DCCError):
    """Input that cannot be accepted as it is; names the field."""

    status_code = 422


class InvalidPhoneNumber(ValidationError):
    """A phone number that phonenumbers cannot parse or that is not a valid number."""


class NotFound(DCCError):
    status_code = 404


class PermissionDenied(DCCError):
    status_code = 403


class Conflict(DCCError):
    """The request is well-formed but the current state forbids it."""

    status_code = 409


class InvalidTransition(Conflict):
    """A lead, appointment or request cannot move from its current state to the asked one."""


class MergeRefused(Conflict):
    """Customers that may not be merged (fleet customers, customers with orders)."""


class NoAgentAvailable(Conflict):
    """No active, on-shift user can take the work."""


class CallRefused(Conflict):
    """A call may not be placed now (do-not-call list, calling hours, closed lead)."""
