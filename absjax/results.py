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

from absjax._vocabulary import METRICS, UNBOUNDED  # noqa: F401 (METRICS: public here)


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
        """Builds a Result from the engine's stacked ``LogRow`` arrays (whose
        names are the metrics', :data:`METRICS`)."""
        aggregated = rows.jobs_aggregated.astype(np.int64)
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
        }
        for name in ("uploads", "downloads", "jobs_started"):
            metrics[name] = getattr(rows, name).astype(np.int64)
        metrics["jobs_aggregated"] = aggregated
        for name in ("jobs_wasted", "jobs_discarded", "jobs_dropped"):
            metrics[name] = getattr(rows, name).astype(np.int64)
        for name in ("idle_time", "loss_estimate"):
            metrics[name] = getattr(rows, name).astype(np.float64)
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
        """Wall clock at the first logged row where ``metric`` reaches ``target``.

        The loss reaches it from above (``<=``), the test metric (an accuracy)
        from below (``>=``). ``inf`` where a finite run never reached it, ``nan``
        for diverged seeds (left out, not counted as failures); shape
        ``(*grid_shape, seeds)``.
        """
        return self._first_crossing(target, metric, "wall_clock")

    def rounds_to_target(self, target: float, metric: str = "loss") -> np.ndarray:
        """Communication rounds at the first crossing; see :meth:`time_to_target`."""
        return self._first_crossing(target, metric, "round")

    def _first_crossing(self, target, metric, at):
        if metric not in self.metrics or metric in ("round", "wall_clock"):
            raise ValueError(f"metric={metric!r} must be 'loss' or the test metric")
        values = self.metrics[metric]
        hit = values >= target if metric == self.metric_name else values <= target
        first = np.argmax(hit, axis=-1)
        x = np.take_along_axis(self.metrics[at], first[..., None], axis=-1)[..., 0]
        x = np.where(hit.any(axis=-1), x.astype(np.float64), np.inf)
        return np.where(self.diverged, np.nan, x)

    def _grid_point(self, grid_index: tuple[int, ...]) -> tuple[int, ...]:
        if len(grid_index) != len(self.grid):
            raise ValueError(
                f"grid_index={grid_index} must select one point of the "
                f"grid {list(self.grid)} (one index per axis)"
            )
        return tuple(grid_index)

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
        contributes at every point. Diverged seeds are left out (the count is
        in the ``seeds`` column). A gridded result needs ``grid_index``.

        Returns:
          DataFrame with columns ``x, mean, lower, upper, seeds``; the band is
          ``mean +- 1.96 * standard error``.
        """
        if x not in ("wall_clock", "round"):
            raise ValueError(f"x={x!r} must be 'wall_clock' or 'round'")
        if isinstance(points, bool) or not isinstance(points, int) or points < 2:
            raise ValueError(f"points={points!r} must be an integer >= 2")
        index = self._grid_point(grid_index)
        y = self.metrics[metric][index]
        xs = self.metrics[x][index]
        keep = ~self.diverged[index]
        y, xs = y[keep], xs[keep]
        if y.shape[0] == 0:
            return pd.DataFrame(columns=[x, "mean", "lower", "upper", "seeds"])
        if x == "round":
            grid, values = xs[0].astype(np.float64), y
        else:
            start, stop = xs[:, 0].max(), xs[:, -1].min()
            if start > stop:
                raise ValueError(
                    "the seeds' logged wall-clock ranges do not overlap (latest "
                    f"first row {start:.4g} > earliest last row {stop:.4g}): log "
                    "more often (smaller log_every) or run more rounds"
                )
            grid = np.linspace(start, stop, points)
            pos = np.stack([np.searchsorted(row, grid, side="right") - 1 for row in xs])
            values = np.take_along_axis(y, pos, 1)
        mean = values.mean(axis=0)
        count = np.full(mean.shape, values.shape[0])
        std = values.std(axis=0, ddof=1) if values.shape[0] > 1 else 0 * mean
        half = 1.96 * std / np.sqrt(count)
        return pd.DataFrame(
            {
                x: grid,
                "mean": mean,
                "lower": mean - half,
                "upper": mean + half,
                "seeds": count,
            }
        )

    def summary(self, grid_index: tuple[int, ...] = ()) -> dict[str, Any]:
        """Headline numbers with 95% confidence intervals over seeds.

        Timing, staleness and waste use every seed (their timing does not depend
        on the model); the final loss uses the non-diverged seeds only, and
        ``diverged`` counts the others. A gridded result needs ``grid_index``.
        """
        index = self._grid_point(grid_index)
        metrics = {name: values[index] for name, values in self.metrics.items()}
        keep = ~self.diverged[index]

        def ci(values):
            values = np.asarray(values, np.float64).reshape(-1)
            if values.size == 0:
                return (np.nan, np.nan)
            se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
            return (float(values.mean()), float(1.96 * se))

        rounds = metrics["round"][..., -1]
        return {
            "seeds": int(keep.size),
            "diverged": int((~keep).sum()),
            "round_time": ci(metrics["wall_clock"][..., -1] / rounds),
            "staleness_mean": ci(metrics["staleness_mean"].mean(-1)),
            "staleness_max": int(metrics["staleness_max"].max()),
            "wasted_per_round": ci(metrics["jobs_wasted"].sum(-1) / rounds),
            "final_loss": ci(metrics["loss"][..., -1][keep]),
        }
