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
a 2-core reference machine, padding lanes of the vmapped chunks
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
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import standard  # sibling modules (benchmarks/ is sys.path[0])
from scaling_figure import figure, save_figure
from scaling_points import (
    MIN_ROUNDS,
    Point,
    estimate_s,
    measure_absjax,
    measure_numpy,
    numpy_point,
    plan,
    rounds_for,
    skipped,
)
from scaling_tables import csv_rows, write_tables, write_text

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


OUTPUTS = ("results.csv", "table.md", "machine.txt", "scaling.png", "scaling.pdf")


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
