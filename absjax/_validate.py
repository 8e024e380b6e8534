"""Eager argument checks: a ``ValueError`` naming the argument and its range."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_int(name: str, value: Any, low: int = 1) -> int:
    """An integer ``>= low`` (bools and floats are refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < low
    ):
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def check_real(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    strict_low: bool = False,
) -> float:
    """A finite number in ``[low, high)`` (``(low, high)`` if ``strict_low``)."""
    number = isinstance(value, int | float | np.floating) and not isinstance(
        value, bool
    )
    ok = number and (value > low if strict_low else value >= low) and value < high
    if not (ok and math.isfinite(value)):
        bracket = "(" if strict_low else "["
        raise ValueError(f"{name}={value!r} must be in {bracket}{low}, {high})")
    return float(value)
