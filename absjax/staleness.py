"""Staleness weights ``omega(s)`` and the normalisation of the aggregate.

The server aggregates ``sum_i a_i u_i`` with ``a_i = omega(s_i) / Z``, where
``Z`` is the number of aggregated updates (``"count"``) or ``sum_i omega(s_i)``
(``"weight-sum"``). With ``"count"`` and ``constant`` weights this is the plain
mean of the updates; with ``"weight-sum"`` the weights always sum to one, so
only their ratios matter.

References: ``inverse`` is the staleness-aware step ``eta / s`` of Zhang, Gupta,
Lian, Liu, "Staleness-aware Async-SGD for Distributed Deep Learning" (IJCAI 2016,
arXiv 1511.05950); ``polynomial`` is FedAsync's ``(1 + s)^-a``; ``distance`` is
the step ``min(C / ||w_t - w_read||^2, eta_max)`` of Dutta, Joshi, Ghosh, Dube,
Nagpurkar (AISTATS 2018, arXiv 1803.01113, eq. 13), which reads the distance
between the server's model and the one the job read instead of ``s``;
``delay_capped`` and ``delay_threshold`` are the delay-adaptive steps of
Mishchenko, Bach, Even, Woodworth (NeurIPS 2022, arXiv 2206.07638) and of
Koloskova, Stich, Jaggi (NeurIPS 2022, arXiv 2206.08307).

>>> w = polynomial(a=1.0)
>>> float(w(2, w.params))
0.3333333432674408
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from absjax._spec import Entry, build_from_spec
from absjax._validate import check_real

NORMALIZATIONS = ("count", "weight-sum")


@dataclasses.dataclass(frozen=True)
class Weight:
    """Base class: ``weight(s, params)`` maps integer staleness to a weight.

    A weight with ``needs_distance = True`` (:class:`Distance`) is called as
    ``weight(s, params, distance2=..., lr=...)`` instead.
    """

    name: ClassVar[str]
    # Whether the weight also reads ``distance2`` and ``lr`` (a class attribute).
    needs_distance: ClassVar[bool] = False

    @property
    def params(self) -> dict[str, Any]:
        """The weight's numbers as a dict of arrays (sweepable as ``weight.NAME``)."""
        return {
            f.name: jnp.asarray(float(getattr(self, f.name)))
            for f in dataclasses.fields(self)
        }

    def __call__(self, s: jax.Array, params: dict[str, Any]) -> jax.Array:
        """The weights ``omega(s)``.

        Parameters
        ----------
        s : jax.Array
            Integer staleness of each update.
        params : dict
            The weight's numbers (``params``, or a grid's values).

        Returns
        -------
        jax.Array
            Float weights, ``s``'s shape.
        """
        raise NotImplementedError

    def check(self, params: dict[str, Any]) -> None:
        """Check the numbers ``params`` (a point of a grid) against the ranges.

        Parameters
        ----------
        params : dict
            The weight's numbers.

        Raises
        ------
        ValueError
            If they are outside the weight's ranges (the constructor's checks).
        """
        type(self)(**{k: float(v) for k, v in params.items()})


@dataclasses.dataclass(frozen=True)
class Constant(Weight):
    """``omega(s) = 1``: every update counts the same."""

    name: ClassVar[str] = "constant"

    def __call__(self, s, params):
        return jnp.ones(jnp.shape(s))


@dataclasses.dataclass(frozen=True)
class Inverse(Weight):
    """``omega(s) = 1 / max(s, 1)`` (Zhang et al. 2016, arXiv 1511.05950)."""

    name: ClassVar[str] = "inverse"

    def __call__(self, s, params):
        return 1.0 / jnp.maximum(s, 1).astype(float)


@dataclasses.dataclass(frozen=True)
class Polynomial(Weight):
    """``omega(s) = (1 + s)^-a``.

    Parameters
    ----------
    a : float, default 0.5
        The exponent, ``>= 0``.

    Raises
    ------
    ValueError
        If a number is outside its range.
    """

    a: float = 0.5
    name: ClassVar[str] = "polynomial"

    def __post_init__(self):
        check_real("a", self.a, 0.0)

    def __call__(self, s, params):
        return (1.0 + jnp.asarray(s).astype(float)) ** (-params["a"])


@dataclasses.dataclass(frozen=True)
class Exponential(Weight):
    """``omega(s) = exp(-a s)``.

    Parameters
    ----------
    a : float, default 0.5
        The decay rate, ``>= 0``.

    Raises
    ------
    ValueError
        If a number is outside its range.
    """

    a: float = 0.5
    name: ClassVar[str] = "exponential"

    def __post_init__(self):
        check_real("a", self.a, 0.0)

    def __call__(self, s, params):
        return jnp.exp(-params["a"] * jnp.asarray(s).astype(float))


@dataclasses.dataclass(frozen=True)
class Threshold(Weight):
    """``omega(s) = 1`` if ``s <= c`` else ``v``.

    Parameters
    ----------
    c : float, default 1.0
        The staleness threshold, ``>= 0``.
    v : float, default 0.0
        The weight of staler updates, ``>= 0``.

    Raises
    ------
    ValueError
        If a number is outside its range.
    """

    c: float = 1.0
    v: float = 0.0
    name: ClassVar[str] = "threshold"

    def __post_init__(self):
        check_real("c", self.c, 0.0)
        check_real("v", self.v, 0.0)

    def __call__(self, s, params):
        return jnp.where(s <= params["c"], 1.0, params["v"]).astype(float)


@dataclasses.dataclass(frozen=True)
class Distance(Weight):
    """Dutta et al.'s staleness-aware step, ``omega = min(C / (lr d^2), 1)``.

    Dutta, Joshi, Ghosh, Dube, Nagpurkar (AISTATS 2018, arXiv 1803.01113,
    section 3.3, eq. 13) step an update ``j`` with ``eta_j = min(C / ||w_j -
    w_tau(j)||^2, eta_max)``, where ``w_j`` is the server's model at the
    aggregation and ``w_tau(j)`` the model the job read; ``C`` is of the order
    of the desired error floor. **[our reading]**: ``eta_max`` is the server's
    ``lr``, so the weight of an update is ``omega_j = eta_j / lr = min(C / (lr
    d_j^2), 1)``, with ``d_j^2 = ||w_read - w_t||^2`` summed over all leaves
    of the model (a fresh update, ``d = 0``, gets weight 1). With ``"count"``
    normalisation the server step is then ``w_t - sum_j eta_j u_j / K``. The
    eq.-13 reading holds for plain SGD: with an optax ``optimizer`` the step is
    ``lr * T(aggregate)`` of the weighted aggregate.

    Called as ``weight(s, params, distance2=..., lr=...)`` (``s`` is not
    read); the engine computes ``distance2`` only for weights with
    ``needs_distance = True``.

    Parameters
    ----------
    c : float, default 0.01
        ``C > 0``.

    Raises
    ------
    ValueError
        If a number is outside its range.

    Examples
    --------
    >>> w = distance(c=0.01)
    >>> d2 = jnp.array([0.0, 0.05, 1.0])
    >>> omega = w(jnp.array([0, 1, 2]), w.params, distance2=d2, lr=0.1)
    >>> [round(float(x), 6) for x in omega]  # min(0.01 / (0.1 d^2), 1)
    [1.0, 1.0, 0.1]
    """

    c: float = 0.01
    name: ClassVar[str] = "distance"
    needs_distance: ClassVar[bool] = True

    def __post_init__(self):
        check_real("c", self.c, 0.0, strict_low=True)

    def __call__(self, s, params, distance2=None, lr=None):
        if distance2 is None or lr is None:
            raise ValueError("the distance weight needs distance2= and lr=")
        return jnp.minimum(params["c"] / (lr * jnp.asarray(distance2)), 1.0)


@dataclasses.dataclass(frozen=True)
class DelayCapped(Weight):
    """Mishchenko et al.'s delay-adaptive step, ``omega = min(1, c / delay)``.

    Mishchenko, Bach, Even, Woodworth, "Asynchronous SGD Beats Minibatch SGD
    Under Arbitrary Delays" (NeurIPS 2022, arXiv 2206.07638), step an update
    of delay ``tau_k`` with ``gamma_k = min(gamma, gamma c / tau_k)`` (their
    delay-adaptive stepsizes, with ``c`` of the order of the number of
    workers ``n``), so that ``omega = gamma_k / gamma = min(1, c / delay)``
    with the server's ``lr`` as ``gamma``. A fresh update (``delay = 0``) gets
    weight 1.

    Their delay ``tau_k`` counts the updates the server applied between the
    read of the model and this update's own aggregation, which is absjax's
    staleness ``s``: ``delay = s + offset`` with ``offset = 0`` (the default).
    A server that hands a restarting worker its next model before it applies
    the arriving update counts one more; ``offset = 1`` reproduces that
    count.

    Parameters
    ----------
    c : float
        The delay up to which an update keeps the full step, ``> 0``.
    offset : float
        Added to the staleness to give the paper's delay, ``>= 0``.

    Raises
    ------
    ValueError
        If ``c <= 0`` or ``offset < 0`` (or either is not finite).

    Examples
    --------
    >>> w = delay_capped(c=2.0)
    >>> [round(float(x), 6) for x in w(jnp.arange(5), w.params)]
    [1.0, 1.0, 1.0, 0.666667, 0.5]
    """

    c: float = 1.0
    offset: float = 0.0
    name: ClassVar[str] = "delay_capped"

    def __post_init__(self):
        check_real("c", self.c, 0.0, strict_low=True)
        check_real("offset", self.offset, 0.0)

    def __call__(self, s, params):
        delay = jnp.asarray(s).astype(float) + params["offset"]
        return params["c"] / jnp.maximum(delay, params["c"])  # min(1, c/delay)


@dataclasses.dataclass(frozen=True)
class DelayThreshold(Weight):
    """Koloskova et al.'s delay-adaptive step: ``eta`` up to ``tau_C``, else 0.

    Koloskova, Stich, Jaggi, "Sharper Convergence Guarantees for Asynchronous
    SGD for Distributed and Federated Learning" (NeurIPS 2022, arXiv
    2206.08307), in their delay-adaptive scheme, step with ``eta_t = eta``
    when the delay ``tau_t <= tau_C`` and with ``eta_t = 0`` otherwise: an
    update more delayed than the threshold is dropped. With a threshold of the
    order of the average delay, asynchronous SGD reaches the rate
    ``O(sigma^2 eps^-2 + tau_avg eps^-1)``. Here ``omega = eta_t / eta`` with
    the server's ``lr`` as ``eta`` and ``c`` as ``tau_C``. With ``"count"``
    normalisation a dropped update still counts in ``Z``; in a round whose
    weights are all 0 the server does not step.

    Their delay ``tau_t`` (the update applied at iteration ``t`` was computed
    at ``x_{t - tau_t}``) is absjax's staleness ``s``: ``delay = s + offset``
    with ``offset = 0`` (the default); a server that hands a restarting worker
    its next model before it applies the arriving update counts one more
    (``offset = 1``).

    Parameters
    ----------
    c : float
        The threshold ``tau_C``, ``>= 0``.
    offset : float
        Added to the staleness to give the paper's delay, ``>= 0``.

    Raises
    ------
    ValueError
        If ``c < 0`` or ``offset < 0`` (or either is not finite).

    Examples
    --------
    >>> w = delay_threshold(c=2.0)
    >>> [float(x) for x in w(jnp.arange(5), w.params)]
    [1.0, 1.0, 1.0, 0.0, 0.0]
    """

    c: float = 1.0
    offset: float = 0.0
    name: ClassVar[str] = "delay_threshold"

    def __post_init__(self):
        check_real("c", self.c, 0.0)
        check_real("offset", self.offset, 0.0)

    def __call__(self, s, params):
        delay = jnp.asarray(s).astype(float) + params["offset"]
        return jnp.where(delay <= params["c"], 1.0, 0.0)


constant = Constant
inverse = Inverse
polynomial = Polynomial
exponential = Exponential
threshold = Threshold
distance = Distance
delay_capped = DelayCapped
delay_threshold = DelayThreshold

REGISTRY: dict[str, Entry] = {
    "constant": Entry(Constant, {}),
    "inverse": Entry(Inverse, {}),
    "polynomial": Entry(Polynomial, {"a": float}),
    "exponential": Entry(Exponential, {"a": float}),
    "threshold": Entry(Threshold, {"c": float, "v": float}),
    "distance": Entry(Distance, {"c": float}),
    "delay_capped": Entry(DelayCapped, {"c": float, "offset": float}),
    "delay_threshold": Entry(DelayThreshold, {"c": float, "offset": float}),
}


def parse_weight(spec: str) -> Weight:
    """Builds a weight from a SPEC such as ``"polynomial:a=0.5"``.

    Parameters
    ----------
    spec : str
        ``"NAME:key=value,..."`` with NAME one of ``constant``, ``inverse``,
        ``polynomial``, ``exponential``, ``threshold``, ``distance``.

    Returns
    -------
    ~absjax.staleness.Weight

    Raises
    ------
    ValueError
        For an unknown weight or key, or a value out of range.

    Examples
    --------
    >>> parse_weight("polynomial:a=0.5")
    Polynomial(a=0.5)
    """
    return build_from_spec(spec, REGISTRY, "staleness weight")


def check_normalization(normalization: str) -> str:
    """Check a normalisation of the aggregate.

    Parameters
    ----------
    normalization : str
        ``"count"`` (divide the weighted sum by the number of updates) or
        ``"weight-sum"`` (by the sum of their weights).

    Returns
    -------
    str
        ``normalization``.

    Raises
    ------
    ValueError
        For another value.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization={normalization!r} must be one of {NORMALIZATIONS}"
        )
    return normalization
