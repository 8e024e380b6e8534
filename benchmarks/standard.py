"""Standard throughput benchmark: absjax against the NumPy per-seed loop.

Times absjax's standard benchmark workload with the public API
only, for several numbers of Monte-Carlo seeds, and compares it with the NumPy
event loop of ``benchmarks/numpy_baseline.py``:

* ``N = 16`` workers, ``policies.k_async(4, tau=3)``;
* shifted exponential job durations, ``shift = 0.5``, ``rate = 2``;
* linear regression, ``dim = 100``, ``4096`` samples, minibatches of ``32``;
* ``lr = 0.05``, ``1000`` rounds, a logged row every ``10`` rounds.

Each seed count runs in a fresh subprocess, so that its peak resident memory
(``ru_maxrss``) is its own and no compiled program is reused across seed
counts. In the subprocess, ``XLA_FLAGS=--xla_force_host_platform_device_count``
is set before JAX is imported (``--devices``, default 2: the two cores of the
reference machine), and ``sim.run`` shards the seeds over the local devices.
The subprocess times:

* the first call (``seed=0``): compilation plus one run;
* ``--repeats`` further calls with other base seeds (``seed=1, 2, ...``), same
  shapes, hence no recompilation; their median is the steady time;
* compile time = first call - steady time.

The wall times are ``time.perf_counter`` around ``sim.run``, which returns NumPy
arrays, so they include the device-to-host copy and the building of the Result.
The data set is built before the clock starts. Throughput is in simulated
seed-rounds per second, ``seeds * rounds / steady``. ``sim.run`` computes whole
vmapped chunks of ``chunk`` seeds on every device (``--chunk``, default absjax's
own), so small seed counts pay for the padding lanes too.

The machine is assumed otherwise idle. Each row reports the 1-minute load
average when its subprocess started and how many cores it kept busy during the
steady calls (about ``--devices`` on an idle machine); other processes lower
the rates.

The NumPy baseline simulates one seed after the other, so its rate does not
depend on the number of seeds: it is measured once (``--numpy-seeds`` seeds, in
the parent process) and shown on every row.

Both simulators log the full-data loss and the wall clock. As a sanity check
(printed, not asserted) the script shows side by side, for absjax and for NumPy,
the mean final loss, the least-squares optimum of each data set (~0.0048; both
data sets share ``X`` and the noise, drawn from ``default_rng(0)``, and differ
only in the scale of ``w_true``, which moves the starting loss, not the
optimum) and the mean round time (~0.312).

Example:
    Run the full benchmark (a few minutes on two cores), or a shortened one::

        python benchmarks/standard.py
        python benchmarks/standard.py --seeds 1 64 --rounds 100 --markdown
"""

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import numpy_baseline  # the sibling module (benchmarks/ is sys.path[0])

SEEDS = (1, 64, 1024, 4096)
ROUNDS = 1000
LOG_EVERY = 10
POLICY = (4, 3)  # k_async K, tau
DELAY = "shifted_exp:shift=0.5,rate=2"
OBJECTIVE = "linreg:dim=100,samples=4096,batch=32"
NUM_WORKERS = 16
LR = 0.05
# The parts of the workload that child() can vary (benchmarks/scaling.py does);
# the delay law, lr, rounds and log interval stay the ones above.
WORKLOAD = {
    "num_workers": NUM_WORKERS,
    "k": POLICY[0],
    "tau": POLICY[1],
    "objective": OBJECTIVE,  # a SPEC, e.g. "timing" for timing_only()
}
_MARK = "BENCHMARK-RESULT "  # prefix of the subprocess's JSON line


def _optimum(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares optimum ``min_w 0.5 * mean((X w - y)^2)``, in float64."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = x @ w - y
    return 0.5 * float(r @ r) / len(y)


def _mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and 95% half-width (``1.96 * standard error``, 0 for one value)."""
    values = np.asarray(values, np.float64)
    if values.size < 2:
        return float(values.mean()), 0.0
    return float(values.mean()), float(1.96 * values.std(ddof=1) / values.size**0.5)


def child(
    seeds: int,
    rounds: int,
    repeats: int,
    chunk: int | None,
    workload: dict | None = None,
) -> dict:
    """Times one seed count; run in a fresh process with XLA_FLAGS already set.

    ``workload`` overrides entries of :data:`WORKLOAD` (default: the standard
    workload).
    """
    import jax

    import absjax

    work = {**WORKLOAD, **(workload or {})}
    sim = absjax.Simulator(
        work["num_workers"],
        absjax.policies.k_async(work["k"], tau=work["tau"]),
        DELAY,
        work["objective"],
        lr=LR,
        rounds=rounds,
        log_every=LOG_EVERY,
    )
    data = sim.params.data  # builds the data set before the clock starts
    # The timing-only objective has no data set, hence no optimum.
    optimum = _optimum(data["x"], data["y"]) if "x" in data else float("nan")
    options = {} if chunk is None else {"chunk": chunk}
    load = os.getloadavg()[0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    start = time.perf_counter()
    result = sim.run(seeds=seeds, seed=0, **options)
    first = time.perf_counter() - start
    steady = []
    cpu_start = time.process_time()
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        result = sim.run(seeds=seeds, seed=seed, **options)
        steady.append(time.perf_counter() - start)
    cpu_steady = time.process_time() - cpu_start

    arrays = [*result.metrics.values(), result.diverged_round, result.seeds]
    keep = ~result.diverged
    return {
        "seeds": seeds,
        "first_s": first,
        "steady_s": steady,
        "rss_before_mib": rss_before / 1024,  # ru_maxrss is in KiB on Linux
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "result_mib": sum(a.nbytes for a in arrays) / 2**20,
        "cpu_use": cpu_steady / sum(steady),  # cores busy on average
        "load": load,  # 1-minute load average when the timing started
        "devices": [str(d) for d in jax.local_devices()],
        "backend": jax.default_backend(),
        "absjax": os.path.dirname(absjax.__file__),  # which absjax was timed
        "diverged": int((~keep).sum()),
        "final_loss": _mean_ci(result.loss[keep, -1]),
        "round_time": _mean_ci(result.round_time()[keep]),
        "optimum": optimum,
    }


def run_child(
    seeds: int,
    args: argparse.Namespace,
    workload: dict | None = None,
    timeout: float | None = None,
) -> dict:
    """Runs :func:`child` in a fresh interpreter with ``--devices`` host devices.

    ``args`` supplies ``devices``, ``rounds``, ``repeats`` and ``chunk``;
    ``workload`` is passed on to :func:`child`. A child still running after
    ``timeout`` seconds (default: no limit) is killed and reported as an error.
    """
    env = dict(os.environ)
    flags = [
        f
        for f in env.get("XLA_FLAGS", "").split()
        if not f.startswith("--xla_force_host_platform_device_count")
    ]
    flags.append(f"--xla_force_host_platform_device_count={args.devices}")
    env["XLA_FLAGS"] = " ".join(flags)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(seeds)]
    cmd += ["--rounds", str(args.rounds), "--repeats", str(args.repeats)]
    if args.chunk is not None:
        cmd += ["--chunk", str(args.chunk)]
    if workload:
        cmd += ["--workload", json.dumps(workload)]
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"seeds": seeds, "error": f"timed out after {timeout:.0f} s (killed)"}
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"seeds": seeds, "error": f"exit {proc.returncode}: " + " | ".join(tail)}


def machine() -> list[str]:
    """Lines describing the host: CPU, cores, memory, software versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if "model name" in ln)
    except (OSError, StopIteration):
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal"))
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return [
        f"CPU: {cpu}",
        f"os.cpu_count(): {os.cpu_count()}",
        f"memory: {memory}",
        f"python {platform.python_version()}, jax {version('jax')}, "
        f"jaxlib {version('jaxlib')}, numpy {np.__version__}, "
        f"absjax {version('absjax')}",
    ]


def table(rows: list[list[str]], markdown: bool) -> str:
    """Formats rows (the first is the header) as plain text or Markdown."""
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in rows]
        lines.insert(1, "|" + "|".join("---:" for _ in rows[0]) + "|")
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--devices", type=int, default=2, help="host devices to force (XLA_FLAGS)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="steady calls; the median is used"
    )
    parser.add_argument(
        "--chunk", type=int, help="sim.run(chunk=...); default: absjax's default"
    )
    parser.add_argument("--numpy-seeds", type=int, default=8)
    parser.add_argument("--markdown", action="store_true", help="Markdown table")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workload", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < LOG_EVERY or args.rounds % LOG_EVERY:
        parser.error(f"--rounds={args.rounds} must be a positive multiple of 10")
    for name in ("devices", "repeats", "numpy_seeds", "chunk"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if min(args.seeds) < 1:
        parser.error(f"--seeds={args.seeds} must all be >= 1")
    return args


def main() -> None:
    """Runs the benchmark and prints the machine, the table and the sanity check."""
    args = parse_args()
    if args.child is not None:
        res = child(args.child, args.rounds, args.repeats, args.chunk, args.workload)
        print(_MARK + json.dumps(res))
        return

    load_start = os.getloadavg()
    print("absjax standard benchmark")
    print(
        f"workload: N={NUM_WORKERS}, k_async K={POLICY[0]} tau={POLICY[1]}, "
        f"{DELAY}, {OBJECTIVE}, lr={LR}, {args.rounds} rounds, "
        f"log every {LOG_EVERY}"
        + ("" if args.chunk is None else f", sim.run(chunk={args.chunk})")
    )
    for line in machine():
        print(line)
    print(flush=True)

    # NumPy: the rate is per seed, independent of the seed count.
    np_rate = numpy_baseline.throughput(args.numpy_seeds, args.rounds)
    data = numpy_baseline.make_data()
    runs = [
        numpy_baseline.run_seed(s, args.rounds, LOG_EVERY, data)
        for s in range(args.numpy_seeds)
    ]
    np_loss = _mean_ci([r["loss"][-1] for r in runs])
    np_round = _mean_ci([r["mean_round_time"] for r in runs])
    np_optimum = _optimum(*data)

    results = []
    for seeds in args.seeds:
        res = run_child(seeds, args)
        results.append(res)
        if "error" in res:
            print(f"seeds={seeds}: FAILED {res['error']}", flush=True)
            continue
        steady = statistics.median(res["steady_s"])
        print(
            f"seeds={seeds}: first call {res['first_s']:.2f} s, steady calls "
            + ", ".join(f"{t:.3f}" for t in res["steady_s"])
            + f" s (median {steady:.3f}), RSS before run "
            f"{res['rss_before_mib']:.0f} MiB, peak {res['peak_rss_mib']:.0f} MiB, "
            f"{res['cpu_use']:.2f} of {os.cpu_count()} cores busy in steady calls, "
            f"load average {res['load']:.2f} at start",
            flush=True,
        )
    done = [r for r in results if "error" not in r]
    if done:
        print(f"JAX backend: {done[0]['backend']}, devices: {done[0]['devices']}")
    print(
        "load average (1, 5, 15 min) at start "
        + ", ".join(f"{x:.2f}" for x in load_start)
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (other processes on the machine lower the rates)"
    )
    print(
        f"NumPy: {args.numpy_seeds} seeds one after the other (per-seed loop, so "
        "its rate is the same for every seed count)\n"
    )

    header = ["seeds", "absjax seed-rounds/s", "NumPy seed-rounds/s", "ratio"]
    header += ["compile s", "steady s", "peak RSS MiB", "result MiB"]
    rows = [header]
    for res in results:
        if "error" in res:
            rows.append([str(res["seeds"]), "failed"] + [""] * (len(header) - 2))
            continue
        steady = statistics.median(res["steady_s"])
        rate = res["seeds"] * args.rounds / steady
        rows.append(
            [
                str(res["seeds"]),
                f"{rate:,.0f}",
                f"{np_rate:,.0f}",
                f"{rate / np_rate:.3g}x",
                f"{res['first_s'] - steady:.2f}",
                f"{steady:.3f}",
                f"{res['peak_rss_mib']:.0f}",
                f"{res['result_mib']:.3g}",
            ]
        )
    print(table(rows, args.markdown))

    print("\nsanity (mean +- 95% half-width; both should simulate the same thing)")
    rows = [["simulator", "seeds", "final loss", "optimum", "round time", "diverged"]]
    for res in done:
        rows.append(
            [
                "absjax",
                str(res["seeds"]),
                "{:.6f} +- {:.1e}".format(*res["final_loss"]),
                f"{res['optimum']:.6f}",
                "{:.4f} +- {:.1e}".format(*res["round_time"]),
                str(res["diverged"]),
            ]
        )
    rows.append(
        [
            "NumPy",
            str(args.numpy_seeds),
            "{:.6f} +- {:.1e}".format(*np_loss),
            f"{np_optimum:.6f}",
            "{:.4f} +- {:.1e}".format(*np_round),
            "-",
        ]
    )
    print(table(rows, markdown=False))


if __name__ == "__main__":
    main()
