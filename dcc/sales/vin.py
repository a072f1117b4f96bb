"""Vehicle identification numbers: 17 characters, with the check digit of ISO 3779 as China's
GB 16735 and North America require it (position 9).

No maintained library on the package index validates it, and the rule is short and fixed.
"""

from __future__ import annotations

from dcc.errors import ValidationError

#: Letters stand for digits (I, O and Q never appear: they read as 1 and 0).
_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(vin: str) -> str:
    """The check digit a 17-character VIN of allowed characters should carry ("0"-"9" or "X")."""
    total = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize(text: str) -> str:
    """The VIN in capitals without spaces, or ValidationError naming ``vin`` saying why."""
    vin = "".join(text.split()).upper()
    if len(vin) != 17:
        raise ValidationError("vin.length", field="vin", length=len(vin))
    wrong = sorted({c for c in vin if c not in _VALUES})
    if wrong:
        raise ValidationError("vin.bad_characters", field="vin", found="".join(wrong))
    expected = check_digit(vin)
    if vin[8] != expected:
        raise ValidationError("vin.check_digit", field="vin", found=vin[8], expected=expected)
    return vin
