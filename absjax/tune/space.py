"""A method's search space: ranges (log, integer) and choices of its numbers.

A name is a :meth:`Simulator.run <absjax.Simulator.run>` ``points=`` name
(``k``, ``tau``, ``lr``, ``policy.k_rule.t0``, ``policy.tau_rule.kappa``,
``weight.a``, ...). Every range is checked against the simulator before
anything compiles: its ends (or every choice) must be allowed values.

>>> space = parse_range("lr=0.01:1:log")
>>> space.name, space.low, space.high, space.log
('lr', 0.01, 1.0, True)
>>> parse_range("k=1,2,4").values
(1, 2, 4)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Range:
    """Numbers in ``[low, high]``: ``log`` spaced, or ``integer``.

    Parameters
    ----------
    name : str
        The number's :meth:`Simulator.run <absjax.Simulator.run>` ``points=``
        name.
    low, high : float
        The finite ends, ``low <= high``.
    log : bool, optional
        Log spaced (then ``low > 0``; default: not).
    integer : bool, optional
        Integer values only (then the ends are integers; default: not).

    Raises
    ------
    ValueError
        If an end is not finite, the range is empty, or an end breaks ``log``
        or ``integer``.
    """

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(
                f"range {self.name}=[{self.low}, {self.high}] must be finite"
            )
        if self.low > self.high:
            raise ValueError(
                f"range {self.name}=[{self.low}, {self.high}] is empty (low > high)"
            )
        if self.log and self.low <= 0:
            raise ValueError(f"log range {self.name} must have low > 0, got {self.low}")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(f"integer range {self.name} must have integer ends")

    @property
    def edges(self) -> tuple:
        """``(low, high)``: the values checked against the simulator."""
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator) -> float | int:
        """One uniform (or log-uniform) draw.

        Parameters
        ----------
        rng : numpy.random.Generator
            The random numbers.

        Returns
        -------
        float or int
            An int for an ``integer`` range, rounded and kept in the range.
        """
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        if self.integer:
            return int(min(max(round(value), self.low), self.high))
        return float(value)

    def suggest(self, trial) -> float | int:
        """The value an Optuna trial suggests.

        Parameters
        ----------
        trial : object
            An Optuna trial (``optuna.trial.Trial``), which records the value
            under ``name``.

        Returns
        -------
        float or int
        """
        if self.integer:
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def on_edge(self, value) -> bool:
        """Whether ``value`` lies on (within 2% of the span of) an end.

        The span is measured in ``log`` space for a ``log`` range; a range of
        one point has no edge.

        Parameters
        ----------
        value : float or int
            A value of the range.

        Returns
        -------
        bool
        """
        if self.low == self.high:
            return False
        lo, hi, v = self.low, self.high, value
        if self.log:
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        return min(v - lo, hi - v) <= 0.02 * (hi - lo)


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a few ``values``.

    Parameters
    ----------
    name : str
        The number's :meth:`Simulator.run <absjax.Simulator.run>` ``points=``
        name.
    values : tuple
        The choices, at least one.

    Raises
    ------
    ValueError
        If ``values`` is empty.
    """

    name: str
    values: tuple

    def __post_init__(self):
        if not self.values:
            raise ValueError(f"choice {self.name} is empty: give at least one value")

    @property
    def edges(self) -> tuple:
        """Every choice (the values checked against the simulator)."""
        return self.values

    def sample(self, rng: np.random.Generator) -> Any:
        """One choice, drawn uniformly.

        Parameters
        ----------
        rng : numpy.random.Generator
            The random numbers.

        Returns
        -------
        object
            One of ``values``.
        """
        return self.values[int(rng.integers(len(self.values)))]

    def suggest(self, trial) -> Any:
        """The choice an Optuna trial suggests (a categorical distribution).

        Parameters
        ----------
        trial : object
            An Optuna trial (``optuna.trial.Trial``), which records the
            choice under ``name``.

        Returns
        -------
        object
            One of ``values``.
        """
        return trial.suggest_categorical(self.name, list(self.values))

    def on_edge(self, value) -> bool:
        """Whether ``value`` is the smallest or largest of more than 2 choices.

        Parameters
        ----------
        value : object
            One of ``values``.

        Returns
        -------
        bool
        """
        ordered = sorted(self.values)
        return len(ordered) > 2 and value in (ordered[0], ordered[-1])


Space = Range | Choice


def _number(text: str, name: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"range {name}: {text!r} is not a number") from None
    return int(value) if value == int(value) and "." not in text else value


def parse_range(text: str) -> Space:
    """A search space from text: a :class:`Range` or a :class:`Choice`.

    Parameters
    ----------
    text : str
        ``NAME=LOW:HIGH[:log][:int]`` (a range) or ``NAME=V1,V2,...`` (a
        choice).

    Returns
    -------
    ~absjax.tune.Range or ~absjax.tune.Choice

    Raises
    ------
    ValueError
        A malformed or empty range.
    """
    name, sep, body = text.partition("=")
    name = name.strip()
    if not sep or not name or not body:
        raise ValueError(
            f"range {text!r} must read NAME=LOW:HIGH[:log][:int] or NAME=V1,V2,..."
        )
    if ":" in body:
        low, high, *flags = body.split(":")
        unknown = set(flags) - {"log", "int"}
        if unknown:
            raise ValueError(f"range {name}: unknown flag(s) {sorted(unknown)}")
        return Range(
            name,
            float(_number(low, name)),
            float(_number(high, name)),
            log="log" in flags,
            integer="int" in flags,
        )
    values = tuple(_number(v, name) for v in body.split(",") if v.strip())
    return Choice(name, values)


def check_space(sim, spaces: list[Space]) -> None:
    """Checks that every end (or choice) of ``spaces`` is an allowed value of
    ``sim``'s numbers: the points are validated, nothing compiles.

    Raises:
      ValueError: naming the range and the simulator's message.
    """
    from absjax.engine import params as params_lib

    names = [s.name for s in spaces]
    if len(set(names)) != len(names):
        raise ValueError(f"ranges name a number twice: {names}")
    for space in spaces:
        points = [{space.name: v} for v in space.edges]
        try:
            params_lib.points_params(sim, params_lib.canonical(sim, sim.params), points)
        except ValueError as e:
            raise ValueError(f"range {space.name}={list(space.edges)}: {e}") from None
