import pytest

from dcc import phones
from dcc.errors import InvalidPhoneNumber


@pytest.mark.parametrize(
    "text", ["138 0013 8000", "+86 138-0013-8000", "008613800138000", "13800138000"]
)
def test_formats_of_one_mobile_give_one_e164(text: str) -> None:
    assert phones.normalize(text) == "+8613800138000"


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("010-12345678", "+861012345678"),
        ("400-812-3123", "+864008123123"),
        ("021 6888 8888", "+862168888888"),
    ],
)
def test_landlines_and_400_numbers_are_accepted(text: str, e164: str) -> None:
    assert phones.normalize(text) == e164


@pytest.mark.parametrize("text", ["12345", "", "   ", "not a number", None])
def test_invalid_numbers_raise_naming_the_field(text: str | None) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        phones.normalize(text, field="alt_phone")
    assert info.value.field == "alt_phone"


def test_mask_hides_the_middle() -> None:
    assert phones.mask("+8613800138000") == "138****8000"
    assert phones.mask("+861012345678") == "010****5678"
