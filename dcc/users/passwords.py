"""The password policy for passwords people set (``dcc users``, the admin's Users page).

At least :data:`MIN_LENGTH` characters, and not common or easy to guess: zxcvbn (Dropbox's
estimator: common passwords, words, names, keyboard walks, repeats, sequences, dates) must
rate it at least :data:`MIN_SCORE` of 4, with the user's own login and name, the product's
name and the passwords Chinese users choose most often (which zxcvbn's English lists lack)
counted as known words. Logins are throttled as well (:mod:`dcc.users.throttle`), so a
password that resists an online guesser is the bar.
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

from dcc.errors import ValidationError

MIN_LENGTH = 10
#: zxcvbn's estimator slows down on long input; nobody types a password longer than this.
MAX_LENGTH = 72
#: 2 of 4: more than a million guesses ("somewhat guessable": safe behind a login throttle).
MIN_SCORE = 2
#: Roots of the passwords most chosen in China (pinyin, numbers that read as words), and the
#: words of this product: known words, not secrets.
KNOWN_WORDS = (
    "woaini",
    "520",
    "1314",
    "5201314",
    "1314520",
    "woaini1314",
    "zhangsan",
    "lisi",
    "wangwu",
    "qq123456",
    "dearbook",
    "xiazhili",
    "aini",
    "zhang",
    "wang",
    "li",
    "liu",
    "chen",
    "dcc",
    "dealer",
    "admin",
    "manager",
    "agent",
    "password",
)


class WeakPassword(ValidationError):
    """A password the policy refuses (too short, too long, too easy to guess)."""


def check(password: str, *, personal: Iterable[str | None] = ()) -> None:
    """Refuse a password the policy does not allow. ``personal``: the user's login, name,
    phone — a password made of them is guessed first."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("password.too_short", field="password", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise WeakPassword("password.too_long", field="password", max=MAX_LENGTH)
    words = [*KNOWN_WORDS, *(w for w in personal if w)]
    if zxcvbn(password, user_inputs=words)["score"] < MIN_SCORE:
        raise WeakPassword("password.too_common", field="password")
