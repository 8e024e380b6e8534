"""Job-duration models: base laws and the per-worker delay model built on them.

A *law* is a distribution of positive durations with a sampler
``sample(key, params, shape)`` and the moments theory needs (``mean``,
``variance``, ``cdf``). Its numbers live in a ``params`` dict so that a sweep can
vmap over them without recompiling. :class:`Trace` replays measured durations
(resampled per worker). :class:`Delay` adds what makes a cluster: per-worker
speed factors, random stragglers, persistent (Markov) stragglers and
communication time.

References: the shifted exponential model is from Lee et al., "Speeding Up
Distributed Machine Learning Using Codes" (arXiv 1512.02673) and Dutta et al.,
"Slow and Stale Gradients Can Win the Race" (arXiv 1803.01113); the per-worker
fixed speeds follow Tyurin & Richtarik (arXiv 2305.12387).

>>> import jax
>>> law = shifted_exponential(shift=0.5, rate=2.0)
>>> float(law.mean(law.params))
1.0
>>> x = law.sample(jax.random.key(0), law.params, (3,))
>>> bool((x >= 0.5).all())
True
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import special

from absjax._spec import build_from_spec, convert, split_spec
from absjax._traces import read_trace
from absjax._validate import check_real

Params = dict[str, Any]


def _standard_exponential(key: jax.Array, shape) -> jax.Array:
    """Exp(1) draws that are never 0: ``-log(u)`` with ``u`` uniform in (0, 1).

    (``jax.random.exponential`` returns exactly 0 when its uniform draw is 0.)
    """
    tiny = jnp.finfo(jnp.result_type(float)).tiny
    return -jnp.log(jax.random.uniform(key, shape, minval=tiny, maxval=1.0))


@dataclasses.dataclass(frozen=True)
class Law:
    """Base class of the duration laws; subclasses are frozen dataclasses."""

    name: ClassVar[str]
    closed_form_order_stats: ClassVar[bool] = False

    @property
    def params(self) -> Params:
        """The law's numbers as a dict of arrays (the vmappable part)."""
        return {
            f.name: jnp.asarray(float(getattr(self, f.name)))
            for f in dataclasses.fields(self)
        }

    def sample(self, key: jax.Array, params: Params, shape: Sequence[int]) -> jax.Array:
        raise NotImplementedError

    def mean(self, params: Params) -> jax.Array:
        raise NotImplementedError

    def variance(self, params: Params) -> jax.Array:
        raise NotImplementedError

    def cdf(self, params: Params, x: jax.typing.ArrayLike) -> jax.Array:
        raise NotImplementedError

    def check(self, params: Params) -> None:
        """Raises ``ValueError`` if ``params`` are outside the law's ranges."""
        type(self)(**{k: float(v) for k, v in params.items()})

    def spec(self) -> str:
        """The SPEC string that rebuilds this law."""
        items = ",".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
        )
        return f"{self.name}:{items}"


@dataclasses.dataclass(frozen=True)
class Exponential(Law):
    """Exponential durations with the given ``rate`` (mean ``1/rate``)."""

    rate: float = 1.0
    name: ClassVar[str] = "exp"
    closed_form_order_stats: ClassVar[bool] = True

    def __post_init__(self):
        check_real("rate", self.rate, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        return _standard_exponential(key, shape) / params["rate"]

    def mean(self, params):
        return 1.0 / params["rate"]

    def variance(self, params):
        return 1.0 / params["rate"] ** 2

    def cdf(self, params, x):
        x = jnp.asarray(x)
        return jnp.where(x > 0, -jnp.expm1(-params["rate"] * x), 0.0)


@dataclasses.dataclass(frozen=True)
class ShiftedExponential(Law):
    """``shift + Exponential(rate)``: a minimum compute time plus a random tail.

    Lee et al. (arXiv 1512.02673), Dutta et al. (arXiv 1803.01113).
    """

    shift: float = 0.5
    rate: float = 1.0
    name: ClassVar[str] = "shifted_exp"
    closed_form_order_stats: ClassVar[bool] = True

    def __post_init__(self):
        check_real("shift", self.shift, 0.0, math.inf, strict_low=False)
        check_real("rate", self.rate, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        return params["shift"] + _standard_exponential(key, shape) / params["rate"]

    def mean(self, params):
        return params["shift"] + 1.0 / params["rate"]

    def variance(self, params):
        return 1.0 / params["rate"] ** 2

    def cdf(self, params, x):
        y = jnp.asarray(x) - params["shift"]
        return jnp.where(y > 0, -jnp.expm1(-params["rate"] * y), 0.0)


@dataclasses.dataclass(frozen=True)
class Pareto(Law):
    """Pareto (type I) durations ``P(X > x) = (scale / x)^alpha`` for ``x >= scale``.

    Heavy-tailed: the mean is finite only for ``alpha > 1``, the variance only
    for ``alpha > 2`` (``inf`` is returned otherwise). Draws are
    ``scale * u^(-1/alpha)`` with ``u`` uniform on a grid of ``2^-23`` in float32,
    so the tail is cut at ``scale * 2^(23/alpha)``: for ``alpha`` near 1 that
    removes a noticeable part of the mean (about 23% at ``alpha = 1.1``); enable
    ``jax_enable_x64`` (grid ``2^-52``) for such tails.
    """

    scale: float = 1.0
    alpha: float = 2.5
    name: ClassVar[str] = "pareto"
    closed_form_order_stats: ClassVar[bool] = True

    def __post_init__(self):
        check_real("scale", self.scale, 0.0, math.inf, strict_low=True)
        check_real("alpha", self.alpha, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        u = jax.random.uniform(key, shape)  # in [0, 1), so 1 - u is in (0, 1]
        return params["scale"] * (1.0 - u) ** (-1.0 / params["alpha"])

    def mean(self, params):
        a, s = params["alpha"], params["scale"]
        return jnp.where(a > 1, a * s / jnp.maximum(a - 1, 1e-30), jnp.inf)

    def variance(self, params):
        a, s = params["alpha"], params["scale"]
        var = s**2 * a / (jnp.maximum(a - 1, 1e-30) ** 2 * jnp.maximum(a - 2, 1e-30))
        return jnp.where(a > 2, var, jnp.inf)

    def cdf(self, params, x):
        x = jnp.asarray(x)
        safe = jnp.maximum(x, params["scale"])
        return jnp.where(
            x >= params["scale"], 1 - (params["scale"] / safe) ** params["alpha"], 0.0
        )


@dataclasses.dataclass(frozen=True)
class LogNormal(Law):
    """``exp(mu + sigma * Z)`` with standard normal ``Z``."""

    mu: float = 0.0
    sigma: float = 0.5
    name: ClassVar[str] = "lognormal"

    def __post_init__(self):
        check_real("mu", self.mu, -math.inf, math.inf, strict_low=True)
        check_real("sigma", self.sigma, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        return jnp.exp(params["mu"] + params["sigma"] * jax.random.normal(key, shape))

    def mean(self, params):
        return jnp.exp(params["mu"] + params["sigma"] ** 2 / 2)

    def variance(self, params):
        s2 = params["sigma"] ** 2
        return jnp.expm1(s2) * jnp.exp(2 * params["mu"] + s2)

    def cdf(self, params, x):
        x = jnp.asarray(x)
        z = (jnp.log(jnp.maximum(x, 1e-30)) - params["mu"]) / params["sigma"]
        return jnp.where(x > 0, special.ndtr(z), 0.0)


@dataclasses.dataclass(frozen=True)
class Gamma(Law):
    """Gamma durations with ``shape`` k and ``scale`` theta (mean k theta)."""

    shape: float = 2.0
    scale: float = 0.5
    name: ClassVar[str] = "gamma"

    def __post_init__(self):
        check_real("shape", self.shape, 0.0, math.inf, strict_low=True)
        check_real("scale", self.scale, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        return jax.random.gamma(key, params["shape"], shape) * params["scale"]

    def mean(self, params):
        return params["shape"] * params["scale"]

    def variance(self, params):
        return params["shape"] * params["scale"] ** 2

    def cdf(self, params, x):
        x = jnp.asarray(x)
        return special.gammainc(params["shape"], jnp.maximum(x, 0) / params["scale"])


@dataclasses.dataclass(frozen=True)
class Weibull(Law):
    """Weibull durations ``P(X > x) = exp(-(x / scale)^shape)``."""

    shape: float = 1.5
    scale: float = 1.0
    name: ClassVar[str] = "weibull"

    def __post_init__(self):
        check_real("shape", self.shape, 0.0, math.inf, strict_low=True)
        check_real("scale", self.scale, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        e = _standard_exponential(key, shape)
        return params["scale"] * e ** (1.0 / params["shape"])

    def mean(self, params):
        return params["scale"] * jnp.exp(special.gammaln(1 + 1 / params["shape"]))

    def variance(self, params):
        g1 = jnp.exp(special.gammaln(1 + 1 / params["shape"]))
        g2 = jnp.exp(special.gammaln(1 + 2 / params["shape"]))
        return params["scale"] ** 2 * (g2 - g1**2)

    def cdf(self, params, x):
        x = jnp.maximum(jnp.asarray(x), 0.0)
        return -jnp.expm1(-((x / params["scale"]) ** params["shape"]))


@dataclasses.dataclass(frozen=True)
class Uniform(Law):
    """Uniform durations on ``[low, high)``."""

    low: float = 0.5
    high: float = 1.5
    name: ClassVar[str] = "uniform"
    closed_form_order_stats: ClassVar[bool] = True

    def __post_init__(self):
        check_real("low", self.low, 0.0, math.inf, strict_low=False)
        check_real("high", self.high, self.low, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        return jax.random.uniform(
            key, shape, minval=params["low"], maxval=params["high"]
        )

    def mean(self, params):
        return (params["low"] + params["high"]) / 2

    def variance(self, params):
        return (params["high"] - params["low"]) ** 2 / 12

    def cdf(self, params, x):
        x = jnp.asarray(x)
        return jnp.clip((x - params["low"]) / (params["high"] - params["low"]), 0, 1)


@dataclasses.dataclass(frozen=True)
class Constant(Law):
    """Every job takes exactly ``value`` (ties are broken by worker index)."""

    value: float = 1.0
    name: ClassVar[str] = "constant"
    closed_form_order_stats: ClassVar[bool] = True

    def __post_init__(self):
        check_real("value", self.value, 0.0, math.inf, strict_low=True)

    def sample(self, key, params, shape):
        del key
        return jnp.full(shape, params["value"])

    def mean(self, params):
        return params["value"]

    def variance(self, params):
        return jnp.zeros_like(params["value"])

    def cdf(self, params, x):
        return jnp.where(jnp.asarray(x) >= params["value"], 1.0, 0.0)


@dataclasses.dataclass(frozen=True)
class Trace(Law):
    """Measured job durations, resampled uniformly with replacement.

    Per worker (``pooled=False``): a job of worker ``i`` takes one of worker
    ``i``'s measured durations, each with probability ``1 / len(durations[i])``
    (the bootstrap of Efron, "Bootstrap methods: another look at the
    jackknife", Ann. Statist. 7(1), 1979); the trace then needs exactly one
    column per worker of the simulation (:meth:`Delay.check_workers`).
    Pooled: every job of every worker takes one of all the durations, so a
    pooled trace fits any number of workers. Draws without worker indices
    (``sample(key, params, shape)``) are pooled.

    ``mean``, ``variance`` and ``cdf`` are those of the pooled empirical
    distribution (every measured duration weighs ``1 / total``): with equally
    long columns, the law of a job of a uniformly chosen worker. The numbers
    live in ``params`` as a ``(workers, max_len)`` table padded with zeros and
    the ``(workers,)`` int32 column lengths: part of the params, never gridded.

    Build one from arrays (``Trace([w0, w1, ...])``, or a 1-D array for a
    pooled list) or from a CSV file with :meth:`from_csv` or the SPEC
    ``"trace:path=FILE,format=auto|wide|long|pooled"`` (layouts:
    :func:`absjax.fitting.load_trace`).

    Attributes:
      durations: one tuple of durations (``>= 0``, finite) per worker, or one
        in all for a pooled trace.
      pooled: whether all jobs draw from all durations; ``None`` (the
        default) means pooled exactly when ``durations`` is a flat list.
      path: the file it was read from (``None`` for arrays).
      format: the ``format`` it was read with.

    >>> law = Trace([[1.0, 3.0], [2.0]])
    >>> law.workers, float(law.mean(law.params))  # (1 + 3 + 2) / 3
    (2, 2.0)
    >>> import jax.numpy as jnp
    >>> x = law.sample(jax.random.key(0), law.params, (4,), worker=jnp.ones(4, int))
    >>> x.tolist()  # worker 1 has only 2.0
    [2.0, 2.0, 2.0, 2.0]
    """

    durations: Any = dataclasses.field(repr=False)
    pooled: bool | None = None
    path: str | None = None
    format: str = "auto"
    name: ClassVar[str] = "trace"

    def __post_init__(self):
        where = self.path if self.path is not None else "durations"
        data = self.durations
        if isinstance(data, str | bytes) or not hasattr(data, "__len__"):
            raise ValueError(
                f"{where}: durations must be a list of durations or one list per worker"
            )
        if len(data) == 0:
            raise ValueError(f"{where}: durations must hold at least one duration")
        if isinstance(data, np.ndarray):
            flat = data.ndim == 1
        else:
            flat = all(np.ndim(x) == 0 for x in data)
        columns = [data] if flat else list(data)
        values = []
        for i, column in enumerate(columns):
            name = f"durations[{i}]" if not flat else "durations"
            try:
                x = np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: {name} must hold numbers") from None
            if x.ndim != 1 or x.size == 0:
                raise ValueError(
                    f"{where}: {name} must be a non-empty 1-D list of durations; "
                    f"got shape {x.shape}"
                )
            bad = np.flatnonzero(~np.isfinite(x) | (x < 0))
            if bad.size:
                j = int(bad[0])
                raise ValueError(
                    f"{where}: {name}[{j}]={float(x[j])!r} must be a finite "
                    "duration >= 0"
                )
            values.append(x)
        pooled = flat if self.pooled is None else bool(self.pooled)
        if pooled and len(values) > 1:
            values = [np.concatenate(values)]
        object.__setattr__(self, "durations", tuple(tuple(x.tolist()) for x in values))
        object.__setattr__(self, "pooled", pooled)

    @classmethod
    def from_csv(cls, path, format: str = "auto") -> Trace:
        """Reads a trace file (:func:`absjax.fitting.load_trace`'s layouts).

        ``format``: ``"auto"`` (detected; a single-column list is pooled),
        ``"wide"``, ``"long"`` or ``"pooled"`` (any layout, all durations
        pooled). Raises ``ValueError`` naming the file.
        """
        columns, pooled = read_trace(path, None, format)
        return cls(tuple(columns), pooled=pooled, path=str(path), format=format)

    def __repr__(self):
        lengths = tuple(len(x) for x in self.durations)
        return (
            f"Trace(workers={self.workers}, lengths={lengths}, "
            f"pooled={self.pooled}, path={self.path!r})"
        )

    @property
    def workers(self) -> int:
        """Number of workers (columns); 1 for a pooled trace."""
        return len(self.durations)

    @functools.cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.array([len(x) for x in self.durations], dtype=np.int32)
        table = np.zeros((len(lengths), int(lengths.max())))
        for i, x in enumerate(self.durations):
            table[i, : len(x)] = x
        return table, lengths

    @property
    def params(self) -> Params:
        table, lengths = self._table
        return {"table": jnp.asarray(table), "lengths": jnp.asarray(lengths)}

    def check(self, params: Params) -> None:
        table = np.asarray(params["table"], dtype=np.float64)
        lengths = np.asarray(params["lengths"])
        if np.any(lengths < 1) or np.any(lengths > table.shape[-1]):
            raise ValueError(
                f"trace lengths={lengths.tolist()} must be in [1, {table.shape[-1]}]"
            )
        mask = np.arange(table.shape[-1]) < lengths[..., None]
        if not np.all(np.isfinite(table[mask]) & (table[mask] >= 0)):
            raise ValueError("trace table must hold finite durations >= 0")

    def sample(self, key, params, shape, worker=None):
        """Draws of the given shape; ``worker`` (broadcast to ``shape``) picks
        each draw's column, ``None`` (or a pooled trace) draws from all."""
        table, lengths = params["table"], params["lengths"]
        if worker is None or self.pooled:
            ends = jnp.cumsum(lengths)
            flat = jax.random.randint(key, shape, 0, ends[-1])
            row = jnp.searchsorted(ends, flat, side="right")
            col = flat - (ends - lengths)[row]
        else:
            row = jnp.broadcast_to(jnp.asarray(worker), shape)
            col = jax.random.randint(key, shape, 0, lengths[row])
        return table[row, col]

    @staticmethod
    def _mask(params):
        table, lengths = params["table"], params["lengths"]
        mask = jnp.arange(table.shape[-1]) < lengths[..., None]
        return table, mask, jnp.sum(lengths)

    def mean(self, params):
        table, mask, total = self._mask(params)
        return jnp.sum(jnp.where(mask, table, 0.0), axis=(-2, -1)) / total

    def variance(self, params):
        table, mask, total = self._mask(params)
        mean = self.mean(params)[..., None, None]
        centred = jnp.where(mask, table - mean, 0.0)
        return jnp.sum(centred**2, axis=(-2, -1)) / total

    def cdf(self, params, x):
        table, mask, total = self._mask(params)
        x = jnp.asarray(x)[..., None, None]
        return jnp.sum(mask & (table <= x), axis=(-2, -1)) / total

    def spec(self) -> str:
        if self.path is None:
            raise ValueError(
                "a Trace built from arrays has no SPEC: write it to a CSV file "
                "and use 'trace:path=FILE'"
            )
        extra = f",format={self.format}" if self.format != "auto" else ""
        return f"{self.name}:path={self.path}{extra}"


exponential = Exponential
shifted_exponential = ShiftedExponential
pareto = Pareto
lognormal = LogNormal
gamma = Gamma
weibull = Weibull
uniform = Uniform
constant = Constant
trace = Trace

LAWS: dict[str, type[Law]] = {
    cls.name: cls
    for cls in (
        Exponential,
        ShiftedExponential,
        Pareto,
        LogNormal,
        Gamma,
        Weibull,
        Uniform,
        Constant,
    )
}
SPEED_MODES = ("none", "sqrt", "random")
# The persistent-straggler chain draws from fold_in(job key, CHAIN_STREAM); slot
# keys fold in small slot indices (< num_workers + K), never this one.
CHAIN_STREAM = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Delay:
    """The duration of one job of worker ``i``: the delay model of a cluster.

    ``duration = speed_i * compute * (straggler_factor if straggling else 1)
    * (markov_factor if slow else 1) + upload + download``, where ``compute``,
    ``upload`` and ``download`` are independent draws of their laws (a
    :class:`Trace` draws from worker ``i``'s measured durations), a job
    straggles with probability ``straggler_prob`` independently of everything
    else, and ``slow`` is the state of worker ``i``'s persistent-straggler chain.

    **Persistent stragglers** (spec section 4): each worker carries a
    two-state Markov chain, normal / slow, that moves once at each of its job
    starts: a normal worker's next job is slow with probability ``p =
    markov_slow``, a slow worker's next job is normal with probability ``q =
    markov_recover``. A worker's first job is slow with the stationary
    probability ``pi = p / (p + q)`` (0 when ``p = 0``), so every job is slow
    with probability ``pi``: the long-run fraction of slow jobs. Slow spells
    last ``1 / q`` jobs on average (geometric), normal spells ``1 / p``, and
    ``P(slow | previous slow) = 1 - q``; ``q = 1 - p`` makes the jobs
    independent (random stragglers again). The chain is the two-state burst
    model of Gilbert ("Capacity of a burst-noise channel", Bell Syst. Tech. J.
    39(5), 1960), here over a worker's jobs. The engine carries the state
    (``SimState.slow``) and draws it with :meth:`chain`. The defaults ``p = 0``
    (never slow) and ``markov_factor = 1`` leave every duration unchanged.

    Attributes:
      compute: law of the computation time of a job.
      upload: law of the time to push an update (``None``: instantaneous).
      download: law of the time to pull the model (``None``: instantaneous).
      speeds: per-worker slowdown factors: ``"none"`` (all 1), ``"sqrt"``
        (worker ``i`` is ``sqrt(i + 1)`` times slower, Tyurin & Richtarik
        arXiv 2305.12387), ``"random"`` (``exp(speed_spread * Z_i)`` drawn once
        per seed, the "fixed computation model"), or a tuple of given factors.
      speed_spread: log-scale spread of the ``"random"`` speeds.
      straggler_prob: probability that a job is a random straggler.
      straggler_factor: slowdown factor of a straggling job.
      markov_slow: ``p``, probability that a normal worker's next job is slow.
      markov_recover: ``q``, probability that a slow worker's next job is
        normal (default 1: a slow spell lasts one job).
      markov_factor: slowdown factor of the compute time of a slow job.

    >>> d = Delay(exponential(rate=2.0), straggler_prob=0.1, straggler_factor=5)
    >>> round(float(d.mean(d.params)), 6)  # 0.5 * (0.9 + 0.1 * 5)
    0.7
    >>> d = Delay(exponential(rate=2.0), markov_slow=0.1, markov_recover=0.4,
    ...           markov_factor=3)
    >>> round(float(d.stationary_slow(d.params)), 6)  # 0.1 / (0.1 + 0.4)
    0.2
    >>> round(float(d.mean(d.params)), 6)  # 0.5 * (0.8 + 0.2 * 3)
    0.7
    """

    compute: Law
    upload: Law | None = None
    download: Law | None = None
    speeds: str | tuple[float, ...] = "none"
    speed_spread: float = 0.5
    straggler_prob: float = 0.0
    straggler_factor: float = 1.0
    markov_slow: float = 0.0
    markov_recover: float = 1.0
    markov_factor: float = 1.0

    def __post_init__(self):
        if not isinstance(self.compute, Law):
            raise ValueError(f"compute={self.compute!r} must be a delay law")
        for name in ("upload", "download"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Law):
                raise ValueError(f"{name}={value!r} must be a delay law or None")
        if isinstance(self.speeds, str):
            if self.speeds not in SPEED_MODES:
                raise ValueError(
                    f"speeds={self.speeds!r} must be one of {SPEED_MODES} "
                    "or a tuple of positive factors"
                )
        else:
            object.__setattr__(self, "speeds", tuple(float(s) for s in self.speeds))
            for s in self.speeds:
                check_real("speeds[i]", s, 0.0, math.inf, strict_low=True)
        check_real("speed_spread", self.speed_spread, 0.0, math.inf, strict_low=False)
        check_real(
            "straggler_prob", self.straggler_prob, 0.0, 1.0 + 1e-12, strict_low=False
        )
        check_real(
            "straggler_factor", self.straggler_factor, 0.0, math.inf, strict_low=True
        )
        for name in ("markov_slow", "markov_recover"):
            value = getattr(self, name)
            number = isinstance(value, int | float | np.number) and not isinstance(
                value, bool
            )
            if not (number and 0.0 <= value <= 1.0):
                raise ValueError(f"{name}={value!r} must be a probability in [0, 1]")
        check_real("markov_factor", self.markov_factor, 0.0, math.inf, strict_low=True)

    @property
    def params(self) -> Params:
        """Vmappable numbers: the laws' params, the straggler/speed/chain numbers."""
        p: Params = {
            "compute": self.compute.params,
            "speed_spread": jnp.asarray(self.speed_spread),
            "straggler_prob": jnp.asarray(self.straggler_prob),
            "straggler_factor": jnp.asarray(self.straggler_factor),
            "markov_slow": jnp.asarray(float(self.markov_slow)),
            "markov_recover": jnp.asarray(float(self.markov_recover)),
            "markov_factor": jnp.asarray(float(self.markov_factor)),
        }
        if self.upload is not None:
            p["upload"] = self.upload.params
        if self.download is not None:
            p["download"] = self.download.params
        return p

    def _laws(self):
        """``(name, law)`` of the laws in use."""
        return [
            (name, law)
            for name in ("compute", "upload", "download")
            if (law := getattr(self, name)) is not None
        ]

    @property
    def homogeneous(self) -> bool:
        """Whether all workers draw from one law (no speeds, no communication,
        no per-worker trace)."""
        per_worker = isinstance(self.compute, Trace) and not self.compute.pooled
        return (
            self.speeds == "none"
            and self.upload is None
            and self.download is None
            and not per_worker
        )

    def check_workers(self, num_workers: int) -> None:
        """Raises ``ValueError`` if given speeds or a per-worker trace do not
        match ``num_workers``."""
        if isinstance(self.speeds, tuple) and len(self.speeds) != num_workers:
            raise ValueError(
                f"speeds has {len(self.speeds)} factors; it needs one per "
                f"worker (num_workers={num_workers})"
            )
        for name, law in self._laws():
            if isinstance(law, Trace) and not law.pooled:
                if law.workers != num_workers:
                    source = law.path if law.path is not None else "the durations"
                    raise ValueError(
                        f"{name} trace {source} has {law.workers} workers; "
                        f"num_workers={num_workers} needs one column per worker "
                        "(or format=pooled to share all durations)"
                    )

    def worker_speeds(self, key: jax.Array, params: Params, num_workers: int):
        """Per-worker slowdown factors, shape ``(num_workers,)``.

        Random speeds are drawn once per seed from ``key``.
        """
        if isinstance(self.speeds, tuple):
            return jnp.asarray(self.speeds)
        if self.speeds == "sqrt":
            return jnp.sqrt(jnp.arange(1.0, num_workers + 1.0))
        if self.speeds == "random":
            z = jax.random.normal(key, (num_workers,))
            return jnp.exp(params["speed_spread"] * z)
        return jnp.ones((num_workers,))

    @staticmethod
    def stationary_slow(params: Params) -> jax.Array:
        """``p / (p + q)``: the chain's long-run fraction of slow jobs (0 if
        ``p = 0``)."""
        p, q = params["markov_slow"], params["markov_recover"]
        return jnp.where(p > 0, p / jnp.where(p > 0, p + q, 1.0), 0.0)

    def chain(
        self,
        key: jax.Array,
        params: Params,
        shape: Sequence[int],
        previous: jax.Array | None = None,
    ) -> jax.Array:
        """The persistent-straggler state of jobs starting now (``True``: slow).

        ``previous`` is each worker's state at its previous job (``None``: a
        first job, drawn from the stationary law). ``key`` is the jobs' key,
        the one :meth:`sample` takes; the chain uses its own stream
        ``fold_in(key, CHAIN_STREAM)``, so the other draws do not change.
        """
        u = jax.random.uniform(jax.random.fold_in(key, CHAIN_STREAM), shape)
        if previous is None:
            return u < self.stationary_slow(params)
        stay = u >= params["markov_recover"]  # slow -> slow
        fall = u < params["markov_slow"]  # normal -> slow
        return jnp.where(previous, stay, fall)

    def sample(
        self,
        key: jax.Array,
        params: Params,
        speed: jax.Array,
        steps: int = 1,
        local_duration: str = "sum",
        *,
        worker: jax.Array | None = None,
        slow: jax.Array | None = None,
    ) -> jax.Array:
        """Draws job durations; the output has the shape of ``speed``.

        A job of ``steps`` local SGD steps computes ``steps`` times: with
        ``local_duration="sum"`` each step's compute time (and straggling) is
        drawn independently and the draws are summed; with ``"scaled"`` one
        draw is multiplied by ``steps``. Upload and download are added once.

        ``worker`` (int, broadcast to ``speed``'s shape) tells a per-worker
        :class:`Trace` whose durations to draw; ``None`` draws pooled. ``slow``
        (bool, the shape of ``speed``) is the jobs' chain state from
        :meth:`chain`: every step of a slow job is ``markov_factor`` slower.
        """
        key_compute, key_straggle, key_up, key_down = jax.random.split(key, 4)
        shape = jnp.shape(speed)
        draws = steps if local_duration == "sum" else 1
        full = (draws, *shape) if draws > 1 else shape
        x = speed * _draw(self.compute, key_compute, params["compute"], full, worker)
        # Always drawn, so that a straggler_prob set later in params (a sweep
        # from 0) takes effect: a probability is a number, not structure.
        straggle = jax.random.bernoulli(key_straggle, params["straggler_prob"], full)
        x = jnp.where(straggle, x * params["straggler_factor"], x)
        if slow is not None:
            x = jnp.where(slow, x * params["markov_factor"], x)
        if draws > 1:
            x = jnp.sum(x, axis=0)
        elif steps > 1:
            x = steps * x
        if self.upload is not None:
            x = x + _draw(self.upload, key_up, params["upload"], shape, worker)
        if self.download is not None:
            x = x + _draw(self.download, key_down, params["download"], shape, worker)
        return x

    @staticmethod
    def _factors(params: Params):
        """``(E[F], E[F^2])`` of the compute slowdown ``F``: a random straggler
        times a slow job, independent in the chain's stationary regime."""
        p, m = params["straggler_prob"], params["straggler_factor"]
        pi, f = Delay.stationary_slow(params), params["markov_factor"]
        first = (1 - p + p * m) * (1 - pi + pi * f)
        second = (1 - p + p * m**2) * (1 - pi + pi * f**2)
        return first, second

    def mean(self, params: Params, speed: float = 1.0) -> jax.Array:
        """Mean duration of a job of a worker with the given speed factor
        (pooled over the workers of a trace; stationary chain)."""
        first, _ = self._factors(params)
        mean = speed * self.compute.mean(params["compute"]) * first
        for name in ("upload", "download"):
            law = getattr(self, name)
            if law is not None:
                mean = mean + law.mean(params[name])
        return mean

    def variance(self, params: Params, speed: float = 1.0) -> jax.Array:
        """Variance of a job's duration (a straggler mixture, plus communication)."""
        first, second = self._factors(params)
        mu = self.compute.mean(params["compute"])
        moment2 = self.compute.variance(params["compute"]) + mu**2
        s2 = speed**2
        var = s2 * moment2 * second - (speed * mu * first) ** 2
        for name in ("upload", "download"):
            law = getattr(self, name)
            if law is not None:
                var = var + law.variance(params[name])
        return var

    def cdf(self, params: Params, x: jax.typing.ArrayLike, speed: float = 1.0):
        """CDF of a job's duration; needs no communication time (no closed form)."""
        if self.upload is not None or self.download is not None:
            raise NotImplementedError(
                "the CDF of compute + communication time is a "
                "convolution with no closed form here"
            )
        p, m = params["straggler_prob"], params["straggler_factor"]
        pi, f = self.stationary_slow(params), params["markov_factor"]
        x = jnp.asarray(x) / speed
        law, lp = self.compute, params["compute"]
        normal = (1 - p) * law.cdf(lp, x) + p * law.cdf(lp, x / m)
        slow = (1 - p) * law.cdf(lp, x / f) + p * law.cdf(lp, x / (m * f))
        return (1 - pi) * normal + pi * slow


def _draw(law: Law, key, params, shape, worker):
    """``law``'s draws; a :class:`Trace` also gets the worker indices."""
    if isinstance(law, Trace):
        return law.sample(key, params, shape, worker)
    return law.sample(key, params, shape)


def _law_registry():
    registry: dict[str, tuple[Any, dict[str, type]]] = {}
    for name, cls in LAWS.items():
        types = {f.name: float for f in dataclasses.fields(cls)}
        registry[name] = (cls, types)
    registry["exponential"] = registry["exp"]
    registry["trace"] = (_trace_from_spec, {"path": str, "format": str})
    return registry


def _trace_from_spec(path: str | None = None, format: str = "auto") -> Trace:
    if path is None:
        raise ValueError(
            "delay law 'trace' needs path=FILE, a CSV file of measured durations "
            "(e.g. 'trace:path=durations.csv,format=wide')"
        )
    return Trace.from_csv(path, format)


_MODIFIERS = {
    "speeds": str,
    "speed_spread": float,
    "straggler_prob": float,
    "straggler_factor": float,
    "markov_slow": float,
    "markov_recover": float,
    "markov_factor": float,
}


def parse_law(spec: str) -> Law:
    """Builds a law from a SPEC such as ``"pareto:scale=1,alpha=2.5"``.

    ``"trace:path=FILE,format=auto|wide|long|pooled"`` reads a :class:`Trace`
    (a relative path is taken from the working directory; it may not hold a
    comma).
    """
    return build_from_spec(spec, _law_registry(), "delay law")


def parse_delay(spec: str, upload: str | None = None, download: str | None = None):
    """Builds a :class:`Delay` from a SPEC; modifiers may follow the law's keys.

    Modifiers: ``speeds``, ``speed_spread``, ``straggler_prob``,
    ``straggler_factor``, ``markov_slow``, ``markov_recover``,
    ``markov_factor`` (the :class:`Delay` fields), e.g.
    ``"trace:path=durations.csv,markov_slow=0.01,markov_recover=0.2,
    markov_factor=3"``.

    >>> parse_delay("exp:rate=2,straggler_prob=0.1,straggler_factor=4").compute
    Exponential(rate=2.0)
    """

    name, raw = split_spec(spec)
    law_items = {k: v for k, v in raw.items() if k not in _MODIFIERS}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _MODIFIERS:
            extra[key] = convert("delay", key, value, _MODIFIERS[key])
    law_spec = name + (
        ":" + ",".join(f"{k}={v}" for k, v in law_items.items()) if law_items else ""
    )
    return Delay(
        compute=parse_law(law_spec),
        upload=parse_law(upload) if upload else None,
        download=parse_law(download) if download else None,
        **extra,
    )


def as_delay(delay: Delay | Law | str) -> Delay:
    """Accepts a :class:`Delay`, a bare law or a SPEC string."""
    if isinstance(delay, Delay):
        return delay
    if isinstance(delay, Law):
        return Delay(delay)
    if isinstance(delay, str):
        return parse_delay(delay)
    raise ValueError(f"delay={delay!r} must be a Delay, a law or a SPEC string")
