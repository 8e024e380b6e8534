"""The scaling benchmark's points: what is measured at each size of each axis,
the cost model that picks a point's rounds and predicts its time, and the
measurement of one point (absjax in a fresh subprocess, or the NumPy loop here).

Part of ``benchmarks/scaling.py`` (its docstring describes the whole run).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
from typing import NamedTuple

import numpy as np
import numpy_baseline  # sibling modules (benchmarks/ is sys.path[0])
import standard

MAX_ROUNDS = standard.ROUNDS  # 1000


MIN_ROUNDS = standard.LOG_EVERY  # 10


STANDARD_N = standard.NUM_WORKERS  # 16


STANDARD_DIM = numpy_baseline.DIM  # 100


ABSJAX, NUMPY = "absjax", "NumPy loop"


LINREG, TIMING = "linreg", "timing"


STARTUP_S = 4.0  # a subprocess's Python + JAX import + data set (estimate)


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
