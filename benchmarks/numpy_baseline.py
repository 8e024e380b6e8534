"""NumPy baseline for the absjax throughput benchmark.

This module is the reference point that the jit-compiled, vmap-batched JAX engine is
compared against in ``benchmarks/``. It simulates the standard benchmark workload
with a plain per-seed event loop written in NumPy: a Python loop over seeds and
over communication rounds, vectorised NumPy over the workers inside each round.
It is meant to be a fair, reasonably optimised CPU implementation, not a
deliberately slow one:

* the K arrivals of a round are found with one stable ``argsort`` over the N
  absolute finish times (ties broken by worker index, as the spec requires);
* the minibatch gradients of all workers that restart in a round are computed
  together: one gather of their minibatch rows (``y`` is stored as an extra column
  of ``X``), one matrix-vector product for the residuals (they all read the same
  model) and one batched matmul for the gradients;
* job durations and minibatch indices are drawn in large pre-drawn blocks, so the
  round loop does not pay the per-call overhead of ``Generator`` methods.

Workload (absjax specification, sections 1-3):

* ``N = 16`` workers, policy ``k_async(K=4)`` with staleness bound ``tau = 3``.
  Every worker always has a job. Round ``t`` ends at the K-th finish among the
  current jobs (ties by worker index); the wall clock is that finish time. The K
  arrivals are aggregated, ``w_{t+1} = w_t - lr * mean(updates)`` (constant
  staleness weight, count normalisation ``Z = K``), and those K workers restart on
  ``w_{t+1}``. Then every other worker whose job would have staleness
  ``(t + 1) - b > tau`` in the next round abandons it (wasted work) and restarts on
  ``w_{t+1}``; ``b`` is the model version the worker read. All restarts happen at
  the round's end time. Early finishers idle until the round ends.
* Job durations are shifted exponential: ``0.5 + Exponential(rate=2)``.
* Objective: linear regression, ``dim = 100``, ``4096`` samples,
  ``X ~ N(0, 1)``, ``y = X w_true + 0.1 * noise``; a job's update is the minibatch
  gradient ``X_b^T (X_b w_b - y_b) / 32`` (32 samples drawn with replacement)
  computed at the model ``w_b`` the worker read. It is computed when the job
  starts and kept until the job is aggregated or abandoned.
* Absolute finish times are kept in float64 (docs/concepts.md#concepts-events);
  model and data
  are float32 by default, the JAX default precision.
* Every ``log_every`` rounds the wall clock and the full-data loss
  ``0.5 * mean((X w - y)^2)`` are recorded (plus the initial point at round 0).

The data set is fixed (generated from ``DATA_SEED``) and shared by all seeds; a
seed drives the durations and the minibatch sampling through
``np.random.default_rng(seed)``.

The number of workers and the model dimension are parameters (``num_workers``,
``dim``; defaults ``N_WORKERS`` and ``DIM``) for the scaling benchmark
(``benchmarks/scaling.py``). With ``num_workers = N`` the policy is
``k_async(K = num_arrivals(N))``, ``K = ceil(N / 4)`` (at least 1), so the
default N = 16 gives K = 4; tau, the delay law, the samples, the batch and the
learning rate do not change.

Note on the round time: with this law the mean round time is about 0.31, well
below ``E[X_(4:16)] = 0.5 + 0.5 * (1/13 + 1/14 + 1/15 + 1/16) ~= 0.639`` (the
``k_sync(4)`` value), because the N - K workers that keep computing are often past
the 0.5 shift (new-longer-than-used delays, Dutta et al. 2018); it is above the
renewal bound ``K E[X] / N = 0.25``. With ``SHIFT = 0`` (memoryless) the loop
reproduces ``E[X_(4:16)]``, and with ``TAU = 0`` it reduces to ``k_sync(4)``.

References:
    Dutta, Joshi, Ghosh, Dube, Nagpurkar. Slow and Stale Gradients Can Win the
    Race. AISTATS 2018, arXiv 1803.01113 (K-async SGD).
    Lee, Lam, Pedarsani, Papailiopoulos, Ramchandran. Speeding Up Distributed
    Machine Learning Using Codes. arXiv 1512.02673 (shifted-exponential runtimes).
    Tan, Zhu, Zhang. ABS: Adaptive Bounded Staleness Converges Faster and
    Communicates Less. arXiv 2301.08895 (bounded-staleness restart rule).

Example:
    Run ``python benchmarks/numpy_baseline.py`` to print the throughput in
    simulated seed-rounds per second for 8 seeds of 1000 rounds.
"""

import argparse
import math
import time

import numpy as np

N_WORKERS = 16
K = 4  # num_arrivals(N_WORKERS)
TAU = 3
SHIFT = 0.5
RATE = 2.0
DIM = 100
N_SAMPLES = 4096
BATCH = 32
LR = 0.05
NOISE = 0.1
DATA_SEED = 0
_BLOCK_JOBS = 4096  # jobs per pre-drawn block of random numbers


def num_arrivals(num_workers: int) -> int:
    """K of the workload with ``num_workers`` workers: ``ceil(N / 4)``, at least 1.

    >>> [num_arrivals(n) for n in (1, 4, 16, 17, 64)]
    [1, 1, 4, 5, 16]
    """
    _check_positive("num_workers", num_workers)
    return max(1, math.ceil(num_workers / 4))


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be an integer >= 1")


def make_data(
    seed: int = DATA_SEED, dtype: type = np.float32, dim: int = DIM
) -> tuple[np.ndarray, np.ndarray]:
    """Generates the linear-regression data set.

    Args:
        seed: Seed of the data set (independent of the simulation seeds).
        dtype: Floating dtype of ``X`` and ``y`` (and hence of the model).
        dim: Model dimension (columns of ``X``).

    Returns:
        ``(X, y)`` with ``X`` of shape ``(4096, dim)``, ``X ~ N(0, 1)``, and
        ``y = X w_true + 0.1 * noise`` with ``w_true, noise ~ N(0, 1)``.
    """
    _check_positive("dim", dim)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_SAMPLES, dim))
    w_true = rng.standard_normal(dim)
    y = x @ w_true + NOISE * rng.standard_normal(N_SAMPLES)
    return x.astype(dtype), y.astype(dtype)


def _augment(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Returns ``[X | y]`` of shape ``(n, d + 1)`` (data preparation, untimed).

    With the model stored as ``[w, -1]``, one gather of rows of ``[X | y]`` and one
    matrix-vector product give the residuals ``X_b w - y_b``.
    """
    return np.ascontiguousarray(np.concatenate([x, y[:, None]], axis=1))


def _simulate(
    xa: np.ndarray,
    rng: np.random.Generator,
    rounds: int,
    log_every: int,
    num_workers: int = N_WORKERS,
    timing_only: bool = False,
) -> dict:
    """Runs one seed of the k_async(K) + bounded-staleness event loop.

    Args:
        xa: ``[X | y]`` from ``_augment``, shape ``(n, d + 1)``.
        rng: The seed's random generator (durations and minibatch indices).
        rounds: Number of communication rounds to simulate.
        log_every: Logging period in rounds.
        num_workers: Number of workers N; ``K = num_arrivals(N)``.
        timing_only: Only the clock and the restarts (no model, no gradients,
            ``loss`` is NaN): the loop that absjax's timing-only objective runs.

    Returns:
        Dict with ``round`` (int64), ``wall_clock`` (float64), ``loss`` (float64),
        one entry per logged round starting with round 0, and the scalars
        ``jobs_wasted`` (abandoned jobs) and ``mean_round_time``.
    """
    n, d = xa.shape[0], xa.shape[1] - 1
    dtype = xa.dtype
    n_workers, k = num_workers, num_arrivals(num_workers)
    # A block must hold the first N jobs (a round restarts at most N jobs);
    # the default workload keeps _BLOCK_JOBS, hence its random stream.
    block_jobs = max(_BLOCK_JOBS, n_workers)
    inv_n = 1.0 / n
    # The model is stored as wa = [w, -1] (see _augment); w is a view of it.
    wa = np.zeros(d + 1, dtype=dtype)
    wa[d] = -1
    w = wa[:d]
    # Mean of the K updates times -lr, with the 1/BATCH of the gradient folded in.
    neg_step = np.full(k, -LR / (k * BATCH), dtype=dtype)

    def loss() -> float:
        r = np.dot(xa, wa)
        return 0.5 * float(np.dot(r, r)) * inv_n

    def gradients(rows: np.ndarray) -> np.ndarray:
        """BATCH * minibatch gradient at the current model, one row per job."""
        m = rows.shape[0]
        xb = xa.take(rows.ravel(), axis=0)
        r = np.dot(xb, wa)
        return np.matmul(r.reshape(m, 1, BATCH), xb.reshape(m, BATCH, d + 1))[:, 0]

    if timing_only:

        def loss() -> float:
            return float("nan")

    n_logs = rounds // log_every + 1
    log_round = np.arange(n_logs, dtype=np.int64) * log_every
    log_clock = np.zeros(n_logs)
    log_loss = np.zeros(n_logs)
    log_loss[0] = loss()

    def draw_block() -> tuple[np.ndarray, np.ndarray | None]:
        dur = SHIFT + rng.exponential(1.0 / RATE, block_jobs)
        idx = None if timing_only else rng.integers(0, n, (block_jobs, BATCH))
        return dur, idx

    dur_buf, idx_buf = draw_block()

    # Round 0: every worker starts a job on w_0 at time 0.
    finish = dur_buf[:n_workers].copy()  # absolute finish times, float64
    base = np.zeros(n_workers, dtype=np.int64)  # model version each worker read
    upd = None if timing_only else gradients(idx_buf[:n_workers])  # (N, d + 1)
    pos = n_workers

    wasted = 0
    now = 0.0
    for t in range(rounds):
        order = np.argsort(finish, kind="stable")
        arrived = order[:k]
        now = finish[order[k - 1]]
        if not timing_only:
            w += np.dot(neg_step, upd.take(arrived, axis=0))[:d]
        t1 = t + 1
        # Jobs that would be staler than TAU in round t1, plus the K arrivals.
        restart_mask = base < t1 - TAU
        restart_mask[arrived] = True
        restart = restart_mask.nonzero()[0]
        m = restart.size
        wasted += m - k
        if pos + m > block_jobs:
            dur_buf, idx_buf = draw_block()
            pos = 0
        finish[restart] = now + dur_buf[pos : pos + m]
        base[restart] = t1
        if not timing_only:  # (the last column of upd is unused)
            upd[restart] = gradients(idx_buf[pos : pos + m])
        pos += m
        if t1 % log_every == 0:
            j = t1 // log_every
            log_clock[j] = now
            log_loss[j] = loss()

    return {
        "round": log_round,
        "wall_clock": log_clock,
        "loss": log_loss,
        "jobs_wasted": wasted,
        "mean_round_time": float(now) / rounds if rounds else float("nan"),
    }


def run_seed(
    seed: int,
    rounds: int = 1000,
    log_every: int = 10,
    data: tuple[np.ndarray, np.ndarray] | None = None,
    num_workers: int = N_WORKERS,
    dim: int = DIM,
) -> dict:
    """Simulates one seed of the standard workload.

    Args:
        seed: Simulation seed, passed to ``np.random.default_rng``.
        rounds: Number of communication rounds.
        log_every: Logging period in rounds.
        data: Optional ``(X, y)``; defaults to ``make_data(dim=dim)``.
        num_workers: Number of workers N; ``K = num_arrivals(N)``.
        dim: Model dimension of the default data set (ignored with ``data``).

    Returns:
        Dict with arrays ``round``, ``wall_clock`` and ``loss`` (one entry per
        logged round, including round 0) and scalars ``jobs_wasted`` and
        ``mean_round_time``.
    """
    _check_positive("num_workers", num_workers)
    xa = _augment(*(make_data(dim=dim) if data is None else data))
    return _simulate(xa, np.random.default_rng(seed), rounds, log_every, num_workers)


def measure(
    seeds: int,
    rounds: int = 1000,
    num_workers: int = N_WORKERS,
    dim: int = DIM,
    timing_only: bool = False,
) -> tuple[float, list[dict]]:
    """Times seeds ``0 .. seeds-1`` one after the other, ``log_every = 10``.

    The data set is generated (and ``y`` appended to ``X``) before the clock
    starts.

    Args:
        seeds: Number of seeds to simulate.
        rounds: Rounds per seed.
        num_workers: Number of workers N; ``K = num_arrivals(N)``.
        dim: Model dimension.
        timing_only: Time the timing-only loop (see :func:`_simulate`).

    Returns:
        ``(rate, runs)``: ``rate = seeds * rounds / elapsed`` in simulated
        seed-rounds per second (``elapsed`` from ``time.perf_counter``), and the
        per-seed results as returned by :func:`run_seed`.
    """
    _check_positive("seeds", seeds)
    _check_positive("num_workers", num_workers)
    xa = _augment(*make_data(dim=dim))
    start = time.perf_counter()
    runs = [
        _simulate(xa, np.random.default_rng(seed), rounds, 10, num_workers, timing_only)
        for seed in range(seeds)
    ]
    elapsed = time.perf_counter() - start
    return seeds * rounds / elapsed, runs


def throughput(
    seeds: int,
    rounds: int = 1000,
    num_workers: int = N_WORKERS,
    dim: int = DIM,
    timing_only: bool = False,
) -> float:
    """Measures the baseline's speed in simulated seed-rounds per second.

    The data set is generated (and ``y`` appended to ``X``) before the clock
    starts; seeds ``0 .. seeds-1`` are
    then simulated one after the other with ``log_every = 10``.

    Args:
        seeds: Number of seeds to simulate.
        rounds: Rounds per seed.
        num_workers: Number of workers N; ``K = num_arrivals(N)``.
        dim: Model dimension.
        timing_only: Time the timing-only loop (see :func:`_simulate`).

    Returns:
        ``seeds * rounds / elapsed`` with ``elapsed`` from ``time.perf_counter``.
    """
    return measure(seeds, rounds, num_workers, dim, timing_only)[0]


def main() -> None:
    """Prints the baseline throughput (8 seeds of 1000 rounds by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=N_WORKERS, help="N")
    parser.add_argument("--dim", type=int, default=DIM, help="model dimension")
    parser.add_argument("--timing", action="store_true", help="timing-only loop")
    args = parser.parse_args()
    rate = throughput(args.seeds, args.rounds, args.workers, args.dim, args.timing)
    workload = ""
    if (args.workers, args.dim) != (N_WORKERS, DIM):
        k = num_arrivals(args.workers)
        workload = f", N={args.workers} K={k} dim={args.dim}"
    if args.timing:
        workload += ", timing only"
    print(
        f"numpy baseline: {rate:,.0f} seed-rounds/s "
        f"({args.seeds} seeds x {args.rounds} rounds{workload})"
    )


if __name__ == "__main__":
    main()
