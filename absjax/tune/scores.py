"""What a tuning run minimises, per parameter point, and its bootstrap CI.

Three objectives, each the median over seeds of a per-seed value (lower is
better; a diverged seed counts as ``inf``):

- ``time``: the simulated time at which the loss first reaches ``target``
  (a seed that never does within the run, a censored seed, is ``inf``);
- ``final``: the loss at the end of the run;
- ``auc``: the area under the log-loss-versus-time curve (a step function of
  the logged rows) divided by the seed's run time: the mean log loss.

>>> OBJECTIVES
('time', 'final', 'auc')
"""

from __future__ import annotations

import numpy as np

OBJECTIVES = ("time", "final", "auc")


def check_objective(objective: str, target: float | None) -> None:
    """Raises ``ValueError`` for an unknown objective or a missing target."""
    if objective not in OBJECTIVES:
        raise ValueError(
            f"score={objective!r} (the objective) must be one of: "
            f"{', '.join(OBJECTIVES)}"
        )
    if objective == "time" and (target is None or not np.isfinite(target)):
        raise ValueError("score='time' needs a finite target loss (target=)")


def per_seed(result, objective: str, target: float | None) -> np.ndarray:
    """Per point and seed, ``(*grid_shape, seeds)``: the objective's value."""
    if objective == "time":
        values = result.time_to_target(target)
    elif objective == "final":
        values = result.loss[..., -1].astype(np.float64)
    else:
        t = result.wall_clock
        dt = np.diff(t, axis=-1, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_loss = np.log(result.loss)
            values = (log_loss * dt).sum(-1) / t[..., -1]
    values = np.where(result.diverged | np.isnan(values), np.inf, values)
    return values


def score(values: np.ndarray) -> np.ndarray:
    """The median over the last (seeds) axis; ``inf`` if half never count."""
    return np.median(values, axis=-1)


def bootstrap(
    values: np.ndarray, replicates: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """The median of ``values`` and its percentile-bootstrap interval.

    The percentile bootstrap of Efron and Tibshirani (*An Introduction to the
    Bootstrap*, 1993).

    Parameters
    ----------
    values : numpy.ndarray
        The per-seed values.
    replicates : int, default 2000
        Bootstrap resamples.
    seed : int, default 0
        Seed of the resampling.
    level : float, default 0.95
        The interval's coverage.

    Returns
    -------
    median, low, high : float
        The median and the interval's ends.

    Examples
    --------
    >>> median, low, high = bootstrap(np.arange(1.0, 21.0), replicates=200)
    >>> float(median), bool(low <= median <= high)
    (10.5, True)
    """
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, values.size, size=(replicates, values.size))
    medians = np.median(values[index], axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail], method="lower")
    return float(np.median(values)), float(low), float(high)
