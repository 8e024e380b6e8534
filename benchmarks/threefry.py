"""threefry2x32 on the CPU: JAX's rolled loop against absjax's unrolled lowering.

absjax compiles its programs with threefry2x32 lowered unrolled on XLA:CPU
(``absjax/engine/_threefry.py``); this script measures what that buys. For
the standard workload (``standard.py``) and its timing-only version it runs,
in fresh subprocesses on ``--devices`` host devices, the steady state of
``sim.run`` both ways, alternating, and reports the best of ``--repeats``
calls of each (the first call compiles and is not counted). It also checks
that both ways give the same numbers (every metric, bit for bit).

    python benchmarks/threefry.py [--seeds 4096] [--timing-seeds 65536] [--rounds 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys

WORKLOADS = {
    "standard": "linreg:dim=100,samples=4096,batch=32",
    "timing": "timing",
}


def child(workload: str, seeds: int, rounds: int, rolled: bool, repeats: int):
    import hashlib
    import time

    import numpy as np

    import absjax
    from absjax import policies
    from absjax.engine import layout

    if rolled:  # JAX's own CPU lowering: the rolled loop
        layout.unrolled_on_cpu = contextlib.nullcontext
    sim = absjax.Simulator(
        16,
        policies.k_async(4, tau=3),
        "shifted_exp:shift=0.5,rate=2",
        WORKLOADS[workload],
        rounds=rounds,
        log_every=10,
        lr=0.05,
    )
    start = time.perf_counter()
    result = sim.run(seeds, seed=0)
    first = time.perf_counter() - start
    times = []
    for s in range(1, repeats + 1):
        start = time.perf_counter()
        sim.run(seeds, seed=s)
        times.append(time.perf_counter() - start)
    digest = hashlib.sha256()
    for name in sorted(result.metrics):
        digest.update(np.ascontiguousarray(result.metrics[name]).tobytes())
    best = min(times)
    return {
        "workload": workload,
        "lowering": "rolled" if rolled else "unrolled",
        "first_s": first,
        "steady_s": best,
        "seed_rounds_per_s": seeds * rounds / best,
        "digest": digest.hexdigest(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4096)
    parser.add_argument("--timing-seeds", type=int, default=65536)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workload, rolled = args.child[0], args.child[1] == "rolled"
        seeds = args.seeds if workload == "standard" else args.timing_seeds
        print(json.dumps(child(workload, seeds, args.rounds, rolled, args.repeats)))
        return 0
    env = {**os.environ, "ABSJAX_COMPILE_CACHE": "off"}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
    rows = []
    for workload in WORKLOADS:
        for lowering in ("rolled", "unrolled"):
            command = [sys.executable, __file__, "--child", workload, lowering]
            command += ["--seeds", str(args.seeds), "--rounds", str(args.rounds)]
            command += ["--timing-seeds", str(args.timing_seeds)]
            command += ["--repeats", str(args.repeats)]
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            if out.returncode:
                raise RuntimeError(out.stderr)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| workload | lowering | first call s | steady s | seed-rounds/s | speedup |")
    print("|---|---|---|---|---|---|")
    for rolled, unrolled in zip(rows[::2], rows[1::2], strict=True):
        same = rolled["digest"] == unrolled["digest"]
        for row in (rolled, unrolled):
            speedup = row["seed_rounds_per_s"] / rolled["seed_rounds_per_s"]
            print(
                f"| {row['workload']} | {row['lowering']} | {row['first_s']:.1f} "
                f"| {row['steady_s']:.2f} | {row['seed_rounds_per_s']:,.0f} "
                f"| {speedup:.2f}x |"
            )
        if not same:
            print(f"NUMBERS DIFFER for {rolled['workload']}")
            return 1
    print("both lowerings gave the same numbers (every metric, bit for bit)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
