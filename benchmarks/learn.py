"""Generations per second of the evolution strategy, batched against one by one.

One generation of :func:`absjax.learn.evolve` runs ``population`` candidate
rules x ``seeds`` seeds as one compiled program
(:func:`absjax.learn.run_candidates`). This benchmark times that program
(compiled once, then the median of ``--repeats`` runs) against the same
candidates run one configuration at a time (each candidate a run of the
Simulator with its own numbers, the compiled program reused), on the phase
map's noisy quadratic and on the digits MLP, and prints both with the machine.

    python benchmarks/learn.py [--population 64] [--seeds 16] [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time

import jax
import numpy as np

import absjax
from absjax import learn, networks, objectives

WORKLOADS = {
    "quadratic": lambda: objectives.Quadratic(
        dim=20, noise=0.5, spectrum=(1.0,) + (0.1,) * 19
    ),
    "digits_mlp": lambda: networks.MLP(
        hidden=(32,), batch=8, eval_samples=256, dataset="digits"
    ),
}


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(workload: str, population: int, seeds: int, rounds: int, repeats: int):
    """Generations per second, batched and one configuration at a time."""
    n = 8
    start = learn.adasync_start(n, 1, 1.0, 0.1)
    sim = absjax.Simulator(
        n,
        start.policy(),
        "exp:rate=1",
        WORKLOADS[workload](),
        lr=0.1,
        rounds=rounds,
        log_every=max(1, rounds // 20),
    )
    rng = np.random.default_rng(0)
    theta = learn.encode(start) + 0.1 * rng.standard_normal((population, 8))
    values, lr, kappa = learn.decode(theta)

    def batched():
        learn.run_candidates(sim, values, lr, kappa, seeds)

    def one_by_one():
        for i in range(population):
            learn.run_candidates(sim, values[i : i + 1], lr[i], kappa[i], seeds)

    batched()
    learn.run_candidates(sim, values[:1], lr[0], kappa[0], seeds)  # compile both
    b = _median_seconds(batched, repeats)
    o = _median_seconds(one_by_one, repeats)
    return dict(
        workload=workload,
        population=population,
        seeds=seeds,
        rounds=rounds,
        batched_generations_per_s=1 / b,
        one_by_one_generations_per_s=1 / o,
        speedup=o / b,
    )


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = platform.processor()
    keep = ("Model name", "CPU(s):", "Thread", "Core")
    lines = [ln.strip() for ln in lscpu.splitlines() if ln.strip().startswith(keep)]
    return "; ".join(lines) + f"; jax {jax.__version__} {jax.default_backend()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/learn.py")
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--out", default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = [
        measure(w, args.population, args.seeds, args.rounds, args.repeats)
        for w in args.workloads.split(",")
    ]
    print(machine())
    for r in rows:
        print(
            f"{r['workload']}: population {r['population']} x {r['seeds']} seeds, "
            f"{r['rounds']} rounds: batched {r['batched_generations_per_s']:.3g} "
            f"generations/s, one by one {r['one_by_one_generations_per_s']:.3g} "
            f"generations/s ({r['speedup']:.2f}x)"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
