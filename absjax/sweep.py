"""Resumable parameter sweeps: ``absjax sweep --config sweep.toml --out DIR``.

A sweep runs the cartesian product of a grid of ``absjax simulate``
configurations, each over the same number of seeds, and streams the rows to
disk as it goes, so that an interrupted sweep (Ctrl-C, a crash, ``kill -9``)
resumes where it stopped and ends with exactly the rows of an uninterrupted
run. The TOML file holds the keys of ``absjax simulate``
(:data:`absjax.config.DEFAULTS`, same names, same conversion and validation) as
fixed values, a ``[grid]`` table of lists of values for any of those keys,
``seeds`` (seeds per grid point) and ``chunk_seeds`` (seeds per unit of work)::

    workers = 16
    objective = "linreg:dim=100,samples=4096,batch=32"
    seeds = 1024
    chunk_seeds = 256

    [grid]
    policy = ["k_sync", "k_async"]
    k = [2, 4, 8]
    lr = [0.05, 0.1]

Points are numbered in the order of ``itertools.product`` over the grid's keys
in file order (the last key varies fastest). Every point's Simulator is built,
and so validated, before anything is run or written. The work is split into
units, one grid point times ``chunk_seeds`` consecutive seeds; a unit runs
``Simulator.run(seeds, seed, seed_offset=first seed)``, and since a seed's keys
derive from its global index, the rows are those of one run over all seeds.
Points that differ only in the learning rate, tau or the base seed share one
Simulator and hence one compiled program.

The output directory::

    DIR/manifest.json   version, configuration, points, units, fingerprint
    DIR/parts/point-0003-seeds-000256-000511.csv   one finished unit
    DIR/results.csv     all parts in unit order (written at the end)

Every file is written atomically (a temporary file renamed into place) and
the manifest first, so a killed sweep leaves only finished parts and
temporary files, which the next run removes. Re-running the same command skips
the units whose part exists, after checking its header, rows and seeds. A
directory that is not empty and has no manifest, a manifest of another
configuration or absjax version, a corrupt part, or another sweep writing to
the same directory (an advisory lock) stops the sweep with a one-line error
before anything is overwritten.

From Python, ``run_sweep(config, Path("DIR"))`` takes the TOML file's keys as
a dict and returns the path of ``results.csv``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from absjax import config as cfg
from absjax._validate import check_int
from absjax._version import __version__
from absjax.config import DEFAULTS, UsageError, convert, read_toml
from absjax.io import atomic_write, make_dir
from absjax.results import METRICS

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, concurrent sweeps go unnoticed
    fcntl = None

CHUNK_SEEDS = 256  # default seeds per unit: a few seconds of work per part file
MANIFEST = "manifest.json"
RESULTS = "results.csv"
PARTS = "parts"
FORMAT = 1  # version of the directory layout, recorded in the manifest
# Keys a Simulator does not bake into its compiled program: points that differ
# only in these share one Simulator (and ``run`` gets each point's numbers).
_SHARED = ("lr", "tau", "seed", "seeds")
# Columns of Result.to_dataframe that a gridded key of the same name would
# shadow: such keys get the prefix ``config_`` (e.g. ``config_k``).
_RESULT_COLUMNS = frozenset({"policy", "seed", "diverged", *METRICS})


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of work: ``seeds`` consecutive seeds of one grid point."""

    point: int  # index of the grid point
    first: int  # global index of the first seed
    seeds: int  # number of seeds
    rows: int  # rows of its part file: seeds x logged rounds

    @property
    def name(self) -> str:
        last = self.first + self.seeds - 1
        return f"point-{self.point:04d}-seeds-{self.first:06d}-{last:06d}.csv"


@dataclasses.dataclass(frozen=True)
class Plan:
    """A validated, expanded sweep: its points, units and fingerprint."""

    grid: dict[str, list]  # gridded key -> converted values, in file order
    columns: dict[str, str]  # gridded key -> its column in the part files
    points: list[dict[str, Any]]  # full simulate configuration of each point
    seeds: int  # seeds per point
    chunk_seeds: int  # seeds per unit
    units: list[Unit]  # point-major, seeds ascending
    fingerprint: str  # SHA-256 of the grid, the points and chunk_seeds

    def manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
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
                    "file": f"{PARTS}/{u.name}",
                }
                for u in self.units
            ],
        }

    def describe(self, point: int) -> str:
        return _describe(point, _values(self.grid, self.points[point]))


def plan(config: dict[str, Any]) -> Plan:
    """Validates and expands a sweep configuration (the TOML file's mapping).

    Every point's Simulator is built, so every error is found here, before
    anything runs.

    Raises:
      UsageError: naming the key, or the point and its argument.
    """
    fixed: dict[str, Any] = {}
    grid: dict[str, list] = {}
    chunk_seeds: Any = CHUNK_SEEDS
    for key, value in config.items():
        name = key.replace("-", "_")
        if name == "grid":
            grid = _grid(value)
        elif name == "chunk_seeds":
            chunk_seeds = value
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
    )


def run_sweep(config: dict[str, Any], out: Path, progress: bool = True) -> Path:
    """Runs (or resumes) a sweep into directory ``out``; returns its results.csv.

    Args:
      config: the sweep's keys, as in the TOML file (see the module docstring).
      out: output directory: new, empty, or holding this sweep's manifest.
      progress: show a progress bar over units on stderr.

    Raises:
      UsageError: an invalid configuration, a directory that is not this
        sweep's, or a corrupt part file (nothing is overwritten).
    """
    sweep = plan(config)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out={str(out)!r} exists and is not a directory")
    make_dir(out)
    with _locked(out):
        _claim(out, sweep)
        parts = out / PARTS
        parts.mkdir(exist_ok=True)
        for tmp in _temporary(parts, "point-*.csv"):
            tmp.unlink()
        done = {u for u in sweep.units if (parts / u.name).exists()}
        for unit in sweep.units:
            if unit in done:
                _check_part(parts / unit.name, unit, sweep)
        todo = [u for u in sweep.units if u not in done]
        with tqdm(
            total=len(sweep.units),
            initial=len(done),
            desc="sweep",
            unit="unit",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        ) as bar:
            for unit, frame in _run_units(todo, sweep):
                _write_part(parts / unit.name, frame)
                bar.update(1)
        results = out / RESULTS
        _write_results(results, [parts / u.name for u in sweep.units])
    return results


def command(config_path: str, out: str, quiet: bool = False) -> None:
    """``absjax sweep``: reads the TOML file, runs the sweep, says where it wrote."""
    path = Path(config_path)
    config = read_toml(path)
    try:
        results = run_sweep(config, Path(out), progress=not quiet)
    except UsageError as e:
        raise UsageError(f"config file {path}: {e}") from None
    except KeyboardInterrupt:
        print(
            "absjax: interrupted; run the same command again to resume "
            f"(finished units are kept in {Path(out) / PARTS})",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    print(f"wrote {results}")


# ----------------------------------------------------------------- the config
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
    known = sorted({*DEFAULTS, "grid", "chunk_seeds"} - {"out"})
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


# -------------------------------------------------------------- the directory
@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``out`` (released when the process dies)."""
    if fcntl is None:
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another sweep is writing to {str(out)!r}") from None
        yield
    finally:
        os.close(fd)


def _temporary(directory: Path, name: str) -> list[Path]:
    """Temporary files that ``atomic_write`` leaves for ``name`` if killed."""
    return sorted(directory.glob(f".{name}.*.tmp"))


def _claim(out: Path, sweep: Plan) -> None:
    """Checks that ``out`` is new, empty or this sweep's; writes the manifest."""
    manifest = out / MANIFEST
    if not manifest.exists():
        leftovers = set(_temporary(out, MANIFEST))
        if any(entry not in leftovers for entry in out.iterdir()):
            raise UsageError(
                f"{str(out)!r} is not empty and has no {MANIFEST}: it is not a "
                "sweep directory; pick another --out"
            )
        for tmp in leftovers:
            tmp.unlink()
        text = json.dumps(sweep.manifest(), indent=1) + "\n"
        atomic_write(manifest, lambda tmp: tmp.write_text(text))
        return
    try:
        recorded = json.loads(manifest.read_text())
        fingerprint, version = recorded["fingerprint"], recorded["absjax_version"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise UsageError(
            f"{str(manifest)!r} is not a sweep manifest; pick another --out or "
            "delete the directory"
        ) from None
    if fingerprint != sweep.fingerprint:
        raise UsageError(
            f"{str(out)!r} holds a sweep of another configuration (fingerprint "
            f"{str(fingerprint)[:12]}, this one {sweep.fingerprint[:12]}); pick "
            "another --out or delete the directory"
        )
    if version != __version__:
        raise UsageError(
            f"{str(out)!r} holds a sweep made by absjax {version}, this is "
            f"{__version__} (results could differ); pick another --out or delete "
            "the directory"
        )
    for tmp in _temporary(out, MANIFEST) + _temporary(out, RESULTS):
        tmp.unlink()


# ------------------------------------------------------------------ the work
def _run_units(units: list[Unit], sweep: Plan) -> Iterator[tuple[Unit, pd.DataFrame]]:
    """Runs each unit and yields its rows.

    Points with the same static configuration run on the Simulator of the
    first such point (one compiled program, whichever units remain), with
    their own numbers.
    """
    statics = [
        json.dumps({k: v for k, v in c.items() if k not in _SHARED}, sort_keys=True)
        for c in sweep.points
    ]
    shared: dict[str, Any] = {}  # static configuration -> Simulator
    point, params = -1, None  # the current point and its numbers
    for unit in units:
        config, static = sweep.points[unit.point], statics[unit.point]
        if static not in shared:
            first = sweep.points[statics.index(static)]
            shared[static] = cfg.build_simulator(first)
        if unit.point != point:
            point, params = unit.point, cfg.build_simulator(config).params
        try:
            result = shared[static].run(
                seeds=unit.seeds,
                seed=config["seed"],
                seed_offset=unit.first,
                params=params,
            )
        except ValueError as e:
            raise UsageError(f"{sweep.describe(unit.point)}: {e}") from None
        frame = result.to_dataframe()
        frame.insert(0, "point", unit.point)
        for i, (name, column) in enumerate(sweep.columns.items()):
            frame.insert(1 + i, column, config[name])
        yield unit, frame


def _write_part(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _check_part(path: Path, unit: Unit, sweep: Plan) -> None:
    """Checks a finished unit's part file: header, rows, point and seeds.

    Raises:
      UsageError: the file is corrupt.
    """

    def corrupt(why: str) -> UsageError:
        return UsageError(
            f"part file {str(path)!r} is corrupt ({why}); delete it to rerun its "
            "unit, or pick another --out"
        )

    try:
        with path.open(newline="") as f:
            header, *rows = list(csv.reader(f)) or [[]]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise corrupt(f"unreadable: {e}") from None
    expected = ["point", *sweep.columns.values()]
    if header[: len(expected)] != expected or "seed" not in header:
        raise corrupt(f"its columns do not start with {expected} or lack 'seed'")
    if len(rows) != unit.rows or any(len(row) != len(header) for row in rows):
        raise corrupt(f"{len(rows)} rows instead of {unit.rows}, or ragged rows")
    point, seed = header.index("point"), header.index("seed")
    seeds = {str(i) for i in range(unit.first, unit.first + unit.seeds)}
    if {row[point] for row in rows} != {str(unit.point)} or {
        row[seed] for row in rows
    } != seeds:
        raise corrupt("its point or seed indices are not the unit's")


def _write_results(path: Path, parts: list[Path]) -> None:
    """Concatenates the parts in unit order, as text, one row at a time.

    The columns are the union of the parts' (an objective with a test metric
    adds one); a part without a column leaves it empty. Cells are copied as
    written, so the numbers are exactly those of the parts.
    """
    columns: dict[str, None] = {}
    for part in parts:
        with part.open(newline="") as f:
            columns.update(dict.fromkeys(next(csv.reader(f))))

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, list(columns), lineterminator="\n")
            writer.writeheader()
            for part in parts:
                with part.open(newline="") as rows:
                    writer.writerows(csv.DictReader(rows))

    atomic_write(path, write)
