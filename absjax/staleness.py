"""Staleness weights ``omega(s)`` and the normalisation of the aggregate.

The server aggregates ``sum_i a_i u_i`` with ``a_i = omega(s_i) / Z``, where
``Z`` is the number of aggregated updates (``"count"``) or ``sum_i omega(s_i)``
(``"weight-sum"``). With ``"count"`` and ``constant`` weights this is the plain
mean of the updates; with ``"weight-sum"`` the weights always sum to one, so
only their ratios matter.

References: ``inverse`` is the staleness-aware step ``eta / s`` of Zhang, Gupta,
Lian, Liu, "Staleness-aware Async-SGD for Distributed Deep Learning" (IJCAI 2016,
arXiv 1511.05950); ``polynomial`` is FedAsync's ``(1 + s)^-a``.

>>> w = polynomial(a=1.0)
>>> float(w(2, w.params))
0.3333333432674408
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from absjax._spec import build_from_spec
from absjax._validate import check_real

NORMALIZATIONS = ("count", "weight-sum")


@dataclasses.dataclass(frozen=True)
class Weight:
    """Base class: ``weight(s, params)`` maps integer staleness to a weight."""

    name: ClassVar[str]

    @property
    def params(self) -> dict[str, Any]:
        return {
            f.name: jnp.asarray(float(getattr(self, f.name)))
            for f in dataclasses.fields(self)
        }

    def __call__(self, s: jax.Array, params: dict[str, Any]) -> jax.Array:
        raise NotImplementedError

    def check(self, params: dict[str, Any]) -> None:
        """Raises ``ValueError`` if the numbers ``params`` (a point of a grid)
        are outside the weight's ranges (the constructor's checks)."""
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
    """``omega(s) = (1 + s)^-a``."""

    a: float = 0.5
    name: ClassVar[str] = "polynomial"

    def __post_init__(self):
        check_real("a", self.a, 0.0)

    def __call__(self, s, params):
        return (1.0 + jnp.asarray(s).astype(float)) ** (-params["a"])


@dataclasses.dataclass(frozen=True)
class Exponential(Weight):
    """``omega(s) = exp(-a s)``."""

    a: float = 0.5
    name: ClassVar[str] = "exponential"

    def __post_init__(self):
        check_real("a", self.a, 0.0)

    def __call__(self, s, params):
        return jnp.exp(-params["a"] * jnp.asarray(s).astype(float))


@dataclasses.dataclass(frozen=True)
class Threshold(Weight):
    """``omega(s) = 1`` if ``s <= c`` else ``v``."""

    c: float = 1.0
    v: float = 0.0
    name: ClassVar[str] = "threshold"

    def __post_init__(self):
        check_real("c", self.c, 0.0)
        check_real("v", self.v, 0.0)

    def __call__(self, s, params):
        return jnp.where(s <= params["c"], 1.0, params["v"]).astype(float)


constant = Constant
inverse = Inverse
polynomial = Polynomial
exponential = Exponential
threshold = Threshold

_REGISTRY = {
    "constant": (Constant, {}),
    "inverse": (Inverse, {}),
    "polynomial": (Polynomial, {"a": float}),
    "exponential": (Exponential, {"a": float}),
    "threshold": (Threshold, {"c": float, "v": float}),
}


def parse_weight(spec: str) -> Weight:
    """Builds a weight from a SPEC such as ``"polynomial:a=0.5"``."""
    return build_from_spec(spec, _REGISTRY, "staleness weight")


def check_normalization(normalization: str) -> str:
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization={normalization!r} must be one of {NORMALIZATIONS}"
        )
    return normalization
