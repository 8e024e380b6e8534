"""The abstract's claims as statistics: effects, bootstrap intervals, verdicts.

Pure functions of per-seed numbers (NumPy only), so the verdict logic can be
tested on known effects. A *time* is a seed's time-to-target (or
rounds-to-target): positive, ``inf`` when the seed never reached the target
within the budget. A diverged seed (``nan`` from ``Result.time_to_target``)
counts as never reaching it (:func:`as_times`).

**Effect.** For ABS against one baseline the effect is the ratio of median
times ``median(baseline) / median(ABS)``: above 1 ABS is faster (reaches the
target in less time or in fewer rounds). Medians are well defined with
``inf`` entries (a method whose median seed never reached the target has an
``inf`` median); the ratio of two ``inf`` medians is defined as 1 (neither
reaches the target: a tie), ``inf / finite = inf`` and ``finite / inf = 0``.

**Interval.** A paired percentile bootstrap over seeds: the evaluation seeds
of both methods share their indices (the same global seed index, hence the
same stream of job durations where the policies consume them alike), so each
replicate resamples seed indices once and takes both medians on them. The
95% interval is the 2.5% and 97.5% percentiles of the replicate ratios
(percentiles of a sample that may hold ``inf`` are well defined; with
``method="lower"``/``"higher"`` no interpolation mixes ``inf`` with a finite
number). The generator is seeded, so the interval is deterministic.

**Verdict.** ``supported`` when the whole interval lies on ABS's side (lower
end > 1), ``not supported`` when it lies wholly on the other side (upper end
< 1), otherwise ``inconclusive`` (it contains 1, ties included).
"""

from __future__ import annotations

import dataclasses

import numpy as np

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"


def as_times(values) -> np.ndarray:
    """Per-seed times as float64, ``nan`` (diverged) mapped to ``inf``."""
    values = np.asarray(values, np.float64).reshape(-1)
    if np.any(values <= 0):
        raise ValueError("times to target must be > 0 (inf: never reached)")
    return np.where(np.isnan(values), np.inf, values)


def ratio(numerator, denominator) -> np.ndarray:
    """``numerator / denominator`` of positive medians, with ``inf / inf = 1``."""
    numerator = np.asarray(numerator, np.float64)
    denominator = np.asarray(denominator, np.float64)
    both_inf = np.isinf(numerator) & np.isinf(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / denominator
    return np.where(both_inf, 1.0, out)


def median(values, axis=-1) -> np.ndarray:
    """``np.median``: ``inf`` when the upper middle value is ``inf``, i.e. when
    at least half of the seeds (more than half, for an odd count) never
    reached the target."""
    return np.median(np.asarray(values, np.float64), axis=axis)


def verdict(lower: float, upper: float) -> str:
    """The verdict of an interval for a ratio ``baseline / ABS`` (above 1: ABS
    better)."""
    if np.isnan(lower) or np.isnan(upper):
        return INCONCLUSIVE
    if lower > 1.0:
        return SUPPORTED
    if upper < 1.0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def _bootstrap_indices(n: int, replicates: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(replicates, n))


def median_ci(
    values, replicates: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Median of per-seed times and its percentile-bootstrap interval."""
    values = as_times(values)
    index = _bootstrap_indices(values.size, replicates, seed)
    boot = median(values[index])
    alpha = (1.0 - level) / 2.0
    return (
        float(median(values)),
        float(np.quantile(boot, alpha, method="lower")),
        float(np.quantile(boot, 1.0 - alpha, method="higher")),
    )


@dataclasses.dataclass(frozen=True)
class Effect:
    """ABS against one baseline on one metric."""

    abs_median: float
    baseline_median: float
    ratio: float  # median(baseline) / median(ABS); > 1: ABS better
    lower: float
    upper: float
    seeds: int  # paired seeds (each method ran the same seed indices)
    abs_reached: float  # share of ABS seeds that reached the target
    baseline_reached: float

    @property
    def verdict(self) -> str:
        return verdict(self.lower, self.upper)


def effect(
    abs_times,
    baseline_times,
    replicates: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Effect:
    """Effect of ABS against a baseline, with a paired bootstrap interval.

    ``abs_times[i]`` and ``baseline_times[i]`` are the times of the same seed
    index under the two methods.

    >>> e = effect([1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], replicates=200)
    >>> e.ratio, e.verdict
    (2.0, 'supported')
    """
    a, b = as_times(abs_times), as_times(baseline_times)
    if a.shape != b.shape or a.size < 2:
        raise ValueError(
            "abs_times and baseline_times must hold the same seeds (at least 2), "
            f"got {a.size} and {b.size}"
        )
    index = _bootstrap_indices(a.size, replicates, seed)
    boot = ratio(median(b[index]), median(a[index]))
    alpha = (1.0 - level) / 2.0
    return Effect(
        abs_median=float(median(a)),
        baseline_median=float(median(b)),
        ratio=float(ratio(median(b), median(a))),
        lower=float(np.quantile(boot, alpha, method="lower")),
        upper=float(np.quantile(boot, 1.0 - alpha, method="higher")),
        seeds=int(a.size),
        abs_reached=float(np.isfinite(a).mean()),
        baseline_reached=float(np.isfinite(b).mean()),
    )
