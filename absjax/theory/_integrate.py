"""Moments of a nonnegative random variable from its survival function.

``E[Y] = integral_0^inf P(Y > x) dx`` and the variance around it, integrated
with scipy's ``quad`` on pieces between quantiles of ``Y`` (located by
bisection) and, past the last one, through ``x = a e^u`` so that power tails
decay. Also the test that a Pareto-tailed order statistic has the moment asked
for (:class:`_InfiniteMoment` otherwise). Private: the order statistics of
:mod:`absjax.theory.order_statistics` are built on it.

>>> mean, var = _integrate_moments(  # Exp(1): mean 1, variance 1
...     lambda x: math.exp(-x), lambda x: -math.expm1(-x), (), want_var=True
... )
>>> round(mean, 9), round(var, 9)
(1.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import integrate

# Numerical integration: scipy.integrate.quad on each piece between quantiles
# of X_(k:n), with relative tolerance _EPSREL and at most _LIMIT subintervals
# per piece. The absolute tolerance is _EPSREL times a typical scale (the
# median of X_(k:n), squared for second moments) so that pieces whose integral
# is ~0 do not exhaust the subdivision limit.
_EPSREL = 1e-10
_LIMIT = 200
# Probability levels of X_(k:n) whose quantiles split the integration range:
# the bulk (0.1 ... 0.9) and the tails down to 1e-12 on both sides, so that
# quad never has to find a narrow bump on a long interval by itself.
_LEVELS = (1e-12, 1e-6, 1e-3, 0.1, 0.5, 0.9, 0.999, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12)
# Bisection steps to locate a quantile inside a factor-2 bracket
# (2^-60 relative width: far below the integration tolerance).
_BISECT_STEPS = 60


class _InfiniteMoment(ValueError):
    """A moment that the requested law does not have (heavy Pareto tail)."""


def _boundary(pred: Callable[[float], bool]) -> float:
    """The ``x >= 0`` where a monotone predicate switches from False to True."""
    if pred(1.0):
        hi = 1.0
        while pred(hi / 2):
            hi /= 2
            if hi < 1e-300:
                return 0.0
        lo = hi / 2
    else:
        lo = 1.0
        while not pred(2 * lo):
            lo *= 2
            if lo > 1e300:
                return math.inf
        hi = 2 * lo
    for _ in range(_BISECT_STEPS):
        mid = math.sqrt(lo * hi)
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _quad(fn, a: float, b: float, epsabs: float) -> float:
    if not b > a:
        return 0.0
    value, _ = integrate.quad(fn, a, b, epsabs=epsabs, epsrel=_EPSREL, limit=_LIMIT)
    return value


def _tail(fn, a: float, epsabs: float) -> float:
    """``integral_a^inf fn(x) dx`` through ``x = a e^u`` (power tails decay)."""

    u_max = math.log(1e300 / a)  # beyond x = 1e300 the integrand is taken as 0

    def g(u):
        if u >= u_max:
            return 0.0
        x = a * math.exp(u)
        value = fn(x)
        return 0.0 if value == 0.0 else value * x

    value, _ = integrate.quad(
        g, 0.0, math.inf, epsabs=epsabs, epsrel=_EPSREL, limit=_LIMIT
    )
    return value


def _integrate_moments(surv, below, kinks, want_var: bool) -> tuple[float, float]:
    """``(E[Y], Var[Y])`` of ``Y >= 0`` from ``surv(x) = P(Y > x)``.

    ``below(x) = P(Y <= x)`` is passed separately so that both sides stay
    accurate where they are tiny. ``E[Y] = integral_0^inf P(Y > x) dx`` and,
    with ``c = E[Y]``, ``Var[Y] = integral_0^c 2 (c - x) P(Y <= x) dx +
    integral_c^inf 2 (x - c) P(Y > x) dx`` (no cancellation).
    """
    levels = []
    for q in _LEVELS:
        if q <= 0.5:
            levels.append(_boundary(lambda x, q=q: below(x) >= q))
        else:
            levels.append(_boundary(lambda x, q=q: surv(x) <= 1.0 - q))
    finite = [x for x in (*levels, *kinks) if 0.0 < x < math.inf]
    if not finite:
        return 0.0, 0.0
    scale = levels[4] if 0.0 < levels[4] < math.inf else max(finite)
    points = sorted({0.0, *finite})
    mean = sum(
        _quad(surv, a, b, _EPSREL * scale)
        for a, b in zip(points[:-1], points[1:], strict=True)
    )
    mean += _tail(surv, points[-1], _EPSREL * scale)
    if not want_var:
        return mean, math.nan
    c = mean
    points = sorted({*points, c})
    var = 0.0
    eps2 = _EPSREL * scale**2
    for a, b in zip(points[:-1], points[1:], strict=True):
        if b <= c:
            var += _quad(lambda x: 2 * (c - x) * below(x), a, b, eps2)
        else:
            var += _quad(lambda x: 2 * (x - c) * surv(x), a, b, eps2)
    var += _tail(lambda x: 2 * (x - c) * surv(x), points[-1], eps2)
    return mean, var


def _check_tail(tail_indices, k: int, n: int, m: int, what: str, law_text: str):
    """``E[X_(k:n)^m]`` is finite iff its ``n-k+1`` heaviest tails sum past m.

    ``P(X_(k:n) > x) = P(at least n-k+1 of the n exceed x)``, dominated for
    Pareto tails by the ``n-k+1`` smallest indices ``alpha_i``.
    """
    heaviest = sorted(tail_indices)[: n - k + 1]
    if sum(heaviest) <= m:
        if len(set(tail_indices)) == 1:
            cond = f"(n-k+1)*alpha > {m}"
        else:
            cond = f"the sum of the n-k+1 smallest alphas > {m}"
        raise _InfiniteMoment(
            f"order statistic {what} of {law_text} with k={k}, n={n} is "
            f"infinite: needs {cond}"
        )
