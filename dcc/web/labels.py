"""The label table (:mod:`dcc.labels`) as pages show it: in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import get_locale
from flask_babel.speaklater import LazyString
from wtforms import SelectChoice

from dcc import labels


def language() -> str:
    """The reader's language: ``"en"`` or ``"zh"`` (Chinese unless English was chosen)."""
    locale = get_locale()
    return locale.language if locale is not None else "zh"


def shown(value: Any) -> str:
    """A label in the reader's language; the dealer's data (names, models) as written."""
    return labels.in_language(value, language())


def label(value: Any, table: str) -> str:
    """``{{ lead.status | label('lead_status') }}``: the name, or the code when unnamed."""
    return shown(labels.label(value, table))


def lazy(value: Any, table: str) -> LazyString:
    """The name, worked out when the page renders (a form class is built once, at import)."""
    return LazyString(label, value, table)


def choices(table: str, codes: Iterable[Any] | None = None) -> list[SelectChoice]:
    """Select options for a table's codes (all of them by default), named lazily."""
    wanted = list(labels.TABLES[table]) if codes is None else list(codes)
    return [SelectChoice(str(getattr(c, "value", c)), lazy(c, table)) for c in wanted]


def js_labels() -> dict[str, dict[str, str]]:
    """The tables the live panel needs in the browser, in the reader's language."""
    names = labels.display_names(language())
    return {
        table: names[table]
        for table in ("call_status", "leg", "notification", "agent_status", "role")
    }
