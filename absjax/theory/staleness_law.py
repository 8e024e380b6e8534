"""Staleness law and wasted work of ``k_async(k)`` under exponential delays.

With exponential durations each round's ``k`` finishers are a uniformly random
k-subset of the n running jobs (memorylessness), so a job's staleness is
geometric with ``p = k/n``, truncated by a staleness bound ``tau`` whose
restarts cancel work (Dutta et al., arXiv 1803.01113; Tan et al., arXiv
2301.08895). There is no closed form for other laws.

>>> staleness_pmf(n=2, k=1, max_staleness=2).tolist()  # p = 1/2
[0.5, 0.25, 0.125]
"""

from __future__ import annotations

import math

import numpy as np

from absjax._validate import check_int
from absjax.theory.order_statistics import _check_kn

# An untruncated staleness pmf is listed up to the first lag whose remaining
# tail mass P(s > j) is below this (when max_staleness is not given).
_PMF_TAIL = 1e-12


def _check_tau(name: str, tau) -> int | None:
    return None if tau is None else check_int(name, tau, 0)


def staleness_pmf(
    n: int, k: int, tau: int | None = None, max_staleness: int | None = None
) -> np.ndarray:
    """Staleness law of the updates aggregated by ``k_async(k)``, exponential delays.

    Dutta et al. (arXiv 1803.01113): with exponential durations each round's
    ``k`` finishers are a uniformly random k-subset of the n running jobs, so a
    job arrives in each round independently of its age with probability
    ``p = k/n``: ``P(s = j) = p (1-p)^j`` (geometric, mean ``(n-k)/k``;
    ``async`` is ``k = 1``). With a staleness bound ``tau`` a job not arrived by
    age ``tau`` is restarted, and the aggregated staleness is the truncated law
    ``P(s = j) = (1-p)^j / sum_{i<=tau} (1-p)^i`` for ``j <= tau``. This holds
    for exponential delays only; for other laws there is no closed form.

    Parameters
    ----------
    n : int
        Number of workers, ``>= 1``.
    k : int
        Updates per round, in ``[1, n]``.
    tau : int, optional
        Staleness bound ``>= 0`` or ``None`` (unbounded).
    max_staleness : int, optional
        The last lag listed; ``None`` lists up to ``tau``, or (unbounded) up to the
        first lag whose remaining tail mass is below ``1e-12``. A shorter listing is a
        prefix that does not sum to 1.

    Returns
    -------
    numpy.ndarray
        Float64 array ``pmf[j] = P(s = j)``, ``j = 0 .. max_staleness``.

    Examples
    --------
    >>> staleness_pmf(n=4, k=2, tau=1).round(6).tolist()  # 1 : 1/2, renormalised
    [0.666667, 0.333333]
    >>> staleness_pmf(n=4, k=2, max_staleness=2).tolist()
    [0.5, 0.25, 0.125]
    """
    k, n = _check_kn(k, n)
    tau = _check_tau("tau", tau)
    max_staleness = _check_tau("max_staleness", max_staleness)
    p = k / n
    q = 1.0 - p
    if max_staleness is None:
        if tau is not None:
            max_staleness = tau
        elif q == 0.0:
            max_staleness = 0
        else:
            max_staleness = max(0, math.ceil(math.log(_PMF_TAIL) / math.log(q)) - 1)
    j = np.arange(max_staleness + 1, dtype=np.float64)
    if tau is None:
        return p * q**j
    norm = (1.0 - q ** (tau + 1)) / p  # sum_{i=0}^{tau} q^i
    return np.where(j <= tau, q**j / norm, 0.0)


def staleness_mean(n: int, k: int, tau: int | None = None) -> float:
    """Mean staleness of ``k_async(k)`` updates under exponential delays.

    Unbounded: ``(1-p)/p = (n-k)/k`` with ``p = k/n`` (Dutta et al., arXiv
    1803.01113); with a bound ``tau``, the mean of the truncated geometric law
    of :func:`staleness_pmf`: ``q/(1-q) - (tau+1) q^(tau+1) / (1 - q^(tau+1))``
    with ``q = 1 - p``. Exponential delays only: no closed form otherwise.

    Parameters
    ----------
    n : int
        Number of workers, ``>= 1``.
    k : int
        K, in ``[1, n]``.
    tau : int, optional
        Staleness bound (``None``: unbounded).

    Returns
    -------
    float

    Examples
    --------
    >>> staleness_mean(n=8, k=1)  # async: n - 1
    7.0
    >>> round(staleness_mean(n=4, k=2, tau=1), 6)  # 0 * 2/3 + 1 * 1/3
    0.333333
    """
    k, n = _check_kn(k, n)
    tau = _check_tau("tau", tau)
    p = k / n
    q = 1.0 - p
    if tau is None or q == 0.0:
        return q / p
    qt = q ** (tau + 1)
    return q / p - (tau + 1) * qt / (1.0 - qt)


def wasted_per_round(n: int, k: int, tau: int | None) -> float:
    """Expected jobs cancelled per round by a staleness bound, exponential delays.

    Steady state of ``k_async(k)`` with bound ``tau`` (Tan et al., arXiv
    2301.08895, restart rule; Dutta et al., arXiv 1803.01113, staleness model):
    a job arrives in each round independently with probability ``p = k/n``
    (memorylessness), and is cancelled and restarted when it reaches age
    ``tau + 1`` without arriving, which happens with probability
    ``(1-p)^(tau+1)``. With ``S`` jobs started per round, ``k`` arrivals per
    round means ``S (1 - (1-p)^(tau+1)) = k``, so ``S = k / (1 - (1-p)^(tau+1))``
    and the wasted jobs are ``W = S - k = S (1-p)^(tau+1)``. Checks: ``tau = 0``
    gives ``S = n``, ``W = n - k``; ``tau -> inf`` (``None``) gives 0. This
    holds for exponential delays only; there is no closed form otherwise.

    Parameters
    ----------
    n : int
        Number of workers, ``>= 1``.
    k : int
        K, in ``[1, n]``.
    tau : int or None
        Staleness bound (``None``: unbounded, nothing is wasted).

    Returns
    -------
    float

    Examples
    --------
    >>> wasted_per_round(n=8, k=2, tau=0)
    6.0
    >>> wasted_per_round(n=8, k=2, tau=None)
    0.0
    """
    k, n = _check_kn(k, n)
    tau = _check_tau("tau", tau)
    if tau is None:
        return 0.0
    q_tail = (1.0 - k / n) ** (tau + 1)
    started = k / (1.0 - q_tail)
    return started * q_tail
