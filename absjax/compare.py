"""Theory against simulation: z-tests as tidy tables, and overlay plots.

:func:`compare` takes a theory value (one per grid point of a simulation) and a
:class:`~absjax.results.Result`, computes a per-seed statistic (seeds are
independent replicates), and returns one row per grid point with the theory,
the Monte-Carlo mean, its standard error, ``z = (mean - theory) / SE``, the
relative error and a verdict: ``agrees`` when ``|z| < z_max`` (default 4: a
false alarm rate of about 6e-5 per row when theory is right).

>>> import absjax
>>> from absjax import theory
>>> sim = absjax.Simulator(8, absjax.policies.k_sync(2), "exp:rate=1",
...                        "quadratic:dim=1", rounds=200, log_every=200, k_max=8)
>>> result = sim.run(seeds=32, grid={"k": [1, 4]})
>>> expected = [theory.expected_round_time("k_sync", "exp:rate=1", 8, k)
...             for k in (1, 4)]
>>> compare(expected, result, "round_time")["verdict"].tolist()
['agrees', 'agrees']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from absjax.results import Result


def _wasted_per_round(result: Result) -> np.ndarray:
    return result.jobs_wasted.sum(-1) / result.round[..., -1]


def _staleness_mean(result: Result) -> np.ndarray:
    return (result.staleness_mean * result.jobs_aggregated).sum(-1) / (
        result.jobs_aggregated.sum(-1)
    )


STATISTICS: dict[str, Callable[[Result], np.ndarray]] = {
    "round_time": Result.round_time,
    "staleness_mean": _staleness_mean,
    "wasted_per_round": _wasted_per_round,
    "final_loss": lambda r: r.loss[..., -1],
}


def compare(
    theory,
    result: Result,
    quantity: str | Callable[[Result], np.ndarray] = "round_time",
    *,
    z_max: float = 4.0,
) -> pd.DataFrame:
    """Compares a theory value with the simulated per-seed statistic.

    Parameters
    ----------
    theory
        A number, or an array broadcastable to the result's grid shape.
    result : ~absjax.Result
        A simulation result, possibly gridded.
    quantity : str or callable, default 'round_time'
        A name in :data:`STATISTICS` or a function ``result -> array`` shaped
        ``(*grid_shape, seeds)``. Diverged seeds are left out.
    z_max : float, default 4.0
        The verdict threshold on ``|z|``.

    Returns
    -------
    pandas.DataFrame
        One row per grid point: the grid values, ``quantity``, ``theory``, ``mean``,
        ``std_error``, ``seeds``, ``z``, ``rel_error``, ``verdict``.
    """
    if isinstance(quantity, str):
        if quantity not in STATISTICS:
            raise ValueError(
                f"quantity={quantity!r} must be one of {sorted(STATISTICS)} "
                "or a function of the result"
            )
        name, statistic = quantity, STATISTICS[quantity]
    else:
        name, statistic = getattr(quantity, "__name__", "statistic"), quantity
    if not (np.isfinite(z_max) and z_max > 0):
        raise ValueError(f"z_max={z_max!r} must be in (0, inf)")
    values = np.asarray(statistic(result), np.float64)
    grid_shape = values.shape[:-1]
    try:
        expected = np.broadcast_to(np.asarray(theory, np.float64), grid_shape)
    except ValueError:
        raise ValueError(
            f"theory has shape {np.shape(theory)}; it must broadcast to the "
            f"result's grid shape {grid_shape}"
        ) from None
    rows = []
    for index in np.ndindex(*grid_shape) if grid_shape else [()]:
        sample = values[index][~result.diverged[index]]
        sample = sample[np.isfinite(sample)]
        mean = sample.mean() if sample.size else np.nan
        se = sample.std(ddof=1) / np.sqrt(sample.size) if sample.size > 1 else np.nan
        row = {
            name: np.asarray(v)[i]
            for (name, v), i in zip(result.grid.items(), index, strict=True)
        }
        t = float(expected[index])
        z = (mean - t) / se if se > 0 else (0.0 if mean == t else np.inf)
        row.update(
            quantity=name,
            theory=t,
            mean=mean,
            std_error=se,
            seeds=sample.size,
            z=z,
            rel_error=(mean - t) / abs(t) if t else np.nan,
            verdict="agrees" if abs(z) < z_max else "disagrees",
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["level"] = f"|z| < {z_max:g}"
    return frame


def plot_theory_curve(
    ax,
    result: Result,
    theory_x,
    theory_y,
    metric: str = "loss",
    x: str = "round",
    label: str = "simulation",
) -> None:
    """A theory curve over the simulated mean and 95% band of ``metric``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    result : ~absjax.Result
        The simulation.
    theory_x, theory_y : ArrayLike
        The theory curve's points.
    metric : str, default "loss"
        The simulated metric.
    x : {"round", "wall_clock"}
        The horizontal axis.
    label : str, default "simulation"
        The simulation's legend label.
    """
    from absjax import plots  # seaborn only when plotting

    plots.plot_curves(ax, {label: result}, metric, x)
    ax.plot(theory_x, theory_y, "--", color="black", linewidth=1.2, label="theory")
    ax.legend(frameon=False)


def plot_comparison(
    ax, frame: pd.DataFrame, x: str, label: str | None = None, color=None
) -> None:
    """Theory as a line, simulation as means with 95% error bars, against ``x``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    frame : pandas.DataFrame
        A table from :func:`compare`.
    x : str
        The grid column on the horizontal axis.
    label : str, optional
        Prefix of the legend labels.
    color : optional
        A matplotlib colour (default: the next one).
    """
    frame = frame.sort_values(x)
    line = ax.plot(
        frame[x],
        frame["theory"],
        "-",
        color=color,
        linewidth=1.5,
        label=f"{label} theory" if label else "theory",
    )[0]
    ax.errorbar(
        frame[x],
        frame["mean"],
        yerr=1.96 * frame["std_error"],
        fmt="o",
        color=line.get_color(),
        markersize=4,
        capsize=3,
        label=f"{label} simulation" if label else "simulation (95% CI)",
    )
    ax.set_xlabel(x)
    ax.set_ylabel(frame["quantity"].iloc[0].replace("_", " "))
