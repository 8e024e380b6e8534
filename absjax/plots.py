"""Seaborn figures of simulation results: mean curves with 95% bands.

>>> import absjax, matplotlib
>>> matplotlib.use("Agg")
>>> sim = absjax.Simulator(4, absjax.policies.sync(), "exp:rate=1",
...                        "quadratic:dim=2", rounds=4, log_every=2)
>>> fig = curves_figure({"sync": sim.run(seeds=3)})
>>> len(fig.axes)
2
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from absjax.results import Result

X_LABELS = {
    "wall_clock": "wall-clock time (simulated time units)",
    "round": "communication rounds",
}


def curve_frame(
    results: dict[str, Result],
    metric: str = "loss",
    x: str = "wall_clock",
    points: int = 200,
) -> pd.DataFrame:
    """Mean curves and 95% bands of several labelled results, stacked."""
    frames = []
    for label, result in results.items():
        frame = result.mean_curve(metric, x=x, points=points)
        frame["method"] = label
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def plot_curves(
    ax,
    results: dict[str, Result],
    metric: str = "loss",
    x: str = "wall_clock",
    log_y: bool = True,
    log_x: bool = False,
) -> None:
    """Draws mean ``metric`` vs ``x`` with 95% bands, one line per result."""
    frame = curve_frame(results, metric, x)
    palette = dict(
        zip(results, sns.color_palette("colorblind", len(results)), strict=True)
    )
    sns.lineplot(
        data=frame, x=x, y="mean", hue="method", palette=palette, ax=ax, linewidth=1.6
    )
    for label, group in frame.groupby("method", sort=False):
        ax.fill_between(
            group[x],
            group["lower"],
            group["upper"],
            alpha=0.2,
            color=palette[label],
            linewidth=0,
        )
    if log_y:
        ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(X_LABELS.get(x, x))
    ax.set_ylabel(f"training {metric} (mean, 95% band)" if metric == "loss" else metric)
    ax.legend(title=None, frameon=False)


def curves_figure(
    results: dict[str, Result],
    metric: str = "loss",
    title: str | None = None,
    log_time: bool = True,
):
    """Two panels: ``metric`` vs wall-clock time and vs communication rounds.

    The time axis is logarithmic by default: policies whose rounds differ in
    length by orders of magnitude (sync vs async) then share one readable axis.
    """
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    plot_curves(axes[0], results, metric, "wall_clock", log_x=log_time)
    plot_curves(axes[1], results, metric, "round")
    axes[0].get_legend().remove()  # the rounds panel has room for it
    if title:
        fig.suptitle(title)
    return fig
