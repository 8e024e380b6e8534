"""Scaling benchmark: absjax against the NumPy loop over seeds, workers and dim.

Times the standard workload of ``standard.py`` (``k_async(K, tau=3)`` with
``K = ceil(N / 4)`` (``numpy_baseline.num_arrivals``), shifted exponential job
durations ``0.5 + Exp(rate=2)``, linear regression with 4096 samples and
minibatches of 32, ``lr = 0.05``, a logged row every 10 rounds) along three
axes, one at a time, the others held at the standard values, each with the
linear-regression objective ("linreg") and, where marked, also with the
timing-only objective ("timing": ``objectives.timing_only()``, no model, only
the delays and the policy):

* seeds: ``{64, 1024, 16384, 100000}`` at ``N = 16``, ``dim = 100``; timing
  only ``{64, 1024, 16384, 100000, 1000000}``;
* workers ``N``: ``{16, 256, 4096, 10000}`` at 128 seeds (64 per device on
  two host devices: no padding lanes at any N), ``dim = 100``, linreg and
  timing (at ``N = 10^4``, ``K = 2500`` gradients per seed-round);
* model dimension: ``{10, 100, 1000}`` at 1024 seeds, ``N = 16``.

Rounds per point. Throughput (simulated seed-rounds per second) does not need
1000 rounds at large sizes, so each point simulates ``rounds`` = the largest
multiple of 10 in ``[10, 1000]`` whose steady call is *predicted* to take at
most ``--call-s`` seconds (4 s; 0.5 s with ``--quick``). The prediction is a
fixed cost model in microseconds per seed-round (:func:`prior_us`, fitted to
this project's 2-core reference machine, padding lanes of the vmapped chunks
included), so the rounds of a point do not depend on the machine it runs on,
and ``--rounds`` fixes them for every point. With the defaults:

* seeds axis, linreg: 1000, 500, 30, 10 rounds (64 .. 10^5 seeds); timing:
  1000, 1000, 340, 50, 10 (64 .. 10^6 seeds): about 10^6 (linreg) and 10^7
  (timing) seed-rounds per call at the large seed counts;
* workers axis (128 seeds): linreg 1000, 200, 10, 10; timing 1000, 1000, 60, 20
  rounds (N = 16, 256, 4096, 10^4);
* dimension axis (1024 seeds): 1000, 500, 60 rounds (dim = 10, 100, 1000).

Fewer rounds per call weigh the per-call costs (random keys, the copy of the
result, building the Result) more, so the rate at the largest points is a
slight underestimate of the long-run rate; ``rounds`` is in every row.

Every absjax point runs in a fresh subprocess through ``standard.run_child``
with this checkout's ``absjax`` first on ``PYTHONPATH`` (same flags, same
timing: the first call is compilation plus one run, the median of
``--repeats`` further calls is the steady time, compile time is their
difference, the peak RSS is the subprocess's ``ru_maxrss``, which includes
the ~300 MiB of Python, JAX and the data set). A point shared by two axes
(1024 seeds at N = 16, dim = 100) is measured once.
``µs/seed-round/N`` divides the cost of a seed-round by N: constant along the
workers axis means a cost linear in N (all its points have 128 seeds and no
padding).

The NumPy per-seed loop of ``numpy_baseline.py`` (``measure``; with
``timing_only=True`` for the timing points) is measured in the same run, in
this (parent) process before any subprocess starts, once per
``(N, dim, objective)``: ``--numpy-seeds`` seeds, rounds chosen from a
10-round calibration so that it takes about ``--numpy-s`` seconds. It
simulates one seed after the other, so its rate does not depend on the seeds
(a horizontal line in the seeds panel); ``speedup`` is absjax's rate over it.

No point can run away. Before each point, its wall time is estimated (the cost
model times the median ratio of measured to estimated wall time of the points
already measured, plus start-up and compilation); a point estimated above
``--point-budget-s`` (180 s), or beyond what is left of ``--budget-s`` (the
whole run, 900 s), is skipped and listed with the reason; a subprocess still
running after 3x its estimate (at least 60 s) is killed ("timed out"). A run
the engine's memory check refuses (``ValueError: the simulation needs an
estimated X GiB per device ...``) is reported as "does not fit" with that
message; any other failure as "failed" with the end of its stderr. The
points run cheapest first, so a tight budget drops the most expensive ones.

Writes to ``--out`` (default ``benchmarks/results/scaling``, or
``benchmarks/results/scaling_quick`` with ``--quick``): ``results.csv`` (one
row per axis and absjax point, with the matching NumPy numbers) and
``table.md`` (the table printed on stdout), both rewritten after every point;
at the end ``machine.txt`` (``lscpu``, memory, versions, JAX devices, the
absjax that was timed, load averages, runtime) and the figure ``scaling.png``
/ ``scaling.pdf`` (one column per axis; top: throughput, log-log; bottom:
peak RSS, log x), each written atomically. The machine should be otherwise idle:
other processes lower the rates (the load average and the cores each point
kept busy are in the CSV).

Example:
    The full run (an estimated 8 to 12 minutes on two quiet cores), or a
    smoke run (2 to 3 minutes)::

        python benchmarks/scaling.py --out benchmarks/results/scaling
        python benchmarks/scaling.py --quick
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import statistics
import subprocess
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
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # the checkout whose absjax the subprocesses import
FULL = {
    "seeds": [64, 1024, 16384, 100_000],
    "timing_seeds": [64, 1024, 16384, 100_000, 1_000_000],
    "workers": [16, 256, 4096, 10_000],
    "workers_seeds": 128,  # 64 per device: no padding lanes at any N
    "dims": [10, 100, 1000],
    "dim_seeds": 1024,
    "call_s": 4.0,
    "repeats": 3,
    "numpy_seeds": 2,
    "numpy_s": 3.0,
    "point_budget_s": 180.0,
    "budget_s": 900.0,
    "out": HERE / "results" / "scaling",
}
QUICK = {
    "seeds": [64, 1024],
    "timing_seeds": [64, 1024, 16384],
    "workers": [16, 256, 10_000],
    "workers_seeds": 128,
    "dims": [10, 100],
    "dim_seeds": 1024,
    "call_s": 0.5,
    "repeats": 1,
    "numpy_seeds": 2,
    "numpy_s": 0.3,
    "point_budget_s": 30.0,
    "budget_s": 170.0,
    "out": HERE / "results" / "scaling_quick",
}
MAX_ROUNDS = standard.ROUNDS  # 1000
MIN_ROUNDS = standard.LOG_EVERY  # 10
STANDARD_N = standard.NUM_WORKERS  # 16
STANDARD_DIM = numpy_baseline.DIM  # 100
ABSJAX, NUMPY = "absjax", "NumPy loop"
LINREG, TIMING = "linreg", "timing"
STARTUP_S = 4.0  # a subprocess's Python + JAX import + data set (estimate)
AXES = {  # axis -> (x label, panel title)
    "seeds": ("Monte-Carlo seeds", "seeds (N = 16, dim = 100)"),
    "workers": ("workers N (K = N/4)", "workers ({s} seeds, dim = 100)"),
    "dim": ("model dimension", "model dimension (N = 16, {s} seeds)"),
}
OUTPUTS = ("results.csv", "table.md", "machine.txt", "scaling.png", "scaling.pdf")
COLUMNS = [
    "axis",
    "value",
    "objective",
    "seeds",
    "num_workers",
    "k",
    "tau",
    "dim",
    "rounds",
    "compile_s",
    "steady_s",
    "first_s",
    "steady_calls_s",
    "seed_rounds_per_s",
    "us_per_seed_round",
    "us_per_seed_round_per_n",
    "numpy_seed_rounds_per_s",
    "numpy_us_per_seed_round",
    "numpy_seeds",
    "numpy_rounds",
    "speedup",
    "peak_rss_mib",
    "rss_before_mib",
    "result_mib",
    "cpu_use",
    "load",
    "estimate_s",
    "wall_s",
    "mean_round_time",
    "numpy_mean_round_time",
    "final_loss",
    "numpy_final_loss",
    "diverged",
    "status",
    "detail",
]


class Point(NamedTuple):
    """One measurement: an implementation at a workload size."""

    implementation: str  # ABSJAX or NUMPY
    seeds: int  # for NUMPY: the seeds it simulates to measure its rate
    num_workers: int
    dim: int | None  # None for the timing-only objective (no model)

    @property
    def objective(self) -> str:
        return TIMING if self.dim is None else LINREG

    def label(self) -> str:
        return (
            f"{self.implementation} {self.objective}: seeds={self.seeds:,} "
            f"N={self.num_workers:,} K={numpy_baseline.num_arrivals(self.num_workers)}"
            f" dim={self.dim or '-'}"
        )


def plan(args: argparse.Namespace) -> dict[str, list[Point]]:
    """The absjax points of each axis (a point may lie on several axes)."""
    n, d = STANDARD_N, STANDARD_DIM
    ws, ds = args.workers_seeds, args.dim_seeds
    return {
        "seeds": [Point(ABSJAX, x, n, d) for x in args.seeds]
        + [Point(ABSJAX, x, n, None) for x in args.timing_seeds],
        "workers": [Point(ABSJAX, ws, x, d) for x in args.workers]
        + [Point(ABSJAX, ws, x, None) for x in args.workers],
        "dim": [Point(ABSJAX, ds, n, x) for x in args.dims],
    }


def axis_value(axis: str, p: Point) -> int:
    return {"seeds": p.seeds, "workers": p.num_workers, "dim": p.dim}[axis]


def numpy_point(p: Point, args: argparse.Namespace) -> Point:
    """The NumPy measurement that an absjax point is compared with."""
    return Point(NUMPY, args.numpy_seeds, p.num_workers, p.dim)


def lanes(p: Point, devices: int) -> int:
    """Seed lanes absjax computes for ``p.seeds`` (whole chunks on each device,
    ``chunk="auto"`` on the CPU: at most 64 for a model run, the seeds per
    device rounded up to a power of two, at most 1024, for timing). The
    working-set bound that lowers the chunk at large N or dim adds no padding
    at this benchmark's seed counts (multiples of 64 per device), so it is
    left out."""
    per_device = -(-p.seeds // devices)
    chunk = 64
    if p.dim is None:
        chunk = min(1024, 2 ** math.ceil(math.log2(max(per_device, 1))))
    return devices * chunk * -(-per_device // chunk)


def prior_us(p: Point, devices: int) -> float:
    """Predicted µs per seed-round of an absjax point (the cost model).

    Fitted to the 2-core reference machine with 2 host devices: linreg 7.7 µs
    at N = 16, dim = 100 (full chunks), growing as ``(N / 16)^1.07`` (9 ms at
    N = 4096, 22 ms at N = 10^4 with 64 seeds, measured under load) and as
    ``0.2 + 0.8 dim / 100`` with the dimension; timing-only 0.7 µs at N = 16,
    growing as ``(N / 16)^1.18`` (4.6 ms at N = 10^4 with 64 seeds); times
    the padding lanes over the seeds.
    """
    scale = p.num_workers / STANDARD_N
    if p.dim is None:
        base = 0.7 * scale**1.18
    else:
        base = 7.7 * scale**1.07 * (0.2 + 0.8 * p.dim / STANDARD_DIM)
    return base * lanes(p, devices) / p.seeds


def prior_compile_s(p: Point) -> float:
    """Predicted compile time (s): about 4 s at N = 16, 10 s at N = 10^4."""
    return 4.0 + 2.0 * math.log10(max(p.num_workers / STANDARD_N, 1.0))


def clamp_rounds(rounds: float) -> int:
    """The largest multiple of 10 not above ``rounds``, within [10, 1000]."""
    tens = int(rounds // MIN_ROUNDS) * MIN_ROUNDS
    return max(MIN_ROUNDS, min(MAX_ROUNDS, tens))


def rounds_for(p: Point, args: argparse.Namespace) -> int:
    """Rounds of an absjax point: one steady call predicted at ``--call-s``."""
    if args.rounds is not None:
        return args.rounds
    return clamp_rounds(args.call_s / (p.seeds * prior_us(p, args.devices) * 1e-6))


def estimate_s(p: Point, rounds: int, args: argparse.Namespace) -> float:
    """Predicted wall time of an absjax point (uncorrected)."""
    calls = 1 + args.repeats
    run = p.seeds * rounds * prior_us(p, args.devices) * 1e-6
    return STARTUP_S + prior_compile_s(p) + calls * run


def workload(p: Point) -> dict:
    """The ``standard.WORKLOAD`` overrides of an absjax point."""
    if p.dim is None:
        objective = "timing"  # objectives.timing_only()
    else:
        objective = (
            f"linreg:dim={p.dim},samples={numpy_baseline.N_SAMPLES},"
            f"batch={numpy_baseline.BATCH}"
        )
    return {
        "num_workers": p.num_workers,
        "k": numpy_baseline.num_arrivals(p.num_workers),
        "tau": numpy_baseline.TAU,
        "objective": objective,
    }


def skipped(reason: str, estimate: float | None = None) -> dict:
    return {"status": "skipped", "detail": reason, "estimate_s": estimate}


def measure_numpy(p: Point, args: argparse.Namespace, left_s: float) -> dict:
    """Times the NumPy loop here, in the parent process (no JAX imported)."""
    timing = p.dim is None
    dim = p.dim or STANDARD_DIM
    load = os.getloadavg()[0]
    try:
        cal, _ = numpy_baseline.measure(1, MIN_ROUNDS, p.num_workers, dim, timing)
        per = 1.0 / cal  # s per seed-round, the set-up included: an overestimate
        rounds = args.rounds or clamp_rounds(args.numpy_s / (p.seeds * per))
        estimate = p.seeds * rounds * per
        budget = min(args.point_budget_s, left_s)
        if estimate > budget:
            return skipped(f"estimated {estimate:.0f} s > {budget:.0f} s", estimate)
        rate, runs = numpy_baseline.measure(p.seeds, rounds, p.num_workers, dim, timing)
    except Exception as err:  # reported in the table and the CSV
        return {"status": "failed", "detail": f"{type(err).__name__}: {err}"}
    return {
        "status": "ok",
        "rate": rate,
        "rounds": rounds,
        "steady": p.seeds * rounds / rate,  # all seeds, one after the other
        "load": load,
        "mean_round_time": float(np.mean([r["mean_round_time"] for r in runs])),
        "final_loss": float(np.mean([r["loss"][-1] for r in runs])),
    }


def classify(error: str) -> tuple[str, str]:
    """``(status, detail)`` of a failed subprocess from its error text."""
    parts = [s.strip() for s in error.split(" | ")]
    fit = [s for s in parts if "needs an estimated" in s]
    if fit:
        return "does not fit", fit[-1].removeprefix("ValueError: ")
    if error.startswith("timed out"):
        return "timed out", error
    if "RESOURCE_EXHAUSTED" in error or "Out of memory" in error:
        return "out of memory", error
    return "failed", error


def measure_absjax(
    p: Point, rounds: int, args: argparse.Namespace, timeout: float
) -> dict:
    """Times absjax in a fresh subprocess (``standard.run_child``)."""
    child_args = argparse.Namespace(
        devices=args.devices, rounds=rounds, repeats=args.repeats, chunk=args.chunk
    )
    res = standard.run_child(p.seeds, child_args, workload(p), timeout=timeout)
    if "error" in res:
        status, detail = classify(res["error"])
        return {"status": status, "detail": detail}
    steady = statistics.median(res["steady_s"])
    return {
        **res,
        "status": "ok",
        "rounds": rounds,
        "rate": p.seeds * rounds / steady,
        "steady": steady,
        "compile_s": res["first_s"] - steady,
        "mean_round_time": res["round_time"][0],
        "final_loss": res["final_loss"][0],
    }


def csv_rows(
    axes: dict[str, list[Point]], measured: dict[Point, dict], args
) -> list[dict]:
    """One CSV row per (axis, absjax point), with the matching NumPy numbers."""
    rows = []
    for axis, points in axes.items():
        for p in points:
            if p not in measured:
                continue
            m = measured[p]
            ref = measured.get(numpy_point(p, args), {})
            rate, np_rate = m.get("rate"), ref.get("rate")
            us = 1e6 / rate if rate else None
            rows.append(
                {
                    "axis": axis,
                    "value": axis_value(axis, p),
                    "objective": p.objective,
                    "seeds": p.seeds,
                    "num_workers": p.num_workers,
                    "k": numpy_baseline.num_arrivals(p.num_workers),
                    "tau": numpy_baseline.TAU,
                    "dim": "" if p.dim is None else p.dim,
                    "rounds": m.get("rounds", ""),
                    "compile_s": m.get("compile_s", ""),
                    "steady_s": m.get("steady", ""),
                    "first_s": m.get("first_s", ""),
                    "steady_calls_s": ";".join(
                        f"{t:.4f}" for t in m.get("steady_s", [])
                    ),
                    "seed_rounds_per_s": rate or "",
                    "us_per_seed_round": us or "",
                    "us_per_seed_round_per_n": us / p.num_workers if us else "",
                    "numpy_seed_rounds_per_s": np_rate or "",
                    "numpy_us_per_seed_round": 1e6 / np_rate if np_rate else "",
                    "numpy_seeds": args.numpy_seeds if np_rate else "",
                    "numpy_rounds": ref.get("rounds", ""),
                    "speedup": rate / np_rate if rate and np_rate else "",
                    "peak_rss_mib": m.get("peak_rss_mib", ""),
                    "rss_before_mib": m.get("rss_before_mib", ""),
                    "result_mib": m.get("result_mib", ""),
                    "cpu_use": m.get("cpu_use", ""),
                    "load": m.get("load", ""),
                    "estimate_s": m.get("estimate_s") or "",
                    "wall_s": m.get("wall_s", ""),
                    "mean_round_time": m.get("mean_round_time", ""),
                    "numpy_mean_round_time": ref.get("mean_round_time", ""),
                    "final_loss": m.get("final_loss", ""),
                    "numpy_final_loss": ref.get("final_loss", ""),
                    "diverged": m.get("diverged", ""),
                    "status": m["status"],
                    "detail": m.get("detail", ""),
                }
            )
    return rows


def _num(value, fmt: str) -> str:
    if value == "" or value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return format(value, fmt)


def markdown(rows: list[dict]) -> str:
    """The CSV rows as a Markdown table (via ``standard.table``)."""
    header = ["axis", "value", "objective", "seeds", "N", "dim", "rounds"]
    header += ["compile s", "steady s", "seed-rounds/s", "NumPy seed-rounds/s"]
    header += ["speedup", "µs/seed-round", "µs/seed-round/N", "peak RSS MiB"]
    header += ["status"]
    table = [header]
    for r in rows:
        speedup = _num(r["speedup"], ".3g")
        table.append(
            [
                r["axis"],
                f"{r['value']:,}",
                r["objective"],
                f"{r['seeds']:,}",
                f"{r['num_workers']:,}",
                str(r["dim"] or "-"),
                str(r["rounds"] or "-"),
                _num(r["compile_s"], ".2f"),
                _num(r["steady_s"], ".3f"),
                _num(r["seed_rounds_per_s"], ",.0f"),
                _num(r["numpy_seed_rounds_per_s"], ",.0f"),
                speedup if speedup == "-" else speedup + "x",
                _num(r["us_per_seed_round"], ".3g"),
                _num(r["us_per_seed_round_per_n"], ".3g"),
                _num(r["peak_rss_mib"], ",.0f"),
                r["status"],
            ]
        )
    return standard.table(table, markdown=True)


def notes(measured: dict[Point, dict]) -> list[str]:
    """One line per point that was not measured, with the reason."""
    return [
        f"- {p.label()}: {m['status']}: {m.get('detail', '')}"
        for p, m in measured.items()
        if m["status"] != "ok"
    ]


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


def write_tables(out: Path, rows: list[dict], measured: dict[Point, dict]) -> str:
    """Writes ``results.csv`` and ``table.md``; returns the table's text."""
    text = markdown(rows) if rows else "(no points yet)"
    missing = notes(measured)
    if missing:
        text += "\n\nNot measured:\n" + "\n".join(missing)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", rows)
    write_text(out / "table.md", text + "\n")
    return text


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


def lscpu() -> list[str]:
    """``lscpu``'s output (the machine's CPU), or why it is missing."""
    exe = shutil.which("lscpu")
    if exe is None:
        return ["lscpu: not available"]
    try:
        proc = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        return [f"lscpu: {err}"]
    return ["lscpu:", *("  " + ln for ln in proc.stdout.strip().splitlines())]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, help="output folder (default: benchmarks/results/...)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: fewer, smaller points"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds axis (linreg)")
    parser.add_argument(
        "--timing-seeds", type=int, nargs="+", help="seeds axis (timing only)"
    )
    parser.add_argument("--workers", type=int, nargs="+", help="workers axis (N)")
    parser.add_argument("--workers-seeds", type=int, help="seeds of the workers axis")
    parser.add_argument("--dims", type=int, nargs="+", help="dimension axis")
    parser.add_argument("--dim-seeds", type=int, help="seeds of the dimension axis")
    parser.add_argument(
        "--call-s", type=float, help="predicted seconds of one steady call"
    )
    parser.add_argument(
        "--rounds", type=int, help="fixed rounds for every point (a multiple of 10)"
    )
    parser.add_argument("--repeats", type=int, help="steady calls (median)")
    parser.add_argument("--numpy-seeds", type=int, help="seeds of the NumPy loop")
    parser.add_argument(
        "--numpy-s", type=float, help="seconds of each NumPy measurement (about)"
    )
    parser.add_argument(
        "--point-budget-s", type=float, help="skip a point estimated above this"
    )
    parser.add_argument(
        "--budget-s", type=float, help="skip points beyond this total runtime"
    )
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
    if args.rounds is not None and (
        args.rounds < MIN_ROUNDS or args.rounds % MIN_ROUNDS
    ):
        parser.error(f"--rounds={args.rounds} must be a positive multiple of 10")
    for name in ("repeats", "numpy_seeds", "devices", "workers_seeds", "dim_seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.chunk is not None and args.chunk < 1:
        parser.error("--chunk must be >= 1")
    for name in ("call_s", "numpy_s", "point_budget_s", "budget_s"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0")
    for name in ("seeds", "timing_seeds", "workers", "dims"):
        if min(getattr(args, name)) < 1:
            parser.error(f"--{name}={getattr(args, name)} must all be >= 1")
    return args


def main() -> None:
    """Measures every point, then writes the CSV, table, machine file and figure."""
    args = parse_args()
    start = time.perf_counter()
    load_start = os.getloadavg()
    # The subprocesses time this checkout's absjax, not an installed one.
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), path]))
    axes = plan(args)
    points = list(dict.fromkeys(p for ps in axes.values() for p in ps))
    references = list(dict.fromkeys(numpy_point(p, args) for p in points))
    print(
        f"absjax scaling benchmark ({'quick' if args.quick else 'full'}): "
        f"{len(points)} absjax points, {len(references)} NumPy points, "
        f"{args.repeats} steady calls, {args.devices} host devices, budget "
        f"{args.point_budget_s:.0f} s a point, {args.budget_s:.0f} s in all "
        f"-> {args.out}",
        flush=True,
    )

    def elapsed() -> float:
        return time.perf_counter() - start

    measured: dict[Point, dict] = {}
    # NumPy first, here, while no subprocess runs; then absjax, one process
    # each, cheapest first.
    for p in references:
        m = measure_numpy(p, args, args.budget_s - elapsed())
        measured[p] = m
        if m["status"] == "ok":
            print(
                f"{p.label()}: {m['rate']:,.0f} seed-rounds/s ({m['rounds']} "
                f"rounds, load {m['load']:.2f})",
                flush=True,
            )
        else:
            print(f"{p.label()}: {m['status']}: {m['detail']}", flush=True)

    plans = {p: rounds_for(p, args) for p in points}
    ratios: list[float] = []  # measured / estimated wall time, points so far
    for p in sorted(points, key=lambda q: estimate_s(q, plans[q], args)):
        rounds = plans[p]
        correction = statistics.median(ratios) if ratios else 1.0
        estimate = estimate_s(p, rounds, args) * correction
        left = args.budget_s - elapsed()
        if estimate > args.point_budget_s:
            m = skipped(
                f"estimated {estimate:.0f} s ({rounds} rounds) > the point budget "
                f"of {args.point_budget_s:.0f} s",
                estimate,
            )
        elif estimate > left:
            m = skipped(
                f"estimated {estimate:.0f} s > the {max(left, 0):.0f} s left of "
                f"the {args.budget_s:.0f} s budget",
                estimate,
            )
        else:
            timeout = max(60.0, 3.0 * estimate)
            t0 = time.perf_counter()
            m = measure_absjax(p, rounds, args, timeout)
            m["wall_s"] = time.perf_counter() - t0
            m["estimate_s"] = estimate
            if m["status"] == "ok":
                ratios.append(m["wall_s"] / estimate_s(p, rounds, args))
        measured[p] = m
        if m["status"] == "ok":
            print(
                f"{p.label()}: {m['rate']:,.0f} seed-rounds/s, {rounds} rounds, "
                f"compile {m['compile_s']:.2f} s, peak RSS "
                f"{m['peak_rss_mib']:,.0f} MiB, {m['cpu_use']:.2f} cores busy, "
                f"load {m['load']:.2f} ({m['wall_s']:.0f} s, estimated "
                f"{estimate:.0f} s)",
                flush=True,
            )
        else:
            print(f"{p.label()}: {m['status']}: {m['detail']}", flush=True)
        write_tables(args.out, csv_rows(axes, measured, args), measured)

    rows = csv_rows(axes, measured, args)
    table = write_tables(args.out, rows, measured)
    load_end = os.getloadavg()
    done = [m for m in measured.values() if "devices" in m]
    devices = done[0]["devices"] if done else []
    backend = done[0]["backend"] if done else "unknown"
    timed = sorted({m.get("absjax", "?") for m in done})
    machine = [
        "absjax scaling benchmark (benchmarks/scaling.py)",
        "command: " + " ".join([Path(sys.executable).name, *sys.argv]),
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        *standard.machine(),
        f"absjax timed: {', '.join(timed) or 'none'}",
        f"JAX backend: {backend}, device count: {len(devices)} "
        f"(XLA_FLAGS=--xla_force_host_platform_device_count={args.devices}), "
        f"devices: {', '.join(devices)}",
        "sim.run chunk: "
        + ("absjax's default" if args.chunk is None else str(args.chunk)),
        f"profile: {'quick' if args.quick else 'full'}, rounds "
        + (
            f"{args.rounds} for every point"
            if args.rounds
            else f"per point (one steady call predicted at {args.call_s:g} s)"
        )
        + f", {args.repeats} steady calls (median), NumPy loop "
        f"{args.numpy_seeds} seeds for about {args.numpy_s:g} s each",
        f"budgets: {args.point_budget_s:.0f} s a point, {args.budget_s:.0f} s in all",
        "load average (1, 5, 15 min) at start "
        + ", ".join(f"{x:.2f}" for x in load_start)
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in load_end),
        f"runtime: {elapsed():.0f} s",
        *lscpu(),
    ]
    subtitle = (
        "absjax vs the NumPy per-seed loop: k_async (K = N/4, tau = 3), "
        "shifted exp 0.5 + Exp(2), linreg (4096 samples, batch 32) or timing "
        f"only; {standard.machine()[0].removeprefix('CPU: ')}, "
        f"{os.cpu_count()} cores, {len(devices)} JAX CPU devices"
    )
    write_text(args.out / "machine.txt", "\n".join(machine) + "\n")
    save_figure(figure(rows, args, subtitle), args.out)

    print()
    print("\n".join(ln for ln in machine if not ln.startswith("  ")))
    print()
    print(table)
    print(f"\nwrote {', '.join(OUTPUTS)} in {args.out} ({elapsed():.0f} s)")


if __name__ == "__main__":
    main()
