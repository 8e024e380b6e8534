"""Independent reference ("oracle") simulator of parameter-server SGD policies.

Written from the semantics in the docs only (Concepts > A round, The six
mechanics, Staleness weights: docs/concepts.md), without reading the absjax
engine, so that differential tests can catch the engine's mistakes. It is plain,
slow, event-by-event Python/NumPy: absolute times are float64, and the pending
finish events live in a ``heapq`` ordered by ``(finish_time, worker_index)``.

Job identification (the contract the engine's draws must follow):

* At time 0 every worker starts a job on ``w_0`` with ``duration(-1, 0, i)`` and
  ``batch(-1, 0, i)``.
* Round ``r`` is the aggregation that produces version ``r + 1``. Every job
  started at the END of round ``r`` (on ``w_{r+1}``, whatever the reason:
  arrival, over-stale restart, SSP unblocking) uses ``duration(r, 0, i)`` /
  ``batch(r, 0, i)``, in worker order.
* Under the batch policies the arrivals of round ``r`` are numbered
  ``j = 0, 1, 2, ...`` in event order, counting every arrival (also the ones
  discarded under ``discard``). An arrival that does not complete the round
  restarts the arriving worker ``i`` at once on ``w_r`` with
  ``duration(r, j + 1, i)`` / ``batch(r, j + 1, i)``. Without discards the
  slots are ``1..K-1``.
* With ``local_steps = U > 1`` ``batch`` returns a sequence of ``U`` samples,
  in step order; ``duration`` is the job's total duration.

References: Dutta, Joshi, Ghosh, Dube, Nagpurkar, "Slow and Stale Gradients Can
Win the Race", AISTATS 2018 (arXiv 1803.01113) for K-sync / K-batch-sync /
K-async / K-batch-async, and its journal version (arXiv 2003.10579) for
AdaSync; Tan, Zhu, Zhang, "ABS: Adaptive Bounded Staleness ...", arXiv
2301.08895 for the bounded-staleness restart rule and the adaptive ``K^t`` /
``tau_max^t``; Zhang, Gupta, Lian, Liu, IJCAI 2016 (arXiv 1511.05950) for
SA-AdaSync's staleness-aware weight; Ho et al., NIPS 2013 for SSP; Tyurin and
Richtarik, NeurIPS 2023 (arXiv 2305.12387) for Rennala SGD; Maranjyan, Tyurin,
Richtarik, ICML 2025 (arXiv 2501.16168) for Ringmaster ASGD.
"""

from __future__ import annotations

import heapq
import math
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
            time of the arrival that completed it
            (docs/concepts.md#concepts-events).
        arrivals: Workers whose updates were aggregated this round, in arrival
            order. A worker may repeat under the batch policies.
        staleness: Staleness ``t - b`` of each aggregated update, same order as
            ``arrivals``.
        restarted: Workers that start a new job on ``w_{t+1}`` at the end of the
            round, for any reason.
        cancelled: Workers whose in-progress job is abandoned at the end of the
            round (wasted work).
        mid_restarts: Jobs started during the round, before its end (batch
            policies only; a restart after a discarded arrival counts).
        uploads: Updates pushed this round, aggregated or discarded
            (``len(arrivals) + discarded``).
        downloads: Job starts in this round (mid-round and at its end) on a
            model version different from the version the worker last pulled.
        idle: Total worker idle time inside the round: a worker that finished
            and waits, not computing, until the round's end, plus, under SSP,
            every worker blocked at the round's start times the round's length.
        w: Model after the round, float64 1-D.
        k: ``K^t``, the ``K`` in force in this round.
        tau: ``tau_max^t``, the staleness bound in force in this round (the one
            the restart rule applied at the end of the previous round), or
            ``None`` when unbounded (always ``None`` for the sync family).
        discarded: Arrivals of this round that were discarded, not aggregated
            (``discard`` threshold under ``k_batch_async``).
        blocked: Workers blocked by SSP after the round: they hold no job.
        loss_estimate: The loss estimate ``L`` after the round (``nan`` when
            no ``batch_loss`` / ``exact_loss`` for the chosen mode is given).
        etas: Under ``distance_c``, the step ``eta_j`` of each aggregated
            update, same order as ``arrivals`` (empty otherwise).
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
    k: int = 0
    tau: int | None = None
    discarded: int = 0
    blocked: set[int] = field(default_factory=set)
    loss_estimate: float = float("nan")
    etas: list[float] = field(default_factory=list)


@dataclass
class _Job:
    """One worker's current job.

    Attributes:
        start: Absolute start time.
        finish: Absolute finish time, ``start + duration``.
        base: Model version ``b`` the worker read when the job started.
        update: The update, computed at job start (docs/concepts.md#concepts-jobs:
            its content
            depends only on ``w_b`` and the sample): ``grad(w_b, sample)``, or
            with ``U`` local steps the sum of the ``U`` local gradients.
        loss: ``batch_loss(w_b, xi_0)`` (``nan`` when not computed).
    """

    start: float
    finish: float
    base: int
    update: np.ndarray
    loss: float = float("nan")


K_RULES = ("adasync", "loss_ratio", "exp_root", "loss_table")


def _check_rules(k_rule, tau_rule, n: int, loss_estimate: str, beta: float):
    """Validates the adaptive-K / adaptive-tau rules; returns them unpacked."""
    adaptive = None
    if k_rule is not None:
        if not (isinstance(k_rule, tuple | list) and len(k_rule) in (3, 5)):
            raise ValueError(f"k_rule must be None or (name, k0, t0): {k_rule!r}")
        name, k0, t0 = k_rule[:3]
        table = tuple(k_rule[3:]) or None  # loss_table: (knots, values)
        if (name == "loss_table") != (table is not None):
            raise ValueError("k_rule loss_table is (name, k0, t0, knots, values)")
        if name not in K_RULES:
            raise ValueError(f"unknown k_rule {name!r}")
        if int(k0) != k0 or not 1 <= k0 <= n:
            raise ValueError(f"{name} k0 must be an integer in [1, N={n}], got {k0}")
        if not t0 > 0:
            raise ValueError(f"{name} t0 must be > 0, got {t0}")
        adaptive = (name, int(k0), float(t0), table)
    kappa = None
    if tau_rule is not None:
        if not (isinstance(tau_rule, tuple | list) and len(tau_rule) == 2):
            raise ValueError(f"tau_rule must be None or ('kappa', kappa): {tau_rule!r}")
        name, kappa = tau_rule
        if name != "kappa":
            raise ValueError(f"unknown tau_rule {name!r}")
        if not kappa >= 0:
            raise ValueError(f"kappa must be >= 0, got {kappa}")
        kappa = float(kappa)
    if loss_estimate not in ("minibatch", "exact"):
        raise ValueError(f"unknown loss_estimate {loss_estimate!r}")
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    return adaptive, kappa


def _k_target(name: str, k0: int, n: int, ratio: float, table=None) -> int:
    """The K rule's target for a loss ratio ``r = max(L_0, 0) / L_t >= 0``.

    ``adasync``: ``min(N, ceil(k0 sqrt(r)))``; ``loss_ratio``: ``min(N,
    floor(k0 r))``; ``exp_root``: the positive root ``K`` of ``K^2 / (N - K) =
    (k0^2 / (N - k0)) r``, i.e. of ``K^2 + c K - c N = 0`` with ``c = k0^2 r /
    (N - k0)``, rounded up (``N`` when ``k0 = N``). Every value is float64.
    """
    if name == "loss_table":  # round(1 + (N - 1) f(log r)), f the table
        knots, values = table
        f = np.interp(math.log(max(ratio, 1e-30)), knots, values)
        return int(np.round(1 + (n - 1) * f))
    if name == "adasync":
        x = k0 * math.sqrt(ratio)
        return n if x >= n else math.ceil(x)  # min(N, ceil(x)), safe for inf
    if name == "loss_ratio":
        x = k0 * ratio
        return n if x >= n else math.floor(x)
    if k0 == n:
        return n
    c = k0 * k0 * ratio / (n - k0)
    if c == 0.0:
        return 0  # the root is K = 0: K stays as it is
    # The quadratic formula's positive root (-c + sqrt(c^2 + 4 c N)) / 2,
    # written as 2N / (1 + sqrt(1 + 4N / c)) (no cancellation; c = inf -> N);
    # rounded up, tolerating a root 1e-9 above an integer.
    root = 2.0 * n / (1.0 + math.sqrt(1.0 + 4.0 * n / c))
    return min(n, math.ceil(root - 1e-9))


def _kappa_tau(kappa: float, n: int, k: int) -> int:
    """``tau_max = ceil(kappa * (N - K) / K)``, in float64, in this order."""
    return math.ceil(kappa * (n - k) / k)


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
    *,
    local_steps: int = 1,
    local_lr: float | None = None,
    k_rule: tuple | None = None,
    tau_rule: tuple | None = None,
    loss_estimate: str = "minibatch",
    beta: float = 0.1,
    batch_loss: Callable[[np.ndarray, Any], float] | None = None,
    exact_loss: Callable[[np.ndarray], float] | None = None,
    ssp: int | None = None,
    discard: int | None = None,
    distance_c: float | None = None,
    replay: tuple | None = None,
    start_times: list[float] | None = None,
    read_before: bool = False,
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
            ``K >= 1`` is allowed. Ignored under ``k_rule``.
        tau: Staleness bound for the async family (``None`` = unbounded). In
            the sync family every job is fresh, so any ``tau >= 0`` is a no-op
            there and is ignored. Ignored under ``tau_rule``.
        rounds: Number of rounds to simulate.
        duration: ``duration(r, slot, worker)`` -> job duration (see module
            docstring for the indices).
        batch: ``batch(r, slot, worker)`` -> opaque sample passed to ``grad``
            (a sequence of ``local_steps`` samples when ``local_steps > 1``).
        grad: ``grad(w_base, sample)`` -> update vector.
        w0: Initial model, converted to a float64 1-D array.
        lr: Server step size ``eta``.
        weight: Staleness weight ``omega(s)`` (docs/concepts.md#concepts-weights).
            SA-AdaSync is
            ``k_rule`` over ``k_async`` with ``omega(s) = 1 / max(1, s)`` and
            ``"count"`` normalisation.
        normalization: ``"count"`` (``Z`` = number of updates) or
            ``"weight-sum"`` (``Z = sum omega(s_i)``).
        local_steps: ``U >= 1`` local SGD steps per job (spec: "the difference
            ``w_b - w_b^(U)`` after ``U`` local SGD steps"). With samples
            ``xi_0..xi_{U-1}``: ``v_0 = w_b``, ``g_j = grad(v_j, xi_j)``,
            ``v_{j+1} = v_j - local_lr * g_j``, and the update is
            ``sum_j g_j`` (``U = 1``: the plain gradient).
        local_lr: Local step size (``None``: ``lr``).
        k_rule: ``None`` (fixed ``K``) or ``(name, k0, t0)``: "``K``
            changed every ``T0`` of simulated wall-clock to
            ``K = min(N, ceil(K0 * sqrt(F(w_0) / F(w_t))))``", non-decreasing
            (docs/concepts.md#concepts-rules, AdaSync / ABS part 1). ``K^0 =
            k0``; after round
            ``t`` ending at ``c_t`` (``c_{-1} = 0``), if
            ``floor(c_t / t0) > floor(c_{t-1} / t0)``,
            ``K^{t+1} = max(K^t, target)``, ``target = N`` if ``L_t <= 0``
            else a function of ``r = max(L_0, 0) / L_t``
            (docs/concepts.md#concepts-readings-k): ``"adasync"``:
            ``min(N, ceil(k0 * sqrt(r)))``;
            ``"loss_ratio"`` (the STSyn code's linear rule):
            ``min(N, floor(k0 * r))``; ``"exp_root"`` (AdaSync for K-sync
            with exponential delays): the root ``K`` of
            ``K^2 / (N - K) = (k0^2 / (N - k0)) * r``, rounded up.
        tau_rule: ``None`` (fixed ``tau``) or ``("kappa", kappa)``:
            ``tau_max^t = ceil(kappa * (N - K^t) / K^t)``
            (docs/concepts.md#concepts-rules, ABS part 2), evaluated after the
            ``K`` rule. Ignored by the sync family.
        loss_estimate: How ``L`` is estimated: ``"minibatch"`` (each
            aggregated update carries ``batch_loss(w_b, xi_0)``; ``L = m_0``
            after round 0, then ``L = (1 - beta) * L + beta * m_t``, ``m_t``
            the mean over the round's aggregated updates) or ``"exact"``
            (``L = exact_loss(w_{t+1})`` after round ``t``,
            ``L_0 = exact_loss(w_0)``).
        beta: Smoothing factor of the minibatch estimate, in ``(0, 1]``.
        batch_loss: ``batch_loss(w_b, sample)`` -> float.
        exact_loss: ``exact_loss(w)`` -> float.
        ssp: Staleness threshold ``s >= 0`` of SSP (Ho et al. 2013), only with
            ``policy="async"``: "a worker whose push count is more than ``s``
            ahead of the slowest worker idles until it is not".
        discard: Threshold ``R >= 1``, only with ``"k_batch_async"``: an
            arrival with staleness ``>= R`` is discarded and its worker
            restarts at once on ``w_t``. Rennala(B) is ``K = B``, ``R = 1``;
            Ringmaster(R) is ``K = 1`` and threshold ``R``.
        distance_c: ``C > 0`` of Dutta et al.'s staleness-aware step (AISTATS
            2018, arXiv 1803.01113, section 3.3, eq. 13), replacing
            ``weight`` (then unused): each aggregated update ``u_j``, computed
            on ``w_b``, is stepped with
            ``eta_j = min(C / ||w_t - w_b||^2, lr)`` (``lr`` when
            ``w_b = w_t``), i.e. ``eta_max = lr``. ``"count"``:
            ``w_{t+1} = w_t - sum_j eta_j u_j / K``; ``"weight-sum"``:
            ``w_{t+1} = w_t - sum_j eta_j u_j / Z``, ``Z = sum_j eta_j / lr``.
        replay: ``None``, or ``(columns, offset, end)``: in-order trace
            replay (spec section 8), replacing ``duration``. Worker ``i``'s
            ``k``-th job (every job it starts, cancelled ones included, ``k =
            0, 1, ...``) takes the rows ``offset + k U, ..., offset + k U + U
            - 1`` of ``columns[i]``, summed (``U = local_steps``); past the
            end ``end="cycle"`` wraps around, ``end="stop"`` makes the job
            last forever (``inf``: that worker has no more measured jobs).
        start_times: ``None`` (all 0) or one start-up time per worker (spec
            section 8, "start-up"; our reading of it): worker ``i`` pulls
            ``w_0`` at time 0 like every worker, and its first job, whose
            duration is ``duration(-1, 0, i)``, finishes at
            ``start_times[i] + duration(-1, 0, i)``.
        read_before: the read order "before" (spec section 8): a worker
            restarting at the end of round ``t`` because its update arrived in
            round ``t`` is handed ``w_t``, the model as it was when its update
            arrived, not ``w_{t+1}``; every other restart reads ``w_{t+1}``.

    Returns:
        One :class:`RoundRecord` per round, in order.

    Raises:
        ValueError: On an unknown policy or normalization, an invalid ``k``,
            ``tau`` or ``num_workers``, a non 1-D ``w0``, a zero ``Z``, or an
            invalid or inapplicable new option (see the checks below).
    """
    # ---- argument checks -------------------------------------------------
    n = int(num_workers)
    if n < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    alias = policy
    if ssp is not None and alias != "async":
        raise ValueError(f"ssp needs policy 'async', got {alias!r}")
    if discard is not None and alias != "k_batch_async":
        raise ValueError(f"discard needs policy 'k_batch_async', got {alias!r}")
    if k_rule is not None and alias in ("sync", "async"):
        raise ValueError(
            f"k_rule needs a policy with an adjustable K (k_sync, k_batch_sync, "
            f"k_async, k_batch_async), got {alias!r}"
        )
    if policy == "sync":
        policy, k = "k_sync", n  # spec table: sync = all N finished
    elif policy == "async":
        policy, k = "k_async", 1  # spec table: async = k_async(1)
    if policy not in ("k_sync", "k_batch_sync", "k_async", "k_batch_async"):
        raise ValueError(f"unknown policy {policy!r}")
    adaptive, kappa = _check_rules(k_rule, tau_rule, n, loss_estimate, beta)
    if adaptive is not None:
        k = adaptive[1]  # K^0 = k0; the k argument is ignored
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if policy in ("k_sync", "k_async") and k > n:
        raise ValueError(f"{policy} needs k <= num_workers, got k={k}, N={n}")
    if tau is not None and tau < 0:
        raise ValueError(f"tau must be >= 0 or None, got {tau}")
    if normalization not in ("count", "weight-sum"):
        raise ValueError(f"unknown normalization {normalization!r}")
    if int(local_steps) != local_steps or local_steps < 1:
        raise ValueError(f"local_steps must be an integer >= 1, got {local_steps}")
    n_local = int(local_steps)
    if local_lr is None:
        local_lr = lr
    elif not local_lr > 0:
        raise ValueError(f"local_lr must be > 0, got {local_lr}")
    if ssp is not None and (int(ssp) != ssp or ssp < 0):
        raise ValueError(f"ssp must be an integer >= 0, got {ssp}")
    if discard is not None and (int(discard) != discard or discard < 1):
        raise ValueError(f"discard must be an integer >= 1, got {discard}")
    if distance_c is not None and not 0.0 < distance_c < math.inf:
        raise ValueError(f"distance_c must be in (0, inf), got {distance_c}")
    if adaptive is not None and loss_estimate == "minibatch" and batch_loss is None:
        raise ValueError("k_rule with loss_estimate='minibatch' needs batch_loss")
    if adaptive is not None and loss_estimate == "exact" and exact_loss is None:
        raise ValueError("k_rule with loss_estimate='exact' needs exact_loss")
    is_async = policy in ("k_async", "k_batch_async")
    is_batch = policy in BATCH_POLICIES
    if kappa is not None and is_async and k > n:
        raise ValueError(f"tau_rule needs K <= N, got K={k}, N={n}")
    # The loss estimate is tracked whenever the chosen mode's callable is given.
    track_mb = loss_estimate == "minibatch" and batch_loss is not None
    track_exact = loss_estimate == "exact" and exact_loss is not None

    def tau_for(kk: int) -> int | None:
        """The staleness bound with K = kk (None: unbounded, or sync family)."""
        if not is_async:
            return None  # sync family: every job is fresh, no bound
        if kappa is not None:
            return _kappa_tau(kappa, n, kk)
        return tau

    w = np.array(w0, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"w0 must be 1-D, got shape {w.shape}")
    # versions[v] = w_v; kept so that a job on version v reads exactly w_v.
    versions: list[np.ndarray] = [w.copy()]

    jobs: dict[int, _Job] = {}  # worker -> its current (in-progress) job
    held: dict[int, int] = {}  # worker -> version it last pulled

    started = [0] * n  # jobs each worker has started (the replay's k)

    def replayed(i: int) -> float:
        """Worker i's next job under in-order replay (its started[i]-th)."""
        columns, offset, end = replay
        column = columns[i]
        total = 0.0
        for j in range(n_local):
            row = offset + started[i] * n_local + j
            if row >= len(column) and end == "stop":
                return math.inf
            total += float(column[row % len(column)])
        return total

    def start_job(i: int, now: float, version: int, r: int, slot: int) -> bool:
        """Starts worker i's job on w_version; returns True if it is a download."""
        dur = float(duration(r, slot, i)) if replay is None else replayed(i)
        started[i] += 1
        sample = batch(r, slot, i)
        if n_local == 1:
            samples = [sample]
        else:
            samples = list(sample)
            if len(samples) != n_local:
                raise ValueError(
                    f"batch({r}, {slot}, {i}) gave {len(samples)} samples, "
                    f"local_steps={n_local}"
                )
        # Local SGD: v_0 = w_b, g_j = grad(v_j, xi_j), v_{j+1} = v_j - lr_l g_j;
        # the update is sum_j g_j (U = 1: the plain gradient).
        v = versions[version].copy()
        upd = None
        for step, xi in enumerate(samples):
            g = np.asarray(grad(v.copy(), xi), dtype=np.float64)
            if g.shape != w.shape:
                raise ValueError(f"grad returned shape {g.shape}, expected {w.shape}")
            upd = g if upd is None else upd + g
            if step + 1 < n_local:
                v = v - local_lr * g
        loss = float("nan")
        if track_mb:
            loss = float(batch_loss(versions[version].copy(), samples[0]))
        jobs[i] = _Job(start=now, finish=now + dur, base=version, update=upd, loss=loss)
        is_download = held.get(i) != version
        held[i] = version
        return is_download

    # At time 0 every worker pulls w_0 and starts: duration(-1, 0, i).
    # The initial pulls belong to no round record.
    for i in range(n):
        start_job(i, 0.0, 0, -1, 0)
        if start_times is not None:  # the start-up delays the first arrival
            jobs[i].finish = float(start_times[i]) + jobs[i].finish

    def rebuild_heap() -> list[tuple[float, int]]:
        # Events ordered by (finish_time, worker_index): ties by worker index.
        heap = [(job.finish, i) for i, job in jobs.items()]
        heapq.heapify(heap)
        return heap

    # Adaptive state: K^t, tau^t, loss estimate L and L_0, SSP push counts.
    k_now = k
    tau_now = tau_for(k_now)
    est = float("nan")
    est0 = float(exact_loss(versions[0].copy())) if track_exact else float("nan")
    pushes = [0] * n
    blocked: set[int] = set()
    prev_clock = 0.0  # c_{-1} = 0

    records: list[RoundRecord] = []
    heap = rebuild_heap()
    for t in range(rounds):
        arrivals: list[int] = []
        staleness: list[int] = []
        updates: list[np.ndarray] = []
        bases: list[int] = []  # version b each aggregated update was computed on
        losses: list[float] = []
        finish_times: list[float] = []
        mid_restarts = 0
        downloads = 0
        discarded = 0
        event = 0  # j: index of the arrival in the round, discarded included
        now = 0.0
        blocked_at_start = set(blocked)

        # ---- (a) when the round ends: collect K^t accepted arrivals -------
        while len(arrivals) < k_now:
            finish, i = heapq.heappop(heap)
            job = jobs.pop(i)
            assert job.finish == finish
            now = finish
            s = t - job.base  # s = t - b_i (docs/concepts.md#concepts-staleness)
            if discard is not None and s >= discard:
                # Rennala / Ringmaster: "an arrival computed on an older model
                # is discarded and that worker restarts on w_t".
                discarded += 1
                completes = False
            else:
                arrivals.append(i)
                staleness.append(s)
                updates.append(job.update)
                bases.append(job.base)
                losses.append(job.loss)
                finish_times.append(finish)
                completes = len(arrivals) == k_now
            if is_batch and not completes:
                # Batch policies: "a worker that finishes pushes and at once
                # starts another job on the same w_t" (k_batch_sync) / "pulls
                # the *current* model and restarts" (k_batch_async). The
                # current model is w_t: round t has not aggregated yet.
                if start_job(i, now, t, t, event + 1):
                    downloads += 1
                mid_restarts += 1
                heapq.heappush(heap, (jobs[i].finish, i))
            # k_sync / k_async: the finisher idles until the round ends (it
            # has no job until then, so it is not in the heap).
            event += 1

        wall_clock = now
        if policy in ("k_sync", "k_async"):
            # "early finishers idle until then": the K finishers wait from
            # their finish time to the round's end. Batch policies: no idle.
            idle = float(sum(wall_clock - f for f in finish_times))
        else:
            idle = 0.0
        if ssp is not None:
            # SSP: a worker blocked at the round's start idles all round.
            idle += len(blocked_at_start) * (wall_clock - prev_clock)

        # ---- aggregation: w_{t+1} = w_t - eta * sum omega(s_i) u_i / Z -----
        etas: list[float] = []
        if distance_c is None:
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
        else:
            # Dutta et al. eq. 13: eta_j = min(C / ||w_t - w_b||^2, eta_max),
            # eta_max = lr; a fresh update (w_b = w_t) gets lr.
            for b in bases:
                d2 = float(np.sum((versions[t] - versions[b]) ** 2))
                etas.append(lr if d2 == 0.0 else min(distance_c / d2, lr))
            if normalization == "count":
                z = float(len(updates))
            else:
                z = sum(etas) / lr
            step = np.zeros_like(w)
            for eta, u in zip(etas, updates, strict=True):
                step = step + eta * u
            w = versions[t] - step / z
        versions.append(w.copy())
        new_version = t + 1

        # ---- loss estimate L after round t --------------------------------
        if track_mb:
            m_t = sum(losses) / len(losses)  # mean over aggregated updates
            if t == 0:
                est = est0 = m_t
            else:
                est = (1.0 - beta) * est + beta * m_t
        elif track_exact:
            est = float(exact_loss(w.copy()))

        # ---- K^{t+1} (the K rule), then tau^{t+1} --------------------------
        k_round, tau_round = k_now, tau_now
        if adaptive is not None:
            name, k0, t0, table = adaptive
            if math.floor(wall_clock / t0) > math.floor(prev_clock / t0):
                if est <= 0.0:
                    target = n
                else:
                    ratio = max(est0, 0.0) / est
                    if math.isnan(ratio):
                        raise ValueError(f"round {t}: loss estimate is nan")
                    target = _k_target(name, k0, n, ratio, table)
                k_now = max(k_now, target)
        tau_now = tau_for(k_now)
        prev_clock = wall_clock

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
        if tau_now is not None:
            # Bounded staleness: every worker whose current job would have
            # staleness > tau^{t+1} in the next round, (t+1) - b > tau^{t+1},
            # abandons it and restarts on w_{t+1} (spec table row "bounded
            # staleness"; ABS part 2).
            for i in sorted(jobs):
                if new_version - jobs[i].base > tau_now:
                    cancelled.add(i)
                    restarted.add(i)
        for i in cancelled:
            del jobs[i]
        if ssp is not None:
            # SSP: the arriver's push count grows; every worker without a job
            # (to restart, or blocked earlier) starts only if its push count
            # is at most s ahead of the slowest worker, else it stays blocked.
            for i in arrivals:
                pushes[i] += 1
            slowest = min(pushes)
            free = restarted | blocked
            restarted = {i for i in free if pushes[i] - slowest <= ssp}
            blocked = free - restarted
        # Every end-of-round start uses duration(t, 0, i), in worker order.
        for i in sorted(restarted):
            assert i not in jobs
            # Arrivers still waiting at the round's end (under the batch
            # policies only the K-th; the others restarted mid-round).
            waiting = {arrivals[-1]} if is_batch else set(arrivals)
            version = t if read_before and i in waiting else new_version
            if start_job(i, wall_clock, version, t, 0):
                downloads += 1
        assert len(jobs) + len(blocked) == n, "a worker is neither busy nor blocked"
        assert jobs, "no worker holds a job"
        heap = rebuild_heap()

        records.append(
            RoundRecord(
                wall_clock=wall_clock,
                arrivals=arrivals,
                staleness=staleness,
                restarted=restarted,
                cancelled=cancelled,
                mid_restarts=mid_restarts,
                uploads=len(arrivals) + discarded,
                downloads=downloads,
                idle=idle,
                w=w.copy(),
                k=k_round,
                tau=tau_round,
                discarded=discarded,
                blocked=set(blocked),
                loss_estimate=est,
                etas=etas,
            )
        )
    return records
