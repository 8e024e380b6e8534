"""The figures of a tuning run (:meth:`Tuned.save <absjax.tune.Tuned.save>`).

- ``best_so_far.png``: each method's best objective so far against the
  seed-rounds spent (at the trials' own fidelity);
- ``response.png``: per method, its trials over the two numbers whose ranks
  correlate most with the objective (Spearman), coloured by the objective;
- ``evaluation.png``: each method's median objective on the evaluation seeds
  with its bootstrap interval.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

_LABELS = {
    "time": "median time to target",
    "final": "median final loss",
    "auc": "median mean log loss",
}
_FIXED = {"method", "algorithm", "index", "score", "seeds", "rounds", "cost", "spent"}
_FIXED |= {"rung", "bracket", "trial"}


def save_all(tuned, out: Path) -> None:
    """Writes the three figures into ``out``."""
    label = _LABELS[tuned.objective]
    best_so_far(tuned.trials, label).savefig(out / "best_so_far.png", dpi=110)
    response(tuned.trials, label).savefig(out / "response.png", dpi=110)
    evaluation(tuned.table, tuned.objective, label).savefig(
        out / "evaluation.png", dpi=110
    )
    plt.close("all")


def best_so_far(trials: pd.DataFrame, label: str):
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    for method, rows in trials.groupby("method", sort=False):
        ax.step(rows["spent"], rows["score"].cummin(), where="post", label=method)
    ax.set(xlabel="seed-rounds spent", ylabel=f"best {label} so far")
    ax.legend()
    return fig


def important(rows: pd.DataFrame) -> list[str]:
    """The (at most two) numbers whose ranks correlate most with the score."""
    names = [c for c in rows.columns if c not in _FIXED and rows[c].notna().any()]
    finite = rows[np.isfinite(rows["score"])]
    strength = {}
    for name in names:
        x = pd.to_numeric(finite[name], errors="coerce")
        r = x.rank().corr(finite["score"].rank())
        strength[name] = 0.0 if not np.isfinite(r) else abs(r)
    return sorted(names, key=lambda n: -strength[n])[:2]


def response(trials: pd.DataFrame, label: str):
    methods = list(dict.fromkeys(trials["method"]))
    fig, axes = plt.subplots(
        1, len(methods), figsize=(4 * len(methods), 3.6), layout="constrained"
    )
    for ax, method in zip(np.atleast_1d(axes), methods, strict=True):
        rows = trials[trials["method"] == method].dropna(axis=1, how="all")
        names = important(rows)
        x = rows[names[0]]
        y = rows[names[1]] if len(names) > 1 else rows["score"]
        finite = np.isfinite(rows["score"])
        ax.scatter(x[~finite], y[~finite], marker="x", c="grey", label="never")
        points = ax.scatter(
            x[finite], y[finite], c=rows["score"][finite], cmap="viridis_r", s=18
        )
        fig.colorbar(points, ax=ax, label=label)
        ax.set(title=method, xlabel=names[0])
        ax.set_ylabel(names[1] if len(names) > 1 else label)
        for name, axis in zip(names, ("x", "y"), strict=False):
            values = pd.to_numeric(rows[name], errors="coerce")
            if values.min() > 0 and values.max() / values.min() > 20:
                ax.set_xscale("log") if axis == "x" else ax.set_yscale("log")
    return fig


def evaluation(table: pd.DataFrame, objective: str, label: str):
    column = "time" if "time" in table else objective
    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    y = np.arange(len(table))
    med = table[column].to_numpy()
    low, high = table[f"{column}_low"].to_numpy(), table[f"{column}_high"].to_numpy()
    finite = np.isfinite(med) & np.isfinite(low) & np.isfinite(high)
    ax.errorbar(
        med[finite],
        y[finite],
        xerr=[med[finite] - low[finite], high[finite] - med[finite]],
        fmt="o",
        capsize=4,
    )
    ax.set_yticks(y, table["method"])
    ax.set(
        xlabel=f"{_LABELS['time' if column == 'time' else objective]} "
        "(fresh seeds, 95% CI)"
    )
    for i in np.flatnonzero(~finite):
        ax.annotate("never reached", (0.02, y[i]), xycoords=("axes fraction", "data"))
    return fig
