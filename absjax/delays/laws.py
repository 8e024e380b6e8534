"""The duration laws: the ``Law`` base class and eight parametric laws.

A law is a frozen dataclass whose fields are its numbers; ``params`` turns them
into a dict of arrays (the vmappable part), ``sample(key, params, shape)`` draws
durations, and ``mean``, ``variance`` and ``cdf`` give the moments theory needs.
``LAWS`` maps each SPEC name to its class; the lowercase names
(``exponential``, ``shifted_exponential``, ...) are the constructors.

>>> law = pareto(scale=1.0, alpha=3.0)
>>> float(law.mean(law.params))  # alpha * scale / (alpha - 1)
1.5
>>> sorted(LAWS)[:3]
['constant', 'exp', 'gamma']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.scipy import special

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
    """Base class of the duration laws; subclasses are frozen dataclasses.

    Subclasses implement :meth:`sample`, :meth:`mean`, :meth:`variance` and
    :meth:`cdf` as pure functions of the numbers ``params``, so that they can be
    traced and vmapped over a grid.

    Examples
    --------
    >>> from absjax import delays
    >>> law = delays.exponential(rate=2.0)
    >>> float(law.mean(law.params)), law.spec()
    (0.5, 'exp:rate=2.0')
    """

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
        """Independent durations drawn from the law.

        Parameters
        ----------
        key : jax.Array
            A typed PRNG key.
        params : dict
            The law's numbers (``params``, or a grid's values).
        shape : sequence of int
            The shape of the draws.

        Returns
        -------
        jax.Array
            Durations of shape ``shape``.
        """
        raise NotImplementedError

    def mean(self, params: Params) -> jax.Array:
        """The law's mean (``inf`` where it is infinite).

        Parameters
        ----------
        params : dict
            The law's numbers (``params``, or a grid's values).

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        raise NotImplementedError

    def variance(self, params: Params) -> jax.Array:
        """The law's variance (``inf`` where it is infinite).

        Parameters
        ----------
        params : dict
            The law's numbers (``params``, or a grid's values).

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        raise NotImplementedError

    def cdf(self, params: Params, x: jax.typing.ArrayLike) -> jax.Array:
        """The cumulative distribution function ``P(X <= x)``.

        Parameters
        ----------
        params : dict
            The law's numbers (``params``, or a grid's values).
        x : jax.typing.ArrayLike
            Where to evaluate it.

        Returns
        -------
        jax.Array
            ``F(x)``, ``x``'s shape.
        """
        raise NotImplementedError

    def check(self, params: Params) -> None:
        """Check numbers against the law's ranges.

        Parameters
        ----------
        params : dict
            The law's numbers (``params``, or a grid's values).

        Raises
        ------
        ValueError
            If ``params`` are outside the law's ranges.
        """
        type(self)(**{k: float(v) for k, v in params.items()})

    def spec(self) -> str:
        """The SPEC string that rebuilds this law."""
        items = ",".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
        )
        return f"{self.name}:{items}"


@dataclasses.dataclass(frozen=True)
class Exponential(Law):
    """Exponential durations with the given ``rate`` (mean ``1/rate``).

    Parameters
    ----------
    rate : float, default 1.0
        The rate, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
    """

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

    Parameters
    ----------
    shift : float, default 0.5
        The minimum duration, ``>= 0``.
    rate : float, default 1.0
        The rate of the tail, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
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

    Parameters
    ----------
    scale : float, default 1.0
        The minimum duration, ``> 0``.
    alpha : float, default 2.5
        The tail index, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
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
    """``exp(mu + sigma * Z)`` with standard normal ``Z``.

    Parameters
    ----------
    mu : float, default 0.0
        Mean of the underlying normal.
    sigma : float, default 0.5
        Standard deviation of the underlying normal, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
    """

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
    """Gamma durations with ``shape`` k and ``scale`` theta (mean k theta).

    Parameters
    ----------
    shape : float, default 2.0
        The shape k, ``> 0``.
    scale : float, default 0.5
        The scale theta, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
    """

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
    """Weibull durations ``P(X > x) = exp(-(x / scale)^shape)``.

    Parameters
    ----------
    shape : float, default 1.5
        The shape, ``> 0``.
    scale : float, default 1.0
        The scale, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
    """

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
    """Uniform durations on ``[low, high)``.

    Parameters
    ----------
    low : float, default 0.5
        The lower end, ``>= 0``.
    high : float, default 1.5
        The upper end, ``> low``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
    """

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
    """Every job takes exactly ``value`` (ties are broken by worker index).

    Parameters
    ----------
    value : float, default 1.0
        The duration, ``> 0``.

    Raises
    ------
    ValueError
        If a number is outside its range (the message names it).
    """

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
