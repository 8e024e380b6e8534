"""CSV vs Parquet for one sweep part: write, resume check and read times, size.

A realistic part of a large sweep, 10^4 seeds x 100 logged rounds = 10^6 rows,
synthesised with the real columns and dtypes of a sweep part (``point``, two
gridded keys, then ``Result.to_dataframe``'s columns) and random full-precision
numbers (the worst case for both formats), is written as each format by the
sweep's own writer, checked as a resumed sweep checks it, and read back with
pandas. Median of 3; no simulation runs: a few minutes, most of them writing CSV.

    python benchmarks/sweep_formats.py [--seeds 10000] [--rows 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from absjax.sweep import Unit
from absjax.sweep.parts import check_part, write_part


def part(seeds: int, rows: int, seed: int = 0) -> pd.DataFrame:
    """The rows of one unit: ``seeds`` seeds x ``rows`` logged rounds."""
    rng = np.random.default_rng(seed)
    n = seeds * rows
    ints = lambda high: rng.integers(0, high, n, dtype=np.int64)  # noqa: E731
    return pd.DataFrame(
        {
            "point": np.full(n, 3, dtype=np.int64),
            "config_k": pd.array(np.full(n, 4), dtype="Int64"),
            "lr": np.full(n, 0.05),
            "policy": pd.array(["k_async"] * n, dtype="str"),
            "seed": np.repeat(np.arange(seeds, dtype=np.int64), rows),
            "round": np.tile(np.arange(1, rows + 1, dtype=np.int64) * 10, seeds),
            "wall_clock": np.cumsum(rng.exponential(1.0, n)),
            "loss": rng.exponential(1.0, n),
            "k": np.full(n, 4, dtype=np.int64),
            "tau": np.full(n, 3.0),
            "staleness_mean": rng.uniform(0, 3, n),
            "staleness_max": ints(4),
            "uploads": ints(50),
            "downloads": ints(50),
            "jobs_started": ints(50),
            "jobs_aggregated": ints(50),
            "jobs_wasted": ints(10),
            "jobs_discarded": ints(10),
            "idle_time": rng.exponential(1.0, n),
            "loss_estimate": rng.exponential(1.0, n),
            "diverged": np.zeros(n, dtype=bool),
        }
    )


def _median(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()
    frame = part(args.seeds, args.rows)
    unit = Unit(point=3, first=0, seeds=args.seeds, rows=len(frame))
    columns = ["point", "config_k", "lr"]
    readers = {"csv": pd.read_csv, "parquet": pd.read_parquet}
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"{len(frame):,} rows x {frame.shape[1]} columns; {machine}")
    with tempfile.TemporaryDirectory() as folder:
        for fmt, read in readers.items():
            path = Path(folder) / unit.file(fmt)
            write = _median(lambda: write_part(path, frame))  # noqa: B023
            check = _median(lambda: check_part(path, unit, columns))  # noqa: B023
            load = _median(lambda: read(path))  # noqa: B023
            size = path.stat().st_size / 2**20
            print(
                f"{fmt:8s} write {write:6.2f} s   resume check {check:6.2f} s   "
                f"read {load:6.2f} s   {size:6.1f} MiB"
            )


if __name__ == "__main__":
    main()
