"""Queueing formulas for staffing: Erlang B, Erlang C, and Erlang A (callers who hang up).

Pure functions of the traffic and the agent count; no I/O. Times are in seconds.

**Erlang C** (M/M/n) assumes callers wait for ever. Real callers hang up, and Erlang C then
over-staffs: it counts the calls that would have been abandoned as waiting work. **Erlang A**
(Palm's M/M/n+M: Poisson arrivals, exponential handle times, n agents, and each waiting caller
hanging up after an exponential patience) is the standard correction; it is what the
call-centre literature and the better workforce tools use. The formulas here are its closed
forms in terms of the regularised lower incomplete gamma function P(a, z), with
x = nμ/θ and y = λ/θ (μ: 1/handle time, θ: 1/mean patience, ρ = λ/(nμ)):

- P(wait) = A·B / (1 + (A - 1)·B), where B is Erlang B for the offered load and
  A = A(x, y) = 1 + Σ_{j≥1} y^j / Π_{k=1..j}(x + k) = e^y · y^-x · Γ(x + 1) · P(x, y)
  (Garnett, Mandelbaum & Reiman 2002, "Designing a call center with impatient customers",
  M&SOM 4(3); Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A
  queue, with applications to call centers");
- P(abandon | wait) = 1 - (1 - 1/A) / ρ, and the mean wait of all callers = P(abandon) / θ;
- P(answered within t | wait) = [P(x+1, y) - P(x+1, y·e^{-θt})] / (ρ · P(x, y)), which follows
  from those papers' virtual-wait law: a caller who finds j others queued waits through the
  states of a linear death process with rates nμ + iθ, and integrating its own patience out
  over the arrival-stationary j gives the expression;
- the mean wait of answered callers = P(wait) / (θ·ρ·P(x, y)) · Σ_{k≥0} P(x+k+1, y) / (x+k+1),
  divided by P(answered).

As the patience grows without bound each expression tends to its Erlang C counterpart.
Numerically: Erlang B by its recursion (no factorials, stable for any load); P(a, z) by its
series or continued fraction (Numerical Recipes §6.2) in log space, so loads of thousands of
Erlangs neither overflow nor underflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Relative accuracy of the series and continued fractions.
EPSILON = 1e-13
_TINY = 1e-300
_MAX_ITERATIONS = 1_000_000


@dataclass(frozen=True)
class Traffic:
    """Work arriving at random (Poisson) at ``rate`` per second, each item needing ``handle``
    seconds of an agent on average; waiting callers hang up after ``patience`` seconds on
    average (None: they never do, as for web leads, which wait in the worklist)."""

    rate: float
    handle: float
    patience: float | None = None

    def __post_init__(self) -> None:
        if self.rate < 0 or not math.isfinite(self.rate):
            raise ValueError("rate must be a finite number of arrivals per second, 0 or more")
        if self.handle <= 0 or not math.isfinite(self.handle):
            raise ValueError("handle must be a positive number of seconds")
        if self.patience is not None and not self.patience > 0:
            raise ValueError("patience must be a positive number of seconds, or None")

    @property
    def load(self) -> float:
        """The offered load in Erlangs: how many agents the work keeps busy on average."""
        return self.rate * self.handle

    @property
    def abandons(self) -> bool:
        return self.patience is not None and math.isfinite(self.patience)


@dataclass(frozen=True)
class Performance:
    """How ``agents`` agents do on the traffic."""

    agents: int
    wait_probability: float  # an arrival finds every agent busy
    service_level: float  # answered within the target time, of all arrivals
    abandon_probability: float  # hung up before an agent answered
    asa: float  # average speed of answer: mean wait of the answered (inf: none are)
    mean_wait: float  # mean wait of all arrivals, those who hung up included
    occupancy: float  # share of the agents' time spent handling work


# --- Erlang B and C --------------------------------------------------------------------------


def erlang_b(agents: int, load: float) -> float:
    """The probability that an arrival finds all ``agents`` busy in a loss system (M/M/n/n).

    The recursion B(k) = a·B(k-1) / (k + a·B(k-1)) keeps every step in [0, 1].
    """
    _check_agents(agents)
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(agents: int, load: float) -> float:
    """The probability that an arrival waits when nobody hangs up (M/M/n); 1 when overloaded."""
    _check_agents(agents)
    if load <= 0:
        return 0.0
    if load >= agents:
        return 1.0
    blocking = erlang_b(agents, load)
    return agents * blocking / (agents - load * (1 - blocking))


# --- the regularised incomplete gamma function in log space ----------------------------------


def log_gamma_p(a: float, z: float) -> float:
    """log P(a, z), the regularised lower incomplete gamma function, for a > 0, z ≥ 0."""
    if a <= 0:
        raise ValueError("a must be positive")
    if z <= 0:
        return -math.inf
    prefix = -z + a * math.log(z) - math.lgamma(a)
    if z < a + 1:
        return prefix + math.log(_gamma_series(a, z))
    q = math.exp(prefix) * _gamma_fraction(a, z)
    return math.log1p(-q) if q < 1 else -math.inf


def _gamma_series(a: float, z: float) -> float:
    """Σ z^n / (a (a+1) … (a+n)): P(a, z) = e^-z z^a / Γ(a) times this."""
    term = total = 1.0 / a
    for n in range(1, _MAX_ITERATIONS):
        term *= z / (a + n)
        total += term
        if term < total * EPSILON:
            return total
    raise ArithmeticError(f"incomplete gamma series did not converge (a={a}, z={z})")


def _gamma_fraction(a: float, z: float) -> float:
    """The continued fraction of Q(a, z) = 1 - P(a, z), by the modified Lentz method."""
    b = z + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = d if abs(d) > _TINY else _TINY
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < EPSILON:
            return h
    raise ArithmeticError(f"incomplete gamma fraction did not converge (a={a}, z={z})")


# --- performance -----------------------------------------------------------------------------


def performance(traffic: Traffic, agents: int, target: float) -> Performance:
    """Every figure for ``agents`` agents, the service level against ``target`` seconds."""
    _check_agents(agents)
    if target < 0:
        raise ValueError("target must be 0 seconds or more")
    if traffic.rate == 0:
        return Performance(agents, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    if traffic.abandons:
        return _erlang_a(traffic, agents, target)
    return _erlang_c(traffic, agents, target)


def service_level(traffic: Traffic, agents: int, target: float) -> float:
    """The share of arrivals answered within ``target`` seconds."""
    return performance(traffic, agents, target).service_level


def agents_needed(traffic: Traffic, target: float, share: float, *, limit: int = 10_000) -> int:
    """The fewest agents answering at least ``share`` of arrivals within ``target`` seconds.

    The service level never falls as agents are added, so the first count that reaches the
    share is the answer. No traffic needs no agent.
    """
    if not 0 < share < 1:
        raise ValueError("share must be between 0 and 1 (exclusive)")
    if traffic.rate == 0:
        return 0
    # Without hanging up, fewer agents than the load never catch up: start above it.
    first = 1 if traffic.abandons else max(1, math.floor(traffic.load) + 1)
    for agents in range(first, limit + 1):
        if service_level(traffic, agents, target) >= share:
            return agents
    raise ArithmeticError(f"no agent count up to {limit} reaches the target")


def _erlang_c(traffic: Traffic, agents: int, target: float) -> Performance:
    load = traffic.load
    if agents == 0 or load >= agents:
        return Performance(agents, 1.0, 0.0, 0.0, math.inf, math.inf, 1.0 if agents else 0.0)
    waits = erlang_c(agents, load)
    drain = (agents - load) / traffic.handle  # nμ - λ: how fast the queue empties
    asa = waits / drain
    level = 1 - waits * math.exp(-drain * target)
    return Performance(agents, waits, level, 0.0, asa, asa, load / agents)


def _erlang_a(traffic: Traffic, agents: int, target: float) -> Performance:
    assert traffic.patience is not None
    theta = 1 / traffic.patience
    if agents == 0:  # everyone waits until they hang up
        return Performance(0, 1.0, 0.0, 1.0, math.inf, traffic.patience, 0.0)
    x = agents / traffic.handle / theta  # nμ/θ
    y = traffic.rate / theta  # λ/θ
    rho = y / x
    log_p = log_gamma_p(x, y)
    log_a = y - x * math.log(y) + math.lgamma(x + 1) + log_p  # log A(x, y)
    inverse_a = math.exp(-log_a)
    blocking = erlang_b(agents, traffic.load)
    if blocking == 0:  # so many agents that nobody ever waits
        waits = 0.0
    else:
        waits = 1 / (1 + (1 - blocking) / blocking * inverse_a)
    abandon_if_waiting = 1 - (1 - inverse_a) / rho
    abandon = waits * abandon_if_waiting
    # P(x+1, y) / P(x, y) = 1 - 1/A: answered at all, of those who wait, is that over ρ.
    late = math.exp(log_gamma_p(x + 1, y * math.exp(-theta * target)) - log_p)
    answered_in_time = max(0.0, (1 - inverse_a - late) / rho)
    level = (1 - waits) + waits * answered_in_time
    answered = 1 - abandon
    waited = waits / (theta * rho) * _answered_wait_sum(x, y, log_p) if waits else 0.0
    asa = waited / answered if answered > 0 else math.inf
    occupancy = min(1.0, traffic.load * answered / agents)
    return Performance(agents, waits, level, abandon, asa, abandon * traffic.patience, occupancy)


def _answered_wait_sum(x: float, y: float, log_p: float) -> float:
    """Σ_{k≥0} P(x+k+1, y) / ((x+k+1) · P(x, y)).

    P(a, y) is the tail Σ_{i≥0} y^(a+i) e^-y / Γ(a+i+1) of one series, so each ratio is a tail
    sum of its terms over the whole sum: the terms are generated once (each from the last),
    then summed from the far end, which keeps the smallest tails exact.
    """
    terms: list[float] = []
    term = math.exp(x * math.log(y) - y - math.lgamma(x + 1) - log_p)
    total = 0.0
    for i in range(_MAX_ITERATIONS):
        terms.append(term)
        total += term
        if x + i > y and term < total * EPSILON:
            break
        term *= y / (x + i + 1)
    else:
        raise ArithmeticError(f"answered-wait series did not converge (x={x}, y={y})")
    result, tail = 0.0, 0.0
    for k in range(len(terms) - 1, 0, -1):
        tail += terms[k]  # Σ_{i≥k}: P(x+k, y) / P(x, y), up to the common factor
        result += tail / (x + k)
    return result / total


def _check_agents(agents: int) -> None:
    if agents < 0:
        raise ValueError("agents must be 0 or more")
