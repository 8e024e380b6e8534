"""Float64 duration laws: one worker's job duration as a CDF and survival function.

The :mod:`absjax.delays` laws sample in JAX (float32 by default); the theory
needs their CDFs and survival functions in float64 numpy, accurate in the far
tail. :func:`_base_functions` gives them for every law, :class:`DurationLaw`
composes a law with a worker's speed factor, random stragglers and the
stationary state of the persistent-straggler chain, and :func:`worker_cdfs`
gives one such law per worker of a delay model.

>>> [round(f.mean(), 6) for f in worker_cdfs("exp:rate=2", 2, speeds="sqrt")]
[0.5, 0.707107]
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from absjax import delays
from absjax._validate import check_int, check_real


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

    Attributes
    ----------
    law
        The base law (an :mod:`absjax.delays` law).
    speed
        The worker's slowdown factor.
    straggler_prob
        Probability that a job straggles.
    straggler_factor
        Slowdown of a straggling job.
    slow_prob
        Probability that a job is slow (persistent stragglers).
    slow_factor
        Slowdown of a slow job.
    points
        The points where the CDF has a kink or a jump.
    tail_index
        ``alpha`` of a Pareto tail, ``inf`` for lighter tails.

    Examples
    --------
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
        self.speed = check_real("speed", speed, 0.0, strict_low=True)
        p = self.straggler_prob = float(straggler_prob)
        m = self.straggler_factor = check_real(
            "straggler_factor", straggler_factor, 0.0, strict_low=True
        )
        q = self.slow_prob = float(slow_prob)
        f = self.slow_factor = check_real(
            "slow_factor", slow_factor, 0.0, strict_low=True
        )
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
        """Survival function ``P(X > x)``, accurate in the tail.

        Parameters
        ----------
        x : ArrayLike
            Where to evaluate it.

        Returns
        -------
        numpy.ndarray
            ``P(X > x)``, float64.
        """
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
    factors = tuple(check_real("speeds[i]", s, 0.0, strict_low=True) for s in speeds)
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

    Parameters
    ----------
    delay
        A :class:`absjax.delays.Delay`, a law or a SPEC string; it must have no
        communication time.
    n : int
        Number of workers, ``>= 1``.
    speeds
        ``None`` (use ``delay.speeds``), ``"none"``, ``"sqrt"`` or a sequence of ``n``
        positive factors.

    Returns
    -------
    list of ~absjax.theory.DurationLaw
        ``n`` :class:`DurationLaw` objects: callables ``x -> F_i(x)`` that also have
        ``.sf(x)`` and ``.mean()``.

    Examples
    --------
    >>> fs = worker_cdfs("exp:rate=1", 2, speeds="sqrt")
    >>> [round(f.mean(), 6) for f in fs]
    [1.0, 1.414214]
    """
    delay = delays.as_delay(delay)
    n = check_int("n", n, 1)
    _no_communication(delay)
    return [
        _duration_law(delay, law, s)
        for law, s in zip(
            _compute_laws(delay, n), _speed_factors(delay, n, speeds), strict=True
        )
    ]


def _pareto_text(law) -> str:
    return f"Pareto(alpha={_fields(law)['alpha']:g})"
