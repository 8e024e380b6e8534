"""End to end through the CLI: ``absjax simulate`` against the per-seed NumPy loop.

The standard workload of ``standard.py`` (N = 16, ``k_async`` K = 4, tau = 3,
shifted exponential ``0.5 + Exp(2)``, linreg dim 100, 4096 samples, batch 32,
lr 0.05, 1000 rounds, a row every 10) at ``--seeds`` (4096), and its
timing-only version (``--objective timing``) at ``--timing-seeds`` (65,536).

Each workload runs ``python -m absjax.cli simulate ... --quiet --out FILE`` in
a fresh process, timed from the process's start to its end (import, compile or
cache load, simulation, result file written), twice in one fresh compilation
cache folder: **cold** (empty: the first call compiles) and **warm** (the
second process loads the compiled program from disk). The result file is
``--format`` (``parquet``: 6.6M tidy rows for the timing workload; ``nc``: the
N-d arrays, ``Result.save``). The standard workload then runs twice more
without ``--quiet``, and the second of those is timed: the cost of the
progress bar (its blocks of seeds are another compiled program, which the
first of them compiles into the cache).

The NumPy loop (``numpy_baseline.py``) simulates one seed after the other, so
its time for S seeds is ``S x rounds / rate``; its rate is measured in this
process, on as many seeds as take ``--numpy-seconds`` (model run, and timing
mode: no model, no gradients, no minibatch draws), once before the absjax runs
and once after them; the table uses the mean of the two (both are in
``results.json``: this machine's single-core speed varies between runs).

Also measured in the same run, for "the fraction of the machine's limit":

* a large float32 matmul (``jnp.dot``, 2048 x 2048) in GFLOP/s and two
  copies in GB/s (bytes read + written): 256 MiB from memory (``x + 1`` on a
  donated buffer, so that no new pages are touched) and the standard data
  set's size (4096 x 101 float32, 1.6 MiB, which stays in the caches: the
  gathered rows come from there), all jitted and steady, on one device;
* the standard workload's useful work from the warm run: every job computes
  one minibatch gradient (``4 x batch x dim`` FLOPs: ``X_b w`` and
  ``X_b^T r``) and gathers ``batch`` rows of ``dim + 1`` float32 (row and
  label); its jobs started are read from the result file; the rates use the
  simulation's own time (the ``simulate`` summary's seconds), not the
  process's.

Writes ``results.json`` and ``table.md`` (and ``machine.txt``: lscpu, load,
versions) to ``--out`` (``benchmarks/results/end_to_end``) and prints the table.

Example::

    python benchmarks/end_to_end.py
    python benchmarks/end_to_end.py --seeds 256 --timing-seeds 4096 --rounds 100
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy_baseline  # the sibling module (benchmarks/ is sys.path[0])

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = [
    "--workers", "16", "--policy", "k_async", "--k", "4", "--tau", "3",
    "--delay", "shifted_exp:shift=0.5,rate=2", "--lr", "0.05",
    "--log-every", "10",
]  # fmt: skip
LINREG = "linreg:dim=100,samples=4096,batch=32"
DIM, BATCH = 100, 32


def simulate(
    objective: str, seeds: int, rounds: int, out: Path, cache: Path, quiet=True
):
    """Runs the CLI once; returns (process seconds, simulation seconds)."""
    env = {**os.environ, "ABSJAX_COMPILE_CACHE": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "absjax.cli", "simulate", *WORKLOAD]
    command += ["--objective", objective, "--seeds", str(seeds)]
    command += ["--rounds", str(rounds), "--out", str(out)]
    command += ["--quiet"] if quiet else []
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    found = re.search(r"rounds \(([\d.]+) s\)", proc.stdout)
    return seconds, float(found.group(1)) if found else float("nan")


def machine_limits() -> dict:
    """A measured large matmul (GFLOP/s) and copy (GB/s), steady."""
    import jax
    import jax.numpy as jnp

    def best(fn, *args, repeats=5):
        fn(*args).block_until_ready()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(*args).block_until_ready()
            times.append(time.perf_counter() - start)
        return min(times)

    n = 2048
    a = jnp.ones((n, n), jnp.float32)
    matmul = 2 * n**3 / best(jax.jit(jnp.dot), a, a) / 1e9
    donated = jax.jit(lambda v: v + 1, donate_argnums=0)
    x = donated(jnp.ones((64 * 2**20,), jnp.float32))  # 256 MiB
    times = []
    for _ in range(5):
        start = time.perf_counter()
        x = donated(x)
        x.block_until_ready()
        times.append(time.perf_counter() - start)
    copy = 2 * x.nbytes / min(times) / 1e9
    repeats = 1000  # copies of the data set's size, in one program

    @jax.jit
    def cached(v):
        return jax.lax.fori_loop(0, repeats, lambda i, u: u + 1, v)

    small = jnp.ones((4096, DIM + 1), jnp.float32)
    cache_copy = 2 * small.nbytes * repeats / best(cached, small) / 1e9
    return {
        "matmul_gflops": matmul,
        "copy_gbps": copy,
        "cache_copy_gbps": cache_copy,
    }


def jobs_started(path: Path) -> int:
    import pandas as pd

    import absjax

    if path.suffix == ".nc":
        return int(absjax.load(path).metrics["jobs_started"].sum())
    return int(pd.read_parquet(path, columns=["jobs_started"])["jobs_started"].sum())


def numpy_rates(rounds: int, seconds: float) -> dict[str, float]:
    """The NumPy loop's rates, each measured on as many seeds as take about
    ``seconds`` (a first short run sizes the second)."""
    rates = {}
    for name, timing_only in (("standard", False), ("timing", True)):
        seeds = 2
        rate = numpy_baseline.throughput(seeds, rounds, timing_only=timing_only)
        seeds = max(seeds, round(seconds * rate / rounds))
        rates[name] = numpy_baseline.throughput(seeds, rounds, timing_only=timing_only)
    return rates


def machine_text() -> str:
    lines = [f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"]
    lines.append(f"load average: {os.getloadavg()}")
    lines.append(subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4096)
    parser.add_argument("--timing-seeds", type=int, default=65536)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--numpy-seconds", type=float, default=10.0)
    parser.add_argument("--format", choices=("parquet", "nc"), default="parquet")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/end_to_end"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rounds = args.rounds
    before = numpy_rates(rounds, args.numpy_seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, objective, seeds in (
            ("standard", LINREG, args.seeds),
            ("timing", "timing", args.timing_seeds),
        ):
            cache = Path(tmp) / f"cache-{name}"
            result = Path(tmp) / f"{name}.{args.format}"
            cold, _ = simulate(objective, seeds, rounds, result, cache)
            warm, sim_s = simulate(objective, seeds, rounds, result, cache)
            row = {
                "workload": name,
                "seeds": seeds,
                "rounds": rounds,
                "cold_s": cold,
                "warm_s": warm,
                "simulation_s": sim_s,
                "seed_rounds_per_s_warm": seeds * rounds / warm,
            }
            if name == "standard":  # the progress bar's cost (blocks of seeds)
                # Its blocks are another program: the first run compiles it.
                simulate(objective, seeds, rounds, result, cache, False)
                shown, shown_sim = simulate(
                    objective, seeds, rounds, result, cache, False
                )
                row["warm_progress_s"], row["simulation_progress_s"] = shown, shown_sim
                jobs = jobs_started(result)
                row["gflops"] = jobs * 4 * BATCH * DIM / sim_s / 1e9
                row["gather_gbps"] = jobs * BATCH * (DIM + 1) * 4 / sim_s / 1e9
            rows.append(row)
            print(json.dumps(row), flush=True)
    after = numpy_rates(rounds, args.numpy_seconds)
    for row in rows:
        name = row["workload"]
        rate = (before[name] + after[name]) / 2
        numpy_s = row["seeds"] * rounds / rate
        row.update(
            numpy_rate_before=before[name],
            numpy_rate_after=after[name],
            numpy_rate=rate,
            numpy_s=numpy_s,
            speedup_warm=numpy_s / row["warm_s"],
            speedup_cold=numpy_s / row["cold_s"],
        )
    limits = machine_limits()
    lines = [
        "| workload | seeds | rounds | cold s | warm s | simulation s "
        "| NumPy seed-rounds/s | NumPy s (S x rounds / rate) | speedup warm "
        "| speedup cold |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['seeds']:,} | {r['rounds']} | {r['cold_s']:.1f} "
            f"| {r['warm_s']:.1f} | {r['simulation_s']:.1f} | {r['numpy_rate']:,.0f} "
            f"| {r['numpy_s']:,.0f} | {r['speedup_warm']:.1f}x "
            f"| {r['speedup_cold']:.1f}x |"
        )
    std = rows[0]
    lines += [
        "",
        f"machine: matmul {limits['matmul_gflops']:.1f} GFLOP/s, copy "
        f"{limits['copy_gbps']:.1f} GB/s from memory, "
        f"{limits['cache_copy_gbps']:.1f} GB/s in cache (measured in this run)",
        "NumPy rates (seed-rounds/s) before / after the absjax runs: "
        + ", ".join(
            f"{r['workload']} {r['numpy_rate_before']:,.0f} / "
            f"{r['numpy_rate_after']:,.0f}"
            for r in rows
        ),
        f"standard workload: gradients {std['gflops']:.2f} GFLOP/s "
        f"({std['gflops'] / limits['matmul_gflops']:.1%} of the matmul), "
        f"gathered rows {std['gather_gbps']:.2f} GB/s "
        f"({std['gather_gbps'] / limits['cache_copy_gbps']:.1%} of the in-cache "
        "copy)",
        f"progress bar (standard, warm): {std['warm_progress_s']:.1f} s "
        f"(simulation {std['simulation_progress_s']:.1f} s) against "
        f"{std['warm_s']:.1f} s ({std['simulation_s']:.1f} s) with --quiet",
    ]
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    (out / "machine.txt").write_text(machine_text())
    report = {"rows": rows, "limits": limits, "format": args.format}
    (out / "results.json").write_text(json.dumps(report, indent=2))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
