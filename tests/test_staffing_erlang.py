"""The queueing formulas: published Erlang B/C table values, Erlang A against an independent
numerical solution of the same queue, and the properties a staffing search relies on."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcc.staffing import erlang
from dcc.staffing.erlang import Traffic

#: Ten Erlangs: calls of 180 s arriving every 18 s on average.
TEN_ERLANGS = Traffic(rate=10 / 180, handle=180)


def test_erlang_b_and_c_match_the_published_tables() -> None:
    # Erlang B, 10 Erlangs on 10 lines: 21.46% blocked (any Erlang B table).
    assert erlang.erlang_b(10, 10) == pytest.approx(0.2146, abs=5e-5)
    # Erlang C, 10 Erlangs: the probability of waiting with 11 … 14 agents.
    table = {11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741}
    for agents, published in table.items():
        assert erlang.erlang_c(agents, 10) == pytest.approx(published, abs=5e-5), agents


def test_erlang_c_service_level_and_asa_for_ten_erlangs_on_twelve_agents() -> None:
    # AHT 180 s, 20 s target: SL = 1 - C·e^{-(N-A)·t/AHT}, ASA = C·AHT/(N-A).
    figures = erlang.performance(TEN_ERLANGS, 12, 20)
    assert figures.wait_probability == pytest.approx(0.4494, abs=5e-5)
    assert figures.service_level == pytest.approx(1 - 0.449388 * math.exp(-2 * 20 / 180), 1e-5)
    assert figures.service_level == pytest.approx(0.6402, abs=5e-5)
    assert figures.asa == pytest.approx(40.44, abs=0.01)
    assert figures.occupancy == pytest.approx(10 / 12)
    # 80/20 needs 14 agents for this traffic (13 give 78.9%).
    assert erlang.agents_needed(TEN_ERLANGS, 20, 0.8) == 14
    assert (
        erlang.service_level(TEN_ERLANGS, 13, 20) < 0.8 <= erlang.service_level(TEN_ERLANGS, 14, 20)
    )


def test_erlang_b_agrees_with_the_exact_sum_and_survives_huge_loads() -> None:
    load, agents = Fraction(37, 2), 25
    terms = [load**k / math.factorial(k) for k in range(agents + 1)]
    exact = terms[-1] / sum(terms)
    assert erlang.erlang_b(agents, 18.5) == pytest.approx(float(exact), rel=1e-12)
    # 5,000 Erlangs: the factorials would overflow; the recursion does not.
    assert 0 < erlang.erlang_c(5100, 5000) < 1
    big = erlang.performance(Traffic(5000 / 180, 180, 120), 5050, 20)
    assert 0 < big.service_level < 1 and 0 <= big.abandon_probability < 1


def _numerical_erlang_a(traffic: Traffic, agents: int, target: float) -> tuple[float, float]:
    """P(wait) and the service level of M/M/n+M, solved without the closed forms.

    The stationary distribution of the birth-death chain gives what an arrival finds; the
    queued arrivals' own progress (the callers ahead served or hanging up, the arrival itself
    hanging up) is integrated with Runge-Kutta up to ``target``.
    """
    assert traffic.patience is not None
    mu, theta, depth = 1 / traffic.handle, 1 / traffic.patience, 250
    weights = [1.0]
    for k in range(1, agents + depth):
        death = k * mu if k <= agents else agents * mu + (k - agents) * theta
        weights.append(weights[-1] * traffic.rate / death)
    total = sum(weights)
    found = [w / total for w in weights]
    ahead = found[agents:]  # the arrival finds i callers queued ahead of it

    def change(mass: list[float]) -> tuple[list[float], float]:
        moves = [
            -(agents * mu + (i + 1) * theta) * mass[i]
            + ((agents * mu + (i + 1) * theta) * mass[i + 1] if i + 1 < depth else 0.0)
            for i in range(depth)
        ]
        return moves, agents * mu * mass[0]

    served, steps = 0.0, 4000
    h = target / steps
    for _ in range(steps):
        k1, s1 = change(ahead)
        k2, s2 = change([m + h / 2 * d for m, d in zip(ahead, k1, strict=True)])
        k3, s3 = change([m + h / 2 * d for m, d in zip(ahead, k2, strict=True)])
        k4, s4 = change([m + h * d for m, d in zip(ahead, k3, strict=True)])
        ahead = [
            m + h / 6 * (a + 2 * b + 2 * c + d)
            for m, a, b, c, d in zip(ahead, k1, k2, k3, k4, strict=True)
        ]
        served += h / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
    immediate = sum(found[:agents])
    return 1 - immediate, immediate + served


@pytest.mark.parametrize(
    ("traffic", "agents", "target"),
    [
        (Traffic(10 / 180, 180, 60), 12, 20),  # ten Erlangs, callers wait a minute
        (Traffic(10 / 180, 180, 60), 8, 20),  # overloaded: only hanging up keeps it stable
        (Traffic(1 / 300, 240, 45), 1, 20),  # a quiet half hour at a dealership
        (Traffic(0.5 / 60, 300, 120), 3, 60),
    ],
)
def test_erlang_a_matches_the_queue_solved_numerically(traffic, agents, target) -> None:
    waits, level = _numerical_erlang_a(traffic, agents, target)
    figures = erlang.performance(traffic, agents, target)
    assert figures.wait_probability == pytest.approx(waits, rel=1e-6)
    assert figures.service_level == pytest.approx(level, rel=1e-6)


def test_erlang_a_counts_the_callers_who_hang_up() -> None:
    # Ten Erlangs on 12 agents, one minute of patience: Erlang C's 64% becomes 86%, because
    # 7.6% hang up instead of queueing in front of the others.
    figures = erlang.performance(Traffic(10 / 180, 180, 60), 12, 20)
    assert figures.abandon_probability == pytest.approx(0.0759, abs=1e-4)
    assert figures.service_level == pytest.approx(0.8603, abs=1e-4)
    assert figures.mean_wait == pytest.approx(figures.abandon_probability * 60)
    assert 0 < figures.asa < figures.mean_wait
    # The abandon correction staffs fewer agents than Erlang C for the same target.
    assert erlang.agents_needed(Traffic(10 / 180, 180, 60), 20, 0.8) == 12
    assert erlang.agents_needed(TEN_ERLANGS, 20, 0.8) == 14


@pytest.mark.parametrize("agents", [11, 12, 14])
def test_with_endless_patience_erlang_a_becomes_erlang_c(agents) -> None:
    patient = erlang.performance(Traffic(10 / 180, 180, 1e9), agents, 20)
    classic = erlang.performance(TEN_ERLANGS, agents, 20)
    assert patient.wait_probability == pytest.approx(classic.wait_probability, rel=1e-5)
    assert patient.service_level == pytest.approx(classic.service_level, rel=1e-5)
    assert patient.asa == pytest.approx(classic.asa, rel=1e-3)
    assert patient.abandon_probability < 1e-6


def test_no_traffic_needs_no_agent_and_no_agent_answers_nobody() -> None:
    assert erlang.agents_needed(Traffic(0, 180, 60), 20, 0.8) == 0
    assert erlang.performance(Traffic(0, 180), 0, 20).service_level == 1
    nobody = erlang.performance(Traffic(1 / 600, 180, 60), 0, 20)
    assert nobody.service_level == 0 and nobody.abandon_probability == 1
    assert erlang.performance(Traffic(1 / 60, 180), 2, 20).service_level == 0  # overloaded


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="handle"):
        Traffic(1, 0)
    with pytest.raises(ValueError, match="rate"):
        Traffic(-1, 10)
    with pytest.raises(ValueError, match="patience"):
        Traffic(1, 10, 0)
    with pytest.raises(ValueError, match="share"):
        erlang.agents_needed(TEN_ERLANGS, 20, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    calls=st.floats(0.1, 200),
    handle=st.floats(30, 900),
    patience=st.one_of(st.none(), st.floats(5, 1200)),
    target=st.floats(0, 120),
)
def test_more_agents_never_lower_the_service_level(calls, handle, patience, target) -> None:
    traffic = Traffic(calls / 1800, handle, patience)
    levels = [
        erlang.service_level(traffic, n, target) for n in range(0, math.ceil(traffic.load) + 8)
    ]
    assert all(0 <= level <= 1 + 1e-12 for level in levels)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(levels))
    needed = erlang.agents_needed(traffic, target, 0.8)
    assert erlang.service_level(traffic, needed, target) >= 0.8
    assert needed == 0 or erlang.service_level(traffic, needed - 1, target) < 0.8
