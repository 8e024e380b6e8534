"""The scaling benchmark's figure: throughput (top, log-log) and peak memory
(bottom, log x) against each axis, written as ``scaling.png`` and ``scaling.pdf``.

Part of ``benchmarks/scaling.py`` (its docstring describes the whole run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scaling_points import ABSJAX, LINREG, NUMPY, TIMING
from scaling_tables import atomic_write

matplotlib.use("Agg")

AXES = {  # axis -> (x label, panel title)
    "seeds": ("Monte-Carlo seeds", "seeds (N = 16, dim = 100)"),
    "workers": ("workers N (K = N/4)", "workers ({s} seeds, dim = 100)"),
    "dim": ("model dimension", "model dimension (N = 16, {s} seeds)"),
}


def _short(value: float) -> str:
    """``41,958`` -> ``42k``: a number short enough to print next to a point."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _tick(value: int) -> str:
    """``1024`` -> ``1,024``, ``100000`` -> ``100k``: an axis tick label."""
    return f"{value:,}" if value < 100_000 else _short(value)


SERIES = {  # (implementation, objective) -> label
    (ABSJAX, LINREG): "absjax, linear regression",
    (ABSJAX, TIMING): "absjax, timing only (no model)",
    (NUMPY, LINREG): "NumPy per-seed loop, linear regression",
    (NUMPY, TIMING): "NumPy per-seed loop, timing only",
}


def figure(rows: list[dict], args: argparse.Namespace, subtitle: str):
    """Throughput (top, log-log) and peak RSS (bottom, log x) against each axis."""
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.05)
    pal = sns.color_palette("colorblind")
    style = {
        (ABSJAX, LINREG): {"color": pal[0], "marker": "o", "linestyle": "-"},
        (ABSJAX, TIMING): {"color": pal[2], "marker": "s", "linestyle": "--"},
        (NUMPY, LINREG): {"color": pal[3], "marker": "^", "linestyle": ":"},
        (NUMPY, TIMING): {"color": pal[1], "marker": "v", "linestyle": ":"},
    }
    fig, axs = plt.subplots(
        2, 3, figsize=(15, 8.2), sharey="row", height_ratios=(1.6, 1)
    )
    seeds = {"workers": args.workers_seeds, "dim": args.dim_seeds}
    for col, (axis, (xlabel, title)) in enumerate(AXES.items()):
        top, bottom = axs[0, col], axs[1, col]
        sel = [r for r in rows if r["axis"] == axis]
        ticks = sorted({r["value"] for r in sel})
        mem = {}  # objective -> {value: peak RSS}
        for obj in (LINREG, TIMING):
            ok = sorted(
                (r for r in sel if r["objective"] == obj and r["status"] == "ok"),
                key=lambda r: r["value"],
            )
            if not ok:
                continue
            xs = [r["value"] for r in ok]
            for impl, key in ((ABSJAX, "seed_rounds_per_s"),):
                ys = [r[key] for r in ok]
                top.plot(xs, ys, label=SERIES[impl, obj], **style[impl, obj])
                for x, y in zip(xs, ys, strict=True):
                    top.annotate(
                        _short(y),
                        (x, y),
                        xytext=(0, 6),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=7.5,
                        color=style[impl, obj]["color"],
                    )
            mem[obj] = {r["value"]: r["peak_rss_mib"] for r in ok}
            bottom.plot(*zip(*mem[obj].items(), strict=True), **style[ABSJAX, obj])
        for obj, points in mem.items():  # a label on the side away from the other
            others = [m for o, m in mem.items() if o != obj]
            for x, y in points.items():
                above = all(y >= m.get(x, -1) for m in others)
                bottom.annotate(
                    f"{y:,.0f}",
                    (x, y),
                    xytext=(0, 5 if above else -6),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if above else "top",
                    fontsize=7.5,
                    color=style[ABSJAX, obj]["color"],
                )
        for obj in (LINREG, TIMING):  # NumPy, from every row that has it
            ref = sorted(
                {
                    (r["value"], r["numpy_seed_rounds_per_s"])
                    for r in sel
                    if r["objective"] == obj and r["numpy_seed_rounds_per_s"] != ""
                }
            )
            if not ref:
                continue
            st = style[NUMPY, obj]
            if axis == "seeds":  # one rate for every seed count
                rate = ref[0][1]
                top.axhline(rate, color=st["color"], linestyle=st["linestyle"])
                top.plot([], [], label=SERIES[NUMPY, obj], **st)
                top.annotate(
                    f"NumPy {_short(rate)}",
                    (0.99, rate),
                    xycoords=("axes fraction", "data"),
                    xytext=(0, -4),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    fontsize=7.5,
                    color=st["color"],
                )
                continue
            xs, ys = zip(*ref, strict=True)
            top.plot(xs, ys, label=SERIES[NUMPY, obj], **st)
            for x, y in ref:
                top.annotate(
                    _short(y),
                    (x, y),
                    xytext=(5, -3),
                    textcoords="offset points",
                    ha="left",
                    va="top",
                    fontsize=7.5,
                    color=st["color"],
                )
        if axis == "workers":  # a cost linear in N: rate proportional to 1/N
            ok = sorted(
                (r for r in sel if r["objective"] == LINREG and r["status"] == "ok"),
                key=lambda r: r["value"],
            )
            if ok and len(ticks) > 1:
                x0, y0 = ok[0]["value"], ok[0]["seed_rounds_per_s"]
                xs = np.array([ticks[0], ticks[-1]], dtype=float)
                top.plot(
                    xs,
                    y0 * x0 / xs,
                    color="0.6",
                    linewidth=1,
                    linestyle="-.",
                    label="cost linear in N (through absjax linreg)",
                )
        bad = [r for r in sel if r["status"] != "ok"]
        if bad:
            text = "not measured:\n" + "\n".join(
                f"{r['objective']} {r['value']:,}: {r['status']}" for r in bad
            )
            top.text(
                0.02,
                0.02,
                text,
                transform=top.transAxes,
                fontsize=7.5,
                va="bottom",
                ha="left",
                color="0.3",
                bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
            )
        top.set_yscale("log")
        top.grid(which="minor", axis="y", linewidth=0.4, alpha=0.6)
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        for ax in (top, bottom):
            ax.set_xscale("log")
            if ticks:
                ax.xaxis.set_major_locator(FixedLocator(ticks))
                ax.xaxis.set_minor_locator(NullLocator())
                ax.set_xticklabels([_tick(t) for t in ticks])
                lo, hi = ticks[0], ticks[-1]
                pad = (hi / lo) ** 0.08 if hi > lo else 2.0
                ax.set_xlim(lo / pad, hi * pad)
        top.set_title(title.format(s=f"{seeds.get(axis, 0):,}"))
        bottom.set_xlabel(xlabel)
    for ax in axs[0]:
        ax.margins(y=0.15)
    rss = [r["peak_rss_mib"] for r in rows if r["peak_rss_mib"] != ""]
    if rss:  # shared y: room for the labels above the highest point
        axs[1, 0].set_ylim(0, 1.2 * max(rss))
    axs[0, 0].set_ylabel("simulated seed-rounds / s")
    axs[1, 0].set_ylabel("absjax peak RSS (MiB, whole process)")
    handles, labels = [], []
    for ax in axs.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(subtitle, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def save_figure(fig, out: Path) -> None:
    for fmt, kwargs in (("png", {"dpi": 130}), ("pdf", {})):
        atomic_write(
            out / f"scaling.{fmt}",
            lambda tmp, f=fmt, k=kwargs: fig.savefig(tmp, format=f, **k),
        )
    plt.close(fig)
