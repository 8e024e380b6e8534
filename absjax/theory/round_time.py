"""Expected wall-clock length of a round, per policy family.

The six round mechanics of :mod:`absjax._vocabulary` (``sync, k_sync,
k_batch_sync, k_async, k_batch_async, async``): order statistics for the
synchronous families, memorylessness for exponential delays, renewal theory for
the batch-asynchronous ones (Dutta et al., arXiv 1803.01113), and whether each
value is exact or a bound (:func:`round_time_is_exact`).

>>> round(expected_round_time("async", "exp:rate=1", n=4), 6)  # E[X] / n
0.25
"""

from __future__ import annotations

import math

from absjax import delays
from absjax._validate import check_int
from absjax._vocabulary import BASES
from absjax.theory._integrate import _InfiniteMoment
from absjax.theory.laws import (
    _base_functions,
    _chain,
    _compute_laws,
    _duration_law,
    _pareto_text,
    _speed_factors,
)
from absjax.theory.order_statistics import _check_kn, order_statistic_mean

POLICY_NAMES = BASES  # the round mechanics that theory covers, in spec order


def _policy_k(policy: str, n: int, k) -> int:
    if policy not in POLICY_NAMES:
        raise ValueError(f"policy={policy!r} must be one of {POLICY_NAMES}")
    n = check_int("n", n, 1)
    fixed = {"sync": n, "async": 1}.get(policy)
    if fixed is not None:
        if k is not None and k != fixed:
            raise ValueError(f"policy {policy!r} has k={fixed} (n={n}); got k={k!r}")
        return fixed
    if k is None:
        raise ValueError(f"policy {policy!r} needs k, an integer in [1, n={n}]")
    return _check_kn(k, n)[0]


def _exponential_rate(delay: delays.Delay) -> float | None:
    """The rate of a speed-1 job if durations are exponential, else ``None``."""
    law = delay.compute
    if delay.upload is not None or delay.download is not None:
        return None
    if isinstance(law, delays.ShiftedExponential) and float(law.shift) != 0.0:
        return None
    if not isinstance(law, delays.Exponential | delays.ShiftedExponential):
        return None
    slow_prob, slow_factor = _chain(delay)
    if slow_prob > 0 and slow_factor != 1:
        return None  # a job's duration depends on the worker's previous ones
    p, m = delay.straggler_prob, delay.straggler_factor
    if m == 1.0 or p == 0.0:
        return float(law.rate)
    return float(law.rate) / m if p == 1.0 else None


def _describe(delay: delays.Delay) -> str:
    text = repr(delay.compute)
    if delay.straggler_prob > 0 and delay.straggler_factor != 1:
        text += " with stragglers"
    if _chain(delay)[0] > 0 and delay.markov_factor != 1:
        text += " with persistent stragglers"
    if delay.upload is not None or delay.download is not None:
        text += " plus communication time"
    return text


def _mean_job(delay: delays.Delay, speed: float, compute: delays.Law) -> float:
    """``E[X]`` of one worker's job, communication included (float64)."""
    mean = _duration_law(delay, compute, speed).mean()
    for part in (delay.compute, delay.upload, delay.download):
        if part is not None and math.isinf(_base_functions(part)[3]):
            raise _InfiniteMoment(
                f"the mean job duration of {_pareto_text(part)} is infinite: "
                "needs alpha > 1"
            )
    for part in (delay.upload, delay.download):
        if part is not None:
            mean += _base_functions(part)[3]
    return mean


def round_time_is_exact(policy: str, delay, k: int | None = None) -> bool:
    """Whether :func:`expected_round_time`'s value (where it returns one) is exact.

    Exact: ``sync``, ``k_sync`` (any law), ``k_batch_async`` and ``async`` (the
    long-run average, any law with a finite mean), and ``k_async`` and
    ``k_batch_sync`` under exponential delays (memorylessness). ``k_async`` with
    ``k = 1`` is ``async`` and exact for any law. Otherwise ``k_async``'s value
    is the K-sync time, an upper bound for new-longer-than-used laws.

    Parameters
    ----------
    policy : str
        One of ``sync, k_sync, k_batch_sync, k_async, k_batch_async, async``.
    delay : ~absjax.Delay or ~absjax.delays.Law or str
        A :class:`~absjax.delays.Delay`, a law or a SPEC string (no communication
        time).
    k : int, optional
        The policy's K.

    Returns
    -------
    bool

    Examples
    --------
    >>> round_time_is_exact("k_async", "exp:rate=1", k=2)
    True
    >>> round_time_is_exact("k_async", "shifted_exp:shift=1,rate=1", k=2)
    False
    """
    if policy not in POLICY_NAMES:
        raise ValueError(f"policy={policy!r} must be one of {POLICY_NAMES}")
    delay = delays.as_delay(delay)
    if policy in ("k_async", "k_batch_sync"):
        return _exponential_rate(delay) is not None or (policy == "k_async" and k == 1)
    return True


def expected_round_time(policy: str, delay, n: int, k: int | None = None) -> float:
    """Expected wall-clock length of a round of ``policy`` with n workers.

    Dutta et al., "Slow and Stale Gradients Can Win the Race" (arXiv
    1803.01113), runtime analysis of each family:

    - ``sync``: ``E[X_(n:n)]``; ``k_sync(K)``: ``E[X_(K:n)]`` (exact, any law).
    - ``k_async(K)``, exponential delays: ``E[X_(K:n)]`` too, exactly: by
      memorylessness the jobs still running at a round's start have fresh
      exponential residual times. For other laws the value returned is the
      same ``E[X_(K:n)]``, which is an upper bound for new-longer-than-used laws
      (residual times shorter than fresh ones, e.g. shifted exponential) and can
      be exceeded for new-shorter-than-used ones (e.g. Pareto); see
      :func:`round_time_is_exact`. ``k_async(1)`` is ``async`` (below).
    - ``k_batch_sync(K)``, exponential(mu) delays: ``K / (n mu)`` (the arrivals
      of n restarting workers form a Poisson process of rate ``n mu``). Other
      laws have no closed form: ``ValueError``.
    - ``k_batch_async(K)``: ``K E[X] / n``, the long-run average round time of
      any law with a finite mean (renewal theory: each worker delivers
      ``1 / E[X]`` updates per unit time); ``async``: ``E[X] / n``.

    A delay with per-worker speed factors (a tuple or ``"sqrt"``) is handled
    too: the order statistics become heterogeneous ones, ``K / (n mu)`` becomes
    ``K / sum_i mu_i`` and ``K E[X] / n`` becomes ``K / sum_i (1 / E[X_i])``.
    A staleness bound does not change the exponential results (restarting an
    exponential job changes nothing) and is not an argument here. A per-worker
    :class:`absjax.delays.Trace` is handled like speeds (worker ``i`` draws from
    its own column); persistent stragglers enter through the chain's
    stationary mixture (exact for ``sync``/``k_sync``, whose jobs all start
    together with independent stationary states, and for the long-run averages
    of ``k_batch_async``/``async``; ``k_async``'s value is then not exact).

    Parameters
    ----------
    policy : str
        One of ``sync, k_sync, k_batch_sync, k_async, k_batch_async, async``.
    delay
        A :class:`absjax.delays.Delay`, a law or a SPEC string.
    n : int
        Number of workers, an integer ``>= 1``.
    k : int, optional
        The policy's K in ``[1, n]``; ``None`` for ``sync`` (K = n) and ``async`` (K =
        1).

    Examples
    --------
    >>> round(expected_round_time("k_sync", "exp:rate=1", n=4, k=2), 6)  # 1/4+1/3
    0.583333
    >>> round(expected_round_time("k_batch_sync", "exp:rate=1", n=4, k=2), 6)
    0.5
    >>> round(expected_round_time("k_batch_async", "uniform:low=0,high=2", 4, 2), 6)
    0.5
    """
    k = _policy_k(policy, n, k)
    delay = delays.as_delay(delay)
    if policy in ("k_batch_async", "async") or (policy == "k_async" and k == 1):
        rate = sum(
            1.0 / _mean_job(delay, s, law)
            for law, s in zip(
                _compute_laws(delay, n), _speed_factors(delay, n, None), strict=True
            )
        )
        return k / rate
    if policy == "k_batch_sync":
        mu = _exponential_rate(delay)
        if mu is None:
            raise ValueError(
                "k_batch_sync has a closed-form round time only for exponential "
                f"delays (K / (n mu)); there is none for {_describe(delay)}: "
                "simulate it"
            )
        return k / sum(mu / s for s in _speed_factors(delay, n, None))
    return order_statistic_mean(delay, k, n)
