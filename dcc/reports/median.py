"""Exact medians of a duration without sorting the whole period (first response time).

Sorting every lead of a year to find one middle value is what made the funnel slow, so the
median is found in two steps: the report's one aggregate query already counts leads per
one-minute bucket (a monotone function of the duration), which tells which bucket holds the
middle rank; a second query fetches only that bucket's values. The answer is the same as
``percentile_cont(0.5)``: the middle value, or the mean of the two middle values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, and_, cast, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
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
