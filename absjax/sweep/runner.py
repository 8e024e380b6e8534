"""Running a sweep, a shard of it, or the merge of its parts; ``absjax sweep``.

A run claims the directory (:mod:`absjax.sweep.directory`, under the locks of
:mod:`absjax.sweep.shards`), checks the parts of its own units that exist,
runs the others and writes each part atomically; then, if it finds every part
of the sweep present (an unsharded run always does; of the shards, the last
one to finish), it checks those it has not checked and writes the result.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from tqdm import tqdm

from absjax import config as cfg
from absjax._spec import split_spec
from absjax.config import UsageError, read_toml
from absjax.io import make_dir
from absjax.sweep import directory, parts
from absjax.sweep.grid import PARTS, Plan, Unit, check_format, plan
from absjax.sweep.shards import WHOLE, Locks, Shard, shard_counts

# Keys a Simulator does not bake into its compiled program: points that differ
# only in these share one Simulator (and ``run`` gets each point's numbers).
# Points differing only in these share one compiled Simulator. Not tau: a
# bounded policy keeps a ring of its last tau + 1 models (engine/models.py).
_SHARED = ("lr", "seed", "seeds")
_LISTED = 4  # missing units named in a message; the rest are counted


class Outcome(NamedTuple):
    """What a run leaves: the result, or the units that still have no part."""

    results: Path | None  # the result file, if this run wrote it
    missing: list[int]  # indices of the units without a part (then no result)
    file_format: str  # the directory's


def run_sweep(
    config: dict[str, Any],
    out: Path,
    progress: bool = True,
    *,
    file_format: str | None = None,
    shard: Shard | str | None = None,
) -> Path | None:
    """Runs (or resumes) a sweep, or one shard of it, into directory ``out``.

    Parameters
    ----------
    config : dict
        The sweep's keys, as in the TOML file (see :mod:`absjax.sweep`).
    out : pathlib.Path
        Output directory: new, empty, or holding this sweep's manifest.
    progress : bool, optional
        Show a progress bar over units on stderr.
    file_format : str, optional
        ``"parquet"`` or ``"csv"``; wins over the ``format`` key. Neither given: the
        directory's, or Parquet for a new one.
    shard : ~absjax.sweep.Shard or str, optional
        ``"i/n"`` or a :class:`Shard`: run only the units ``u`` with ``u % n == i``.
        None: every unit.

    Returns
    -------
    pathlib.Path or None
        The path of the result, or ``None`` if this run was a shard that found other
        shards' units still missing (the last shard writes the result).

    Raises
    ------
    UsageError
        An invalid configuration, a directory that is not this sweep's, a corrupt part
        file (nothing is overwritten), or another run of the same units writing to
        ``out``.
    """
    return _run(config, Path(out), progress, file_format, _shard(shard)).results


def merge_sweep(
    config: dict[str, Any], out: Path, *, file_format: str | None = None
) -> Path:
    """Writes the result of sweep directory ``out`` from its parts.

    Parameters
    ----------
    config : dict
        The sweep's keys, as in the TOML file.
    out : pathlib.Path
        The sweep directory.
    file_format : str, optional
        ``"parquet"`` or ``"csv"`` (default: the directory's).

    Returns
    -------
    pathlib.Path
        The path of the result.

    Raises
    ------
    UsageError
        Units without a part (naming them and their shards), a corrupt part, or a
        directory that is not this sweep's.
    """
    return _run(config, Path(out), False, file_format, None).results


def command(
    config_path: str,
    out: str,
    quiet: bool = False,
    *,
    file_format: str | None = None,
    shard: str | None = None,
    merge: bool = False,
) -> None:
    """``absjax sweep``: reads the TOML file, runs the sweep (a shard, or the
    merge), says what it wrote.

    Parameters
    ----------
    config_path : str
        The TOML file.
    out : str
        The sweep directory.
    quiet : bool, optional
        No progress bar.
    file_format : str, optional
        ``"parquet"`` or ``"csv"``.
    shard : str, optional
        ``"i/n"``: run one shard.
    merge : bool, optional
        Write the result from the parts instead of running.

    Raises
    ------
    UsageError
        As :func:`run_sweep` and :func:`merge_sweep`, naming the file.
    """
    if file_format is not None:
        check_format(file_format)
    chosen = None if merge else _shard(shard)
    path = Path(config_path)
    config = read_toml(path)
    try:
        outcome = _run(config, Path(out), not quiet, file_format, chosen)
    except UsageError as e:
        raise UsageError(f"config file {path}: {e}") from None
    except KeyboardInterrupt:
        print(
            "absjax: interrupted; run the same command again to resume "
            f"(finished units are kept in {Path(out) / PARTS})",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    if outcome.results is not None:
        print(f"wrote {outcome.results}")
        return
    results = directory.results_path(Path(out), outcome.file_format)
    print(
        f"shard {chosen}: its units are done; {len(outcome.missing)} units of "
        f"{_owners(outcome.missing, [chosen.count])} have no part yet: the last "
        f"shard to finish (or absjax sweep --merge) writes {results}"
    )


def _shard(shard: Shard | str | None) -> Shard:
    if shard is None or isinstance(shard, Shard):
        return shard or WHOLE
    return Shard.parse(shard)


def _run(
    config: dict[str, Any],
    out: Path,
    progress: bool,
    file_format: str | None,
    shard: Shard | None,
) -> Outcome:
    """A run of ``shard`` of the sweep, or the merge (``shard=None``)."""
    sweep = plan(config)
    asked = check_format(file_format) if file_format else sweep.file_format
    if out.exists() and not out.is_dir():
        raise UsageError(f"out={str(out)!r} exists and is not a directory")
    if shard is None and not (out / directory.MANIFEST).exists():
        raise directory.nothing_to_merge(out)  # and no directory made
    make_dir(out)
    with Locks(out) as locks:
        file_format = _open(locks, out, sweep, asked, shard)
        files = [out / PARTS / unit.file(file_format) for unit in sweep.units]
        columns = ["point", *sweep.columns.values()]
        mine = [i for i in range(len(files)) if shard and shard.owns(i)]
        done = {i for i in mine if files[i].exists()}
        for i in sorted(done):
            parts.check_part(files[i], sweep.units[i], columns)
        todo = [sweep.units[i] for i in mine if i not in done]
        with tqdm(
            total=len(mine),
            initial=len(done),
            desc="sweep" if shard == WHOLE else f"shard {shard}",
            unit="unit",
            file=sys.stderr,
            disable=not progress or shard is None,
            dynamic_ncols=True,
        ) as bar:
            for unit, frame in _run_units(todo, sweep):
                _write_part(out / PARTS / unit.file(file_format), frame)
                bar.update(1)
        missing = [i for i, file in enumerate(files) if not file.exists()]
        if missing:
            return Outcome(None, missing, file_format)
        for i in sorted(set(range(len(files))) - set(mine)):
            parts.check_part(files[i], sweep.units[i], columns)  # others' parts
        results = directory.results_path(out, file_format)
        parts.write_results(results, files)
    return Outcome(results, [], file_format)


def _open(
    locks: Locks, out: Path, sweep: Plan, asked: str | None, shard: Shard | None
) -> str:
    """Claims ``out`` for ``shard`` (or the merge): the locks, the manifest and
    the leftovers; returns the directory's file format."""
    locks.directory()
    directory.check_not_foreign(out)  # before the claim lock's file is made
    claim = locks.claim()
    try:
        file_format = directory.claim(out, sweep, asked, create=shard is not None)
        if shard is None:
            missing = [
                i
                for i, unit in enumerate(sweep.units)
                if not (out / PARTS / unit.file(file_format)).exists()
            ]
            if missing:  # refused before anything is written
                raise UsageError(_missing(out, sweep, missing))
            locks.merge()
        else:
            locks.shard(shard)
        (out / PARTS).mkdir(exist_ok=True)
        own = {
            unit.file(file_format)
            for i, unit in enumerate(sweep.units)
            if shard and shard.owns(i)
        }
        whole = shard in (WHOLE, None)  # an unsharded run or a merge
        directory.remove_leftovers(out, own, everything=whole and locks.alone())
    finally:
        locks.release(claim)
    return file_format


def _missing(out: Path, sweep: Plan, missing: list[int]) -> str:
    """The one-line error of a merge with units that have no part."""
    named = ", ".join(
        f"unit {i} ({sweep.units[i].describe()})" for i in missing[:_LISTED]
    )
    more = f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
    counts = shard_counts(out)
    owners = f" of {_owners(missing, counts)}" if counts else ""
    return (
        f"cannot merge: {len(missing)} of {len(sweep.units)} units have no part "
        f"yet: {named}{more}{owners}; run them first (absjax sweep with the same "
        "--config and --out, and --shard i/n for a shard)"
    )


def _owners(missing: list[int], counts: list[int]) -> str:
    """The shards that own units ``missing``, for each shard count in ``counts``:
    ``shards 1/4, 3/4 or shard 1/2``."""
    groups = []
    for n in counts:
        owners = sorted({i % n for i in missing})
        noun = "shard" if len(owners) == 1 else "shards"
        groups.append(f"{noun} {', '.join(f'{s}/{n}' for s in owners)}")
    return " or ".join(groups)


def _run_units(units: list[Unit], sweep: Plan) -> Iterator[tuple[Unit, pd.DataFrame]]:
    """Runs each unit and yields its rows.

    Points with the same static configuration run on the Simulator of the
    first such point (one compiled program, whichever units remain), with
    their own numbers.
    """
    statics = [json.dumps(_static(c), sort_keys=True) for c in sweep.points]
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
        yield unit, pd.concat([sweep.keys(unit.point, len(frame)), frame], axis=1)


def _static(config: dict[str, Any]) -> dict[str, Any]:
    """What a point's Simulator bakes into its program: the configuration
    without the shared keys, and of the weight only its name (its numbers,
    such as ``delay_capped:c=...``, are in the params)."""
    static = {k: v for k, v in config.items() if k not in _SHARED}
    static["weight"] = split_spec(config["weight"])[0]
    return static


def _write_part(path: Path, frame: pd.DataFrame) -> None:
    parts.write_part(path, frame)
