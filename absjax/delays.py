"""Job-duration models: base laws and the per-worker delay model built on them.

A *law* is a distribution of positive durations with a sampler
``sample(key, params, shape)`` and the moments theory needs (``mean``,
``variance``, ``cdf``). Its numbers live in a ``params`` dict so that a sweep can
vmap over them without recompiling. :class:`Delay` adds what makes a cluster:
per-worker speed factors, random stragglers and communication time.

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
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.scipy import special

from absjax._spec import build_from_spec, convert, split_spec
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


exponential = Exponential
shifted_exponential = ShiftedExponential
pareto = Pareto
lognormal = LogNormal
gamma = Gamma
weibull = Weibull
uniform = Uniform
constant = Constant

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


@dataclasses.dataclass(frozen=True)
class Delay:
    """The duration of one job of worker ``i``: the delay model of a cluster.

    ``duration = speed_i * compute * (straggler_factor if straggling else 1)
    + upload + download``, where ``compute``, ``upload`` and ``download`` are
    independent draws of their laws and a job straggles with probability
    ``straggler_prob``.

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

    >>> d = Delay(exponential(rate=2.0), straggler_prob=0.1, straggler_factor=5)
    >>> round(float(d.mean(d.params)), 6)  # 0.5 * (0.9 + 0.1 * 5)
    0.7
    """

    compute: Law
    upload: Law | None = None
    download: Law | None = None
    speeds: str | tuple[float, ...] = "none"
    speed_spread: float = 0.5
    straggler_prob: float = 0.0
    straggler_factor: float = 1.0

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

    @property
    def params(self) -> Params:
        """Vmappable numbers: the laws' params and the straggler/speed numbers."""
        p: Params = {
            "compute": self.compute.params,
            "speed_spread": jnp.asarray(self.speed_spread),
            "straggler_prob": jnp.asarray(self.straggler_prob),
            "straggler_factor": jnp.asarray(self.straggler_factor),
        }
        if self.upload is not None:
            p["upload"] = self.upload.params
        if self.download is not None:
            p["download"] = self.download.params
        return p

    @property
    def homogeneous(self) -> bool:
        """Whether all workers draw from one law (no speeds, no communication)."""
        return self.speeds == "none" and self.upload is None and self.download is None

    def check_workers(self, num_workers: int) -> None:
        """Raises ``ValueError`` if given speeds do not match ``num_workers``."""
        if isinstance(self.speeds, tuple) and len(self.speeds) != num_workers:
            raise ValueError(
                f"speeds has {len(self.speeds)} factors; it needs one per "
                f"worker (num_workers={num_workers})"
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

    def sample(
        self,
        key: jax.Array,
        params: Params,
        speed: jax.Array,
        steps: int = 1,
        local_duration: str = "sum",
    ) -> jax.Array:
        """Draws job durations; the output has the shape of ``speed``.

        A job of ``steps`` local SGD steps computes ``steps`` times: with
        ``local_duration="sum"`` each step's compute time (and straggling) is
        drawn independently and the draws are summed; with ``"scaled"`` one
        draw is multiplied by ``steps``. Upload and download are added once.
        """
        key_compute, key_straggle, key_up, key_down = jax.random.split(key, 4)
        shape = jnp.shape(speed)
        draws = steps if local_duration == "sum" else 1
        full = (draws, *shape) if draws > 1 else shape
        x = speed * self.compute.sample(key_compute, params["compute"], full)
        # Always drawn, so that a straggler_prob set later in params (a sweep
        # from 0) takes effect: a probability is a number, not structure.
        slow = jax.random.bernoulli(key_straggle, params["straggler_prob"], full)
        x = jnp.where(slow, x * params["straggler_factor"], x)
        if draws > 1:
            x = jnp.sum(x, axis=0)
        elif steps > 1:
            x = steps * x
        if self.upload is not None:
            x = x + self.upload.sample(key_up, params["upload"], shape)
        if self.download is not None:
            x = x + self.download.sample(key_down, params["download"], shape)
        return x

    def mean(self, params: Params, speed: float = 1.0) -> jax.Array:
        """Mean duration of a job of a worker with the given speed factor."""
        p, m = params["straggler_prob"], params["straggler_factor"]
        mean = speed * self.compute.mean(params["compute"]) * (1 - p + p * m)
        for name in ("upload", "download"):
            law = getattr(self, name)
            if law is not None:
                mean = mean + law.mean(params[name])
        return mean

    def variance(self, params: Params, speed: float = 1.0) -> jax.Array:
        """Variance of a job's duration (a straggler mixture, plus communication)."""
        p, m = params["straggler_prob"], params["straggler_factor"]
        mu = self.compute.mean(params["compute"])
        second = self.compute.variance(params["compute"]) + mu**2
        s2 = speed**2
        var = s2 * second * (1 - p + p * m**2) - (speed * mu * (1 - p + p * m)) ** 2
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
        x = jnp.asarray(x) / speed
        law, lp = self.compute, params["compute"]
        return (1 - p) * law.cdf(lp, x) + p * law.cdf(lp, x / m)


def _law_registry():
    registry: dict[str, tuple[Any, dict[str, type]]] = {}
    for name, cls in LAWS.items():
        types = {f.name: float for f in dataclasses.fields(cls)}
        registry[name] = (cls, types)
    registry["exponential"] = registry["exp"]
    return registry


_MODIFIERS = {
    "speeds": str,
    "speed_spread": float,
    "straggler_prob": float,
    "straggler_factor": float,
}


def parse_law(spec: str) -> Law:
    """Builds a law from a SPEC such as ``"pareto:scale=1,alpha=2.5"``."""
    return build_from_spec(spec, _law_registry(), "delay law")


def parse_delay(spec: str, upload: str | None = None, download: str | None = None):
    """Builds a :class:`Delay` from a SPEC; modifiers may follow the law's keys.

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
