"""SPEC strings of the objectives: one registry for all of them.

``parse_objective("linreg:dim=100,batch=32")`` or
``"mlp:hidden=64x32,samples=2048"`` builds an objective; ``as_objective``
accepts an objective or a SPEC string. Layer widths are written ``AxBxC``
(``none``: no layer) and ``partition`` is a number, ``iid-shards`` or
``none``.
"""

from __future__ import annotations

from absjax import protocols
from absjax._spec import Entry, build_from_spec
from absjax.objectives.base import Objective
from absjax.objectives.classifier import _SHARDS
from absjax.objectives.convex import (
    LinearRegression,
    Quadratic,
    SoftmaxRegression,
    TimingOnly,
)
from absjax.objectives.networks import CNN, MLP


def _parse_widths(text: str) -> tuple[int, ...]:
    """SPEC value ``"64x32"`` -> ``(64, 32)``; ``"none"`` -> ``()``."""
    if text.lower() == "none":
        return ()
    return tuple(int(part) for part in text.split("x"))


def _parse_partition(text: str) -> float | str | None:
    """SPEC value: ``"none"`` -> ``None``, ``"iid-shards"``, ``"label-shards"``,
    or a float alpha."""
    if text.lower() == "none":
        return None
    if text in _SHARDS:
        return text
    return float(text)


_parse_widths.__name__ = "list of widths such as 64x32"
_parse_partition.__name__ = (
    "partition (a Dirichlet alpha, iid-shards, label-shards or none)"
)

_COMMON_TYPES = {
    "dataset": str,
    "data_dir": str,
    "classes": int,
    "samples": int,
    "test_samples": int,
    "eval_samples": int,
    "batch": int,
    "noise": float,
    "partition": _parse_partition,
    "workers": int,
    "data_seed": int,
    "init_seed": int,
}

REGISTRY: dict[str, Entry] = {
    "timing": Entry(TimingOnly, {}),
    "quadratic": Entry(
        Quadratic,
        {"dim": int, "noise": float, "hmin": float, "hmax": float, "init_scale": float},
    ),
    "linreg": Entry(
        LinearRegression,
        {"dim": int, "samples": int, "batch": int, "noise": float, "data_seed": int},
    ),
    "logreg": Entry(
        SoftmaxRegression,
        {
            "dim": int,
            "classes": int,
            "samples": int,
            "test_samples": int,
            "batch": int,
            "noise": float,
            "data_seed": int,
        },
    ),
    "mlp": Entry(
        MLP,
        {"hidden": _parse_widths, "dim": int, "clusters": int, **_COMMON_TYPES},
    ),
    "cnn": Entry(
        CNN,
        {
            "channels": _parse_widths,
            "kernel": int,
            "padding": str,
            "fc": _parse_widths,
            "image_size": int,
            **_COMMON_TYPES,
        },
    ),
}


def parse_objective(spec: str) -> Objective:
    """Builds an objective from a SPEC such as ``"linreg:dim=100,batch=32"``.

    Parameters
    ----------
    spec : str
        ``"NAME:key=value,..."``, NAME one of ``quadratic``, ``linreg``,
        ``logreg``, ``timing_only``, ``mlp``, ``cnn``.

    Returns
    -------
    ~absjax.objectives.Objective

    Raises
    ------
    ValueError
        For an unknown objective or key, or a value out of range.

    Examples
    --------
    >>> parse_objective("quadratic:dim=3").dim
    3
    """
    return build_from_spec(spec, REGISTRY, "objective")


def as_objective(objective: Objective | str) -> Objective:
    """Accepts an objective (any object that fits :class:`absjax.protocols.Objective`)
    or a SPEC string.

    Parameters
    ----------
    objective : ~absjax.objectives.Objective or str
        The objective, or its SPEC (:func:`parse_objective`).

    Returns
    -------
    ~absjax.objectives.Objective

    Raises
    ------
    ValueError
        For anything else, or a bad SPEC.
    """
    if isinstance(objective, str):
        return parse_objective(objective)
    what = "an Objective or a SPEC string"
    protocols.check_fits("objective", objective, protocols.Objective, what)
    return objective
