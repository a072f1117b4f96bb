"""The UI's Chinese translation is complete, and the committed .mo matches the .po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "dcc" / "translations" / "zh_Hans" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "N_": None}
#: Where the UI's texts are: the web package, its templates, and the error codes' texts.
SOURCES = (
    ("dcc/web", "**.py", "python"),
    ("dcc/templates/web", "**.html", "jinja2"),
    ("dcc", "errors.py", "python"),
)


def _source_msgids() -> set[str]:
    found: set[str] = set()
    for folder, pattern, method in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_ui_string_has_a_chinese_translation() -> None:
    with open(CATALOG / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_Hans")
    translated = {m.id: m.string for m in catalog if m.id and m.string}
    missing = sorted(_source_msgids() - set(translated))
    assert not missing, f"untranslated (run ./scripts/translations, then translate): {missing}"


def test_the_compiled_catalog_is_up_to_date() -> None:
    with open(CATALOG / "messages.po", "rb") as fh:
        po = {m.id: m.string for m in read_po(fh, locale="zh_Hans") if m.id}
    with open(CATALOG / "messages.mo", "rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert po == mo, "run ./scripts/translations compile"
