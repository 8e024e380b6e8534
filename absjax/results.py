"""Simulation results: logged rows as arrays, tidy tables, curves, targets.

Every array has shape ``(*grid_shape, seeds, logs)``. A row at round ``r``
summarises the rounds since the previous row: counts are sums over that window,
``staleness_mean``/``staleness_max`` are over the updates aggregated in it, and
``wall_clock``, ``loss``, ``k``, ``tau`` are values at round ``r`` (``tau`` is the
bound in force for that round's aggregation, ``inf`` when unbounded).

Seeds whose model became non-finite are *diverged*: ``diverged_round`` holds
the first such round (``-1`` otherwise) and they are left out of mean curves and
target statistics, never averaged in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from absjax.policies import UNBOUNDED

METRICS = (
    "round",
    "wall_clock",
    "loss",
    "k",
    "tau",
    "staleness_mean",
    "staleness_max",
    "uploads",
    "downloads",
    "jobs_started",
    "jobs_aggregated",
    "jobs_wasted",
    "idle_time",
)


@dataclasses.dataclass
class Result:
    """Logged metrics of a (possibly gridded) batch of simulated seeds.

    Attributes:
      metrics: name -> array ``(*grid_shape, seeds, logs)``.
      diverged_round: ``(*grid_shape, seeds)`` int, first non-finite round or -1.
      seeds: global seed indices (``(seeds,)``).
      grid: name -> values of each grid axis, in axis order.
      num_workers, policy, seed: the run's configuration.
      metric_name: name of the test metric column, if the objective has one.
      history: per-round diagnostics and models, when run with ``history=True``.
    """

    metrics: dict[str, np.ndarray]
    diverged_round: np.ndarray
    seeds: np.ndarray
    grid: dict[str, np.ndarray]
    num_workers: int
    policy: str
    seed: int
    metric_name: str | None = None
    history: Any = None

    @classmethod
    def from_rows(
        cls,
        rows,
        diverged,
        *,
        num_workers,
        policy,
        grid,
        grid_shape,
        seeds,
        seed,
        metric_name,
        history,
    ) -> Result:
        """Builds a Result from the engine's stacked ``LogRow`` arrays."""
        aggregated = rows.aggregated.astype(np.int64)
        started = rows.started.astype(np.int64).copy()
        downloads = rows.downloads.astype(np.int64).copy()
        started[..., 0] += num_workers  # the initial jobs, started at time 0
        downloads[..., 0] += num_workers
        tau = rows.tau.astype(np.float64)
        tau[rows.tau >= UNBOUNDED] = np.inf
        metrics = {
            "round": rows.round.astype(np.int64),
            "wall_clock": rows.clock.astype(np.float64)
            - rows.clock_error.astype(np.float64),
            "loss": rows.loss.astype(np.float64),
            "k": rows.k.astype(np.int64),
            "tau": tau,
            "staleness_mean": rows.staleness_sum / np.maximum(aggregated, 1),
            "staleness_max": rows.staleness_max.astype(np.int64),
            "uploads": rows.uploads.astype(np.int64),
            "downloads": downloads,
            "jobs_started": started,
            "jobs_aggregated": aggregated,
            "jobs_wasted": rows.wasted.astype(np.int64),
            "idle_time": rows.idle.astype(np.float64),
        }
        if metric_name:
            metrics[metric_name] = rows.metric.astype(np.float64)
        return cls(
            metrics=metrics,
            diverged_round=diverged,
            seeds=seeds,
            grid=grid,
            num_workers=num_workers,
            policy=policy,
            seed=seed,
            metric_name=metric_name,
            history=history,
        )

    def __getattr__(self, name: str) -> np.ndarray:
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(name)

    @property
    def diverged(self) -> np.ndarray:
        """``(*grid_shape, seeds)`` bool: the model became non-finite."""
        return self.diverged_round >= 0

    def to_dataframe(self) -> pd.DataFrame:
        """Tidy rows: one per (grid point, seed, logged round).

        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> df = sim.run(seeds=3).to_dataframe()
        >>> len(df), list(df.columns[:4])
        (6, ['policy', 'seed', 'round', 'wall_clock'])
        """
        shape = self.metrics["loss"].shape
        index = np.indices(shape).reshape(len(shape), -1)
        columns: dict[str, Any] = {"policy": self.policy}
        for axis, (name, values) in enumerate(self.grid.items()):
            columns[name] = np.asarray(values)[index[axis]]
        columns["seed"] = self.seeds[index[-2]]
        for name, values in self.metrics.items():
            columns[name] = values.reshape(-1)
        columns["diverged"] = self.diverged.reshape(-1).repeat(shape[-1])
        return pd.DataFrame(columns)

    def round_time(self) -> np.ndarray:
        """Mean round length per seed, ``(*grid_shape, seeds)``."""
        return self.metrics["wall_clock"][..., -1] / self.metrics["round"][..., -1]

    def time_to_target(self, target: float, metric: str = "loss") -> np.ndarray:
        """Wall clock at the first logged row with ``metric <= target``.

        ``inf`` where never reached (or diverged); shape ``(*grid_shape, seeds)``.
        """
        return self._first_crossing(target, metric, "wall_clock")

    def rounds_to_target(self, target: float, metric: str = "loss") -> np.ndarray:
        """Communication rounds at the first logged row with ``metric <= target``."""
        return self._first_crossing(target, metric, "round")

    def _first_crossing(self, target, metric, at):
        values = self.metrics[metric]
        hit = values <= target
        first = np.argmax(hit, axis=-1)
        reached = hit.any(axis=-1) & ~self.diverged
        x = np.take_along_axis(self.metrics[at], first[..., None], axis=-1)[..., 0]
        return np.where(reached, x.astype(np.float64), np.inf)

    def mean_curve(
        self,
        metric: str = "loss",
        x: str = "wall_clock",
        points: int = 100,
        grid_index: tuple[int, ...] = (),
    ):
        """Mean and 95% band of ``metric`` across seeds on a common ``x`` grid.

        On the wall clock, each seed's value at time ``x`` is its last logged
        value at or before ``x`` (a step function); the grid runs from the
        latest first logged time to the earliest final one, so every seed
        contributes at every point. Diverged
        seeds are left out (the count is in the ``seeds`` column).

        Returns:
          DataFrame with columns ``x, mean, lower, upper, seeds``; the band is
          ``mean +- 1.96 * standard error``.
        """
        y = self.metrics[metric][grid_index]
        xs = self.metrics[x][grid_index]
        keep = ~self.diverged[grid_index]
        y, xs = y[keep], xs[keep]
        if y.shape[0] == 0:
            return pd.DataFrame(columns=[x, "mean", "lower", "upper", "seeds"])
        if x == "round":
            grid, values = xs[0].astype(np.float64), y
        else:
            grid = np.linspace(xs[:, 0].max(), xs[:, -1].min(), points)
            pos = np.stack([np.searchsorted(row, grid, side="right") - 1 for row in xs])
            values = np.where(
                pos >= 0, np.take_along_axis(y, np.maximum(pos, 0), 1), np.nan
            )
        mean = np.nanmean(values, axis=0) if values.size else values
        count = np.sum(~np.isnan(values), axis=0)
        std = np.nanstd(values, axis=0, ddof=1) if values.shape[0] > 1 else 0 * mean
        half = 1.96 * std / np.sqrt(np.maximum(count, 1))
        return pd.DataFrame(
            {
                x: grid,
                "mean": mean,
                "lower": mean - half,
                "upper": mean + half,
                "seeds": count,
            }
        )

    def summary(self) -> dict[str, Any]:
        """Headline numbers with 95% confidence intervals (non-diverged seeds)."""
        keep = ~self.diverged

        def ci(values):
            values = np.asarray(values, np.float64).reshape(-1)
            values = values[np.isfinite(values)]
            if values.size == 0:
                return (np.nan, np.nan)
            se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
            return (float(values.mean()), float(1.96 * se))

        rounds = self.metrics["round"][..., -1]
        return {
            "seeds": int(keep.size),
            "diverged": int((~keep).sum()),
            "round_time": ci(self.round_time()),
            "staleness_mean": ci(self.metrics["staleness_mean"].mean(-1)),
            "staleness_max": int(self.metrics["staleness_max"].max()),
            "wasted_per_round": ci(self.metrics["jobs_wasted"].sum(-1) / rounds),
            "final_loss": ci(self.metrics["loss"][..., -1][keep]),
        }
