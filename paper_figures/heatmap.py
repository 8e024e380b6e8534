"""Figure 5: the phase map of where ABS wins, as heatmaps (one per N).

Columns are the delay tails (light to heavy), rows the workers' speed
spread; a cell's colour is the effect ``best baseline / ABS`` of its
time-to-target on a diverging log scale centred at 1 (blue: ABS faster, red:
ABS slower), its text the ratio, the outcome (▲ supports, ▼ contradicts,
○ inconclusive) and which baseline was the best of the cell.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from paper_figures import figures, phasemap  # noqa: E402

CAP = 2.0  # colour saturates at a ratio of 2^CAP (or its inverse)
SYMBOL = {phasemap.SUPPORTS: "▲", phasemap.CONTRADICTS: "▼"}
SYMBOL[phasemap.INCONCLUSIVE] = "○"
SHORT = {
    "adasync": "AdaSync",
    "sa_adasync": "SA-Ada.",
    "sync": "sync",
    "k_sync": "K-sync",
    "async": "async",
}


def _ratio_text(r: float) -> str:
    if np.isinf(r):
        return "∞"
    if r == 0:
        return "0"
    return f"{r:.2g}" if r < 10 else f"{r:.0f}"


def draw(cells: pd.DataFrame, tails, spreads, workers, title: str = ""):
    """``cells``: one row per (N, tail, spread) with ``ratio``, ``outcome``
    and ``best_baseline`` (``phasemap.summary``)."""
    figures.style()
    panels = len(workers)
    height = 1.05 + 0.42 * len(spreads)
    fig, axes = plt.subplots(
        1,
        panels,
        figsize=(figures.WIDTH, height + 0.9),
        layout="constrained",
        squeeze=False,
    )
    cmap = plt.get_cmap("RdBu")
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-CAP, vmax=CAP)
    for ax, n in zip(axes[0], workers, strict=True):
        part = cells[cells["N"] == n]
        grid = np.full((len(spreads), len(tails)), np.nan)
        for row in part.itertuples(index=False):
            i, j = spreads.index(row.spread), tails.index(row.tail)
            with np.errstate(divide="ignore"):
                grid[i, j] = np.clip(np.log2(row.ratio), -CAP, CAP)
            dark = abs(grid[i, j]) > 0.6 * CAP
            color = "white" if dark else "black"
            weight = "bold" if row.outcome != phasemap.INCONCLUSIVE else "normal"
            ax.text(
                j,
                i - 0.12,
                f"{_ratio_text(row.ratio)} {SYMBOL[row.outcome]}",
                ha="center",
                va="center",
                fontsize=7.5,
                color=color,
                weight=weight,
            )
            ax.text(
                j,
                i + 0.25,
                SHORT[row.best_baseline],
                ha="center",
                va="center",
                fontsize=5.5,
                color=color,
            )
            if row.outcome != phasemap.INCONCLUSIVE:
                ax.add_patch(
                    Rectangle(
                        (j - 0.47, i - 0.47),
                        0.94,
                        0.94,
                        fill=False,
                        lw=1.2,
                        ls="-" if row.outcome == phasemap.SUPPORTS else "--",
                        ec="black",
                    )
                )
        image = ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto")
        ax.set_xticks(range(len(tails)), tails, rotation=35, ha="right")
        ax.set_yticks(range(len(spreads)), [f"{s:g}" for s in spreads])
        ax.set_title(f"N = {n}")
        ax.grid(False)
    axes[0, 0].set_ylabel("speed spread s\n(log-normal, sd of log)")
    bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.9, pad=0.02)
    ticks = np.arange(-CAP, CAP + 1)
    bar.set_ticks(ticks, labels=[f"{2.0**t:g}" for t in ticks])
    bar.set_label("best baseline / ABS\n(time-to-target)")
    fig.supxlabel(
        "delay tail (every law has mean 1)\n"
        "▲ supports (CI > 1, solid box)  ▼ contradicts (CI < 1, dashed box)  "
        "○ inconclusive;  small text: the cell's best baseline",
        fontsize=7.5,
    )
    fig.suptitle(
        title or "Phase map: time-to-target of the best tuned baseline / ABS",
        fontsize=8.5,
    )
    return fig
