"""The vehicle catalogue (车型库): brand -> series -> model -> configuration, kept by admins.

An order names its vehicle either by VIN or by an active entry of the catalogue; the lead
page offers the catalogue as four linked choices.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import audit
from dcc.errors import Conflict, NotFound, ValidationError
from dcc.sales.models import CatalogueEntry
from dcc.users.models import User

#: The catalogue's levels, in order, with the longest text each may hold.
LEVELS = (("brand", 60), ("series", 60), ("model", 120), ("configuration", 120))

#: A small dealer's demo range: (brand, series, model, configuration, guide price in yuan).
DEMO = [
    ("丰田", "凯美瑞", "2024款 2.0G", "豪华版", 199_800),
    ("丰田", "凯美瑞", "2024款 2.5HQ", "旗舰版", 259_800),
    ("丰田", "RAV4荣放", "2024款 2.0L", "四驱风尚版", 209_800),
    ("丰田", "汉兰达", "2024款 双擎 2.5L", "四驱豪华版", 319_800),
    ("丰田", "卡罗拉", "2024款 1.5L", "精英版", 119_800),
    ("本田", "雅阁", "2024款 260TURBO", "豪华版", 199_800),
    ("本田", "CR-V", "2024款 240TURBO", "两驱锋尚版", 189_900),
]


@dataclass(frozen=True)
class Choice:
    """A vehicle as an order names it by the catalogue."""

    brand: str
    series: str
    model: str
    configuration: str


def _clean(values: dict[str, str | None]) -> Choice:
    """Every level given and within its length, or ValidationError naming the first that is not."""
    cleaned: dict[str, str] = {}
    for name, limit in LEVELS:
        value = (values.get(name) or "").strip()
        if not value:
            raise ValidationError("field.required", field=name)
        if len(value) > limit:
            raise ValidationError("field.too_long", field=name, max=limit)
        cleaned[name] = value
    return Choice(**cleaned)


def add(
    session: Session,
    *,
    brand: str | None,
    series: str | None,
    model: str | None,
    configuration: str | None,
    guide_price_fen: int | None = None,
    actor: User | None = None,
) -> CatalogueEntry:
    """A new orderable vehicle; the same four names twice are refused (409 on configuration)."""
    choice = _clean(
        {"brand": brand, "series": series, "model": model, "configuration": configuration}
    )
    if guide_price_fen is not None and guide_price_fen < 0:
        raise ValidationError("field.negative", field="guide_price")
    if _entry(session, choice) is not None:
        raise Conflict("catalogue.exists", field="configuration")
    entry = CatalogueEntry(
        brand=choice.brand,
        series=choice.series,
        model=choice.model,
        configuration=choice.configuration,
        guide_price_fen=guide_price_fen,
    )
    session.add(entry)
    session.flush()
    if actor is not None:
        audit.record(
            session,
            actor_id=actor.id,
            action="catalogue.add",
            entity="vehicle_catalogue",
            entity_id=entry.id,
            name=" ".join((choice.brand, choice.series, choice.model, choice.configuration)),
        )
    return entry


def set_active(session: Session, entry: CatalogueEntry, active: bool, *, actor: User) -> None:
    """Withdraw an entry from new orders (orders already placed keep their vehicle), or restore."""
    if entry.active == active:
        return
    entry.active = active
    audit.record(
        session,
        actor_id=actor.id,
        action="catalogue." + ("enable" if active else "disable"),
        entity="vehicle_catalogue",
        entity_id=entry.id,
    )


def get(session: Session, entry_id: int) -> CatalogueEntry:
    entry = session.get(CatalogueEntry, entry_id)
    if entry is None:
        raise NotFound("catalogue.not_found", field="entry_id", entry=entry_id)
    return entry


def entries(session: Session, *, active_only: bool = False) -> list[CatalogueEntry]:
    query = select(CatalogueEntry).order_by(
        CatalogueEntry.brand,
        CatalogueEntry.series,
        CatalogueEntry.model,
        CatalogueEntry.configuration,
    )
    if active_only:
        query = query.where(CatalogueEntry.active.is_(True))
    return list(session.scalars(query))


def tree(session: Session) -> dict[str, dict[str, dict[str, list[str]]]]:
    """The active catalogue as brand -> series -> model -> configurations (the page's choices)."""
    nested: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for e in entries(session, active_only=True):
        nested[e.brand][e.series][e.model].append(e.configuration)
    return {b: {s: dict(m) for s, m in series.items()} for b, series in nested.items()}


def resolve(session: Session, values: dict[str, str | None]) -> Choice:
    """The active entry the four names pick, or ValidationError naming the first level that
    the catalogue does not have under the levels before it."""
    choice = _clean(values)
    query = select(CatalogueEntry).where(CatalogueEntry.active.is_(True))
    for name, _limit in LEVELS:
        query = query.where(getattr(CatalogueEntry, name) == getattr(choice, name))
        if session.scalar(query.limit(1)) is None:
            raise ValidationError("field.not_in_catalogue", field=name, value=getattr(choice, name))
    return choice


def seed_demo(session: Session) -> int:
    """Fill an empty catalogue with the demo range; returns how many entries were added."""
    if session.scalar(select(CatalogueEntry.id).limit(1)) is not None:
        return 0
    for brand, series, model, configuration, price in DEMO:
        add(
            session,
            brand=brand,
            series=series,
            model=model,
            configuration=configuration,
            guide_price_fen=price * 100,
        )
    return len(DEMO)


def _entry(session: Session, choice: Choice) -> CatalogueEntry | None:
    return session.scalar(
        select(CatalogueEntry).where(
            CatalogueEntry.brand == choice.brand,
            CatalogueEntry.series == choice.series,
            CatalogueEntry.model == choice.model,
            CatalogueEntry.configuration == choice.configuration,
        )
    )
