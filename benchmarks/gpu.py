"""The GPU benchmark in one call: standard workload, timing-only, up to 10^6 seeds.

Run on the machine to measure (a GPU, or the CPU at a tiny size)::

    python benchmarks/gpu.py --out gpu.json           # the real sizes
    python benchmarks/gpu.py --tiny --out tiny.json   # seconds, on any CPU

Three studies of the standard workload of ``standard.py`` (N = 16,
``k_async(4, tau=3)``, shifted exponential ``0.5 + Exp(2)``, linreg dim 100 with
4096 samples and minibatches of 32, lr 0.05, 1000 rounds, a row every 10):

* ``standard``: the model run, seeds 4096, 16384, 65536, ...;
* ``timing``: the timing-only version (``objective="timing"``), seeds 65536,
  262144, 10^6;
* ``workers``: timing-only at 4096 seeds with N = 1024 and 10^4 (K = N / 4).

Seeds grow by 4x up to ``--max-seeds`` (10^6); a size runs only if its time,
extrapolated from the previous size's rate, stays under ``--budget`` seconds
(60), else it is reported as skipped with its estimate. Every size is timed
twice in this process: the first call compiles and runs, the second (another
base seed, same shapes) is the steady time; compile = first - steady. Chunks
are ``chunk="auto"`` (on an accelerator: as many seeds as fit in half its
memory). Peak memory is the device allocator's ``peak_bytes_in_use`` on an
accelerator, the process's peak RSS on the CPU; the engine's own estimate
(``absjax.engine.memory``) is shown next to it.

Writes one JSON (machine, versions, rows) and prints a table. Run it as is
on a machine with a GPU: ``python benchmarks/gpu.py --out gpu.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import jax

import absjax
from absjax.engine import memory
from absjax.io import atomic_write

DELAY = "shifted_exp:shift=0.5,rate=2"
LINREG = "linreg:dim=100,samples=4096,batch=32"


def studies(tiny: bool, max_seeds: int) -> tuple[dict[str, list[dict]], int]:
    """The sizes of each study and the rounds (``tiny``: a CPU test)."""

    def grow(first: int) -> list[int]:
        sizes, s = [], first
        while s < max_seeds:
            sizes.append(s)
            s *= 4
        return sizes + [max_seeds]

    if tiny:
        rounds = 20
        return {
            "standard": [dict(seeds=8, n=16, objective=LINREG)],
            "timing": [dict(seeds=s, n=16, objective="timing") for s in (64, 10**6)],
            "workers": [dict(seeds=8, n=64, objective="timing")],
        }, rounds
    return {
        "standard": [dict(seeds=s, n=16, objective=LINREG) for s in grow(4096)],
        "timing": [dict(seeds=s, n=16, objective="timing") for s in grow(65536)],
        "workers": [dict(seeds=4096, n=n, objective="timing") for n in (1024, 10**4)],
    }, 1000


def _peak_bytes() -> int:
    device = jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(size: dict, rounds: int) -> dict:
    """Times one size (first call, then steady) and returns its row."""
    n = size["n"]
    policy = absjax.policies.k_async(max(1, math.ceil(n / 4)), tau=3)
    sim = absjax.Simulator(
        n, policy, DELAY, size["objective"], lr=0.05, rounds=rounds, log_every=10
    )
    seeds = size["seeds"]
    chunk = memory.resolve_chunk(sim, "auto", seeds)
    estimate = memory.bytes_per_seed(sim, sim.params, history=False) * min(chunk, seeds)
    start = time.perf_counter()
    first = sim.run(seeds=seeds, seed=0)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    sim.run(seeds=seeds, seed=1)
    steady = time.perf_counter() - start
    return {
        **size,
        "rounds": rounds,
        "chunk": chunk,
        "compile_s": max(first_s - steady, 0.0),
        "steady_s": steady,
        "seed_rounds_per_s": seeds * rounds / steady,
        "peak_bytes": _peak_bytes(),
        "estimated_bytes_per_chunk": estimate,
        "mean_round_time": float(first.round_time().mean()),
        "status": "ok",
    }


def machine() -> dict:
    devices = jax.local_devices()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = ""
    model = [line for line in lscpu.splitlines() if line.startswith("Model name")]
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "absjax": absjax.__version__,
        "backend": jax.default_backend(),
        "devices": [d.device_kind for d in devices],
        "cpu": model[0].split(":", 1)[1].strip() if model else platform.processor(),
    }


def table(rows: list[dict]) -> str:
    head = "| study | seeds | N | chunk | compile s | steady s | seed-rounds/s "
    head += "| peak MiB | estimate MiB/chunk | status |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        if r["status"] != "ok":
            lines.append(
                f"| {r['study']} | {r['seeds']} | {r['n']} | | | | | | | "
                f"{r['status']} |"
            )
            continue
        lines.append(
            f"| {r['study']} | {r['seeds']} | {r['n']} | {r['chunk']} | "
            f"{r['compile_s']:.2f} | {r['steady_s']:.3f} | "
            f"{r['seed_rounds_per_s']:,.0f} | {r['peak_bytes'] / 2**20:,.0f} | "
            f"{r['estimated_bytes_per_chunk'] / 2**20:,.1f} | ok |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_benchmark.json", help="JSON file")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (CPU test)")
    parser.add_argument("--budget", type=float, default=60.0, help="s per size")
    parser.add_argument("--max-seeds", type=int, default=10**6)
    args = parser.parse_args(argv)
    plan, rounds = studies(args.tiny, args.max_seeds)
    rows = []
    for study, sizes in plan.items():
        previous = None  # (seed-rounds/s, N) of the study's previous size
        for size in sizes:
            row = {"study": study, **size}
            guess = None  # its time, if the cost per seed-round grows like N
            if previous is not None:
                rate, n = previous
                guess = size["seeds"] * rounds / rate * size["n"] / n
            if guess is not None and guess > args.budget:
                row["status"] = f"skipped: estimated {guess:.0f} s > {args.budget} s"
            else:
                try:
                    row = {"study": study, **measure(size, rounds)}
                    previous = (row["seed_rounds_per_s"], size["n"])
                except ValueError as e:  # the engine's memory check
                    row["status"] = f"does not fit: {e}"
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
    report = {"machine": machine(), "rows": rows}
    out = Path(args.out)
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(report, indent=2)))
    print(f"\n{report['machine']}\n\n{table(rows)}\n\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
