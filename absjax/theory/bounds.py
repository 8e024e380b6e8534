"""Error-runtime bounds and time complexities, for comparing policies.

The error bounds of K-sync and K-async SGD and their wall-clock versions
(Dutta et al., arXiv 1803.01113), the best fixed K at a time budget, the exact
expected loss of synchronous SGD on a noisy quadratic, the Rennala / Ringmaster
time complexity (Tyurin & Richtarik, arXiv 2305.12387; Maranjyan et al., arXiv
2501.16168) and the shape of the ABS rate (Tan et al., arXiv 2301.08895).

>>> float(abs_rate_shape(25, 1, 1))  # 1 / sqrt(T K U)
0.2
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from absjax._validate import check_int, check_nonnegative_array, check_real
from absjax.theory._integrate import _InfiniteMoment
from absjax.theory.round_time import expected_round_time


def _as_output(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


def _bound_args(eta, L, c, sigma2, k, b, f0_gap):
    eta = check_real("eta", eta, 0.0, strict_low=True)
    L = check_real("L", L, 0.0, strict_low=True)
    c = check_real("c", c, 0.0, strict_low=True)
    if c > L:
        raise ValueError(f"c={c} (strong convexity) must be <= L={L}")
    return (
        eta,
        L,
        c,
        check_real("sigma2", sigma2, 0.0),
        check_int("k", k, 1),
        check_int("b", b, 1),
        check_real("f0_gap", f0_gap, 0.0),
    )


def _contraction_bound(rounds, rate, floor, f0_gap, name):
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"{name}={rate} must be in (0, 1] (a contraction)")
    j = check_nonnegative_array("rounds", rounds)
    return _as_output(floor + (1.0 - rate) ** j * (f0_gap - floor))


def ksync_error_bound(rounds, eta, L, c, sigma2, k, b, f0_gap):
    """Error bound of K-sync SGD after ``rounds`` rounds.

    Dutta et al., "Slow and Stale Gradients Can Win the Race" (arXiv
    1803.01113), the error of K-sync SGD (an L-smooth, c-strongly convex
    ``F``, unbiased gradients whose variance is ``sigma2`` per sample, ``k``
    minibatches of ``b`` samples averaged per round, a step size small enough
    for the paper's condition ``eta <= 1 / (2 L (M_G / (K b) + 1))``, which
    needs the paper's ``M_G`` and is not checked here)::

        E[F(w_J)] - F* <= eta L sigma2 / (2 c k b)
                          + (1 - eta c)^J (F(w_0) - F* - eta L sigma2 / (2 c k b))

    Parameters
    ----------
    rounds
        ``J >= 0``, a number or an array (real values are allowed, for
        :func:`error_vs_time`).
    eta
        Step size ``> 0`` with ``eta * c <= 1``.
    L
        Smoothness constant ``> 0``.
    c
        Strong-convexity constant in ``(0, L]``.
    sigma2
        Gradient variance per sample, ``>= 0``.
    k
        Gradients averaged per round (K), an integer ``>= 1``.
    b
        Minibatch size per gradient, an integer ``>= 1``.
    f0_gap
        ``F(w_0) - F*``, ``>= 0``.

    Returns
    -------
    float or numpy.ndarray
        The bound, a float or an array shaped like ``rounds``.

    Examples
    --------
    >>> round(ksync_error_bound(0, 0.1, 1, 1, 1, 2, 1, 1.0), 6)  # F(w_0) - F*
    1.0
    >>> round(ksync_error_bound(1e6, 0.1, 1, 1, 1, 2, 1, 1.0), 6)  # 0.1/(2*2)
    0.025
    """
    eta, L, c, sigma2, k, b, f0_gap = _bound_args(eta, L, c, sigma2, k, b, f0_gap)
    floor = eta * L * sigma2 / (2.0 * c * k * b)
    return _contraction_bound(rounds, eta * c, floor, f0_gap, "eta*c")


def kasync_error_bound(rounds, eta, L, c, sigma2, k, b, f0_gap, gamma, p0):
    """Error bound of K-async SGD after ``rounds`` rounds.

    Dutta et al. (arXiv 1803.01113), the error of K-async SGD: the K-sync
    bound of :func:`ksync_error_bound` with a slower contraction
    ``(1 - eta gamma' c)`` and a higher floor ``eta L sigma2 / (2 c gamma' k b)``,
    ``gamma' = 1 - gamma + p0/2``. ``gamma <= 1`` bounds the staleness error,
    ``E||grad F(w_j) - grad F(w_stale)||^2 <= gamma E||grad F(w_j)||^2``, and
    ``p0`` lower-bounds the probability that an update is fresh (staleness 0).
    ``gamma = p0/2`` gives ``gamma' = 1``, the K-sync bound.

    Parameters
    ----------
    rounds, eta, L, c, sigma2, k, b, f0_gap
        As :func:`ksync_error_bound`.
    gamma
        Staleness constant in ``[0, 1]``.
    p0
        Probability lower bound in ``[0, 1]``.

    Examples
    --------
    >>> round(kasync_error_bound(1e6, 0.1, 1, 1, 1, 2, 1, 1.0, 0.5, 0.0), 6)
    0.05
    """
    eta, L, c, sigma2, k, b, f0_gap = _bound_args(eta, L, c, sigma2, k, b, f0_gap)
    gamma = check_real("gamma", gamma, 0.0)
    p0 = check_real("p0", p0, 0.0)
    if gamma > 1.0:
        raise ValueError(f"gamma={gamma} must be in [0, 1]")
    if p0 > 1.0:
        raise ValueError(f"p0={p0} must be in [0, 1]")
    gp = 1.0 - gamma + p0 / 2.0
    if gp <= 0.0:
        raise ValueError(f"gamma' = 1 - gamma + p0/2 = {gp} must be > 0")
    floor = eta * L * sigma2 / (2.0 * c * gp * k * b)
    return _contraction_bound(rounds, eta * gp * c, floor, f0_gap, "eta*gamma'*c")


def error_vs_time(bound_fn: Callable, times, mean_round_time: float, **kw):
    """An error bound as a function of wall-clock time: ``J = t / E[T_round]``.

    Dutta et al. (arXiv 1803.01113) compare policies by substituting the
    number of rounds done by time ``t``, ``J = t / E[T_round]`` (the long-run
    rate, exact as ``t -> inf`` by the renewal theorem), into the error bound.

    Parameters
    ----------
    bound_fn : callable
        :func:`ksync_error_bound`, :func:`kasync_error_bound` or any function taking the
        rounds first.
    times
        Wall-clock times ``>= 0`` (a number or an array).
    mean_round_time : float
        ``E[T_round] > 0``, e.g. from :func:`expected_round_time`.
    **kw
        The bound's other arguments.

    Examples
    --------
    >>> t = expected_round_time("k_sync", "exp:rate=1", n=4, k=2)
    >>> e = error_vs_time(ksync_error_bound, [0.0, 1e6], t, eta=0.1, L=1, c=1,
    ...                   sigma2=1, k=2, b=1, f0_gap=1.0)
    >>> e.round(6).tolist()
    [1.0, 0.025]
    """
    mean_round_time = check_real(
        "mean_round_time", mean_round_time, 0.0, strict_low=True
    )
    times = check_nonnegative_array("times", times)
    return bound_fn(times / mean_round_time, **kw)


def best_fixed_k(delay, n: int, time_budget: float, **bound_kw) -> int:
    """The K of ``k_sync(K)`` with the smallest error bound at a time budget.

    Minimises :func:`ksync_error_bound` at ``J = time_budget / E[X_(K:n)]``
    over ``K = 1 .. n`` (Dutta et al., arXiv 1803.01113: a small K makes
    rounds short, a large K lowers the error floor). A K whose round time is
    infinite (heavy Pareto tails) does no round. Ties go to the smaller K.

    Parameters
    ----------
    delay
        A :class:`absjax.delays.Delay`, a law or a SPEC string.
    n : int
        Number of workers, ``>= 1``.
    time_budget : float
        Wall-clock time ``>= 0``.
    **bound_kw
        ``eta, L, c, sigma2, b, f0_gap`` of :func:`ksync_error_bound`.

    Examples
    --------
    >>> kw = dict(eta=0.1, L=1, c=1, sigma2=1, b=1, f0_gap=1.0)
    >>> best_fixed_k("exp:rate=1", 8, 1e4, **kw)  # the floor dominates
    8
    >>> best_fixed_k("exp:rate=1", 8, 1e4, **{**kw, "sigma2": 0})  # no floor
    1
    """
    n = check_int("n", n, 1)
    time_budget = check_real("time_budget", time_budget, 0.0)
    if {"rounds", "k"} & set(bound_kw):
        raise ValueError("bound_kw must not hold rounds or k: best_fixed_k sets them")
    bounds = []
    for k in range(1, n + 1):
        try:
            t = expected_round_time("k_sync", delay, n, k)
        except _InfiniteMoment:
            t = math.inf
        bounds.append(ksync_error_bound(time_budget / t, k=k, **bound_kw))
    return int(np.argmin(bounds)) + 1


def noisy_quadratic_expected_loss(h, w0, eta, noise, k: int, rounds: int):
    """Exact expected loss of synchronous SGD on a noisy quadratic, per round.

    ``F(w) = 0.5 sum_j h_j w_j^2`` with stochastic gradients ``h * w +
    noise * z``, ``z ~ N(0, I)`` (the ``quadratic`` objective of
    :mod:`absjax.objectives`). A round averages ``k`` fresh updates computed at
    ``w_t`` (count normalisation: ``sync``, ``k_sync``, ``k_batch_sync``), so
    ``w_{t+1} = (1 - eta h) w_t - eta noise zbar`` with ``zbar ~ N(0, I/k)``,
    and ``E[w_{t+1,j}^2] = (1 - eta h_j)^2 E[w_{t,j}^2] + eta^2 noise^2 / k``,
    ``E[F_t] = 0.5 sum_j h_j E[w_{t,j}^2]``, solved in closed form (a
    geometric series). Exact for every step size (it diverges when
    ``|1 - eta h_j| > 1``); the sharpest test of the simulator (docs:
    Concepts > Theory, docs/concepts.md#concepts-theory).

    Parameters
    ----------
    h
        Hessian spectrum, numbers ``>= 0`` (shape ``(d,)``).
    w0
        Initial model, a number or shape ``(d,)``.
    eta
        Step size ``> 0``.
    noise
        Gradient noise standard deviation per coordinate, ``>= 0``.
    k : int
        Updates averaged per round, ``>= 1``.
    rounds : int
        Last round, ``>= 0``.

    Returns
    -------
    numpy.ndarray
        Float64 array ``E[F(w_t)]`` for ``t = 0 .. rounds``.

    Examples
    --------
    >>> noisy_quadratic_expected_loss([1.0], [1.0], 0.5, 0.0, 1, 2).tolist()
    [0.5, 0.125, 0.03125]
    """
    h = check_nonnegative_array("h", np.atleast_1d(h))
    w0 = np.broadcast_to(np.asarray(w0, dtype=np.float64), h.shape)
    if not np.all(np.isfinite(w0)):
        raise ValueError("w0 must hold finite numbers")
    eta = check_real("eta", eta, 0.0, strict_low=True)
    noise = check_real("noise", noise, 0.0)
    k = check_int("k", k, 1)
    rounds = check_int("rounds", rounds, 0)
    t = np.arange(rounds + 1, dtype=np.float64)[:, None]
    a = (1.0 - eta * h) ** 2  # per-round contraction of E[w^2]
    one_minus_a = eta * h * (2.0 - eta * h)
    log_a = np.log(np.where(a > 0, a, 1.0))
    a_t = np.where(a > 0, np.exp(t * log_a), (t == 0).astype(np.float64))
    # sum_{i<t} a^i, accurate when a is close to 1
    geom = np.where(
        one_minus_a == 0.0,
        t,
        np.where(a > 0, -np.expm1(t * log_a), 1.0 - a_t)
        / np.where(one_minus_a == 0.0, 1.0, one_minus_a),
    )
    second = a_t * w0**2 + geom * eta**2 * noise**2 / k
    return 0.5 * (second * h).sum(axis=1)


def rennala_time_complexity(taus, L, delta, eps, sigma2) -> tuple[float, int]:
    """Optimal time complexity under fixed computation times, and the best m.

    Tyurin & Richtarik (Rennala SGD, NeurIPS 2023, arXiv 2305.12387): with
    worker i taking ``tau_i`` per stochastic gradient, sorted
    ``tau_1 <= ... <= tau_n``, the optimal time to an ``eps``-stationary point
    of an L-smooth function with ``F(w_0) - F* <= delta`` and gradient variance
    ``sigma2`` is, up to universal constants (their lower bound, matched by
    Rennala SGD; Ringmaster ASGD, Maranjyan et al., arXiv 2501.16168, attains
    it too)::

        min_m ((1/m) sum_{i<=m} 1/tau_i)^-1 (L delta / eps
                                              + sigma2 L delta / (m eps^2))

    the minimiser ``m`` being the number of fastest workers worth using.

    Returns
    -------
    tuple
        ``(time, m)`` with ``m`` in ``[1, n]`` (1-based; ties to the smaller m).

    Parameters
    ----------
    taus : ArrayLike
        ``tau_i > 0``, each worker's time per stochastic gradient.
    L : float
        Smoothness constant ``> 0``.
    delta : float
        ``F(w_0) - F* > 0``.
    eps : float
        Target ``eps > 0``.
    sigma2 : float
        Gradient variance ``>= 0``.

    Returns
    -------
    tuple
        ``(time, m)`` with ``m`` in ``[1, n]`` (1-based; ties to the smaller m).

    Examples
    --------
    >>> t, m = rennala_time_complexity([1.0, 2.0, 100.0], 1, 1, 0.1, 1)
    >>> round(t, 6), m  # m = 2: (4/3) * (10 + 100/2)
    (80.0, 2)
    """
    taus = np.sort(np.asarray(taus, dtype=np.float64).ravel())
    if taus.size == 0 or not np.all(np.isfinite(taus)) or np.any(taus <= 0):
        raise ValueError("taus must be a non-empty list of numbers in (0, inf)")
    L = check_real("L", L, 0.0, strict_low=True)
    delta = check_real("delta", delta, 0.0, strict_low=True)
    eps = check_real("eps", eps, 0.0, strict_low=True)
    sigma2 = check_real("sigma2", sigma2, 0.0)
    m = np.arange(1, taus.size + 1, dtype=np.float64)
    harmonic = m / np.cumsum(1.0 / taus)  # ((1/m) sum_{i<=m} 1/tau_i)^-1
    times = harmonic * (L * delta / eps + sigma2 * L * delta / (m * eps**2))
    best = int(np.argmin(times))
    return float(times[best]), best + 1


def abs_rate_shape(T, k, u):
    """Shape ``1 / sqrt(T K U)`` of the ABS ergodic convergence rate.

    Tan, Zhu, Zhang (ABS, arXiv 2301.08895, later versions): an ergodic rate
    ``O(1 / sqrt(T K U))`` after ``T`` rounds with ``K`` updates per round and
    ``U`` local steps per job. Only the shape is known to us; the constants
    (smoothness, variance, initial gap) are not, so compare ratios, not values.

    Parameters
    ----------
    T : ArrayLike
        Rounds ``>= 1``.
    k : ArrayLike
        Updates per round, ``K >= 1``.
    u : ArrayLike
        Local steps per job, ``U >= 1``.

    Returns
    -------
    float or numpy.ndarray
        ``1 / sqrt(T K U)``.

    Examples
    --------
    >>> abs_rate_shape(100, 4, 1)
    0.05
    """
    T = check_nonnegative_array("T", T)
    k = check_nonnegative_array("k", k)
    u = check_nonnegative_array("u", u)
    if np.any(T <= 0) or np.any(k <= 0) or np.any(u <= 0):
        raise ValueError("T, k and u must be in (0, inf)")
    return _as_output(1.0 / np.sqrt(T * k * u))
