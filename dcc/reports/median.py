"""Exact medians of a duration without sorting the whole period (first response time).

Sorting every lead of a year to find one middle value is what made the funnel slow, so the
median is found in two steps: the report's one aggregate query already counts leads per
one-minute bucket (a monotone function of the duration), which tells which bucket holds the
middle rank; a second query fetches only that bucket's values. The answer is the same as
``percentile_cont(0.5)``: the middle value, or the mean of the two middle values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Float, Integer, and_, cast, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

BUCKET_SECONDS = 60


class seconds_between(FunctionElement[float]):
    """``seconds_between(later, earlier)``: the difference of two timestamps in seconds."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _pg_seconds(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(seconds_between)
def _sqlite_seconds(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def bucket(seconds: ColumnElement[float]) -> ColumnElement[int]:
    """The one-minute bucket of a duration; any monotone bucketing keeps the median exact."""
    return cast(seconds / BUCKET_SECONDS, Integer)


def _ranks(n: int) -> list[int]:
    """The 1-based middle ranks of ``n`` sorted values: one when odd, two when even."""
    return [(n + 1) // 2] if n % 2 else [n // 2, n // 2 + 1]


def medians(
    histograms: Mapping[Any, Mapping[int, int]],
    fetch: Callable[[ColumnElement[bool]], list[tuple[Any, int, float]]],
    key: ColumnElement[Any] | QueryableAttribute[Any] | None,
    bucket_column: ColumnElement[int],
) -> dict[Any, float | None]:
    """The median per group from per-bucket counts and a fetch of the middle buckets.

        ``histograms`` maps each group key to ``{bucket: count}``. ``fetch(where)`` runs the
        report's own query restricted by ``where`` and returns ``(group key, bucket, value)`` rows
    (the bucket as SQL computed it, so that rounding rules of the database do not matter);
        ``key`` is the group column (None when the report is not grouped).
    """
    wanted: dict[Any, dict[int, list[int]]] = {}  # group -> bucket -> ranks inside it
    for group, histogram in histograms.items():
        n = sum(histogram.values())
        if not n:
            continue
        places: dict[int, list[int]] = defaultdict(list)
        for rank in _ranks(n):
            seen = 0
            for b in sorted(histogram):
                if seen + histogram[b] >= rank:
                    places[b].append(rank - seen)
                    break
                seen += histogram[b]
        wanted[group] = places
    if not wanted:
        return dict.fromkeys(histograms)
    conditions: list[ColumnElement[bool]] = []
    for group, places in wanted.items():
        in_bucket = bucket_column.in_(sorted(places))
        if key is None:
            conditions.append(in_bucket)
        else:
            same = key.is_(None) if group is None else key == group
            conditions.append(and_(same, in_bucket))
    values: dict[Any, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for group, b, value in fetch(or_(*conditions)):
        values[None if key is None else group][b].append(value)
    result: dict[Any, float | None] = dict.fromkeys(histograms)
    for group, places in wanted.items():
        picked: list[float] = []
        for b, ranks in places.items():
            ordered = sorted(values[group][b])
            picked.extend(ordered[r - 1] for r in ranks if r - 1 < len(ordered))
        result[group] = sum(picked) / len(picked) if picked else None
    return result


# --- coarse buckets: exact medians from a roll-up ---------------------------------------------
#
# A roll-up cannot keep one-minute buckets per day and owner (that is about a row per lead),
# so it counts a first response in one of a few coarse buckets instead, bounded by EDGES
# (seconds, each the exclusive upper bound of one bucket and the lower bound of the next).
# The middle rank's bucket then comes from the roll-up, and one query ranks only that
# bucket's values of the period (an index on the response time reads just that range).

EDGES = (
    30, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600,
    5400, 7200, 10800, 14400, 21600, 28800, 43200, 86400, 172800, 604800,
)  # fmt: skip
BUCKETS = len(EDGES) + 1


class coarse_bucket(FunctionElement[int]):
    """``coarse_bucket(seconds)``: how many EDGES are <= seconds (0 .. BUCKETS - 1), or NULL."""

    type = Integer()
    inherit_cache = True
    name = "coarse_bucket"


@compiles(coarse_bucket, "postgresql")
def _pg_coarse(element: coarse_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    edges = ", ".join(str(float(e)) for e in EDGES)
    seconds = compiler.process(element.clauses, **kw)
    return f"width_bucket({seconds}, ARRAY[{edges}]::DOUBLE PRECISION[])"


@compiles(coarse_bucket)
def _sqlite_coarse(element: coarse_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    whens = " ".join(f"WHEN {seconds} < {float(e)} THEN {i}" for i, e in enumerate(EDGES))
    return f"(CASE WHEN {seconds} IS NULL THEN NULL {whens} ELSE {len(EDGES)} END)"


def in_bucket(seconds: ColumnElement[float], b: int) -> ColumnElement[bool]:
    """``seconds`` falls in coarse bucket ``b``: a range, so an index on ``seconds`` serves it."""
    parts = []
    if b > 0:
        parts.append(seconds >= float(EDGES[b - 1]))
    if b < len(EDGES):
        parts.append(seconds < float(EDGES[b]))
    return and_(*parts)


def middle_places(histogram: Sequence[int]) -> dict[int, list[int]]:
    """Where the middle ranks fall: ``{bucket: [ranks inside that bucket]}`` ({} when empty)."""
    n = sum(histogram)
    places: dict[int, list[int]] = defaultdict(list)
    if not n:
        return {}
    for rank in _ranks(n):
        seen = 0
        for b, count in enumerate(histogram):
            if seen + count >= rank:
                places[b].append(rank - seen)
                break
            seen += count
    return dict(places)


def coarse_medians(
    session: Session,
    where: ColumnElement[bool],
    seconds: ColumnElement[float],
    key: ColumnElement[Any] | QueryableAttribute[Any] | None,
    histograms: Mapping[Any, Sequence[int]],
) -> dict[Any, float | None]:
    """The exact median of ``seconds`` per group, from coarse-bucket counts per group.

    ``histograms`` maps each group (a value of ``key``; None when ``key`` is None) to its count
    per coarse bucket, over exactly the rows ``where`` selects with ``seconds`` not NULL.
    One query ranks, within each group and bucket that holds a middle rank, the values of
    that bucket only, and returns the ranks wanted.
    """
    wanted = {group: middle_places(h) for group, h in histograms.items()}
    result: dict[Any, float | None] = dict.fromkeys(histograms)
    groups_by_bucket: dict[int, list[Any]] = defaultdict(list)
    for group, places in wanted.items():
        for b in places:
            groups_by_bucket[b].append(group)
    if not groups_by_bucket:
        return result
    arms = []
    for b, groups in sorted(groups_by_bucket.items()):
        arm = in_bucket(seconds, b)
        if key is not None:
            named = [g for g in groups if g is not None]
            same = [key.in_(named)] if named else []
            if len(named) < len(groups):
                same.append(key.is_(None))
            arm = and_(arm, or_(*same))
        arms.append(arm)
    bucket = coarse_bucket(seconds)
    keys = [key] if key is not None else []
    rank = func.row_number().over(partition_by=[*keys, bucket], order_by=seconds)
    ranked = (
        select(*keys, bucket.label("b"), seconds.label("v"), rank.label("rank"))
        .where(where, seconds.is_not(None), or_(*arms))
        .subquery()
    )
    ranks = sorted({r for places in wanted.values() for rs in places.values() for r in rs})
    stmt = select(ranked).where(ranked.c.rank.in_(ranks))
    found: dict[tuple[Any, int, int], float] = {}
    for row in session.execute(stmt):
        group = row[0] if key is not None else None
        b, value, r = row[-3], row[-2], row[-1]
        found[(group, b, r)] = value
    for group, places in wanted.items():
        picked = [
            found[(group, b, r)]
            for b, ranks_in in sorted(places.items())
            for r in ranks_in
            if (group, b, r) in found
        ]
        result[group] = sum(picked) / len(picked) if picked else None
    return result


class within_seconds(FunctionElement[bool]):
    """``within_seconds(later, earlier, n)``: ``seconds_between(later, earlier) <= n``.

    The same answer, cheaper on PostgreSQL: there the difference of two timestamps is compared
    as an interval, exact to the microsecond, instead of through the numeric ``EXTRACT(EPOCH
    ...)`` (a microsecond over ``n`` is over ``n`` as a double too). SQLite compares the
    seconds themselves, as :class:`seconds_between` computes them.
    """

    type = Boolean()
    inherit_cache = True
    name = "within_seconds"


@compiles(within_seconds, "postgresql")
def _pg_within(element: within_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier, seconds = list(element.clauses)
    limit = compiler.process(seconds, **{**kw, "literal_binds": True})
    between = f"{compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}"
    return f"(({between}) <= make_interval(secs => {limit}))"


@compiles(within_seconds)
def _sqlite_within(element: within_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier, seconds = list(element.clauses)
    between = compiler.process(seconds_between(later, earlier), **kw)
    return f"({between} <= {compiler.process(seconds, **kw)})"
