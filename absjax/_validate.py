"""Eager argument checks: a ``ValueError`` naming the argument and its range.

The one validation module of absjax: constructors (laws, weights, rules,
policies, objectives, the Simulator), the numbers of ``params``/``grid=`` and
the theory functions all check their arguments here, before anything traces.

>>> check_int("k", 3, 1, 4)
3
>>> check_real("rate", -1.0, 0.0, strict_low=True)
Traceback (most recent call last):
ValueError: rate=-1.0 must be in (0.0, inf)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def check_int(name: str, value: Any, low: int = 1, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (``>= low`` without ``high``); bools and
    floats are refused."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        where = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name}={value!r} must be an integer {where}")
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
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and low <= value < high
        ok = ok and (value > low or not strict_low)
    if not ok:
        bracket = "(" if strict_low else "["
        raise ValueError(f"{name}={value!r} must be in {bracket}{low}, {high})")
    return value


def check_positive(name: str, value: Any) -> None:
    """Every entry of an array (e.g. a gridded number) finite and ``> 0``."""
    value = np.asarray(value)
    if not np.all(np.isfinite(value)) or np.any(value <= 0):
        raise ValueError(f"{name}={value.tolist()} must be in (0, inf)")


def check_nonnegative_array(name: str, value: Any) -> np.ndarray:
    """A float64 array of finite numbers ``>= 0``."""
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold finite numbers in [0, inf)")
    return array
