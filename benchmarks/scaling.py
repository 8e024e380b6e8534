"""Scaling benchmark: absjax throughput against seeds, workers and model dimension.

Times the standard workload of ``standard.py`` (``k_async(K, tau=3)``, shifted
exponential job durations ``0.5 + Exp(rate=2)``, linear regression with 4096
samples and minibatches of 32, ``lr = 0.05``, 1000 rounds, a logged row every
10) along three axes, one at a time, the others held at the standard values:

* seeds in ``{64, 256, 1024, 4096}`` at ``N = 16``, ``dim = 100``; also with
  the timing-only objective (``objectives.timing_only()``: no model, only the
  delays and the policy);
* workers ``N`` in ``{4, 16, 64}`` at 1024 seeds, ``dim = 100``, with
  ``K = ceil(N / 4)`` (``numpy_baseline.num_arrivals``), so ``N = 16`` is
  the standard ``K = 4``;
* model dimension in ``{10, 100, 1000}`` at 1024 seeds, ``N = 16``.

Every absjax point runs in a fresh subprocess through ``standard.run_child``
(same flags, same timing: the first call is compilation plus one run, the
median of ``--repeats`` further calls is the steady time, compile time is their
difference, the peak RSS is the subprocess's ``ru_maxrss``). The point at 1024
seeds, ``N = 16``, ``dim = 100`` lies on all three axes and is measured once.
Throughput is in simulated seed-rounds per second, ``seeds * rounds / steady``.

The NumPy per-seed loop of ``numpy_baseline.py`` is measured in the same run,
in this (parent) process, once per ``(N, dim)`` point with ``--numpy-seeds``
seeds: it simulates one seed after the other, so its rate does not depend on
the number of seeds (a horizontal line in the seeds panel).

Writes to ``--out`` (default ``benchmarks/results/scaling``, or
``benchmarks/results/scaling_quick`` with ``--quick``): ``results.csv`` (one
row per point and axis), ``table.md`` (the table printed on stdout),
``machine.txt`` (CPU, cores, memory, versions, JAX devices, load averages,
runtime) and the figure ``scaling.png`` / ``scaling.pdf``, each atomically.
The machine should be otherwise idle: other processes lower the rates.

Example:
    The full run (an estimated 10 to 15 minutes on two cores), or a smoke run::

        python benchmarks/scaling.py --out benchmarks/results/scaling
        python benchmarks/scaling.py --quick
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy_baseline  # sibling modules (benchmarks/ is sys.path[0])
import seaborn as sns
import standard
from matplotlib.ticker import FixedLocator, NullLocator

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
FULL = {
    "seeds": [64, 256, 1024, 4096],
    "workers": [4, 16, 64],
    "dims": [10, 100, 1000],
    "fixed_seeds": 1024,  # seeds of the workers and dimension axes
    "rounds": standard.ROUNDS,
    "repeats": 3,
    "numpy_seeds": 8,
    "out": HERE / "results" / "scaling",
}
QUICK = {
    "seeds": [64, 256],
    "workers": [4, 16],
    "dims": [10, 100],
    "fixed_seeds": 256,
    "rounds": 100,
    "repeats": 1,
    "numpy_seeds": 2,
    "out": HERE / "results" / "scaling_quick",
}
STANDARD_N = standard.NUM_WORKERS  # 16
STANDARD_DIM = numpy_baseline.DIM  # 100
ABSJAX, TIMING, NUMPY = "absjax", "absjax timing-only", "NumPy loop"
AXES = {  # axis -> (x column, x label, panel title)
    "seeds": ("seeds", "Monte-Carlo seeds", "seeds (N = 16, dim = 100)"),
    "workers": ("num_workers", "workers N", "workers (K = N/4, {s} seeds, dim = 100)"),
    "dim": ("dim", "model dimension", "model dimension (N = 16, {s} seeds)"),
}
OUTPUTS = ("results.csv", "table.md", "machine.txt", "scaling.png", "scaling.pdf")
COLUMNS = [
    "axis",
    "implementation",
    "seeds",
    "num_workers",
    "k",
    "tau",
    "dim",
    "rounds",
    "seed_rounds_per_s",
    "ratio_vs_numpy",
    "compile_s",
    "steady_s",
    "first_s",
    "steady_calls_s",
    "peak_rss_mib",
    "rss_before_mib",
    "result_mib",
    "cpu_use",
    "load",
    "devices",
    "mean_round_time",
    "final_loss",
    "diverged",
    "error",
]


class Point(NamedTuple):
    """One measurement: an implementation at a workload size."""

    implementation: str  # ABSJAX, TIMING or NUMPY
    seeds: int  # for NUMPY: the seeds it simulates to measure its rate
    num_workers: int
    dim: int | None  # None for the timing-only objective (no model)


def plan(args: argparse.Namespace) -> dict[str, list[Point]]:
    """The points of each axis (a point may lie on several axes)."""
    n, d, s = STANDARD_N, STANDARD_DIM, args.fixed_seeds
    npx = args.numpy_seeds
    return {
        "seeds": [Point(ABSJAX, x, n, d) for x in args.seeds]
        + [Point(TIMING, x, n, None) for x in args.seeds]
        + [Point(NUMPY, npx, n, d)],
        "workers": [Point(ABSJAX, s, x, d) for x in args.workers]
        + [Point(NUMPY, npx, x, d) for x in args.workers],
        "dim": [Point(ABSJAX, s, n, x) for x in args.dims]
        + [Point(NUMPY, npx, n, x) for x in args.dims],
    }


def workload(point: Point) -> dict:
    """The ``standard.WORKLOAD`` overrides of an absjax point."""
    if point.dim is None:
        objective = "timing"  # objectives.timing_only()
    else:
        objective = (
            f"linreg:dim={point.dim},samples={numpy_baseline.N_SAMPLES},"
            f"batch={numpy_baseline.BATCH}"
        )
    return {
        "num_workers": point.num_workers,
        "k": numpy_baseline.num_arrivals(point.num_workers),
        "tau": numpy_baseline.TAU,
        "objective": objective,
    }


def measure_numpy(point: Point, rounds: int) -> dict:
    """Times the NumPy loop here, in the parent process (no JAX imported)."""
    load = os.getloadavg()[0]
    try:
        rate, runs = numpy_baseline.measure(
            point.seeds, rounds, point.num_workers, point.dim
        )
    except Exception as err:  # reported in the table and the CSV
        return {"error": f"{type(err).__name__}: {err}"}
    return {
        "rate": rate,
        "steady": point.seeds * rounds / rate,  # all seeds, one after the other
        "load": load,
        "mean_round_time": float(np.mean([r["mean_round_time"] for r in runs])),
        "final_loss": float(np.mean([r["loss"][-1] for r in runs])),
    }


def measure_absjax(point: Point, args: argparse.Namespace) -> dict:
    """Times absjax in a fresh subprocess (``standard.run_child``)."""
    res = standard.run_child(point.seeds, args, workload(point))
    if "error" in res:
        return res
    steady = statistics.median(res["steady_s"])
    return {
        **res,
        "rate": point.seeds * args.rounds / steady,
        "steady": steady,
        "compile_s": res["first_s"] - steady,
        "mean_round_time": res["round_time"][0],
        "final_loss": res["final_loss"][0],
    }


def csv_rows(
    axes: dict[str, list[Point]], measured: dict[Point, dict], rounds: int
) -> list[dict]:
    """One CSV row per (axis, point); shared points repeat the same numbers."""
    rows = []
    for axis, points in axes.items():
        for p in points:
            m = measured[p]
            ref = next(
                (
                    measured[q]
                    for q in measured
                    if q.implementation == NUMPY
                    and (q.num_workers, q.dim) == (p.num_workers, p.dim)
                ),
                None,
            )
            ratio = ""
            if p.implementation == ABSJAX and "rate" in m and ref and "rate" in ref:
                ratio = m["rate"] / ref["rate"]
            rows.append(
                {
                    "axis": axis,
                    "implementation": p.implementation,
                    "seeds": p.seeds,
                    "num_workers": p.num_workers,
                    "k": numpy_baseline.num_arrivals(p.num_workers),
                    "tau": numpy_baseline.TAU,
                    "dim": "" if p.dim is None else p.dim,
                    "rounds": rounds,
                    "seed_rounds_per_s": m.get("rate", ""),
                    "ratio_vs_numpy": ratio,
                    "compile_s": m.get("compile_s", ""),
                    "steady_s": m.get("steady", ""),
                    "first_s": m.get("first_s", ""),
                    # absjax's steady calls; the subprocess's list is "steady_s"
                    "steady_calls_s": ";".join(
                        f"{t:.4f}" for t in m.get("steady_s", [])
                    ),
                    "peak_rss_mib": m.get("peak_rss_mib", ""),
                    "rss_before_mib": m.get("rss_before_mib", ""),
                    "result_mib": m.get("result_mib", ""),
                    "cpu_use": m.get("cpu_use", ""),
                    "load": m.get("load", ""),
                    "devices": len(m["devices"]) if "devices" in m else "",
                    "mean_round_time": m.get("mean_round_time", ""),
                    "final_loss": m.get("final_loss", ""),
                    "diverged": m.get("diverged", ""),
                    "error": m.get("error", ""),
                }
            )
    return rows


def markdown(rows: list[dict]) -> str:
    """The CSV rows as a Markdown table (via ``standard.table``)."""

    def num(value, fmt: str) -> str:
        if value == "" or value is None:
            return "-"
        if isinstance(value, float) and math.isnan(value):
            return "n/a"
        return format(value, fmt)

    header = ["axis", "implementation", "seeds", "N", "K", "dim"]
    header += ["seed-rounds/s", "vs NumPy", "compile s", "steady s"]
    header += ["peak RSS MiB", "round time"]
    table = [header]
    for r in rows:
        rate = "failed" if r["error"] else num(r["seed_rounds_per_s"], ",.0f")
        ratio = num(r["ratio_vs_numpy"], ".3g")
        table.append(
            [
                r["axis"],
                r["implementation"],
                str(r["seeds"]),
                str(r["num_workers"]),
                str(r["k"]),
                str(r["dim"] or "-"),
                rate,
                ratio if ratio == "-" else ratio + "x",
                num(r["compile_s"], ".2f"),
                num(r["steady_s"], ".3f"),
                num(r["peak_rss_mib"], ".0f"),
                num(r["mean_round_time"], ".4f"),
            ]
        )
    return standard.table(table, markdown=True)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Calls ``write(tmp)`` on a temporary file next to ``path``, then renames it."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(path: Path, rows: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: f"{v:.6g}" if isinstance(v, float) else v
                        for k, v in row.items()
                    }
                )

    atomic_write(path, write)


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


LABELS = {
    ABSJAX: "absjax (linear regression)",
    TIMING: "absjax timing-only (no model)",
    NUMPY: "NumPy per-seed loop (rate independent of seeds)",
}


def _short(value: float) -> str:
    """``41,958`` -> ``42.0k``: a rate short enough to print next to a point."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def figure(rows: list[dict], args: argparse.Namespace, subtitle: str):
    """Three log-log panels: throughput against seeds, workers and dimension."""
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    palette = sns.color_palette("colorblind")
    style = {
        ABSJAX: {"color": palette[0], "marker": "o", "linestyle": "-"},
        TIMING: {"color": palette[2], "marker": "s", "linestyle": "--"},
        NUMPY: {"color": palette[3], "marker": "^", "linestyle": ":"},
    }
    fig, axs = plt.subplots(1, 3, figsize=(13, 4.6), sharey=True)
    rates = []
    for ax, (axis, (xcol, xlabel, title)) in zip(axs, AXES.items(), strict=True):
        ticks = []
        for impl in (ABSJAX, TIMING, NUMPY):
            sel = [
                r
                for r in rows
                if r["axis"] == axis
                and r["implementation"] == impl
                and r["seed_rounds_per_s"] != ""
            ]
            if not sel:
                continue
            color = style[impl]["color"]
            if axis == "seeds" and impl == NUMPY:  # one rate for every seed count
                rate = sel[0]["seed_rounds_per_s"]
                rates.append(rate)
                ax.axhline(
                    rate,
                    color=color,
                    linestyle=style[impl]["linestyle"],
                    linewidth=1.8,
                    label=LABELS[impl],
                )
                ax.annotate(
                    _short(rate),
                    (0.98, rate),
                    xycoords=("axes fraction", "data"),
                    xytext=(0, -4),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    fontsize=8,
                    color=color,
                )
                continue
            sel.sort(key=lambda r: r[xcol])
            xs = [r[xcol] for r in sel]
            ys = [r["seed_rounds_per_s"] for r in sel]
            ticks += xs
            rates += ys
            ax.plot(
                xs, ys, linewidth=1.8, markersize=6, label=LABELS[impl], **style[impl]
            )
            below = impl == NUMPY  # NumPy's labels below, absjax's above
            for x, y in zip(xs, ys, strict=True):
                ax.annotate(
                    _short(y),
                    (x, y),
                    xytext=(0, -8 if below else 7),
                    textcoords="offset points",
                    ha="center",
                    va="top" if below else "bottom",
                    fontsize=8,
                    color=color,
                )
        ax.set_xscale("log", base=2 if axis != "dim" else 10)
        ax.set_yscale("log")
        ax.grid(which="minor", axis="y", linewidth=0.4, alpha=0.6)
        if ticks:
            ticks = sorted(set(ticks))
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([f"{t:,}" for t in ticks])
            lo, hi = ticks[0], ticks[-1]
            pad = (hi / lo) ** 0.1 if hi > lo else 2.0
            ax.set_xlim(lo / pad, hi * pad)
        ax.set_xlabel(xlabel)
        ax.set_title(title.format(s=args.fixed_seeds))
    if rates:  # room for the labels above and below the points
        axs[0].set_ylim(min(rates) / 3, max(rates) * 3)
    axs[0].set_ylabel("simulated seed-rounds / s")
    handles, labels = [], []
    for ax in axs:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(subtitle, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def save_figure(fig, out: Path) -> None:
    for fmt, kwargs in (("png", {"dpi": 150}), ("pdf", {})):
        atomic_write(
            out / f"scaling.{fmt}",
            lambda tmp, f=fmt, k=kwargs: fig.savefig(tmp, format=f, **k),
        )
    plt.close(fig)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, help="output folder (default: benchmarks/results/...)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: fewer rounds and sizes"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds axis")
    parser.add_argument("--workers", type=int, nargs="+", help="workers axis (N)")
    parser.add_argument("--dims", type=int, nargs="+", help="dimension axis")
    parser.add_argument(
        "--fixed-seeds", type=int, help="seeds of the workers and dimension axes"
    )
    parser.add_argument("--rounds", type=int, help="rounds (a multiple of 10)")
    parser.add_argument("--repeats", type=int, help="steady calls (median)")
    parser.add_argument("--numpy-seeds", type=int, help="seeds of the NumPy loop")
    parser.add_argument(
        "--devices", type=int, default=2, help="host devices to force (XLA_FLAGS)"
    )
    parser.add_argument(
        "--chunk", type=int, help="sim.run(chunk=...); default: absjax's default"
    )
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.rounds < standard.LOG_EVERY or args.rounds % standard.LOG_EVERY:
        parser.error(f"--rounds={args.rounds} must be a positive multiple of 10")
    for name in ("repeats", "numpy_seeds", "devices", "fixed_seeds", "chunk"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    for name in ("seeds", "workers", "dims"):
        if min(getattr(args, name)) < 1:
            parser.error(f"--{name}={getattr(args, name)} must all be >= 1")
    return args


def main() -> None:
    """Measures every point, then writes the CSV, table, machine file and figure."""
    args = parse_args()
    start = time.perf_counter()
    load_start = os.getloadavg()
    axes = plan(args)
    unique = list(dict.fromkeys(p for points in axes.values() for p in points))
    print(
        f"absjax scaling benchmark ({'quick' if args.quick else 'full'}): "
        f"{len(unique)} measurements, {args.rounds} rounds, "
        f"{args.repeats} steady calls, {args.devices} host devices -> {args.out}",
        flush=True,
    )

    measured: dict[Point, dict] = {}
    # NumPy first, here, while no subprocess runs; then absjax, one process each.
    for p in sorted(unique, key=lambda p: p.implementation != NUMPY):
        label = (
            f"{p.implementation}: seeds={p.seeds} N={p.num_workers} "
            f"K={numpy_baseline.num_arrivals(p.num_workers)} dim={p.dim or '-'}"
        )
        t0 = time.perf_counter()
        if p.implementation == NUMPY:
            m = measure_numpy(p, args.rounds)
        else:
            m = measure_absjax(p, args)
        measured[p] = m
        took = time.perf_counter() - t0
        if "error" in m:
            print(f"{label}: FAILED ({took:.0f} s) {m['error']}", flush=True)
            continue
        extra = ""
        if p.implementation != NUMPY:
            extra = (
                f", compile {m['compile_s']:.2f} s, peak RSS "
                f"{m['peak_rss_mib']:.0f} MiB, {m['cpu_use']:.2f} cores busy"
            )
        print(
            f"{label}: {m['rate']:,.0f} seed-rounds/s{extra}, load "
            f"{m['load']:.2f} ({took:.0f} s)",
            flush=True,
        )

    rows = csv_rows(axes, measured, args.rounds)
    table = markdown(rows)
    elapsed = time.perf_counter() - start
    load_end = os.getloadavg()
    done = [m for p, m in measured.items() if "devices" in m]
    devices = done[0]["devices"] if done else []
    backend = done[0]["backend"] if done else "unknown"
    machine = [
        "absjax scaling benchmark (benchmarks/scaling.py)",
        "command: " + " ".join([Path(sys.executable).name, *sys.argv]),
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        *standard.machine(),
        f"JAX backend: {backend}, device count: {len(devices)} "
        f"(XLA_FLAGS=--xla_force_host_platform_device_count={args.devices}), "
        f"devices: {', '.join(devices)}",
        "sim.run chunk: "
        + ("absjax's default" if args.chunk is None else str(args.chunk)),
        f"profile: {'quick' if args.quick else 'full'}, {args.rounds} rounds, "
        f"{args.repeats} steady calls (median), NumPy loop {args.numpy_seeds} seeds",
        "load average (1, 5, 15 min) at start "
        + ", ".join(f"{x:.2f}" for x in load_start)
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in load_end),
        f"runtime: {elapsed:.0f} s",
    ]
    subtitle = (
        f"absjax vs NumPy, standard workload (k_async tau=3, shifted exp 0.5/2, "
        f"linreg, {args.rounds} rounds); "
        f"{standard.machine()[0].removeprefix('CPU: ')}, "
        f"{os.cpu_count()} cores, {len(devices)} JAX CPU devices"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "results.csv", rows)
    write_text(args.out / "table.md", table + "\n")
    write_text(args.out / "machine.txt", "\n".join(machine) + "\n")
    save_figure(figure(rows, args, subtitle), args.out)

    print()
    print("\n".join(machine))
    print()
    print(table)
    print(f"\nwrote {', '.join(OUTPUTS)} in {args.out} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
