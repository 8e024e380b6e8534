"""Simulation results: logged rows as arrays, tidy tables, curves, targets.

Every array has shape ``(*grid_shape, seeds, logs)``. A row at round ``r``
summarises the rounds since the previous row: counts are sums over that window,
``staleness_mean``/``staleness_max`` are over the updates aggregated in it, and
``wall_clock``, ``loss``, ``k``, ``tau`` are values at round ``r`` (``tau`` is the
bound in force for that round's aggregation, ``inf`` when unbounded).

Seeds whose model became non-finite are *diverged*: ``diverged_round`` holds
the first such round (``-1`` otherwise) and they are left out of mean curves and
target statistics, never averaged in.

A Result is also an N-d array set: :meth:`Result.to_xarray` names its
dimensions (each grid axis, ``seed``, ``log``), :meth:`Result.save` writes it to
one NetCDF file and :func:`load` reads it back (:mod:`absjax.store`);
:meth:`Result.concat` joins blocks of seeds run apart (by several calls,
processes or hosts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from absjax import store
from absjax._vocabulary import METRICS, UNBOUNDED  # noqa: F401 (METRICS: public here)


@dataclasses.dataclass
class Result:
    """Logged metrics of a (possibly gridded) batch of simulated seeds.

    Every metric is also an attribute (``result.loss`` is
    ``result.metrics["loss"]``).

    Attributes
    ----------
    metrics : dict
        Name -> array ``(*grid_shape, seeds, logs)``.
    diverged_round : numpy.ndarray
        ``(*grid_shape, seeds)`` int, first non-finite round or -1.
    seeds : numpy.ndarray
        Global seed indices (``(seeds,)``).
    grid : dict
        Name -> values of each grid axis, in axis order.
    num_workers, policy, seed : int, str, int
        The run's configuration.
    metric_name : str or None
        Name of the test metric column, if the objective has one.
    history : object
        Per-round diagnostics and models, when run with ``history=True``
        (never saved, nor concatenated).
    config : dict
        A JSON-able description of the run (policy, delay, objective, lr,
        rounds, ..., ``seed_offset``, ``chunk``, the numbers ``params``, the
        absjax and jax versions), from :meth:`Simulator.describe
        <absjax.Simulator.describe>`; empty for a Result built by hand.
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
    config: dict[str, Any] = dataclasses.field(default_factory=dict)

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
        config=None,
    ) -> Result:
        """Build a Result from the engine's stacked ``LogRow`` arrays.

        Their names are the metrics' (``METRICS``).

        Parameters
        ----------
        rows : ~absjax.engine.LogRow
            Stacked rows, each field ``(*grid_shape, seeds, logs)``.
        diverged : numpy.ndarray
            ``(*grid_shape, seeds)`` int, the first non-finite round or -1.
        num_workers, policy, grid, seeds, seed, metric_name, history, config
            As the attributes of the same names (``config`` default: empty).
        grid_shape : tuple of int
            The grid's shape (``()`` without a grid).

        Returns
        -------
        ~absjax.Result
        """
        aggregated = rows.jobs_aggregated.astype(np.int64, copy=False)
        tau = rows.tau.astype(np.float64)
        tau[rows.tau >= UNBOUNDED] = np.inf
        metrics = {
            "round": rows.round.astype(np.int64, copy=False),
            "wall_clock": rows.clock.astype(np.float64, copy=False)
            - rows.clock_error.astype(np.float64, copy=False),
            "loss": rows.loss.astype(np.float64, copy=False),
            "k": rows.k.astype(np.int64, copy=False),
            "tau": tau,
            "staleness_mean": rows.staleness_sum / np.maximum(aggregated, 1),
            "staleness_max": rows.staleness_max.astype(np.int64, copy=False),
        }
        for name in ("uploads", "downloads", "jobs_started"):
            metrics[name] = getattr(rows, name).astype(np.int64, copy=False)
        metrics["jobs_aggregated"] = aggregated
        for name in ("jobs_wasted", "jobs_discarded", "jobs_dropped"):
            metrics[name] = getattr(rows, name).astype(np.int64, copy=False)
        for name in ("idle_time", "loss_estimate"):
            metrics[name] = getattr(rows, name).astype(np.float64, copy=False)
        if metric_name:
            metrics[metric_name] = rows.metric.astype(np.float64, copy=False)
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
            config=config or {},
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

        Returns
        -------
        pandas.DataFrame
            Columns ``policy``, each grid name, ``seed``, every metric and
            ``diverged``.

        Examples
        --------
        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> df = sim.run(seeds=3).to_dataframe()
        >>> len(df), list(df.columns[:4])
        (6, ['policy', 'seed', 'round', 'wall_clock'])
        """
        return pd.DataFrame(self._columns())

    def to_arrow(self) -> pa.Table:
        """:meth:`to_dataframe`'s rows as an Arrow table, built without copying
        the metrics (what ``absjax simulate --out F.parquet`` writes).

        Returns
        -------
        pyarrow.Table

        Examples
        --------
        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> table = sim.run(seeds=3).to_arrow()
        >>> table.num_rows, table.column_names[:4]
        (6, ['policy', 'seed', 'round', 'wall_clock'])
        """
        columns = self._columns()
        rows = len(columns["seed"])
        columns["policy"] = pa.repeat(pa.scalar(self.policy, pa.string()), rows)
        return pa.table(columns)

    def _columns(self) -> dict[str, Any]:
        """The tidy rows' columns, flat arrays (``policy``: one string)."""
        shape = self.metrics["loss"].shape
        index = np.indices(shape).reshape(len(shape), -1)
        columns: dict[str, Any] = {"policy": self.policy}
        for axis, (name, values) in enumerate(self.grid.items()):
            columns[name] = np.asarray(values)[index[axis]]
        columns["seed"] = self.seeds[index[-2]]
        for name, values in self.metrics.items():
            columns[name] = values.reshape(-1)
        columns["diverged"] = self.diverged.reshape(-1).repeat(shape[-1])
        return columns

    # ------------------------------------------------------------ N-d arrays
    def to_xarray(self):
        """The Result as an :class:`xarray.Dataset` with named dimensions.

        Dimensions: each grid name, ``seed``, ``log``; coordinates: the grid
        values, the global seed indices, the row number and ``round`` (on
        ``log``); every metric a variable ``(*grid, seed, log)``, and
        ``diverged_round`` ``(*grid, seed)``; the configuration in the
        attributes (``config``, a JSON string, and flat scalars). The layout
        is in :mod:`absjax.store`; ``history`` is left out.

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.k_async(2), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> ds = sim.run(seeds=3, grid={"lr": [0.05, 0.1]}, chunk=4).to_xarray()
        >>> dict(ds.sizes), ds.loss.dims, ds["round"].values.tolist()
        ({'lr': 2, 'seed': 3, 'log': 2}, ('lr', 'seed', 'log'), [2, 4])
        >>> ds.loss.sel(lr=0.1).shape, ds.attrs["policy"]
        ((3, 2), 'k_async')
        """
        return store.to_dataset(self)

    @classmethod
    def from_xarray(cls, ds) -> Result:
        """The Result of a Dataset made by :meth:`to_xarray`.

        The Dataset may also be joined or sliced from such by xarray.

        Parameters
        ----------
        ds : xarray.Dataset
            A Dataset in :meth:`to_xarray`'s layout.

        Returns
        -------
        ~absjax.Result
            ``history`` is ``None``.
        """
        return cls(**store.from_dataset(ds))

    def save(self, path: str | Path) -> Path:
        """Writes the Result to one NetCDF file (``.nc``), all or nothing.

        The file holds :meth:`to_xarray`'s Dataset, zlib-compressed; read it
        with :func:`absjax.load` or ``xarray.open_dataset``. ``history`` is not
        stored.

        Parameters
        ----------
        path : str or pathlib.Path
            The file to write, ending in ``.nc``.

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        ValueError
            For a suffix other than ``.nc``.
        """
        return store.save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """The Result saved by :meth:`save` in ``path``.

        Parameters
        ----------
        path : str or pathlib.Path
            A NetCDF file written by :meth:`save`.

        Returns
        -------
        ~absjax.Result
            ``history`` is ``None``.
        """
        return cls(**store.load(path))

    @classmethod
    def concat(cls, results: Sequence[Result]) -> Result:
        """Blocks of seeds of one run, joined along the seeds axis, in order.

        For seeds run apart, by several calls, processes or hosts with
        disjoint ``seed_offset`` ranges: since a seed's numbers depend only on
        its global index, the join equals one run of all the seeds. The
        blocks must agree in everything but their seeds (grid, metrics,
        ``num_workers``, ``policy``, ``seed``, ``metric_name``, the ``config``
        apart from ``seed_offset``), and no seed index may repeat. The config
        is the first block's; ``history`` is dropped.

        Parameters
        ----------
        results : sequence of ~absjax.Result
            The blocks, in seed order.

        Returns
        -------
        ~absjax.Result

        Raises
        ------
        ValueError
            If ``results`` is empty, the blocks differ in anything but their
            seeds, or a seed index repeats.

        Examples
        --------
        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> parts = [sim.run(seeds=2, seed_offset=i, chunk=2) for i in (0, 2)]
        >>> joined = Result.concat(parts)
        >>> joined.seeds.tolist(), joined.loss.shape
        ([0, 1, 2, 3], (4, 2))
        """
        results = list(results)
        if not results or not all(isinstance(r, Result) for r in results):
            raise ValueError("results must be a non-empty sequence of Results")
        first = results[0]
        for i, other in enumerate(results[1:], 1):
            differs = _differences(first, other)
            if differs:
                raise ValueError(
                    f"results[{i}] is not a block of the same run as results[0]: "
                    f"{', '.join(differs)} differ"
                )
        seeds = np.concatenate([r.seeds for r in results])
        if np.unique(seeds).size != seeds.size:
            raise ValueError(
                "results repeat seed indices: the blocks must have disjoint "
                "seed_offset ranges"
            )
        return cls(
            metrics={
                name: np.concatenate([r.metrics[name] for r in results], axis=-2)
                for name in first.metrics
            },
            diverged_round=np.concatenate([r.diverged_round for r in results], -1),
            seeds=seeds,
            grid=first.grid,
            num_workers=first.num_workers,
            policy=first.policy,
            seed=first.seed,
            metric_name=first.metric_name,
            config=dict(first.config),
        )

    def round_time(self) -> np.ndarray:
        """Mean round length per seed.

        Returns
        -------
        numpy.ndarray
            ``(*grid_shape, seeds)``: final wall clock over rounds.
        """
        return self.metrics["wall_clock"][..., -1] / self.metrics["round"][..., -1]

    def time_to_target(self, target: float, metric: str = "loss") -> np.ndarray:
        """Wall clock at the first logged row where ``metric`` reaches ``target``.

        The loss reaches it from above (``<=``), the test metric (an accuracy)
        from below (``>=``). ``inf`` where a finite run never reached it, ``nan``
        for diverged seeds (left out, not counted as failures).

        Parameters
        ----------
        target : float
            The value to reach.
        metric : str, default "loss"
            ``"loss"`` or the test metric (:attr:`metric_name`).

        Returns
        -------
        numpy.ndarray
            ``(*grid_shape, seeds)`` float.

        Raises
        ------
        ValueError
            If ``metric`` is neither the loss nor the test metric.

        Examples
        --------
        >>> import numpy as np
        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> result = sim.run(seeds=3)
        >>> t = result.time_to_target(np.inf)
        >>> bool((t == result.wall_clock[:, 0]).all())
        True
        """
        return self._first_crossing(target, metric, "wall_clock")

    def rounds_to_target(self, target: float, metric: str = "loss") -> np.ndarray:
        """Communication rounds at the first crossing; see :meth:`time_to_target`.

        Parameters
        ----------
        target : float
            The value to reach.
        metric : str, default "loss"
            ``"loss"`` or the test metric (:attr:`metric_name`).

        Returns
        -------
        numpy.ndarray
            ``(*grid_shape, seeds)`` float: ``inf`` where never reached,
            ``nan`` for diverged seeds.

        Raises
        ------
        ValueError
            If ``metric`` is neither the loss nor the test metric.
        """
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

        Parameters
        ----------
        metric : str, default "loss"
            The metric to average.
        x : {"wall_clock", "round"}
            The horizontal axis.
        points : int, default 100
            Points of the wall-clock grid (at least 2; the rounds axis uses
            the logged rounds).
        grid_index : tuple of int
            One index per grid axis.

        Returns
        -------
        pandas.DataFrame
            Columns ``x, mean, lower, upper, seeds``; the band is
            ``mean +- 1.96 * standard error``.

        Raises
        ------
        ValueError
            For another ``x``, ``points < 2``, a ``grid_index`` that does not
            select one grid point, or seeds whose wall-clock ranges do not
            overlap.

        Examples
        --------
        >>> import absjax
        >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
        ...                        "quadratic:dim=2", rounds=4, log_every=2)
        >>> curve = sim.run(seeds=3).mean_curve(x="round")
        >>> list(curve.columns), curve["round"].tolist()
        (['round', 'mean', 'lower', 'upper', 'seeds'], [2.0, 4.0])
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

        Parameters
        ----------
        grid_index : tuple of int
            One index per grid axis.

        Returns
        -------
        dict
            ``seeds``, ``diverged``, ``staleness_max`` (ints) and
            ``round_time``, ``staleness_mean``, ``wasted_per_round``,
            ``final_loss`` as ``(mean, 95% half-width)`` pairs.

        Raises
        ------
        ValueError
            If ``grid_index`` does not select one grid point.
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


def _differences(a: Result, b: Result) -> list[str]:
    """What two blocks of seeds disagree on (see :meth:`Result.concat`)."""
    differs = [
        name
        for name in ("num_workers", "policy", "seed", "metric_name")
        if getattr(a, name) != getattr(b, name)
    ]
    if list(a.grid) != list(b.grid) or not all(
        np.array_equal(a.grid[name], b.grid[name]) for name in a.grid
    ):
        differs.append("grid")
    if list(a.metrics) != list(b.metrics):
        differs.append("metrics")
    else:
        differs += [
            f"metrics[{name!r}] shape"
            for name, x in a.metrics.items()
            if x.shape[:-2] + x.shape[-1:]
            != b.metrics[name].shape[:-2] + b.metrics[name].shape[-1:]
        ]
    keys = sorted((a.config.keys() | b.config.keys()) - {"seed_offset"})
    differs += [
        f"config[{key!r}]" for key in keys if a.config.get(key) != b.config.get(key)
    ]
    return differs


def load(path: str | Path) -> Result:
    """The :class:`Result` saved by :meth:`Result.save` in a NetCDF file.

    See :mod:`absjax.store` for the layout.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.nc`` file.

    Returns
    -------
    ~absjax.Result
        ``history`` is ``None``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import absjax
    >>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
    ...                        "quadratic:dim=2", rounds=4, log_every=2)
    >>> result = sim.run(seeds=2)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = result.save(Path(tmp) / "run.nc")
    ...     again = absjax.load(path)
    >>> bool((again.loss == result.loss).all())
    True
    """
    return Result.load(path)
