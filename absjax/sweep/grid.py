"""A sweep's configuration expanded: its grid points, its units, its fingerprint.

The TOML file's keys (a dict) become a :class:`Plan`: every grid point's full
``absjax simulate`` configuration, built and so validated, the units of work
(one point times ``chunk_seeds`` consecutive seeds, point-major, seeds
ascending) and a fingerprint (SHA-256) of everything that decides the rows.
The file format is kept apart from the fingerprint: it decides how the rows
are stored, not which rows they are.

>>> unit = Unit(point=3, first=256, seeds=256, rows=25600)
>>> unit.file("parquet")
'point-0003-seeds-000256-000511.parquet'
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from typing import Any

import pandas as pd

from absjax import config as cfg
from absjax._validate import check_int
from absjax._version import __version__
from absjax.config import DEFAULTS, TYPES, UsageError, convert
from absjax.results import METRICS

CHUNK_SEEDS = 256  # default seeds per unit: a few seconds of work per part file
FILE_FORMATS = ("parquet", "csv")  # of the part files and the result; first: default
FORMAT = 1  # version of the directory layout, recorded in the manifest
PARTS = "parts"  # the folder of the part files
# Columns of Result.to_dataframe that a gridded key of the same name would
# shadow: such keys get the prefix ``config_`` (e.g. ``config_k``).
_RESULT_COLUMNS = frozenset({"policy", "seed", "diverged", *METRICS})
# The pandas dtype of a gridded key's column, from its TOML type: nullable, so
# that ``tau = "none"`` is a missing integer and every part of one sweep has
# the same column types (a CSV cell of either is the same text).
_DTYPES = {int: "Int64", float: "float64", str: "string"}


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of work: ``seeds`` consecutive seeds of one grid point.

    Attributes
    ----------
    point : int
        Index of the grid point.
    first : int
        Global index of the first seed.
    seeds : int
        Number of seeds.
    rows : int
        Rows of its part file: seeds x logged rounds.
    """

    point: int  # index of the grid point
    first: int  # global index of the first seed
    seeds: int  # number of seeds
    rows: int  # rows of its part file: seeds x logged rounds

    def file(self, file_format: str) -> str:
        """The name of its part file, e.g. ``point-0003-seeds-000256-000511.csv``.

        Parameters
        ----------
        file_format : {"parquet", "csv"}
            The part's format (its suffix).

        Returns
        -------
        str
        """
        last = self.first + self.seeds - 1
        return f"point-{self.point:04d}-seeds-{self.first:06d}-{last:06d}.{file_format}"

    def describe(self) -> str:
        """``"point P, seeds A-B"``, for messages."""
        return f"point {self.point}, seeds {self.first}-{self.first + self.seeds - 1}"


@dataclasses.dataclass(frozen=True)
class Plan:
    """A validated, expanded sweep: its points, units and fingerprint.

    Attributes
    ----------
    grid : dict
        Gridded key -> converted values, in file order.
    columns : dict
        Gridded key -> its column in the part files.
    points : list of dict
        Full ``absjax simulate`` configuration of each point.
    seeds : int
        Seeds per point.
    chunk_seeds : int
        Seeds per unit.
    units : list of ~absjax.sweep.Unit
        Point-major, seeds ascending.
    fingerprint : str
        SHA-256 of the grid, the points and ``chunk_seeds``.
    file_format : str or None
        The TOML's ``format``; ``None``: not given.
    """

    grid: dict[str, list]  # gridded key -> converted values, in file order
    columns: dict[str, str]  # gridded key -> its column in the part files
    points: list[dict[str, Any]]  # full simulate configuration of each point
    seeds: int  # seeds per point
    chunk_seeds: int  # seeds per unit
    units: list[Unit]  # point-major, seeds ascending
    fingerprint: str  # SHA-256 of the grid, the points and chunk_seeds
    file_format: str | None = None  # the TOML's ``format``; None: not given

    def manifest(self, file_format: str) -> dict[str, Any]:
        """The content of ``manifest.json`` of this sweep stored as ``file_format``.

        Parameters
        ----------
        file_format : {"parquet", "csv"}
            The parts' format.

        Returns
        -------
        dict
            JSON-able.
        """
        return {
            "format": FORMAT,
            "file_format": file_format,
            "absjax_version": __version__,
            "fingerprint": self.fingerprint,
            "seeds": self.seeds,
            "chunk_seeds": self.chunk_seeds,
            "grid": self.grid,
            "columns": ["point", *self.columns.values()],
            "points": [
                {"point": i, "values": _values(self.grid, config), "config": config}
                for i, config in enumerate(self.points)
            ],
            "units": [
                {
                    "point": u.point,
                    "first_seed": u.first,
                    "seeds": u.seeds,
                    "rows": u.rows,
                    "file": f"{PARTS}/{u.file(file_format)}",
                }
                for u in self.units
            ],
        }

    def describe(self, point: int) -> str:
        """The grid point ``point`` and its gridded values, for messages.

        Parameters
        ----------
        point : int
            The point's index.

        Returns
        -------
        str
        """
        return _describe(point, _values(self.grid, self.points[point]))

    def keys(self, point: int, rows: int) -> pd.DataFrame:
        """The first columns of a part of ``point``: ``point`` and the gridded
        keys' values, ``rows`` times, with the dtypes every part shares.

        Parameters
        ----------
        point : int
            The point's index.
        rows : int
            The part's rows.

        Returns
        -------
        pandas.DataFrame
        """
        config = self.points[point]
        columns: dict[str, Any] = {"point": pd.array([point] * rows, dtype="int64")}
        for name, column in self.columns.items():
            dtype = _DTYPES[TYPES[name]]
            columns[column] = pd.array([config[name]] * rows, dtype=dtype)
        return pd.DataFrame(columns)


def check_format(value: Any) -> str:
    """A file format: ``parquet`` or ``csv``; a ``UsageError`` otherwise.

    >>> check_format("csv")
    'csv'
    """
    if value not in FILE_FORMATS:
        raise UsageError(f"format={value!r} must be one of: {', '.join(FILE_FORMATS)}")
    return value


def plan(config: dict[str, Any]) -> Plan:
    """Validates and expands a sweep configuration (the TOML file's mapping).

    Every point's Simulator is built, so every error is found here, before
    anything runs.

    Parameters
    ----------
    config : dict
        The sweep's keys, as in the TOML file (see :mod:`absjax.sweep`).

    Returns
    -------
    ~absjax.sweep.Plan

    Raises
    ------
    UsageError
        Naming the key, or the point and its argument.
    """
    fixed: dict[str, Any] = {}
    grid: dict[str, list] = {}
    chunk_seeds: Any = CHUNK_SEEDS
    file_format = None
    for key, value in config.items():
        name = key.replace("-", "_")
        if name == "grid":
            grid = _grid(value)
        elif name == "chunk_seeds":
            chunk_seeds = value
        elif name == "format":
            file_format = check_format(value)
        elif name == "out":
            raise UsageError(
                "out is not a sweep key: give the output directory with --out"
            )
        elif name in DEFAULTS:
            fixed[name] = convert(name, value)
        else:
            raise UsageError(_unknown(key))
    for name in grid:
        if name in fixed:
            raise UsageError(f"{name} is both a fixed key and in [grid]")
    try:
        chunk_seeds = check_int("chunk_seeds", chunk_seeds)
        seeds = check_int("seeds", fixed.get("seeds", DEFAULTS["seeds"]))
    except ValueError as e:
        raise UsageError(str(e)) from None
    points = []
    for index, values in enumerate(itertools.product(*grid.values())):
        given = {**fixed, **dict(zip(grid, values, strict=True))}
        try:
            point = _point(given, seeds)
        except (ValueError, UsageError) as e:
            where = _describe(index, _values(grid, given))
            raise UsageError(f"{where}: {e}") from None
        points.append(point)
    units = []
    for index, point in enumerate(points):
        logs = point["rounds"] // point["log_every"]
        for first in range(0, seeds, chunk_seeds):
            n = min(chunk_seeds, seeds - first)
            units.append(Unit(index, first, n, n * logs))
    # The identity of the rows, as it always was: the file format stays out,
    # so a sweep directory of an older absjax keeps its fingerprint.
    identity = {"grid": list(grid.items()), "points": points, "chunk": chunk_seeds}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return Plan(
        grid=grid,
        columns={n: f"config_{n}" if n in _RESULT_COLUMNS else n for n in grid},
        points=points,
        seeds=seeds,
        chunk_seeds=chunk_seeds,
        units=units,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        file_format=file_format,
    )


def _grid(table: Any) -> dict[str, list]:
    if not isinstance(table, dict):
        raise UsageError("grid must be a table of lists ([grid] in TOML)")
    grid = {}
    for key, values in table.items():
        name = key.replace("-", "_")
        if name in ("seeds", "out") or name not in DEFAULTS:
            known = sorted(set(DEFAULTS) - {"seeds", "out"})
            raise UsageError(
                f"grid: {key!r} cannot be gridded (known: {', '.join(known)})"
            )
        if not isinstance(values, list) or not values:
            raise UsageError(
                f"grid.{name}={values!r} must be a non-empty list of values"
            )
        try:
            converted = [convert(name, v) for v in values]
        except UsageError as e:
            raise UsageError(f"grid.{name}: {e}") from None
        for i, v in enumerate(converted):
            if v in converted[:i]:
                raise UsageError(f"grid.{name} lists {v!r} twice")
        grid[name] = converted
    return grid


def _unknown(key: str) -> str:
    known = sorted({*DEFAULTS, "grid", "chunk_seeds", "format"} - {"out"})
    return f"unknown key {key!r} (known: {', '.join(known)})"


def _point(given: dict[str, Any], seeds: int) -> dict[str, Any]:
    """A point's full configuration, as ``absjax simulate`` would build it."""
    point = cfg.merge(flags=given)
    point.pop("out", None)
    check_int("seed", point["seed"], low=0)
    if point["seed"] >= 2**32 or seeds > 2**32:
        raise ValueError(
            f"seed={point['seed']} must be < 2**32 and seeds={seeds} <= 2**32 "
            "(seed indices are uint32)"
        )
    cfg.build_simulator(point)  # validates every argument
    return point


def _values(grid: dict[str, list], config: dict[str, Any]) -> dict[str, Any]:
    """The gridded keys' values in a point's configuration."""
    return {name: config[name] for name in grid}


def _describe(index: int, values: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return f"point {index} ({text})" if text else f"point {index}"
