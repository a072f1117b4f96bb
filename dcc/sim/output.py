"""The figures of a run as text (for people) or JSON (for scripts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: The KPIs the text shows, with their names in DOMAIN.md.
KPI_LINES = (
    ("leads", "leads"),
    ("valid_rate", "valid lead rate"),
    ("first_response_median_seconds", "first response median (s)"),
    ("first_response_5min_share", "first response within 5 min"),
    ("connect_rate", "connect rate"),
    ("invitation_rate", "invitation rate"),
    ("show_rate", "show rate"),
    ("close_rate_after_visit", "close rate after visit"),
    ("lead_close_rate", "lead close rate"),
    ("lost_rate", "lost rate"),
)


def as_json(figures: dict[str, Any]) -> str:
    return json.dumps(figures, ensure_ascii=False, indent=2, sort_keys=False)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _kpi(name: str, value: Any) -> str:
    if name.endswith(("rate", "share", "after_visit")):
        return pct(value)
    return num(value)


def as_text(figures: dict[str, Any]) -> Iterator[str]:
    """The report: one line per day, the whole run, the audit's findings."""
    yield (
        f"dealership simulation: {figures['scenario']}, {figures['days']} day(s) from "
        f"{figures['first_day']}, seed {figures['seed']}, {figures['agents']} agent(s)"
    )
    yield ""
    header = (
        "day          leads valid invit arriv order  lost | calls    SL  aband no-cb  "
        "wait p50/p95 | web <=60s  | audit"
    )
    yield header
    for day in figures["per_day"]:
        k, h, s = day["kpis"], day["hotline"], day["speed_to_lead"]
        audit = day["nightly_audit_violations"]
        yield (
            f"{day['day']}  {k['leads']:5} {k['valid']:5} {k['invited']:5} {k['arrived']:5} "
            f"{k['orders']:5} {k['lost']:5} | {h['calls']:5} {pct(h['service_level']):>6} "
            f"{h['abandoned']:5} {h['abandoned_without_callback']:5}  "
            f"{num(h['queue_wait']['p50']):>5}/{num(h['queue_wait']['p95']):<6} | "
            f"{s['leads']:3} {pct(s['within_60s_share']):>6} | {'-' if audit is None else audit}"
        )
    yield ""
    yield "DOMAIN KPIs (the funnel report, leads received in the run):"
    for name, label in KPI_LINES:
        yield f"  {label:<30} {_kpi(name, figures['kpis'].get(name))}"
    wait = figures["queue_wait"]
    yield (
        f"hotline: {figures['hotline_calls']} calls in opening hours, service level "
        f"{pct(figures['service_level'])} (answered within 20 s), {figures['abandoned']} "
        f"abandoned ({figures['abandoned_without_callback']} without a callback), queue wait "
        f"p50 {num(wait['p50'])} s, p95 {num(wait['p95'])} s"
    )
    stl = figures["speed_to_lead"]
    yield (
        f"speed to lead: {stl['leads']} web leads in staffed hours, first attempt p50 "
        f"{num(stl['p50'])} s, p95 {num(stl['p95'])} s, within 60 s {pct(stl['within_60s_share'])}"
        f" ({stl['rung_first']} with the customer rung first while every agent was busy)"
    )
    yield f"jobs run: {figures['jobs_run']}, failed: {len(figures['job_failures'])}"
    violations = figures["violations"]
    if not violations:
        yield "loop audit: no violations, the loop is closed"
        return
    yield f"loop audit: {len(violations)} violation(s)"
    for violation in violations:
        ids = ", ".join(f"{k} {v}" for k, v in violation["ids"].items())
        yield f"  {violation['kind']}: {ids}"
