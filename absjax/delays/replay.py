"""Run-level checks of a replayed trace (``Trace(mode="replay", end="stop")``).

Before anything compiles, :func:`check_rounds` refuses a run that needs more
measured rows than the columns hold for every seed; after a run,
:func:`warn_trace_end` names the seeds that ran out.
"""

from __future__ import annotations

import warnings

import numpy as np

from absjax.delays.traces import Trace


def check_rounds(laws, rounds: int, k: int, every_worker: bool, draws: int = 1) -> None:
    """Refuses a run that needs more rows than a stopping replay holds.

    ``rounds`` rounds aggregate at least ``k`` arrivals each, every one a
    distinct job; with ``every_worker`` (sync, K-sync) every worker
    starts one job per round, so round ``r`` needs job ``r`` of ``k``
    workers. A seed's offset is at least 0 (``start`` when given), so a
    run refused here fails for every seed; one that passes may still run
    out for some seeds (:meth:`absjax.Simulator.run` warns).

    Parameters
    ----------
    laws : list of tuple
        ``(name, law)`` of the delay model's laws.
    rounds : int
        The rounds of the run.
    k : int
        The arrivals each round aggregates at least (K).
    every_worker : bool
        Whether every worker starts one job per round.
    draws : int
        Rows per job of the compute trace (U with summed local steps).

    Raises
    ------
    ValueError
        A replay with ``end="stop"`` whose columns are too short.
    """
    for name, law in laws:
        if not (isinstance(law, Trace) and law.replays and law.end == "stop"):
            continue
        rows = draws if name == "compute" else 1
        start = law.start or 0
        jobs = [(len(x) - start) // rows for x in law.durations]
        source = law.path if law.path is not None else "the durations"
        if every_worker and sum(j >= rounds for j in jobs) < k:
            raise ValueError(
                f"{name} trace {source} (end=stop): rounds={rounds} needs "
                f"{rounds * rows} rows from row {start} in at least {k} "
                f"columns, but only {sum(j >= rounds for j in jobs)} hold as "
                "many; use fewer rounds or end=cycle"
            )
        if not every_worker and sum(jobs) < rounds * k:
            raise ValueError(
                f"{name} trace {source} (end=stop): rounds={rounds} of at "
                f"least k={k} arrivals need {rounds * k} jobs, but the "
                f"columns hold {sum(jobs)} from row {start}; use fewer "
                "rounds or end=cycle"
            )


def warn_trace_end(wall_clock: np.ndarray, seeds: np.ndarray) -> None:
    """Warns about the seeds whose replay ran out (``end="stop"``): their
    wall clock is ``inf`` from the first round that needed a job past the end
    of a column (``wall_clock``: ``(*grid, seeds, logs)``)."""
    ended = ~np.isfinite(np.asarray(wall_clock))
    if not ended.any():
        return
    per_seed = ended.reshape(-1, *ended.shape[-2:]).any(axis=(0, 2))
    which = np.asarray(seeds)[per_seed].tolist()
    warnings.warn(
        f"the replayed trace ran out (end=stop) in {len(which)} of {len(seeds)} "
        f"seeds (seed indices {which[:10]}{' ...' if len(which) > 10 else ''}): "
        "their wall clock is inf from the first round that needed a job past "
        "the end of a column",
        RuntimeWarning,
        stacklevel=3,
    )
