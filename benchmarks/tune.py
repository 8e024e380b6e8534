"""Trials per second of batched tuning against one configuration at a time.

A batch of ``--trials`` random K-async configurations (K in [1, N], lr
log-uniform) runs once as one ``Simulator.run(points=...)`` program and once
configuration by configuration (``run(params=...)``: the same compiled
program per configuration, no recompilation), on two workloads: the phase
map's noisy quadratic (``paper_figures/phasemap.py``: one fast direction and
slow ones) and the digits MLP (scikit-learn's 8x8 digits,
``absjax.objectives.networks``). Each way is compiled by a first call that is
not counted; the best of ``--repeats`` timed calls is reported.

    python benchmarks/tune.py [--trials 64] [--seeds 16] [--rounds 200] [--workers 16]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

WORKLOADS = ("quadratic", "digits_mlp")
DIGITS_MLP = "mlp:dataset=digits,hidden=32,batch=16"


def machine() -> str:
    """The CPU's model name (``lscpu``), or ``unknown``."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _objective(name: str):
    from absjax import objectives

    if name == "quadratic":  # the phase map's: curvature 1 and 19 slow ones
        return objectives.Quadratic(dim=20, noise=0.5, spectrum=(1.0,) + (0.1,) * 19)
    return DIGITS_MLP


def measure(
    name: str, trials: int, seeds: int, rounds: int, workers: int, repeats: int
) -> dict:
    import jax.numpy as jnp
    import numpy as np

    import absjax
    from absjax import policies

    sim = absjax.Simulator(
        workers,
        policies.k_async(1),
        "exp:rate=1",
        _objective(name),
        lr=0.05,
        rounds=rounds,
        log_every=rounds // 4,
        k_max=workers,
    )
    rng = np.random.default_rng(0)
    points = [
        {
            "k": int(rng.integers(1, workers + 1)),
            "lr": float(np.exp(rng.uniform(np.log(0.005), np.log(0.2)))),
        }
        for _ in range(trials)
    ]
    base = sim.params

    def batched():
        sim.run(seeds=seeds, points=points).loss.sum()

    def one_by_one():
        for p in points:
            params = base._replace(k=jnp.int32(p["k"]), lr=jnp.asarray(p["lr"]))
            sim.run(seeds=seeds, params=params).loss.sum()

    row = {
        "workload": name,
        "trials": trials,
        "seeds": seeds,
        "rounds": rounds,
        "workers": workers,
    }
    for label, fn in (("batched", batched), ("one_by_one", one_by_one)):
        fn()  # compiles
        best = min(_timed(fn) for _ in range(repeats))
        row[f"{label}_s"] = best
        row[f"{label}_trials_per_s"] = trials / best
    row["speedup"] = row["one_by_one_s"] / row["batched_s"]
    return row


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    rows = []
    for name in args.workloads.split(","):
        row = measure(
            name, args.trials, args.seeds, args.rounds, args.workers, args.repeats
        )
        rows.append(row)
        print(
            f"{name}: {row['trials']} trials x {row['seeds']} seeds x "
            f"{row['rounds']} rounds, N={row['workers']}: batched "
            f"{row['batched_trials_per_s']:.2f} trials/s, one by one "
            f"{row['one_by_one_trials_per_s']:.2f} trials/s "
            f"({row['speedup']:.1f}x)"
        )
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
