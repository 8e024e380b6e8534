"""Independent reference ("oracle") simulator of parameter-server SGD policies.

Written from ``shared/spec.md`` sections 1-3 only, without reading the absjax
engine, so that differential tests can catch the engine's mistakes. It is plain,
slow, event-by-event Python/NumPy: absolute times are float64, and the pending
finish events live in a ``heapq`` ordered by ``(finish_time, worker_index)``.

Job identification (the contract the engine's draws must follow):

* At time 0 every worker starts a job on ``w_0`` with ``duration(-1, 0, i)`` and
  ``batch(-1, 0, i)``.
* Round ``r`` is the aggregation that produces version ``r + 1``. Every job
  started at the END of round ``r`` (on ``w_{r+1}``, whatever the reason) uses
  ``duration(r, 0, i)`` / ``batch(r, 0, i)``.
* Under the batch policies the ``j``-th arrival of round ``r`` (``j = 1..K-1``,
  i.e. every arrival that does not complete the round) restarts the arriving
  worker ``i`` at once on ``w_r`` with ``duration(r, j, i)`` / ``batch(r, j, i)``.

References: Dutta, Joshi, Ghosh, Dube, Nagpurkar, "Slow and Stale Gradients Can
Win the Race", AISTATS 2018 (arXiv 1803.01113) for K-sync / K-batch-sync /
K-async / K-batch-async; Tan, Zhu, Zhang, "ABS: Adaptive Bounded Staleness ...",
arXiv 2301.08895 for the bounded-staleness restart rule.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SYNC_FAMILY = ("sync", "k_sync", "k_batch_sync")
ASYNC_FAMILY = ("k_async", "k_batch_async", "async")
BATCH_POLICIES = ("k_batch_sync", "k_batch_async")


@dataclass
class RoundRecord:
    """What happened in one communication round.

    Attributes:
        wall_clock: Absolute time of the round's aggregation, i.e. the finish
            time of the arrival that completed it (spec section 1).
        arrivals: Workers whose updates were aggregated this round, in arrival
            order. A worker may repeat under the batch policies.
        staleness: Staleness ``t - b`` of each aggregated update, same order as
            ``arrivals``.
        restarted: Workers that start a new job on ``w_{t+1}`` at the end of the
            round, for any reason.
        cancelled: Workers whose in-progress job is abandoned at the end of the
            round (wasted work).
        mid_restarts: Jobs started during the round, before its end (batch
            policies only).
        uploads: Updates pushed this round (``len(arrivals)``).
        downloads: Job starts in this round (mid-round and at its end) on a
            model version different from the version the worker last pulled.
        idle: Total worker idle time inside the round: a worker that finished
            and waits, not computing, until the round's end.
        w: Model after the round, float64 1-D.
    """

    wall_clock: float
    arrivals: list[int]
    staleness: list[int]
    restarted: set[int]
    cancelled: set[int]
    mid_restarts: int
    uploads: int
    downloads: int
    idle: float
    w: np.ndarray = field(repr=False)


@dataclass
class _Job:
    """One worker's current job.

    Attributes:
        start: Absolute start time.
        finish: Absolute finish time, ``start + duration``.
        base: Model version ``b`` the worker read when the job started.
        update: The update ``grad(w_b, sample)``, computed at job start (spec
            section 1: its content depends only on ``w_b`` and the sample).
    """

    start: float
    finish: float
    base: int
    update: np.ndarray


def simulate(
    policy: str,
    num_workers: int,
    k: int,
    tau: int | None,
    rounds: int,
    duration: Callable[[int, int, int], float],
    batch: Callable[[int, int, int], Any],
    grad: Callable[[np.ndarray, Any], np.ndarray],
    w0: Any,
    lr: float,
    weight: Callable[[int], float],
    normalization: str,
) -> list[RoundRecord]:
    """Simulates ``rounds`` communication rounds of a parameter-server policy.

    Args:
        policy: One of ``"sync"``, ``"k_sync"``, ``"k_batch_sync"``,
            ``"k_async"``, ``"k_batch_async"``, ``"async"``. ``"sync"`` is
            ``k_sync`` with ``K = N`` and ``"async"`` is ``k_async`` with
            ``K = 1``; ``k`` is ignored for those two.
        num_workers: Number of workers ``N``.
        k: ``K``. For ``k_sync`` / ``k_async`` it counts distinct workers, so
            ``1 <= K <= N``; for the batch policies it counts arrivals and any
            ``K >= 1`` is allowed.
        tau: Staleness bound for the async family (``None`` = unbounded). In
            the sync family every job is fresh, so any ``tau >= 0`` is a no-op
            there and is ignored.
        rounds: Number of rounds to simulate.
        duration: ``duration(r, slot, worker)`` -> job duration (see module
            docstring for the indices).
        batch: ``batch(r, slot, worker)`` -> opaque sample passed to ``grad``.
        grad: ``grad(w_base, sample)`` -> update vector.
        w0: Initial model, converted to a float64 1-D array.
        lr: Server step size ``eta``.
        weight: Staleness weight ``omega(s)`` (spec section 3).
        normalization: ``"count"`` (``Z`` = number of updates) or
            ``"weight-sum"`` (``Z = sum omega(s_i)``).

    Returns:
        One :class:`RoundRecord` per round, in order.

    Raises:
        ValueError: On an unknown policy or normalization, an invalid ``k``,
            ``tau`` or ``num_workers``, a non 1-D ``w0``, or a zero ``Z``.
    """
    # ---- argument checks -------------------------------------------------
    n = int(num_workers)
    if n < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    if policy == "sync":
        policy, k = "k_sync", n  # spec table: sync = all N finished
    elif policy == "async":
        policy, k = "k_async", 1  # spec table: async = k_async(1)
    if policy not in ("k_sync", "k_batch_sync", "k_async", "k_batch_async"):
        raise ValueError(f"unknown policy {policy!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if policy in ("k_sync", "k_async") and k > n:
        raise ValueError(f"{policy} needs k <= num_workers, got k={k}, N={n}")
    if tau is not None and tau < 0:
        raise ValueError(f"tau must be >= 0 or None, got {tau}")
    if normalization not in ("count", "weight-sum"):
        raise ValueError(f"unknown normalization {normalization!r}")
    is_async = policy in ("k_async", "k_batch_async")
    is_batch = policy in BATCH_POLICIES
    bound = tau if is_async else None

    w = np.array(w0, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"w0 must be 1-D, got shape {w.shape}")
    # versions[v] = w_v; kept so that a job on version v reads exactly w_v.
    versions: list[np.ndarray] = [w.copy()]

    jobs: dict[int, _Job] = {}  # worker -> its current (in-progress) job
    held: dict[int, int] = {}  # worker -> version it last pulled

    def start_job(i: int, now: float, version: int, r: int, slot: int) -> bool:
        """Starts worker i's job on w_version; returns True if it is a download."""
        dur = float(duration(r, slot, i))
        sample = batch(r, slot, i)
        upd = np.asarray(grad(versions[version].copy(), sample), dtype=np.float64)
        if upd.shape != w.shape:
            raise ValueError(f"grad returned shape {upd.shape}, expected {w.shape}")
        jobs[i] = _Job(start=now, finish=now + dur, base=version, update=upd)
        is_download = held.get(i) != version
        held[i] = version
        return is_download

    # At time 0 every worker pulls w_0 and starts: duration(-1, 0, i).
    # The initial pulls belong to no round record.
    for i in range(n):
        start_job(i, 0.0, 0, -1, 0)

    def rebuild_heap() -> list[tuple[float, int]]:
        # Events ordered by (finish_time, worker_index): ties by worker index.
        heap = [(job.finish, i) for i, job in jobs.items()]
        heapq.heapify(heap)
        return heap

    records: list[RoundRecord] = []
    heap = rebuild_heap()
    for t in range(rounds):
        arrivals: list[int] = []
        staleness: list[int] = []
        updates: list[np.ndarray] = []
        finish_times: list[float] = []
        mid_restarts = 0
        downloads = 0
        now = 0.0

        # ---- (a) when the round ends: collect K arrivals -----------------
        while len(arrivals) < k:
            finish, i = heapq.heappop(heap)
            job = jobs.pop(i)
            assert job.finish == finish
            now = finish
            arrivals.append(i)
            staleness.append(t - job.base)  # s = t - b_i (spec section 1)
            updates.append(job.update)
            finish_times.append(finish)
            if is_batch and len(arrivals) < k:
                # Batch policies: "a worker that finishes pushes and at once
                # starts another job on the same w_t" (k_batch_sync) / "pulls
                # the *current* model and restarts" (k_batch_async). The
                # current model is w_t: round t has not aggregated yet.
                slot = len(arrivals)  # j = 1..K-1
                if start_job(i, now, t, t, slot):
                    downloads += 1
                mid_restarts += 1
                heapq.heappush(heap, (jobs[i].finish, i))
            # k_sync / k_async: the finisher idles until the round ends (it
            # has no job until then, so it is not in the heap).

        wall_clock = now
        if policy in ("k_sync", "k_async"):
            # "early finishers idle until then": the K finishers wait from
            # their finish time to the round's end. Batch policies: no idle.
            idle = float(sum(wall_clock - f for f in finish_times))
        else:
            idle = 0.0

        # ---- aggregation: w_{t+1} = w_t - eta * sum omega(s_i) u_i / Z -----
        omegas = [float(weight(s)) for s in staleness]
        if normalization == "count":
            z = float(len(updates))
        else:
            z = float(sum(omegas))
        if z == 0.0:
            raise ValueError(f"round {t}: normalization Z is zero")
        agg = np.zeros_like(w)
        for om, u in zip(omegas, updates, strict=True):
            agg = agg + om * u
        w = versions[t] - lr * agg / z
        versions.append(w.copy())
        new_version = t + 1

        # ---- (b)-(d) who restarts on w_{t+1}, who keeps, who is cancelled --
        restarted: set[int] = set()
        cancelled: set[int] = set()
        if policy in ("k_sync", "k_batch_sync"):
            # k_sync: "the N-K slowest" cancelled; k_batch_sync: "all in
            # progress" cancelled; both: "all" restart on w_{t+1}.
            cancelled = set(jobs)
            restarted = set(range(n))
        elif policy == "k_async":
            # "the K that arrived" restart; the other N-K keep computing.
            restarted = set(arrivals)
        else:  # k_batch_async: only the K-th arriver restarts at the end
            restarted = {arrivals[-1]}
        if bound is not None:
            # Bounded staleness: every worker whose current job would have
            # staleness > tau in the next round, (t+1) - b > tau, abandons it
            # and restarts on w_{t+1} (spec table row "bounded staleness").
            for i in sorted(jobs):
                if new_version - jobs[i].base > bound:
                    cancelled.add(i)
                    restarted.add(i)
        for i in cancelled:
            del jobs[i]
        # Every end-of-round start uses duration(t, 0, i), in worker order.
        for i in sorted(restarted):
            assert i not in jobs
            if start_job(i, wall_clock, new_version, t, 0):
                downloads += 1
        assert len(jobs) == n, "every worker must hold a job after a round"
        heap = rebuild_heap()

        records.append(
            RoundRecord(
                wall_clock=wall_clock,
                arrivals=arrivals,
                staleness=staleness,
                restarted=restarted,
                cancelled=cancelled,
                mid_restarts=mid_restarts,
                uploads=len(arrivals),
                downloads=downloads,
                idle=idle,
                w=w.copy(),
            )
        )
    return records
