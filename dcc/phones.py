"""Phone identity: one customer per number, whatever format it came in.

Numbers are stored in E.164 and shown masked (``138****8000``) to roles that may not see them.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from dcc.errors import InvalidPhoneNumber

# A Chinese 400/800 hotline is SHARED_COST/TOLL_FREE; landlines are FIXED_LINE. All are callers.
_ACCEPTED_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.VOIP,
    PhoneNumberType.UAN,
    PhoneNumberType.PERSONAL_NUMBER,
}


def normalize(text: str | None, region: str = "CN", *, field: str = "phone") -> str:
    """Return ``text`` as E.164, or raise :class:`InvalidPhoneNumber` naming ``field``.

    ``138 0013 8000``, ``+86 138-0013-8000``, ``008613800138000`` and ``13800138000`` all give
    ``+8613800138000``.
    """
    if text is None or not str(text).strip():
        raise InvalidPhoneNumber("field.required", field=field)
    raw = str(text).strip()
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise InvalidPhoneNumber("field.not_a_phone", field=field, value=raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("field.invalid_phone", field=field, value=raw)
    if phonenumbers.number_type(number) not in _ACCEPTED_TYPES:
        raise InvalidPhoneNumber("field.phone_not_callable", field=field, value=raw)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """The number as a Chinese agent dials it (``13800138000``, ``01012345678``)."""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 86:
        return (
            "0" + str(number.national_number)
            if _is_landline(number)
            else str(number.national_number)
        )
    return e164


def _is_landline(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE


def mask(e164: str | None) -> str:
    """``+8613800138000`` -> ``138****8000``: enough to recognise, not enough to dial."""
    if not e164:
        return ""
    digits = national(e164).lstrip("+")
    if len(digits) <= 7:
        return digits[:2] + "*" * max(len(digits) - 4, 0) + digits[-2:]
    return digits[:3] + "****" + digits[-4:]
