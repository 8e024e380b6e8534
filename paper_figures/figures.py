"""The reproduction's figures (docs/concepts.md#concepts-reproduction), drawn
with seaborn at paper size.

Per setting: loss and accuracy vs time and vs rounds, K^t and tau_max^t, and
time-, rounds- and messages-to-target; then theory vs simulation (the phase
map is drawn by :mod:`paper_figures.heatmap`). Each function returns a
matplotlib figure 7 inches wide (a two-column paper's full width) with 8-point
text; :func:`save` writes it as PNG and PDF.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from paper_figures import methods  # noqa: E402

WIDTH = 7.0  # inches
TIME_LABEL = "simulated wall-clock time (units of the delay law)"
ROUNDS_LABEL = "communication rounds"
METRIC_LABELS = {"loss": "training loss", "test_accuracy": "test accuracy"}


def style() -> None:
    sns.set_theme(style="whitegrid", context="paper")
    plt.rcParams.update(
        {
            "font.size": 8,
            "axes.labelsize": 8,
            "axes.titlesize": 8.5,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "legend.title_fontsize": 8,
            "lines.linewidth": 1.3,
            "pdf.fonttype": 42,  # embedded TrueType: editable text in the PDF
        }
    )


# Indices into seaborn's 10-colour "colorblind" palette: ABS blue, the
# adaptive baselines orange and green, then well separated hues.
_COLOR_INDEX = {
    "abs": 0,
    "adasync": 1,
    "sa_adasync": 2,
    "local_sgd": 4,
    "sync": 7,
    "k_sync": 5,
    "async": 3,
}


# Line styles and markers tell the methods apart in grey print too: solid for
# ABS and the adaptive baselines, dashed for the fixed ones.
LINESTYLES = {
    "abs": "-",
    "adasync": "-",
    "sa_adasync": "-",
    "local_sgd": "--",
    "sync": "--",
    "k_sync": "-.",
    "async": (0, (5, 1.5)),
}
MARKERS = {
    "abs": "o",
    "adasync": "s",
    "sa_adasync": "D",
    "local_sgd": "v",
    "sync": "^",
    "k_sync": "P",
    "async": "X",
}


def palette() -> dict[str, tuple]:
    """One colour per method, the same in every figure."""
    colors = sns.color_palette("colorblind", 10)
    return {key: colors[i] for key, i in _COLOR_INDEX.items()}


def _handle(key: str, marker: bool = False):
    return plt.Line2D(
        [],
        [],
        color=palette()[key],
        lw=2.2 if key == "abs" else 1.4,
        ls=LINESTYLES[key],
        marker=MARKERS[key] if marker else None,
        ms=4,
    )


def label(key: str) -> str:
    return methods.LABELS[key]


def _legend_below(fig, keys, ncol=None) -> None:
    handles = [_handle(k) for k in keys]
    fig.legend(
        handles,
        [label(k) for k in keys],
        loc="outside lower center",
        ncol=ncol or len(keys),
        frameon=False,
    )


def time_curve(result, metric: str, horizon: float, initial: float, points=200):
    """Mean and 95% band of ``metric`` on a common wall-clock grid ``[0, H]``:
    a seed's value at time t is its last logged value at or before t (the
    initial value before its first row); diverged seeds are left out."""
    keep = ~result.diverged
    if not keep.any():
        return None  # every seed diverged: nothing to draw
    xs, ys = result.wall_clock[keep], result.metrics[metric][keep]
    grid = np.linspace(0.0, horizon, points)
    pos = np.stack([np.searchsorted(row, grid, side="right") - 1 for row in xs])
    values = np.where(pos >= 0, np.take_along_axis(ys, np.maximum(pos, 0), 1), initial)
    return _band(grid, values)


def round_curve(result, metric: str, horizon: float, initial: float):
    """Mean and 95% band per logged round, up to the last round whose mean
    wall clock is within the budget."""
    keep = ~result.diverged
    if not keep.any():
        return None  # every seed diverged: nothing to draw
    rounds = result.round[keep][0].astype(float)
    inside = result.wall_clock[keep].mean(axis=0) <= horizon
    values = result.metrics[metric][keep][:, inside]
    values = np.concatenate([np.full((values.shape[0], 1), initial), values], 1)
    return _band(np.concatenate([[0.0], rounds[inside]]), values)


def _band(x, values) -> pd.DataFrame:
    mean = values.mean(axis=0)
    count = values.shape[0]
    se = values.std(axis=0, ddof=1) / np.sqrt(count) if count > 1 else 0 * mean
    return pd.DataFrame({"x": x, "mean": mean, "low": mean - 1.96 * se}).assign(
        high=mean + 1.96 * se
    )


def _draw(ax, frame: pd.DataFrame | None, key: str) -> None:
    if frame is None:
        return
    color = palette()[key]
    width = 2.2 if key == "abs" else 1.3
    ax.plot(
        frame["x"],
        frame["mean"],
        color=color,
        lw=width,
        ls=LINESTYLES[key],
        zorder=3 if key == "abs" else 2,
    )
    ax.fill_between(
        frame["x"], frame["low"], frame["high"], color=color, alpha=0.2, lw=0
    )


def curves(comparison, horizon: float, x: str, metrics_: list[str], title=""):
    """Figures 1 and 2: each metric vs wall-clock time or rounds (``title``:
    the setting, N and the delay model)."""
    style()
    fig, axes = plt.subplots(
        1, len(metrics_), figsize=(WIDTH, 2.9), layout="constrained", squeeze=False
    )
    for ax, metric in zip(axes[0], metrics_, strict=True):
        for key, result in comparison.results.items():
            initial = comparison.initial[metric]
            if x == "wall_clock":
                frame = time_curve(result, metric, horizon, initial)
            else:
                frame = round_curve(result, metric, horizon, initial)
            _draw(ax, frame, key)
        if metric == "loss":
            ax.axhline(comparison.target, color="black", ls=":", lw=1)
            ax.annotate(
                "target",
                (0.01, comparison.target),
                xycoords=("axes fraction", "data"),
                ha="left",
                va="bottom",
                fontsize=8,
            )
        ax.set_xlabel(TIME_LABEL if x == "wall_clock" else ROUNDS_LABEL)
        ax.set_ylabel(f"{METRIC_LABELS[metric]} (mean, 95% band)")
        if x == "round":
            ax.set_xscale("symlog", linthresh=10)
            ax.set_xlim(left=0)
        else:
            ax.set_xlim(0, horizon)
    _legend_below(fig, list(comparison.results), ncol=len(comparison.results))
    if title:
        fig.suptitle(title, fontsize=8.5)
    return fig


def adaptation(comparison, horizon: float, title: str = ""):
    """Figure 3: K^t and tau_max^t over wall-clock time."""
    style()
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 2.7), layout="constrained")
    keys = [k for k in ("abs", "adasync", "sa_adasync") if k in comparison.results]
    for key in keys:
        result = comparison.results[key]
        k0 = float(comparison.chosen[key].config.k)  # K^0, before the first row
        _draw(axes[0], time_curve(result, "k", horizon, k0), key)
    for key, level in (
        ("k_sync", None),
        ("local_sgd", None),
        ("sync", None),
        ("async", 1),
    ):
        if key in comparison.results:
            value = level or float(comparison.results[key].k[0, 0])
            axes[0].axhline(value, color=palette()[key], ls="--", lw=1)
    axes[0].set_ylabel(r"$K^t$, updates per round")
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    if "abs" in comparison.results:
        result = comparison.results["abs"]
        tau0 = float(result.tau[:, 0].mean())
        _draw(axes[1], time_curve(result, "tau", horizon, tau0), "abs")
    for key in ("abs", "async"):  # the largest staleness aggregated, dotted
        if key in comparison.results:
            stale = time_curve(comparison.results[key], "staleness_max", horizon, 0)
            if stale is not None:
                axes[1].plot(stale["x"], stale["mean"], color=palette()[key], ls=":")
    axes[1].set_ylabel("staleness (versions)")
    axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_ylim(bottom=0)
    for ax in axes:
        ax.set_xlabel(TIME_LABEL)
        ax.set_xlim(0, horizon)
    handles = [_handle(k) for k in keys]
    names = [f"{label(k)} $K^t$ (mean, 95% band)" for k in keys]
    for key in ("k_sync", "local_sgd", "sync", "async"):
        if key in comparison.results:
            handles.append(plt.Line2D([], [], color=palette()[key], ls="--", lw=1))
            names.append(f"{label(key)} K (fixed)")
    handles.append(plt.Line2D([], [], color=palette()["abs"], lw=2.2))
    names.append(r"ABS $\tau_{max}^t$ (mean, 95% band)")
    handles.append(plt.Line2D([], [], color="gray", ls=":", lw=1.2))
    names.append("max staleness aggregated (dotted)")
    fig.legend(handles, names, loc="outside lower center", ncol=3, frameon=False)
    if title:
        fig.suptitle(title, fontsize=8.5)
    return fig


def targets(table: pd.DataFrame, horizon: float, title: str = ""):
    """Figure 4: median time-, rounds- and messages-to-target per method,
    95% CIs.

    ``table`` has one row per method with ``time``, ``time_low``,
    ``time_high``, ``rounds``, ..., ``messages``, ... and ``reached`` (share of
    seeds).
    """
    style()
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 2.8), layout="constrained")
    keys = list(table["method"])
    y = np.arange(len(keys))
    for ax, metric, xlabel in (
        (axes[0], "time", "time-to-target (time units)"),
        (axes[1], "rounds", "rounds-to-target"),
        (axes[2], "messages", "messages (uploads + downloads)"),
    ):
        finite_high = table[[f"{metric}_high", metric]].to_numpy()
        cap = np.nanmax(np.where(np.isfinite(finite_high), finite_high, np.nan))
        cap = 1.08 * (cap if np.isfinite(cap) else 1.0)
        for i, row in enumerate(table.itertuples(index=False)):
            mid = getattr(row, metric)
            low = getattr(row, f"{metric}_low")
            high = getattr(row, f"{metric}_high")
            color = palette()[row.method]
            if np.isfinite(mid):
                ax.errorbar(
                    mid,
                    i,
                    xerr=[[max(mid - low, 0)], [max(min(high, cap) - mid, 0)]],
                    fmt=MARKERS[row.method],
                    color=color,
                    capsize=3,
                    ms=5 if row.method == "abs" else 4,
                )
                if not np.isfinite(high):
                    ax.annotate("→", (cap, i), ha="left", va="center", color=color)
            else:
                ax.plot(cap, i, marker=">", color=color, ms=5)
                ax.annotate(
                    "median not reached",
                    (cap, i),
                    xytext=(-6, 0),
                    textcoords="offset points",
                    ha="right",
                    va="center",
                    fontsize=8,
                    color=color,
                )
        ax.set_yticks(y, [label(k) for k in keys])
        ax.set_xlabel(xlabel)
        ax.set_xlim(0, cap * 1.04)
        ax.invert_yaxis()
    axes[1].set_yticklabels([])
    axes[2].set_yticklabels([f"{r:.0%} reached" for r in table["reached"]])
    axes[2].yaxis.tick_right()
    head = f"{title}\n" if title else ""
    fig.suptitle(
        f"{head}Median over evaluation seeds with 95% bootstrap CIs "
        f"(budget {horizon:g})",
        fontsize=8.5,
    )
    return fig


def theory(rounds: pd.DataFrame, pmf: pd.DataFrame):
    """Figure 6: round time vs K (three families), staleness law of K-async."""
    style()
    ks = sorted(pmf["K"].unique())
    families = list(rounds["policy"].unique())
    cols = max(len(families), len(ks))
    fig, axes = plt.subplots(
        2, cols, figsize=(WIDTH, 4.8), layout="constrained", squeeze=False
    )
    laws = list(rounds["delay"].unique())
    law_colors = dict(zip(laws, ("#1f4e99", "#b2182b"), strict=False))
    titles = {
        "k_sync": "K-sync",
        "k_async": "K-async",
        "k_batch_async": "K-batch-async",
    }
    for ax, family in zip(axes[0], families, strict=False):
        for law, group in rounds[rounds["policy"] == family].groupby(
            "delay", sort=False
        ):
            group = group.sort_values("k")
            color = law_colors[law]
            ls = "-" if group["exact"].all() else "--"
            ax.plot(group["k"], group["theory"], ls, color=color, lw=1.2)
            ax.errorbar(
                group["k"],
                group["mean"],
                yerr=1.96 * group["std_error"],
                fmt="o",
                color=color,
                ms=3,
                capsize=2,
            )
        ax.set_title(f"{titles.get(family, family)}: round time")
        ax.set_xlabel("K (updates per round)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_ylabel("mean round time (time units)")
    tau_colors = dict(zip(pmf["tau"].unique(), ("#4c72b0", "#dd8452"), strict=False))
    for ax, k in zip(axes[1], ks, strict=False):
        for tau, group in pmf[pmf["K"] == k].groupby("tau", sort=False):
            group = group[group["staleness"] <= 12]
            color = tau_colors[tau]
            dx = -0.2 if tau == "none" else 0.2
            x = group["staleness"] + dx
            ax.bar(x, group["simulation"], 0.4, color=color, alpha=0.45)
            ax.plot(x, group["theory"], "o", color=color, ms=3)
        ax.set_title(f"K-async, K = {k}: staleness law")
        ax.set_xlabel("staleness s (versions)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1, 0].set_ylabel("P(s), exponential delays")
    for ax in list(axes[0][len(families) :]) + list(axes[1][len(ks) :]):
        ax.axis("off")
    black = "#333333"
    handles = [plt.Line2D([], [], color=c, lw=1.2) for c in law_colors.values()]
    names = [f"{law} delays" for law in law_colors]
    handles += [
        plt.Line2D([], [], color=black, lw=1.2),
        plt.Line2D([], [], color=black, lw=1.2, ls="--"),
        plt.Line2D([], [], color=black, marker="o", ms=3, lw=0),
    ]
    names += ["theory (exact)", "theory (upper bound)", "simulation, 95% CI"]
    for tau, color in tau_colors.items():
        handles.append(plt.Rectangle((0, 0), 1, 1, color=color, alpha=0.45))
        bound = "no bound" if tau == "none" else f"tau = {tau}"
        names.append(f"P(s) simulated, {bound}")
    handles.append(plt.Line2D([], [], color=black, marker="o", ms=3, lw=0))
    names.append("P(s) theory")
    fig.legend(handles, names, loc="outside lower center", ncol=3, frameon=False)
    fig.suptitle(
        "Theory vs simulation (timing only; Dutta et al., arXiv 1803.01113)",
        fontsize=8.5,
    )
    return fig


def save(fig, stem, write) -> list[str]:
    """Writes ``stem.png`` and ``stem.pdf`` with ``write(path, fn)`` (atomic)."""
    names = []
    for fmt in ("png", "pdf"):
        path = stem.with_suffix(f".{fmt}")
        write(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=200))
        names.append(path.name)
    plt.close(fig)
    return names
