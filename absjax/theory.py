"""Theory the simulator is checked against: round times, staleness, error bounds.

Everything here is a pure function of the delay laws and the policy numbers,
computed in float64 with numpy and scipy; it never imports the engine, so that
it can check the simulator instead of sharing its mistakes (spec section 6).

- Order statistics of job durations: closed forms where they exist, otherwise
  numerical integration of ``P(X_(k:n) > x)`` (i.i.d. and heterogeneous).
- Expected round time per policy (Dutta et al., arXiv 1803.01113).
- Staleness law and wasted work under exponential delays.
- Error-runtime bounds (Dutta et al.), the exact noisy-quadratic recursion, the
  Rennala / Ringmaster time complexity (Tyurin & Richtarik, arXiv 2305.12387;
  Maranjyan et al., arXiv 2501.16168) and the shape of the ABS rate (Tan et
  al., arXiv 2301.08895).

Several statements are quoted from the papers as summarised in the project's
spec (section 6); theorem numbers could not be checked against the papers'
text here, so each docstring names the statement by its content.

>>> round(expected_round_time("sync", "exp:rate=1", n=2), 6)  # 1/2 + 1/1
1.5
>>> round(staleness_mean(n=8, k=2), 6)  # (n - k) / k
3.0
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
from scipy import integrate, special

from absjax import delays

POLICY_NAMES = ("sync", "k_sync", "k_batch_sync", "k_async", "k_batch_async", "async")

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
# An untruncated staleness pmf is listed up to the first lag whose remaining
# tail mass P(s > j) is below this (when max_staleness is not given).
_PMF_TAIL = 1e-12
# Bisection steps to locate a quantile inside a factor-2 bracket
# (2^-60 relative width: far below the integration tolerance).
_BISECT_STEPS = 60


class _InfiniteMoment(ValueError):
    """A moment that the requested law does not have (heavy Pareto tail)."""


# --------------------------------------------------------------------------
# validation


def _integer(name: str, value, low: int, high: int | None = None) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        where = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name}={value!r} must be an integer {where}")
    return int(value)


def _check_kn(k, n) -> tuple[int, int]:
    n = _integer("n", n, 1)
    ok = isinstance(k, numbers.Integral) and not isinstance(k, bool)
    if not ok or not 1 <= k <= n:
        raise ValueError(f"k={k!r} must be an integer in [1, n={n}]")
    return int(k), n


def _real(name: str, value, low: float = 0.0, *, strict: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        raise ValueError(
            f"{name}={value!r} must be in {'(' if strict else '['}{low}, inf)"
        )
    return value


def _nonneg_array(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite numbers in [0, inf)")
    return arr


def _as_output(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


# --------------------------------------------------------------------------
# float64 duration laws


def _fields(law: delays.Law) -> dict[str, float]:
    return {f.name: float(getattr(law, f.name)) for f in dataclasses.fields(law)}


def _base_functions(law: delays.Law):
    """``(cdf, sf, kinks, mean, tail_index)`` of a law, float64 numpy."""
    if isinstance(law, delays.Trace):  # the pooled empirical law: a step CDF
        values = np.sort(np.concatenate([np.asarray(c) for c in law.durations]))

        def cdf(x):
            return np.searchsorted(values, x, side="right") / values.size

        def sf(x):
            return (values.size - np.searchsorted(values, x, side="right")) / (
                values.size
            )

        return cdf, sf, tuple(np.unique(values)), float(values.mean()), math.inf
    f = _fields(law)
    if isinstance(law, delays.Exponential | delays.ShiftedExponential):
        rate, shift = f["rate"], f.get("shift", 0.0)

        def cdf(x):
            return -np.expm1(-rate * np.maximum(x - shift, 0.0))

        def sf(x):
            return np.exp(-rate * np.maximum(x - shift, 0.0))

        return cdf, sf, (shift,), shift + 1.0 / rate, math.inf
    if isinstance(law, delays.Pareto):
        scale, alpha = f["scale"], f["alpha"]

        def log_sf(x):
            return alpha * (math.log(scale) - np.log(np.maximum(x, scale)))

        def cdf(x):
            return -np.expm1(log_sf(x))

        def sf(x):
            return np.exp(log_sf(x))

        mean = alpha * scale / (alpha - 1.0) if alpha > 1 else math.inf
        return cdf, sf, (scale,), mean, alpha
    if isinstance(law, delays.LogNormal):
        mu, sigma = f["mu"], f["sigma"]

        def z(x):
            return (np.log(np.maximum(x, 1e-300)) - mu) / sigma

        def cdf(x):
            return np.where(x > 0, special.ndtr(z(x)), 0.0)

        def sf(x):
            return np.where(x > 0, special.ndtr(-z(x)), 1.0)

        return cdf, sf, (), math.exp(mu + sigma**2 / 2), math.inf
    if isinstance(law, delays.Gamma):
        shape, scale = f["shape"], f["scale"]

        def cdf(x):
            return special.gammainc(shape, np.maximum(x, 0.0) / scale)

        def sf(x):
            return special.gammaincc(shape, np.maximum(x, 0.0) / scale)

        return cdf, sf, (), shape * scale, math.inf
    if isinstance(law, delays.Weibull):
        shape, scale = f["shape"], f["scale"]

        def cdf(x):
            return -np.expm1(-((np.maximum(x, 0.0) / scale) ** shape))

        def sf(x):
            return np.exp(-((np.maximum(x, 0.0) / scale) ** shape))

        mean = scale * math.gamma(1 + 1 / shape)
        return cdf, sf, (), mean, math.inf
    if isinstance(law, delays.Uniform):
        low, high = f["low"], f["high"]

        def cdf(x):
            return np.clip((x - low) / (high - low), 0.0, 1.0)

        def sf(x):
            return np.clip((high - x) / (high - low), 0.0, 1.0)

        return cdf, sf, (low, high), (low + high) / 2, math.inf
    if isinstance(law, delays.Constant):
        value = f["value"]

        def cdf(x):
            return np.where(x >= value, 1.0, 0.0)

        def sf(x):
            return np.where(x >= value, 0.0, 1.0)

        return cdf, sf, (value,), value, math.inf
    raise ValueError(f"law={law!r} is not one of the laws in absjax.delays.LAWS")


class DurationLaw:
    """One worker's job duration in float64; calling it gives its CDF.

    The duration is ``speed * C * (straggler_factor if straggling else 1) *
    (slow_factor if slow else 1)`` with ``C`` drawn from ``law``, a job
    straggling with probability ``straggler_prob`` and, independently, slow
    with probability ``slow_prob``: a mixture of scaled copies of ``law``, as in
    :class:`absjax.delays.Delay` without communication time. A persistent-
    straggler chain enters with its stationary slow fraction ``slow_prob = p /
    (p + q)``: the law of every job, and the joint law of jobs of different
    workers started together (independent chains), e.g. one K-sync round.
    Consecutive jobs of a worker are correlated, which this does not describe.

    Attributes:
      law: the base law (an :mod:`absjax.delays` law).
      speed: the worker's slowdown factor.
      straggler_prob: probability that a job straggles.
      straggler_factor: slowdown of a straggling job.
      slow_prob: probability that a job is slow (persistent stragglers).
      slow_factor: slowdown of a slow job.
      points: the points where the CDF has a kink or a jump.
      tail_index: ``alpha`` of a Pareto tail, ``inf`` for lighter tails.

    >>> f = DurationLaw(delays.exponential(rate=1.0), speed=2.0)
    >>> round(float(f(2.0)), 6), round(float(f.sf(2.0)), 6)  # 1 - e^-1, e^-1
    (0.632121, 0.367879)
    """

    def __init__(
        self,
        law: delays.Law,
        speed: float = 1.0,
        straggler_prob: float = 0.0,
        straggler_factor: float = 1.0,
        slow_prob: float = 0.0,
        slow_factor: float = 1.0,
    ):
        self._cdf, self._sf, kinks, mean, self.tail_index = _base_functions(law)
        self.law = law
        self.speed = _real("speed", speed)
        p = self.straggler_prob = float(straggler_prob)
        m = self.straggler_factor = _real("straggler_factor", straggler_factor)
        q = self.slow_prob = float(slow_prob)
        f = self.slow_factor = _real("slow_factor", slow_factor)
        for name, value in (("straggler_prob", p), ("slow_prob", q)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r} must be in [0, 1]")
        self.components = tuple(
            (w1 * w2, self.speed * (f1 * f2))
            for w1, f1 in _two_point(p, m)
            for w2, f2 in _two_point(q, f)
        )
        self.points = tuple(sorted({f * x for _, f in self.components for x in kinks}))
        self._mean = self.speed * mean * (1.0 - p + p * m) * (1.0 - q + q * f)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return sum(w * self._cdf(x / f) for w, f in self.components)

    def sf(self, x):
        """Survival function ``P(X > x)``, accurate in the tail."""
        x = np.asarray(x, dtype=np.float64)
        return sum(w * self._sf(x / f) for w, f in self.components)

    def mean(self) -> float:
        """``E[X]`` (``inf`` for a Pareto law with ``alpha <= 1``)."""
        return self._mean

    def __repr__(self):
        slow = (
            f", slow_prob={self.slow_prob}, slow_factor={self.slow_factor}"
            if self.slow_prob
            else ""
        )
        return (
            f"DurationLaw({self.law!r}, speed={self.speed}, "
            f"straggler_prob={self.straggler_prob}, "
            f"straggler_factor={self.straggler_factor}{slow})"
        )


def _two_point(p: float, m: float) -> tuple[tuple[float, float], ...]:
    """``(weight, factor)`` of a slowdown by ``m`` with probability ``p``."""
    if p == 0.0 or m == 1.0:
        return ((1.0, 1.0),)
    if p == 1.0:
        return ((1.0, m),)
    return ((1.0 - p, 1.0), (p, m))


def _chain(delay: delays.Delay) -> tuple[float, float]:
    """``(p / (p + q), markov_factor)``: a job is slow with the chain's
    stationary probability."""
    p, q = float(delay.markov_slow), float(delay.markov_recover)
    return (p / (p + q) if p > 0 else 0.0), float(delay.markov_factor)


def _compute_laws(delay: delays.Delay, n: int) -> list[delays.Law]:
    """Each worker's compute law: its own column of a per-worker trace."""
    law = delay.compute
    if isinstance(law, delays.Trace) and not law.pooled:
        delay.check_workers(n)
        return [delays.Trace(column) for column in law.durations]
    return [law] * n


def _duration_law(delay: delays.Delay, law: delays.Law, speed: float):
    slow_prob, slow_factor = _chain(delay)
    return DurationLaw(
        law,
        speed,
        delay.straggler_prob,
        delay.straggler_factor,
        slow_prob=slow_prob,
        slow_factor=slow_factor,
    )


def _no_communication(delay: delays.Delay) -> None:
    if delay.upload is not None or delay.download is not None:
        raise ValueError(
            "delay has communication time (upload/download): a job's duration is "
            "the convolution compute + upload + download, whose CDF has no closed "
            "form here, so its order statistics are not computed; model the "
            "communication inside the compute law instead"
        )


def _speed_factors(delay: delays.Delay, n: int, speeds) -> tuple[float, ...]:
    speeds = delay.speeds if speeds is None else speeds
    if isinstance(speeds, str):
        if speeds == "none":
            return (1.0,) * n
        if speeds == "sqrt":
            return tuple(math.sqrt(i + 1.0) for i in range(n))
        if speeds == "random":
            raise ValueError(
                "speeds='random' are drawn once per seed; pass the drawn factors "
                "as speeds=(s_1, ..., s_n)"
            )
        raise ValueError(
            f"speeds={speeds!r} must be 'none', 'sqrt' or a tuple of n factors"
        )
    factors = tuple(_real("speeds[i]", s) for s in speeds)
    if len(factors) != n:
        raise ValueError(f"speeds has {len(factors)} factors; it needs n={n}")
    return factors


def worker_cdfs(delay, n: int, speeds=None) -> list[DurationLaw]:
    """The per-worker duration laws of a delay model with speed factors.

    Worker ``i`` (0-based) draws ``speed_i * compute`` (with the delay's random
    stragglers and its persistent-straggler chain's stationary mixture), as
    :meth:`absjax.delays.Delay.worker_speeds` does: ``"sqrt"`` gives ``speed_i =
    sqrt(i + 1)`` (Tyurin & Richtarik, arXiv 2305.12387), ``"none"`` gives 1, a
    tuple gives its factors. ``"random"`` speeds are drawn per seed, so they
    must be passed explicitly. A per-worker :class:`absjax.delays.Trace` gives
    worker ``i`` the empirical law of its own column (it needs ``n`` columns).

    Args:
      delay: a :class:`absjax.delays.Delay`, a law or a SPEC string; it must
        have no communication time.
      n: number of workers, ``>= 1``.
      speeds: ``None`` (use ``delay.speeds``), ``"none"``, ``"sqrt"`` or a
        sequence of ``n`` positive factors.

    Returns:
      ``n`` :class:`DurationLaw` objects: callables ``x -> F_i(x)`` that also
      have ``.sf(x)`` and ``.mean()``.

    >>> fs = worker_cdfs("exp:rate=1", 2, speeds="sqrt")
    >>> [round(f.mean(), 6) for f in fs]
    [1.0, 1.414214]
    """
    delay = delays.as_delay(delay)
    n = _integer("n", n, 1)
    _no_communication(delay)
    return [
        _duration_law(delay, law, s)
        for law, s in zip(
            _compute_laws(delay, n), _speed_factors(delay, n, speeds), strict=True
        )
    ]


# --------------------------------------------------------------------------
# numerical integration of the survival function of X_(k)


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


def _pareto_text(law) -> str:
    return f"Pareto(alpha={_fields(law)['alpha']:g})"


# --------------------------------------------------------------------------
# i.i.d. order statistics


def _closed_form(law: delays.Law, k: int, n: int, want_var: bool):
    """Closed-form ``(E, Var)`` of ``X_(k:n)``, or ``None`` when there is none."""
    if isinstance(law, delays.Trace):
        return None  # integrated exactly between its values instead
    f = _fields(law)
    if isinstance(law, delays.Exponential | delays.ShiftedExponential):
        # Renyi: X_(k:n) = sum_{i=n-k+1}^{n} E_i / (i mu), E_i i.i.d. Exp(1).
        inv = range(n - k + 1, n + 1)
        mean = f.get("shift", 0.0) + math.fsum(1.0 / i for i in inv) / f["rate"]
        var = math.fsum(1.0 / i**2 for i in inv) / f["rate"] ** 2
        return mean, var
    if isinstance(law, delays.Pareto):
        scale, alpha = f["scale"], f["alpha"]
        text = _pareto_text(law)
        _check_tail([alpha] * n, k, n, 1, "mean", text)

        def log_moment(m):
            # E[X_(k:n)^m] = scale^m G(n+1) G(n-k+1-m/a) / (G(n-k+1) G(n+1-m/a))
            return (
                m * math.log(scale)
                + special.gammaln(n + 1)
                + special.gammaln(n - k + 1 - m / alpha)
                - special.gammaln(n - k + 1)
                - special.gammaln(n + 1 - m / alpha)
            )

        log1 = log_moment(1)
        if not want_var:
            return math.exp(log1), math.nan
        _check_tail([alpha] * n, k, n, 2, "variance", text)
        return math.exp(log1), math.exp(2 * log1) * math.expm1(log_moment(2) - 2 * log1)
    if isinstance(law, delays.Uniform):
        # X_(k:n) = low + (high - low) B with B ~ Beta(k, n - k + 1).
        width = f["high"] - f["low"]
        mean = f["low"] + width * k / (n + 1)
        var = width**2 * k * (n - k + 1) / ((n + 1) ** 2 * (n + 2))
        return mean, var
    if isinstance(law, delays.Constant):
        return f["value"], 0.0
    return None


def _iid_moments(delay, k, n, method: str, want_var: bool) -> tuple[float, float]:
    delay = delays.as_delay(delay)
    k, n = _check_kn(k, n)
    if method not in ("auto", "closed", "quad"):
        raise ValueError(f"method={method!r} must be 'auto', 'closed' or 'quad'")
    _no_communication(delay)
    if delay.speeds != "none" or not delay.homogeneous:  # or a per-worker trace
        cdfs = worker_cdfs(delay, n)
        return _hetero_moments(cdfs, k, want_var)
    p, m = delay.straggler_prob, delay.straggler_factor
    slow_prob, slow_factor = _chain(delay)
    plain = (p == 0.0 or m == 1.0) and (slow_prob == 0.0 or slow_factor == 1.0)
    if method != "quad" and plain:
        closed = _closed_form(delay.compute, k, n, want_var)
        if closed is not None:
            return closed
    if method == "closed":
        raise ValueError(
            f"{delay.compute!r}"
            + (" with stragglers" if not plain else "")
            + " has no closed-form order statistics: use method='auto' or 'quad'"
        )
    law = _duration_law(delay, delay.compute, 1.0)
    if isinstance(delay.compute, delays.Pareto):
        text = _pareto_text(delay.compute) + ("" if plain else " with stragglers")
        _check_tail([law.tail_index] * n, k, n, 1, "mean", text)
        if want_var:
            _check_tail([law.tail_index] * n, k, n, 2, "variance", text)

    def surv(x):  # P(X_(k) > x) = P(Bin(n, sf(x)) >= n - k + 1)
        return float(special.betainc(n - k + 1, k, law.sf(x)))

    def below(x):  # P(X_(k) <= x) = P(Bin(n, F(x)) >= k)
        return float(special.betainc(k, n - k + 1, law(x)))

    return _integrate_moments(surv, below, law.points, want_var)


def order_statistic_mean(delay, k: int, n: int, *, method: str = "auto") -> float:
    """``E[X_(k:n)]``: the mean of the k-th smallest of n i.i.d. job durations.

    Closed forms (``method="auto"`` uses them when the law has one and the
    delay has no stragglers):

    - exponential(mu): ``(1/mu) sum_{i=n-k+1}^{n} 1/i`` (Renyi's
      representation; Dutta et al., arXiv 1803.01113); shifted exponential adds
      the shift (Lee et al., arXiv 1512.02673);
    - Pareto(scale, alpha): ``scale Gamma(n+1) Gamma(n-k+1-1/alpha) /
      (Gamma(n-k+1) Gamma(n+1-1/alpha))``, finite iff ``(n-k+1) alpha > 1``;
    - uniform(low, high): ``low + (high-low) k/(n+1)`` (Beta order statistics);
    - constant(c): ``c``.

    Every other law, and a delay with random stragglers, is integrated
    numerically: ``E[X_(k:n)] = integral_0^inf (1 - I_{F(x)}(k, n-k+1)) dx``
    with ``I`` the regularised incomplete beta function, split at quantiles of
    ``X_(k:n)`` (relative tolerance about 1e-10). A delay with per-worker
    ``speeds`` gives independent but non-identical durations: the result is then
    ``order_statistic_mean_heterogeneous(worker_cdfs(delay, n), k)``.

    Args:
      delay: a :class:`absjax.delays.Delay`, a law, or a SPEC string such as
        ``"pareto:scale=1,alpha=2.5"``; no communication time (its CDF has no
        closed form).
      k: rank, an integer in ``[1, n]`` (``k = n`` is the maximum).
      n: number of durations, an integer ``>= 1``.
      method: ``"auto"``, ``"closed"`` (raise if there is no closed form) or
        ``"quad"`` (always integrate: the independent check of the closed
        forms).

    Raises:
      ValueError: for invalid ``k``/``n``, a delay with communication time, or
        an infinite mean (Pareto with ``(n-k+1) alpha <= 1``).

    >>> round(order_statistic_mean("exp:rate=2", k=3, n=3), 6)  # (1+1/2+1/3)/2
    0.916667
    >>> round(order_statistic_mean("pareto:scale=1,alpha=2.5", 1, 1), 6)
    1.666667
    """
    return _iid_moments(delay, k, n, method, want_var=False)[0]


def order_statistic_variance(delay, k: int, n: int, *, method: str = "auto") -> float:
    """``Var[X_(k:n)]`` of the k-th smallest of n i.i.d. job durations.

    Closed forms: exponential(mu) ``(1/mu^2) sum_{i=n-k+1}^{n} 1/i^2`` (the
    same for the shifted exponential); Pareto from its second moment
    ``E[X_(k:n)^2] = scale^2 Gamma(n+1) Gamma(n-k+1-2/alpha) / (Gamma(n-k+1)
    Gamma(n+1-2/alpha))``, finite iff ``(n-k+1) alpha > 2``; uniform
    ``(high-low)^2 k (n-k+1) / ((n+1)^2 (n+2))``; constant 0. Otherwise
    numerical integration of ``E[X_(k:n)^2] = integral_0^inf 2 x P(X_(k:n) > x)
    dx``, computed around the mean to avoid cancellation (see
    :func:`order_statistic_mean` for the arguments and the method).

    >>> round(order_statistic_variance("exp:rate=1", k=2, n=2), 6)  # 1/4 + 1
    1.25
    >>> round(order_statistic_variance("uniform:low=0,high=1", 1, 1), 6)
    0.083333
    """
    return _iid_moments(delay, k, n, method, want_var=True)[1]


# --------------------------------------------------------------------------
# non-identical order statistics


def _fewer_than(probs: np.ndarray, comps: np.ndarray, m: int) -> float:
    """``P(sum_i B_i < m)`` for independent ``B_i ~ Bernoulli(probs_i)``.

    A dynamic programme over the workers on the counts ``0 .. m-1`` (the
    Poisson-binomial distribution); ``comps`` holds ``1 - probs`` computed
    accurately by the caller.
    """
    dist = np.zeros(m)
    dist[0] = 1.0
    for p, q in zip(probs, comps, strict=True):
        shifted = dist[:-1] * p
        dist *= q
        dist[1:] += shifted
    return float(min(dist.sum(), 1.0))


def _hetero_moments(cdfs, k, want_var: bool) -> tuple[float, float]:
    if isinstance(cdfs, str | bytes) or not isinstance(cdfs, Sequence) or not cdfs:
        raise ValueError("cdfs must be a non-empty sequence of CDF callables")
    if not all(callable(f) for f in cdfs):
        raise ValueError("cdfs must hold callables x -> F_i(x)")
    n = len(cdfs)
    k, n = _check_kn(k, n)
    tails = [getattr(f, "tail_index", None) for f in cdfs]
    if all(t is not None for t in tails):
        text = "the given laws"
        laws = {getattr(f, "law", None) for f in cdfs}
        if len(laws) == 1 and isinstance(next(iter(laws)), delays.Pareto):
            text = _pareto_text(next(iter(laws)))
        _check_tail(tails, k, n, 1, "mean", text)
        if want_var:
            _check_tail(tails, k, n, 2, "variance", text)

    def values(x):
        cdf = np.array([float(f(x)) for f in cdfs])
        sf = np.array(
            [
                float(f.sf(x)) if hasattr(f, "sf") else 1.0 - c
                for f, c in zip(cdfs, cdf, strict=True)
            ]
        )
        return cdf, sf

    def surv(x):  # fewer than k of the n are <= x
        cdf, sf = values(x)
        return _fewer_than(cdf, sf, k)

    def below(x):  # fewer than n-k+1 of the n are > x
        cdf, sf = values(x)
        return _fewer_than(sf, cdf, n - k + 1)

    kinks = sorted({x for f in cdfs for x in getattr(f, "points", ())})
    return _integrate_moments(surv, below, kinks, want_var)


def order_statistic_mean_heterogeneous(cdfs: Sequence[Callable], k: int) -> float:
    """``E[X_(k)]`` of independent, non-identical durations ``X_1 .. X_n``.

    ``P(X_(k) > x) = P(fewer than k of the X_i are <= x)``, a Poisson-binomial
    probability with success probabilities ``F_i(x)`` computed by a dynamic
    programme over the workers, integrated numerically over ``x >= 0`` (relative
    tolerance about 1e-10). This is the round time of ``k_sync`` under the fixed
    computation model of Tyurin & Richtarik (arXiv 2305.12387).

    Args:
      cdfs: one CDF per worker, callables taking a float64 ``x``; items that
        also have ``.sf(x)`` (such as :func:`worker_cdfs`'s) keep the far tail
        accurate, and their ``tail_index`` lets an infinite mean be detected.
      k: rank, an integer in ``[1, len(cdfs)]``.

    >>> fs = worker_cdfs("exp:rate=1", 2, speeds=(1.0, 2.0))  # rates 1 and 1/2
    >>> round(order_statistic_mean_heterogeneous(fs, 1), 6)  # 1 / (1 + 1/2)
    0.666667
    """
    return _hetero_moments(cdfs, k, want_var=False)[0]


def order_statistic_variance_heterogeneous(cdfs: Sequence[Callable], k: int) -> float:
    """``Var[X_(k)]`` of independent, non-identical durations (see the mean).

    >>> fs = worker_cdfs("exp:rate=1", 2, speeds=(1.0, 2.0))
    >>> round(order_statistic_variance_heterogeneous(fs, 1), 6)  # Exp(3/2)
    0.444444
    """
    return _hetero_moments(cdfs, k, want_var=True)[1]


# --------------------------------------------------------------------------
# expected round time per policy


def _policy_k(policy: str, n: int, k) -> int:
    if policy not in POLICY_NAMES:
        raise ValueError(f"policy={policy!r} must be one of {POLICY_NAMES}")
    n = _integer("n", n, 1)
    fixed = {"sync": n, "async": 1}.get(policy)
    if fixed is not None:
        if k is not None and k != fixed:
            raise ValueError(f"policy {policy!r} has k={fixed} (n={n}); got k={k!r}")
        return fixed
    if k is None:
        raise ValueError(f"policy {policy!r} needs k, an integer in [1, n={n}]")
    return _check_kn(k, n)[0]


def _exponential_rate(delay: delays.Delay) -> float | None:
    """The rate of a speed-1 job if durations are exponential, else ``None``."""
    law = delay.compute
    if delay.upload is not None or delay.download is not None:
        return None
    if isinstance(law, delays.ShiftedExponential) and float(law.shift) != 0.0:
        return None
    if not isinstance(law, delays.Exponential | delays.ShiftedExponential):
        return None
    slow_prob, slow_factor = _chain(delay)
    if slow_prob > 0 and slow_factor != 1:
        return None  # a job's duration depends on the worker's previous ones
    p, m = delay.straggler_prob, delay.straggler_factor
    if m == 1.0 or p == 0.0:
        return float(law.rate)
    return float(law.rate) / m if p == 1.0 else None


def _describe(delay: delays.Delay) -> str:
    text = repr(delay.compute)
    if delay.straggler_prob > 0 and delay.straggler_factor != 1:
        text += " with stragglers"
    if _chain(delay)[0] > 0 and delay.markov_factor != 1:
        text += " with persistent stragglers"
    if delay.upload is not None or delay.download is not None:
        text += " plus communication time"
    return text


def _mean_job(delay: delays.Delay, speed: float, compute: delays.Law) -> float:
    """``E[X]`` of one worker's job, communication included (float64)."""
    mean = _duration_law(delay, compute, speed).mean()
    for part in (delay.compute, delay.upload, delay.download):
        if part is not None and math.isinf(_base_functions(part)[3]):
            raise _InfiniteMoment(
                f"the mean job duration of {_pareto_text(part)} is infinite: "
                "needs alpha > 1"
            )
    for part in (delay.upload, delay.download):
        if part is not None:
            mean += _base_functions(part)[3]
    return mean


def round_time_is_exact(policy: str, delay, k: int | None = None) -> bool:
    """Whether :func:`expected_round_time`'s value (where it returns one) is exact.

    Exact: ``sync``, ``k_sync`` (any law), ``k_batch_async`` and ``async`` (the
    long-run average, any law with a finite mean), and ``k_async`` and
    ``k_batch_sync`` under exponential delays (memorylessness). ``k_async`` with
    ``k = 1`` is ``async`` and exact for any law. Otherwise ``k_async``'s value
    is the K-sync time, an upper bound for new-longer-than-used laws.

    >>> round_time_is_exact("k_async", "exp:rate=1", k=2)
    True
    >>> round_time_is_exact("k_async", "shifted_exp:shift=1,rate=1", k=2)
    False
    """
    if policy not in POLICY_NAMES:
        raise ValueError(f"policy={policy!r} must be one of {POLICY_NAMES}")
    delay = delays.as_delay(delay)
    if policy in ("k_async", "k_batch_sync"):
        return _exponential_rate(delay) is not None or (policy == "k_async" and k == 1)
    return True


def expected_round_time(policy: str, delay, n: int, k: int | None = None) -> float:
    """Expected wall-clock length of a round of ``policy`` with n workers.

    Dutta et al., "Slow and Stale Gradients Can Win the Race" (arXiv
    1803.01113), runtime analysis of each family:

    - ``sync``: ``E[X_(n:n)]``; ``k_sync(K)``: ``E[X_(K:n)]`` (exact, any law).
    - ``k_async(K)``, exponential delays: ``E[X_(K:n)]`` too, exactly: by
      memorylessness the jobs still running at a round's start have fresh
      exponential residual times. For other laws the value returned is the
      same ``E[X_(K:n)]``, which is an upper bound for new-longer-than-used laws
      (residual times shorter than fresh ones, e.g. shifted exponential) and can
      be exceeded for new-shorter-than-used ones (e.g. Pareto); see
      :func:`round_time_is_exact`. ``k_async(1)`` is ``async`` (below).
    - ``k_batch_sync(K)``, exponential(mu) delays: ``K / (n mu)`` (the arrivals
      of n restarting workers form a Poisson process of rate ``n mu``). Other
      laws have no closed form: ``ValueError``.
    - ``k_batch_async(K)``: ``K E[X] / n``, the long-run average round time of
      any law with a finite mean (renewal theory: each worker delivers
      ``1 / E[X]`` updates per unit time); ``async``: ``E[X] / n``.

    A delay with per-worker speed factors (a tuple or ``"sqrt"``) is handled
    too: the order statistics become heterogeneous ones, ``K / (n mu)`` becomes
    ``K / sum_i mu_i`` and ``K E[X] / n`` becomes ``K / sum_i (1 / E[X_i])``.
    A staleness bound does not change the exponential results (restarting an
    exponential job changes nothing) and is not an argument here. A per-worker
    :class:`absjax.delays.Trace` is handled like speeds (worker ``i`` draws from
    its own column); persistent stragglers enter through the chain's
    stationary mixture (exact for ``sync``/``k_sync``, whose jobs all start
    together with independent stationary states, and for the long-run averages
    of ``k_batch_async``/``async``; ``k_async``'s value is then not exact).

    Args:
      policy: one of ``sync, k_sync, k_batch_sync, k_async, k_batch_async,
        async``.
      delay: a :class:`absjax.delays.Delay`, a law or a SPEC string.
      n: number of workers, an integer ``>= 1``.
      k: the policy's K in ``[1, n]``; ``None`` for ``sync`` (K = n) and
        ``async`` (K = 1).

    >>> round(expected_round_time("k_sync", "exp:rate=1", n=4, k=2), 6)  # 1/4+1/3
    0.583333
    >>> round(expected_round_time("k_batch_sync", "exp:rate=1", n=4, k=2), 6)
    0.5
    >>> round(expected_round_time("k_batch_async", "uniform:low=0,high=2", 4, 2), 6)
    0.5
    """
    k = _policy_k(policy, n, k)
    delay = delays.as_delay(delay)
    if policy in ("k_batch_async", "async") or (policy == "k_async" and k == 1):
        rate = sum(
            1.0 / _mean_job(delay, s, law)
            for law, s in zip(
                _compute_laws(delay, n), _speed_factors(delay, n, None), strict=True
            )
        )
        return k / rate
    if policy == "k_batch_sync":
        mu = _exponential_rate(delay)
        if mu is None:
            raise ValueError(
                "k_batch_sync has a closed-form round time only for exponential "
                f"delays (K / (n mu)); there is none for {_describe(delay)}: "
                "simulate it"
            )
        return k / sum(mu / s for s in _speed_factors(delay, n, None))
    return order_statistic_mean(delay, k, n)


# --------------------------------------------------------------------------
# staleness under exponential delays


def _check_tau(name: str, tau) -> int | None:
    return None if tau is None else _integer(name, tau, 0)


def staleness_pmf(
    n: int, k: int, tau: int | None = None, max_staleness: int | None = None
) -> np.ndarray:
    """Staleness law of the updates aggregated by ``k_async(k)``, exponential delays.

    Dutta et al. (arXiv 1803.01113): with exponential durations each round's
    ``k`` finishers are a uniformly random k-subset of the n running jobs, so a
    job arrives in each round independently of its age with probability
    ``p = k/n``: ``P(s = j) = p (1-p)^j`` (geometric, mean ``(n-k)/k``;
    ``async`` is ``k = 1``). With a staleness bound ``tau`` a job not arrived by
    age ``tau`` is restarted, and the aggregated staleness is the truncated law
    ``P(s = j) = (1-p)^j / sum_{i<=tau} (1-p)^i`` for ``j <= tau``. This holds
    for exponential delays only; for other laws there is no closed form.

    Args:
      n: number of workers, ``>= 1``.
      k: updates per round, in ``[1, n]``.
      tau: staleness bound ``>= 0`` or ``None`` (unbounded).
      max_staleness: the last lag listed; ``None`` lists up to ``tau``, or
        (unbounded) up to the first lag whose remaining tail mass is below
        ``1e-12``. A shorter listing is a prefix that does not sum to 1.

    Returns:
      float64 array ``pmf[j] = P(s = j)``, ``j = 0 .. max_staleness``.

    >>> staleness_pmf(n=4, k=2, tau=1).round(6).tolist()  # 1 : 1/2, renormalised
    [0.666667, 0.333333]
    >>> staleness_pmf(n=4, k=2, max_staleness=2).tolist()
    [0.5, 0.25, 0.125]
    """
    k, n = _check_kn(k, n)
    tau = _check_tau("tau", tau)
    max_staleness = _check_tau("max_staleness", max_staleness)
    p = k / n
    q = 1.0 - p
    if max_staleness is None:
        if tau is not None:
            max_staleness = tau
        elif q == 0.0:
            max_staleness = 0
        else:
            max_staleness = max(0, math.ceil(math.log(_PMF_TAIL) / math.log(q)) - 1)
    j = np.arange(max_staleness + 1, dtype=np.float64)
    if tau is None:
        return p * q**j
    norm = (1.0 - q ** (tau + 1)) / p  # sum_{i=0}^{tau} q^i
    return np.where(j <= tau, q**j / norm, 0.0)


def staleness_mean(n: int, k: int, tau: int | None = None) -> float:
    """Mean staleness of ``k_async(k)`` updates under exponential delays.

    Unbounded: ``(1-p)/p = (n-k)/k`` with ``p = k/n`` (Dutta et al., arXiv
    1803.01113); with a bound ``tau``, the mean of the truncated geometric law
    of :func:`staleness_pmf`: ``q/(1-q) - (tau+1) q^(tau+1) / (1 - q^(tau+1))``
    with ``q = 1 - p``. Exponential delays only: no closed form otherwise.

    >>> staleness_mean(n=8, k=1)  # async: n - 1
    7.0
    >>> round(staleness_mean(n=4, k=2, tau=1), 6)  # 0 * 2/3 + 1 * 1/3
    0.333333
    """
    k, n = _check_kn(k, n)
    tau = _check_tau("tau", tau)
    p = k / n
    q = 1.0 - p
    if tau is None or q == 0.0:
        return q / p
    qt = q ** (tau + 1)
    return q / p - (tau + 1) * qt / (1.0 - qt)


def wasted_per_round(n: int, k: int, tau: int | None) -> float:
    """Expected jobs cancelled per round by a staleness bound, exponential delays.

    Steady state of ``k_async(k)`` with bound ``tau`` (Tan et al., arXiv
    2301.08895, restart rule; Dutta et al., arXiv 1803.01113, staleness model):
    a job arrives in each round independently with probability ``p = k/n``
    (memorylessness), and is cancelled and restarted when it reaches age
    ``tau + 1`` without arriving, which happens with probability
    ``(1-p)^(tau+1)``. With ``S`` jobs started per round, ``k`` arrivals per
    round means ``S (1 - (1-p)^(tau+1)) = k``, so ``S = k / (1 - (1-p)^(tau+1))``
    and the wasted jobs are ``W = S - k = S (1-p)^(tau+1)``. Checks: ``tau = 0``
    gives ``S = n``, ``W = n - k``; ``tau -> inf`` (``None``) gives 0. This
    holds for exponential delays only; there is no closed form otherwise.

    >>> wasted_per_round(n=8, k=2, tau=0)
    6.0
    >>> wasted_per_round(n=8, k=2, tau=None)
    0.0
    """
    k, n = _check_kn(k, n)
    tau = _check_tau("tau", tau)
    if tau is None:
        return 0.0
    q_tail = (1.0 - k / n) ** (tau + 1)
    started = k / (1.0 - q_tail)
    return started * q_tail


# --------------------------------------------------------------------------
# error and runtime bounds


def _bound_args(eta, L, c, sigma2, k, b, f0_gap):
    eta = _real("eta", eta)
    L = _real("L", L)
    c = _real("c", c)
    if c > L:
        raise ValueError(f"c={c} (strong convexity) must be <= L={L}")
    return (
        eta,
        L,
        c,
        _real("sigma2", sigma2, strict=False),
        _integer("k", k, 1),
        _integer("b", b, 1),
        _real("f0_gap", f0_gap, strict=False),
    )


def _contraction_bound(rounds, rate, floor, f0_gap, name):
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"{name}={rate} must be in (0, 1] (a contraction)")
    j = _nonneg_array("rounds", rounds)
    return _as_output(floor + (1.0 - rate) ** j * (f0_gap - floor))


def ksync_error_bound(rounds, eta, L, c, sigma2, k, b, f0_gap):
    """Error bound of K-sync SGD after ``rounds`` rounds.

    Dutta et al., "Slow and Stale Gradients Can Win the Race" (arXiv
    1803.01113), the error of K-sync SGD (an L-smooth, c-strongly convex
    ``F``, unbiased gradients whose variance is ``sigma2`` per sample, ``k``
    minibatches of ``b`` samples averaged per round, a step size small enough
    for the paper's condition ``eta <= 1 / (2 L (M_G / (K b) + 1))``, which
    needs the paper's ``M_G`` and is not checked here)::

        E[F(w_J)] - F* <= eta L sigma2 / (2 c k b)
                          + (1 - eta c)^J (F(w_0) - F* - eta L sigma2 / (2 c k b))

    Args:
      rounds: ``J >= 0``, a number or an array (real values are allowed, for
        :func:`error_vs_time`).
      eta: step size ``> 0`` with ``eta * c <= 1``.
      L: smoothness constant ``> 0``.
      c: strong-convexity constant in ``(0, L]``.
      sigma2: gradient variance per sample, ``>= 0``.
      k: gradients averaged per round (K), an integer ``>= 1``.
      b: minibatch size per gradient, an integer ``>= 1``.
      f0_gap: ``F(w_0) - F*``, ``>= 0``.

    Returns:
      The bound, a float or an array shaped like ``rounds``.

    >>> round(ksync_error_bound(0, 0.1, 1, 1, 1, 2, 1, 1.0), 6)  # F(w_0) - F*
    1.0
    >>> round(ksync_error_bound(1e6, 0.1, 1, 1, 1, 2, 1, 1.0), 6)  # 0.1/(2*2)
    0.025
    """
    eta, L, c, sigma2, k, b, f0_gap = _bound_args(eta, L, c, sigma2, k, b, f0_gap)
    floor = eta * L * sigma2 / (2.0 * c * k * b)
    return _contraction_bound(rounds, eta * c, floor, f0_gap, "eta*c")


def kasync_error_bound(rounds, eta, L, c, sigma2, k, b, f0_gap, gamma, p0):
    """Error bound of K-async SGD after ``rounds`` rounds.

    Dutta et al. (arXiv 1803.01113), the error of K-async SGD: the K-sync
    bound of :func:`ksync_error_bound` with a slower contraction
    ``(1 - eta gamma' c)`` and a higher floor ``eta L sigma2 / (2 c gamma' k b)``,
    ``gamma' = 1 - gamma + p0/2``. ``gamma <= 1`` bounds the staleness error,
    ``E||grad F(w_j) - grad F(w_stale)||^2 <= gamma E||grad F(w_j)||^2``, and
    ``p0`` lower-bounds the probability that an update is fresh (staleness 0).
    ``gamma = p0/2`` gives ``gamma' = 1``, the K-sync bound.

    Args:
      rounds, eta, L, c, sigma2, k, b, f0_gap: as :func:`ksync_error_bound`.
      gamma: staleness constant in ``[0, 1]``.
      p0: probability lower bound in ``[0, 1]``.

    >>> round(kasync_error_bound(1e6, 0.1, 1, 1, 1, 2, 1, 1.0, 0.5, 0.0), 6)
    0.05
    """
    eta, L, c, sigma2, k, b, f0_gap = _bound_args(eta, L, c, sigma2, k, b, f0_gap)
    gamma = _real("gamma", gamma, strict=False)
    p0 = _real("p0", p0, strict=False)
    if gamma > 1.0:
        raise ValueError(f"gamma={gamma} must be in [0, 1]")
    if p0 > 1.0:
        raise ValueError(f"p0={p0} must be in [0, 1]")
    gp = 1.0 - gamma + p0 / 2.0
    if gp <= 0.0:
        raise ValueError(f"gamma' = 1 - gamma + p0/2 = {gp} must be > 0")
    floor = eta * L * sigma2 / (2.0 * c * gp * k * b)
    return _contraction_bound(rounds, eta * gp * c, floor, f0_gap, "eta*gamma'*c")


def error_vs_time(bound_fn: Callable, times, mean_round_time: float, **kw):
    """An error bound as a function of wall-clock time: ``J = t / E[T_round]``.

    Dutta et al. (arXiv 1803.01113) compare policies by substituting the
    number of rounds done by time ``t``, ``J = t / E[T_round]`` (the long-run
    rate, exact as ``t -> inf`` by the renewal theorem), into the error bound.

    Args:
      bound_fn: :func:`ksync_error_bound`, :func:`kasync_error_bound` or any
        function taking the rounds first.
      times: wall-clock times ``>= 0`` (a number or an array).
      mean_round_time: ``E[T_round] > 0``, e.g. from
        :func:`expected_round_time`.
      **kw: the bound's other arguments.

    >>> t = expected_round_time("k_sync", "exp:rate=1", n=4, k=2)
    >>> e = error_vs_time(ksync_error_bound, [0.0, 1e6], t, eta=0.1, L=1, c=1,
    ...                   sigma2=1, k=2, b=1, f0_gap=1.0)
    >>> e.round(6).tolist()
    [1.0, 0.025]
    """
    mean_round_time = _real("mean_round_time", mean_round_time)
    times = _nonneg_array("times", times)
    return bound_fn(times / mean_round_time, **kw)


def best_fixed_k(delay, n: int, time_budget: float, **bound_kw) -> int:
    """The K of ``k_sync(K)`` with the smallest error bound at a time budget.

    Minimises :func:`ksync_error_bound` at ``J = time_budget / E[X_(K:n)]``
    over ``K = 1 .. n`` (Dutta et al., arXiv 1803.01113: a small K makes
    rounds short, a large K lowers the error floor). A K whose round time is
    infinite (heavy Pareto tails) does no round. Ties go to the smaller K.

    Args:
      delay: a :class:`absjax.delays.Delay`, a law or a SPEC string.
      n: number of workers, ``>= 1``.
      time_budget: wall-clock time ``>= 0``.
      **bound_kw: ``eta, L, c, sigma2, b, f0_gap`` of :func:`ksync_error_bound`.

    >>> kw = dict(eta=0.1, L=1, c=1, sigma2=1, b=1, f0_gap=1.0)
    >>> best_fixed_k("exp:rate=1", 8, 1e4, **kw)  # the floor dominates
    8
    >>> best_fixed_k("exp:rate=1", 8, 1e4, **{**kw, "sigma2": 0})  # no floor
    1
    """
    n = _integer("n", n, 1)
    time_budget = _real("time_budget", time_budget, strict=False)
    if {"rounds", "k"} & set(bound_kw):
        raise ValueError("bound_kw must not hold rounds or k: best_fixed_k sets them")
    bounds = []
    for k in range(1, n + 1):
        try:
            t = expected_round_time("k_sync", delay, n, k)
        except _InfiniteMoment:
            t = math.inf
        bounds.append(ksync_error_bound(time_budget / t, k=k, **bound_kw))
    return int(np.argmin(bounds)) + 1


def noisy_quadratic_expected_loss(h, w0, eta, noise, k: int, rounds: int):
    """Exact expected loss of synchronous SGD on a noisy quadratic, per round.

    ``F(w) = 0.5 sum_j h_j w_j^2`` with stochastic gradients ``h * w +
    noise * z``, ``z ~ N(0, I)`` (the ``quadratic`` objective of
    :mod:`absjax.objectives`). A round averages ``k`` fresh updates computed at
    ``w_t`` (count normalisation: ``sync``, ``k_sync``, ``k_batch_sync``), so
    ``w_{t+1} = (1 - eta h) w_t - eta noise zbar`` with ``zbar ~ N(0, I/k)``,
    and ``E[w_{t+1,j}^2] = (1 - eta h_j)^2 E[w_{t,j}^2] + eta^2 noise^2 / k``,
    ``E[F_t] = 0.5 sum_j h_j E[w_{t,j}^2]``, solved in closed form (a
    geometric series). Exact for every step size (it diverges when
    ``|1 - eta h_j| > 1``); the sharpest test of the simulator (spec section 6).

    Args:
      h: Hessian spectrum, numbers ``>= 0`` (shape ``(d,)``).
      w0: initial model, a number or shape ``(d,)``.
      eta: step size ``> 0``.
      noise: gradient noise standard deviation per coordinate, ``>= 0``.
      k: updates averaged per round, ``>= 1``.
      rounds: last round, ``>= 0``.

    Returns:
      float64 array ``E[F(w_t)]`` for ``t = 0 .. rounds``.

    >>> noisy_quadratic_expected_loss([1.0], [1.0], 0.5, 0.0, 1, 2).tolist()
    [0.5, 0.125, 0.03125]
    """
    h = _nonneg_array("h", np.atleast_1d(h))
    w0 = np.broadcast_to(np.asarray(w0, dtype=np.float64), h.shape)
    if not np.all(np.isfinite(w0)):
        raise ValueError("w0 must hold finite numbers")
    eta = _real("eta", eta)
    noise = _real("noise", noise, strict=False)
    k = _integer("k", k, 1)
    rounds = _integer("rounds", rounds, 0)
    t = np.arange(rounds + 1, dtype=np.float64)[:, None]
    a = (1.0 - eta * h) ** 2  # per-round contraction of E[w^2]
    one_minus_a = eta * h * (2.0 - eta * h)
    log_a = np.log(np.where(a > 0, a, 1.0))
    a_t = np.where(a > 0, np.exp(t * log_a), (t == 0).astype(np.float64))
    # sum_{i<t} a^i, accurate when a is close to 1
    geom = np.where(
        one_minus_a == 0.0,
        t,
        np.where(a > 0, -np.expm1(t * log_a), 1.0 - a_t)
        / np.where(one_minus_a == 0.0, 1.0, one_minus_a),
    )
    second = a_t * w0**2 + geom * eta**2 * noise**2 / k
    return 0.5 * (second * h).sum(axis=1)


def rennala_time_complexity(taus, L, delta, eps, sigma2) -> tuple[float, int]:
    """Optimal time complexity under fixed computation times, and the best m.

    Tyurin & Richtarik (Rennala SGD, NeurIPS 2023, arXiv 2305.12387): with
    worker i taking ``tau_i`` per stochastic gradient, sorted
    ``tau_1 <= ... <= tau_n``, the optimal time to an ``eps``-stationary point
    of an L-smooth function with ``F(w_0) - F* <= delta`` and gradient variance
    ``sigma2`` is, up to universal constants (their lower bound, matched by
    Rennala SGD; Ringmaster ASGD, Maranjyan et al., arXiv 2501.16168, attains
    it too)::

        min_m ((1/m) sum_{i<=m} 1/tau_i)^-1 (L delta / eps
                                              + sigma2 L delta / (m eps^2))

    the minimiser ``m`` being the number of fastest workers worth using.

    Returns:
      ``(time, m)`` with ``m`` in ``[1, n]`` (1-based; ties to the smaller m).

    >>> t, m = rennala_time_complexity([1.0, 2.0, 100.0], 1, 1, 0.1, 1)
    >>> round(t, 6), m  # m = 2: (4/3) * (10 + 100/2)
    (80.0, 2)
    """
    taus = np.sort(np.asarray(taus, dtype=np.float64).ravel())
    if taus.size == 0 or not np.all(np.isfinite(taus)) or np.any(taus <= 0):
        raise ValueError("taus must be a non-empty list of numbers in (0, inf)")
    L = _real("L", L)
    delta = _real("delta", delta)
    eps = _real("eps", eps)
    sigma2 = _real("sigma2", sigma2, strict=False)
    m = np.arange(1, taus.size + 1, dtype=np.float64)
    harmonic = m / np.cumsum(1.0 / taus)  # ((1/m) sum_{i<=m} 1/tau_i)^-1
    times = harmonic * (L * delta / eps + sigma2 * L * delta / (m * eps**2))
    best = int(np.argmin(times))
    return float(times[best]), best + 1


def abs_rate_shape(T, k, u):
    """Shape ``1 / sqrt(T K U)`` of the ABS ergodic convergence rate.

    Tan, Zhu, Zhang (ABS, arXiv 2301.08895, later versions): an ergodic rate
    ``O(1 / sqrt(T K U))`` after ``T`` rounds with ``K`` updates per round and
    ``U`` local steps per job. Only the shape is known to us; the constants
    (smoothness, variance, initial gap) are not, so compare ratios, not values.

    >>> abs_rate_shape(100, 4, 1)
    0.05
    """
    T = _nonneg_array("T", T)
    k = _nonneg_array("k", k)
    u = _nonneg_array("u", u)
    if np.any(T <= 0) or np.any(k <= 0) or np.any(u <= 0):
        raise ValueError("T, k and u must be in (0, inf)")
    return _as_output(1.0 / np.sqrt(T * k * u))
