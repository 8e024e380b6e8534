"""Order statistics of job durations: i.i.d. and independent non-identical.

``X_(k:n)``, the k-th smallest of n job durations, is the round time of
``k_sync(k)`` (Dutta et al., arXiv 1803.01113). Closed forms where they exist
(exponential, shifted exponential, Pareto, uniform, constant); otherwise
numerical integration of ``P(X_(k:n) > x)``, a regularised incomplete beta
function for i.i.d. durations and a Poisson-binomial probability for
non-identical ones (Tyurin & Richtarik, arXiv 2305.12387).

>>> round(order_statistic_mean("exp:rate=1", k=1, n=4), 6)  # 1 / (4 mu)
0.25
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from absjax import delays
from absjax._validate import check_int
from absjax.theory._integrate import _check_tail, _integrate_moments
from absjax.theory.laws import (
    _chain,
    _duration_law,
    _fields,
    _no_communication,
    _pareto_text,
    worker_cdfs,
)


def _check_kn(k, n) -> tuple[int, int]:
    """``(k, n)``: a rank ``k`` in ``[1, n]`` of ``n >= 1`` durations."""
    n = check_int("n", n, 1)
    ok = isinstance(k, numbers.Integral) and not isinstance(k, bool)
    if not ok or not 1 <= k <= n:
        raise ValueError(f"k={k!r} must be an integer in [1, n={n}]")
    return int(k), n


# --------------------------------------------------------------------------
# i.i.d. order statistics


def _closed_form(law: delays.Law, k: int, n: int, want_var: bool):
    """Closed-form ``(E, Var)`` of ``X_(k:n)``, or ``None`` when there is none."""
    if isinstance(law, delays.Trace):
        return None  # integrated exactly between its values instead
    f = _fields(law)
    if isinstance(law, delays.Exponential | delays.ShiftedExponential):
        # Renyi: X_(k:n) = sum_{i=n-k+1}^{n} E_i / (i mu), E_i i.i.d. Exp(1).
        inv = range(n - k + 1, n + 1)
        mean = f.get("shift", 0.0) + math.fsum(1.0 / i for i in inv) / f["rate"]
        var = math.fsum(1.0 / i**2 for i in inv) / f["rate"] ** 2
        return mean, var
    if isinstance(law, delays.Pareto):
        scale, alpha = f["scale"], f["alpha"]
        text = _pareto_text(law)
        _check_tail([alpha] * n, k, n, 1, "mean", text)

        def log_moment(m):
            # E[X_(k:n)^m] = scale^m G(n+1) G(n-k+1-m/a) / (G(n-k+1) G(n+1-m/a))
            return (
                m * math.log(scale)
                + special.gammaln(n + 1)
                + special.gammaln(n - k + 1 - m / alpha)
                - special.gammaln(n - k + 1)
                - special.gammaln(n + 1 - m / alpha)
            )

        log1 = log_moment(1)
        if not want_var:
            return math.exp(log1), math.nan
        _check_tail([alpha] * n, k, n, 2, "variance", text)
        return math.exp(log1), math.exp(2 * log1) * math.expm1(log_moment(2) - 2 * log1)
    if isinstance(law, delays.Uniform):
        # X_(k:n) = low + (high - low) B with B ~ Beta(k, n - k + 1).
        width = f["high"] - f["low"]
        mean = f["low"] + width * k / (n + 1)
        var = width**2 * k * (n - k + 1) / ((n + 1) ** 2 * (n + 2))
        return mean, var
    if isinstance(law, delays.Constant):
        return f["value"], 0.0
    return None


def _iid_moments(delay, k, n, method: str, want_var: bool) -> tuple[float, float]:
    delay = delays.as_delay(delay)
    k, n = _check_kn(k, n)
    if method not in ("auto", "closed", "quad"):
        raise ValueError(f"method={method!r} must be 'auto', 'closed' or 'quad'")
    _no_communication(delay)
    if delay.speeds != "none" or not delay.homogeneous:  # or a per-worker trace
        cdfs = worker_cdfs(delay, n)
        return _hetero_moments(cdfs, k, want_var)
    p, m = delay.straggler_prob, delay.straggler_factor
    slow_prob, slow_factor = _chain(delay)
    plain = (p == 0.0 or m == 1.0) and (slow_prob == 0.0 or slow_factor == 1.0)
    if method != "quad" and plain:
        closed = _closed_form(delay.compute, k, n, want_var)
        if closed is not None:
            return closed
    if method == "closed":
        raise ValueError(
            f"{delay.compute!r}"
            + (" with stragglers" if not plain else "")
            + " has no closed-form order statistics: use method='auto' or 'quad'"
        )
    law = _duration_law(delay, delay.compute, 1.0)
    if isinstance(delay.compute, delays.Pareto):
        text = _pareto_text(delay.compute) + ("" if plain else " with stragglers")
        _check_tail([law.tail_index] * n, k, n, 1, "mean", text)
        if want_var:
            _check_tail([law.tail_index] * n, k, n, 2, "variance", text)

    def surv(x):  # P(X_(k) > x) = P(Bin(n, sf(x)) >= n - k + 1)
        return float(special.betainc(n - k + 1, k, law.sf(x)))

    def below(x):  # P(X_(k) <= x) = P(Bin(n, F(x)) >= k)
        return float(special.betainc(k, n - k + 1, law(x)))

    return _integrate_moments(surv, below, law.points, want_var)


def order_statistic_mean(delay, k: int, n: int, *, method: str = "auto") -> float:
    """``E[X_(k:n)]``: the mean of the k-th smallest of n i.i.d. job durations.

    Closed forms (``method="auto"`` uses them when the law has one and the
    delay has no stragglers):

    - exponential(mu): ``(1/mu) sum_{i=n-k+1}^{n} 1/i`` (Renyi's
      representation; Dutta et al., arXiv 1803.01113); shifted exponential adds
      the shift (Lee et al., arXiv 1512.02673);
    - Pareto(scale, alpha): ``scale Gamma(n+1) Gamma(n-k+1-1/alpha) /
      (Gamma(n-k+1) Gamma(n+1-1/alpha))``, finite iff ``(n-k+1) alpha > 1``;
    - uniform(low, high): ``low + (high-low) k/(n+1)`` (Beta order statistics);
    - constant(c): ``c``.

    Every other law, and a delay with random stragglers, is integrated
    numerically: ``E[X_(k:n)] = integral_0^inf (1 - I_{F(x)}(k, n-k+1)) dx``
    with ``I`` the regularised incomplete beta function, split at quantiles of
    ``X_(k:n)`` (relative tolerance about 1e-10). A delay with per-worker
    ``speeds`` gives independent but non-identical durations: the result is then
    ``order_statistic_mean_heterogeneous(worker_cdfs(delay, n), k)``.

    Parameters
    ----------
    delay
        A :class:`absjax.delays.Delay`, a law, or a SPEC string such as
        ``"pareto:scale=1,alpha=2.5"``; no communication time (its CDF has no closed
        form).
    k : int
        Rank, an integer in ``[1, n]`` (``k = n`` is the maximum).
    n : int
        Number of durations, an integer ``>= 1``.
    method : str, default 'auto'
        ``"auto"``, ``"closed"`` (raise if there is no closed form) or ``"quad"``
        (always integrate: the independent check of the closed forms).

    Raises
    ------
    ValueError
        For invalid ``k``/``n``, a delay with communication time, or an infinite mean
        (Pareto with ``(n-k+1) alpha <= 1``).

    Examples
    --------
    >>> round(order_statistic_mean("exp:rate=2", k=3, n=3), 6)  # (1+1/2+1/3)/2
    0.916667
    >>> round(order_statistic_mean("pareto:scale=1,alpha=2.5", 1, 1), 6)
    1.666667
    """
    return _iid_moments(delay, k, n, method, want_var=False)[0]


def order_statistic_variance(delay, k: int, n: int, *, method: str = "auto") -> float:
    """``Var[X_(k:n)]`` of the k-th smallest of n i.i.d. job durations.

    Closed forms: exponential(mu) ``(1/mu^2) sum_{i=n-k+1}^{n} 1/i^2`` (the
    same for the shifted exponential); Pareto from its second moment
    ``E[X_(k:n)^2] = scale^2 Gamma(n+1) Gamma(n-k+1-2/alpha) / (Gamma(n-k+1)
    Gamma(n+1-2/alpha))``, finite iff ``(n-k+1) alpha > 2``; uniform
    ``(high-low)^2 k (n-k+1) / ((n+1)^2 (n+2))``; constant 0. Otherwise
    numerical integration of ``E[X_(k:n)^2] = integral_0^inf 2 x P(X_(k:n) > x)
    dx``, computed around the mean to avoid cancellation (see
    :func:`order_statistic_mean` for the arguments and the method).

    Parameters
    ----------
    delay : ~absjax.Delay or ~absjax.delays.Law or str
        A :class:`~absjax.delays.Delay`, a law or a SPEC string (no communication
        time).
    k : int
        Rank, an integer in ``[1, n]``.
    n : int
        Number of durations, an integer ``>= 1``.
    method : {"auto", "closed", "quad"}
        As :func:`order_statistic_mean`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For invalid ``k``/``n``, a delay with communication time, or an infinite
        variance.

    Examples
    --------
    >>> round(order_statistic_variance("exp:rate=1", k=2, n=2), 6)  # 1/4 + 1
    1.25
    >>> round(order_statistic_variance("uniform:low=0,high=1", 1, 1), 6)
    0.083333
    """
    return _iid_moments(delay, k, n, method, want_var=True)[1]


# --------------------------------------------------------------------------
# non-identical order statistics


def _fewer_than(probs: np.ndarray, comps: np.ndarray, m: int) -> float:
    """``P(sum_i B_i < m)`` for independent ``B_i ~ Bernoulli(probs_i)``.

    A dynamic programme over the workers on the counts ``0 .. m-1`` (the
    Poisson-binomial distribution); ``comps`` holds ``1 - probs`` computed
    accurately by the caller.
    """
    dist = np.zeros(m)
    dist[0] = 1.0
    for p, q in zip(probs, comps, strict=True):
        shifted = dist[:-1] * p
        dist *= q
        dist[1:] += shifted
    return float(min(dist.sum(), 1.0))


def _hetero_moments(cdfs, k, want_var: bool) -> tuple[float, float]:
    if isinstance(cdfs, str | bytes) or not isinstance(cdfs, Sequence) or not cdfs:
        raise ValueError("cdfs must be a non-empty sequence of CDF callables")
    if not all(callable(f) for f in cdfs):
        raise ValueError("cdfs must hold callables x -> F_i(x)")
    n = len(cdfs)
    k, n = _check_kn(k, n)
    tails = [getattr(f, "tail_index", None) for f in cdfs]
    if all(t is not None for t in tails):
        text = "the given laws"
        laws = {getattr(f, "law", None) for f in cdfs}
        if len(laws) == 1 and isinstance(next(iter(laws)), delays.Pareto):
            text = _pareto_text(next(iter(laws)))
        _check_tail(tails, k, n, 1, "mean", text)
        if want_var:
            _check_tail(tails, k, n, 2, "variance", text)

    def values(x):
        cdf = np.array([float(f(x)) for f in cdfs])
        sf = np.array(
            [
                float(f.sf(x)) if hasattr(f, "sf") else 1.0 - c
                for f, c in zip(cdfs, cdf, strict=True)
            ]
        )
        return cdf, sf

    def surv(x):  # fewer than k of the n are <= x
        cdf, sf = values(x)
        return _fewer_than(cdf, sf, k)

    def below(x):  # fewer than n-k+1 of the n are > x
        cdf, sf = values(x)
        return _fewer_than(sf, cdf, n - k + 1)

    kinks = sorted({x for f in cdfs for x in getattr(f, "points", ())})
    return _integrate_moments(surv, below, kinks, want_var)


def order_statistic_mean_heterogeneous(cdfs: Sequence[Callable], k: int) -> float:
    """``E[X_(k)]`` of independent, non-identical durations ``X_1, ..., X_n``.

    ``P(X_(k) > x) = P(fewer than k of the X_i are <= x)``, a Poisson-binomial
    probability with success probabilities ``F_i(x)`` computed by a dynamic
    programme over the workers, integrated numerically over ``x >= 0`` (relative
    tolerance about 1e-10). This is the round time of ``k_sync`` under the fixed
    computation model of Tyurin & Richtarik (arXiv 2305.12387).

    Parameters
    ----------
    cdfs : sequence of callable
        One CDF per worker, callables taking a float64 ``x``; items that also have
        ``.sf(x)`` (such as :func:`worker_cdfs`'s) keep the far tail accurate, and their
        ``tail_index`` lets an infinite mean be detected.
    k : int
        Rank, an integer in ``[1, len(cdfs)]``.

    Examples
    --------
    >>> fs = worker_cdfs("exp:rate=1", 2, speeds=(1.0, 2.0))  # rates 1 and 1/2
    >>> round(order_statistic_mean_heterogeneous(fs, 1), 6)  # 1 / (1 + 1/2)
    0.666667
    """
    return _hetero_moments(cdfs, k, want_var=False)[0]


def order_statistic_variance_heterogeneous(cdfs: Sequence[Callable], k: int) -> float:
    """``Var[X_(k)]`` of independent, non-identical durations (see the mean).

    Parameters
    ----------
    cdfs : sequence of callable
        One CDF per worker (see :func:`order_statistic_mean_heterogeneous`).
    k : int
        Rank, an integer in ``[1, len(cdfs)]``.

    Returns
    -------
    float

    Examples
    --------
    >>> fs = worker_cdfs("exp:rate=1", 2, speeds=(1.0, 2.0))
    >>> round(order_statistic_variance_heterogeneous(fs, 1), 6)  # Exp(3/2)
    0.444444
    """
    return _hetero_moments(cdfs, k, want_var=True)[1]
