"""Tests of :mod:`absjax.theory` against independent computations.

Tolerances:

- closed forms vs numerical integration of the same law (``method="quad"``):
  ``rtol = 1e-6`` (the integration itself aims at about 1e-10);
- Monte Carlo (numpy ``default_rng`` with fixed seeds, ``M = 200_000``
  replicas of n draws): z-test ``|estimate - theory| / SE < Z = 4`` for the
  mean (``SE = sd / sqrt(M)``) and, where the fourth moment of ``X_(k:n)`` is
  finite, for the variance (``SE = sqrt((m4 - s^4) / M)``);
- Markov-chain simulations (staleness, wasted jobs, k_async round times): a
  z-test on batch means (batches long against the chain's mixing time);
- exact identities (recursions, hand examples): ``rtol = 1e-12``.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from absjax import delays, policies, theory

Z = 4.0
M = 200_000
CLOSED = [
    "exp:rate=1.5",
    "shifted_exp:shift=0.5,rate=2",
    "pareto:scale=1,alpha=2.5",
    "pareto:scale=1,alpha=3.5",
    "uniform:low=0.5,high=1.5",
    "constant:value=1.25",
]
NUMERIC = [
    "lognormal:mu=0,sigma=0.5",
    "gamma:shape=2,scale=0.5",
    "weibull:shape=1.5,scale=1",
    "exp:rate=2,straggler_prob=0.1,straggler_factor=5",
]
KN = [(1, 1), (1, 8), (3, 8), (8, 8)]


def _fields(law):
    return {f.name: float(getattr(law, f.name)) for f in dataclasses.fields(law)}


def _sample(delay, rng, shape, speeds=None):
    """Job durations drawn with numpy (independent of the JAX samplers)."""
    delay = delays.as_delay(delay)
    law, f = delay.compute, _fields(delay.compute)
    if isinstance(law, delays.ShiftedExponential):
        x = f["shift"] + rng.exponential(1 / f["rate"], shape)
    elif isinstance(law, delays.Exponential):
        x = rng.exponential(1 / f["rate"], shape)
    elif isinstance(law, delays.Pareto):
        x = f["scale"] * (1 + rng.pareto(f["alpha"], shape))  # Lomax + 1
    elif isinstance(law, delays.LogNormal):
        x = rng.lognormal(f["mu"], f["sigma"], shape)
    elif isinstance(law, delays.Gamma):
        x = rng.gamma(f["shape"], f["scale"], shape)
    elif isinstance(law, delays.Weibull):
        x = f["scale"] * rng.weibull(f["shape"], shape)
    elif isinstance(law, delays.Uniform):
        x = rng.uniform(f["low"], f["high"], shape)
    else:
        x = np.full(shape, f["value"])
    slow = rng.random(shape) < delay.straggler_prob
    x = np.where(slow, x * delay.straggler_factor, x)
    return x if speeds is None else x * np.asarray(speeds)


def _order_samples(delay, k, n, seed, speeds=None):
    x = _sample(delay, np.random.default_rng(seed), (M, n), speeds)
    return np.partition(x, k - 1, axis=1)[:, k - 1]


def _z_mean(samples, theory_mean):
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    return abs(samples.mean() - theory_mean) / se


def _z_var(samples, theory_var):
    dev = samples - samples.mean()
    s2 = np.mean(dev**2)
    se = math.sqrt((np.mean(dev**4) - s2**2) / samples.size)
    return abs(s2 - theory_var) / se


def _fourth_moment_finite(spec, k, n):
    law = delays.as_delay(spec).compute
    return not isinstance(law, delays.Pareto) or (n - k + 1) * law.alpha > 4


# ---------------------------------------------------------------- i.i.d.


@pytest.mark.parametrize("k,n", KN)
@pytest.mark.parametrize("spec", CLOSED)
def test_closed_form_matches_integration(spec, k, n):
    for fn in (theory.order_statistic_mean, theory.order_statistic_variance):
        closed = fn(spec, k, n, method="closed")
        quad = fn(spec, k, n, method="quad")
        np.testing.assert_allclose(quad, closed, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("k,n", KN)
@pytest.mark.parametrize("spec", CLOSED + NUMERIC)
def test_order_statistics_match_monte_carlo(spec, k, n):
    x = _order_samples(spec, k, n, seed=k * 100 + n)
    mean = theory.order_statistic_mean(spec, k, n)
    var = theory.order_statistic_variance(spec, k, n)
    if spec.startswith("constant"):
        assert mean == x[0] and np.all(x == x[0]) and var == 0.0
        return
    assert _z_mean(x, mean) < Z
    if _fourth_moment_finite(spec, k, n):
        assert _z_var(x, var) < Z


def test_closed_forms_by_hand():
    # exponential: (1/mu) sum_{i=n-k+1}^{n} 1/i and (1/mu^2) sum 1/i^2
    assert theory.order_statistic_mean("exp:rate=2", 2, 3) == pytest.approx(
        (1 / 3 + 1 / 2) / 2, rel=1e-12
    )
    assert theory.order_statistic_variance("exp:rate=2", 2, 3) == pytest.approx(
        (1 / 9 + 1 / 4) / 4, rel=1e-12
    )
    # k = 1 of Pareto(alpha) is Pareto(n alpha)
    a, n = 2.5, 4
    assert theory.order_statistic_mean(
        f"pareto:scale=1,alpha={a}", 1, n
    ) == pytest.approx(n * a / (n * a - 1), rel=1e-12)
    assert theory.order_statistic_variance(
        f"pareto:scale=1,alpha={a}", 1, n
    ) == pytest.approx(n * a / ((n * a - 1) ** 2 * (n * a - 2)), rel=1e-10)


@pytest.mark.parametrize(
    "spec,dist",
    [
        ("lognormal:mu=0.1,sigma=0.7", stats.lognorm(s=0.7, scale=math.exp(0.1))),
        ("gamma:shape=0.3,scale=2", stats.gamma(a=0.3, scale=2)),
        ("weibull:shape=0.5,scale=1", stats.weibull_min(c=0.5, scale=1)),
        ("pareto:scale=2,alpha=2.2", stats.pareto(b=2.2, scale=2)),
    ],
)
def test_integration_single_duration_matches_scipy_moments(spec, dist):
    """n = 1 through the numerical path reproduces the law's own moments."""
    mean = theory.order_statistic_mean(spec, 1, 1, method="quad")
    var = theory.order_statistic_variance(spec, 1, 1, method="quad")
    np.testing.assert_allclose([mean, var], [dist.mean(), dist.var()], rtol=1e-7)


def test_straggler_mixture_single_duration_matches_delay_moments():
    d = delays.parse_delay("exp:rate=2,straggler_prob=0.1,straggler_factor=5")
    # E[X] = 0.5 (0.9 + 0.1 * 5); E[X^2] = 0.5 (0.9 + 0.1 * 25)
    mean, second = 0.5 * (0.9 + 0.5), 0.5 * (0.9 + 2.5)
    assert theory.order_statistic_mean(d, 1, 1) == pytest.approx(mean, rel=1e-9)
    assert theory.order_statistic_variance(d, 1, 1) == pytest.approx(
        second - mean**2, rel=1e-9
    )


@pytest.mark.parametrize("spec", CLOSED + NUMERIC)
def test_float64_laws_match_the_simulator_cdf(spec):
    """theory's own CDFs use the same parametrisation as absjax.delays."""
    d = delays.as_delay(spec)
    law = theory.worker_cdfs(d, 1)[0]
    x = np.linspace(0.01, 4.0, 41)
    np.testing.assert_allclose(law(x), np.asarray(d.cdf(d.params, x)), atol=2e-6)
    np.testing.assert_allclose(law(x) + law.sf(x), 1.0, rtol=1e-12)


def test_constant_with_stragglers_is_a_two_point_law():
    # X = 1 w.p. 0.8, 3 w.p. 0.2; min of 2: 3 only if both straggle.
    d = delays.parse_delay("constant:value=1,straggler_prob=0.2,straggler_factor=3")
    assert theory.order_statistic_mean(d, 1, 2) == pytest.approx(1 + 2 * 0.04)
    assert theory.order_statistic_variance(d, 1, 2) == pytest.approx(
        4 * 0.04 * 0.96, rel=1e-8
    )


# ------------------------------------------------------- non-identical


@pytest.mark.parametrize(
    "spec,speeds",
    [
        ("exp:rate=1", "sqrt"),
        ("lognormal:mu=0,sigma=0.5", "sqrt"),
        ("gamma:shape=2,scale=0.5", (1.0, 1.5, 3.0, 0.7, 1.0)),
        ("pareto:scale=1,alpha=3.5", (1.0, 2.0, 0.5, 1.0, 4.0)),
    ],
)
def test_heterogeneous_matches_monte_carlo(spec, speeds):
    n = 5
    fs = theory.worker_cdfs(spec, n, speeds=speeds)
    factors = [f.speed for f in fs]
    if speeds == "sqrt":
        np.testing.assert_allclose(factors, np.sqrt(np.arange(1, n + 1)))
    for k in (1, 3, n):
        x = _order_samples(spec, k, n, seed=7 * k, speeds=factors)
        assert _z_mean(x, theory.order_statistic_mean_heterogeneous(fs, k)) < Z
        var = theory.order_statistic_variance_heterogeneous(fs, k)
        if _fourth_moment_finite(spec, k, n):
            assert _z_var(x, var) < Z


@pytest.mark.parametrize("spec", ["exp:rate=1", "pareto:scale=1,alpha=2.5"])
def test_heterogeneous_reduces_to_iid(spec):
    n = 6
    fs = theory.worker_cdfs(spec, n)
    plain = [lambda x, f=f: f(x) for f in fs]  # CDF callables only
    for k in (1, 4, n):
        iid_mean = theory.order_statistic_mean(spec, k, n)
        np.testing.assert_allclose(
            theory.order_statistic_mean_heterogeneous(fs, k), iid_mean, rtol=1e-8
        )
        np.testing.assert_allclose(
            theory.order_statistic_mean_heterogeneous(plain, k), iid_mean, rtol=1e-8
        )
        np.testing.assert_allclose(
            theory.order_statistic_variance_heterogeneous(fs, k),
            theory.order_statistic_variance(spec, k, n),
            rtol=1e-8,
        )


def test_heterogeneous_exponential_minimum_by_hand():
    fs = theory.worker_cdfs("exp:rate=1", 3, speeds=(1.0, 2.0, 4.0))
    total = 1 + 1 / 2 + 1 / 4  # min of exponentials: rate sum
    assert theory.order_statistic_mean_heterogeneous(fs, 1) == pytest.approx(
        1 / total, rel=1e-9
    )
    assert theory.order_statistic_variance_heterogeneous(fs, 1) == pytest.approx(
        1 / total**2, rel=1e-9
    )


def test_delay_with_speeds_dispatches_to_heterogeneous():
    d = delays.parse_delay("exp:rate=1,speeds=sqrt")
    fs = theory.worker_cdfs(d, 4)
    assert theory.order_statistic_mean(d, 2, 4) == pytest.approx(
        theory.order_statistic_mean_heterogeneous(fs, 2), rel=1e-12
    )


# --------------------------------------------------------- edge cases


def test_edge_ranks():
    rate = 1.5
    assert theory.order_statistic_mean(f"exp:rate={rate}", 1, 1) == pytest.approx(
        1 / rate
    )
    h8 = sum(1 / i for i in range(1, 9))
    assert theory.order_statistic_mean(f"exp:rate={rate}", 8, 8) == pytest.approx(
        h8 / rate
    )
    assert theory.order_statistic_mean(f"exp:rate={rate}", 1, 8) == pytest.approx(
        1 / (8 * rate)
    )
    assert theory.order_statistic_mean("uniform:low=0,high=1", 1, 1) == 0.5


def test_infinite_pareto_moments_raise_with_the_condition():
    spec = "pareto:scale=1,alpha=0.5"
    message = (
        "order statistic mean of Pareto(alpha=0.5) with k=3, n=4 is infinite: "
        "needs (n-k+1)*alpha > 1"
    )
    with pytest.raises(ValueError) as info:
        theory.order_statistic_mean(spec, 3, 4)
    assert str(info.value) == message
    assert theory.order_statistic_mean(spec, 2, 4) > 0  # (n-k+1) alpha = 1.5
    with pytest.raises(ValueError, match=r"variance .* needs \(n-k\+1\)\*alpha > 2"):
        theory.order_statistic_variance("pareto:scale=1,alpha=1.5", 4, 4)
    with pytest.raises(ValueError, match="infinite"):
        theory.order_statistic_mean(
            spec + ",straggler_prob=0.1,straggler_factor=2", 4, 4
        )
    fs = theory.worker_cdfs(spec, 4)
    with pytest.raises(ValueError, match="infinite"):
        theory.order_statistic_mean_heterogeneous(fs, 3)


@pytest.mark.parametrize(
    "k,n,match",
    [
        (0, 3, r"k=0 must be an integer in \[1, n=3\]"),
        (4, 3, r"k=4 must be an integer in \[1, n=3\]"),
        (1, 0, r"n=0 must be an integer >= 1"),
        (1.5, 3, r"k=1.5 must be an integer"),
        (1, 2.0, r"n=2.0 must be an integer"),
        (True, 3, r"k=True must be an integer"),
    ],
)
def test_invalid_ranks(k, n, match):
    with pytest.raises(ValueError, match=match):
        theory.order_statistic_mean("exp:rate=1", k, n)
    with pytest.raises(ValueError, match=match):
        theory.order_statistic_variance("exp:rate=1", k, n)


def test_invalid_arguments():
    comm = delays.Delay(delays.exponential(1.0), upload=delays.constant(0.1))
    for fn in (
        lambda: theory.order_statistic_mean(comm, 1, 2),
        lambda: theory.order_statistic_variance(comm, 1, 2),
        lambda: theory.worker_cdfs(comm, 2),
        lambda: theory.expected_round_time("k_sync", comm, 4, 2),
    ):
        with pytest.raises(ValueError, match="communication time"):
            fn()
    with pytest.raises(ValueError, match="policy='k_fast' must be one of"):
        theory.expected_round_time("k_fast", "exp:rate=1", 4, 2)
    with pytest.raises(ValueError, match="needs k"):
        theory.expected_round_time("k_sync", "exp:rate=1", 4)
    with pytest.raises(ValueError, match="has k=4"):
        theory.expected_round_time("sync", "exp:rate=1", 4, 2)
    with pytest.raises(ValueError, match="speeds='random'"):
        theory.worker_cdfs("exp:rate=1,speeds=random", 3)
    with pytest.raises(ValueError, match="needs n=3"):
        theory.worker_cdfs("exp:rate=1", 3, speeds=(1.0, 2.0))
    with pytest.raises(ValueError, match="no closed-form"):
        theory.order_statistic_mean("gamma:shape=2,scale=1", 1, 2, method="closed")
    with pytest.raises(ValueError, match="method="):
        theory.order_statistic_mean("exp:rate=1", 1, 2, method="simpson")
    with pytest.raises(ValueError, match="cdfs"):
        theory.order_statistic_mean_heterogeneous([], 1)
    with pytest.raises(ValueError, match=r"k=3 must be an integer in \[1, n=2\]"):
        theory.order_statistic_mean_heterogeneous(theory.worker_cdfs("exp", 2), 3)
    with pytest.raises(ValueError, match="must be a Delay"):
        theory.order_statistic_mean(3.0, 1, 2)


def test_policy_names_match_the_policies_module():
    assert theory.POLICY_NAMES == policies.BASES  # theory covers the round mechanics


# ------------------------------------------------------------ round times


def test_expected_round_time_formulas():
    exp = "exp:rate=2"
    n, k = 6, 3
    os_mean = theory.order_statistic_mean(exp, k, n)
    ert = theory.expected_round_time
    assert ert("sync", exp, n) == theory.order_statistic_mean(exp, n, n)
    assert ert("sync", exp, n, k=n) == ert("sync", exp, n)
    assert ert("k_sync", exp, n, k) == os_mean
    assert ert("k_async", exp, n, k) == os_mean
    assert ert("k_batch_sync", exp, n, k) == pytest.approx(k / (n * 2.0))
    assert ert("k_batch_async", exp, n, k) == pytest.approx(k * 0.5 / n)
    assert ert("async", exp, n) == pytest.approx(0.5 / n)
    assert ert("k_async", exp, n, 1) == pytest.approx(ert("async", exp, n))
    uni = "uniform:low=0.5,high=1.5"
    assert ert("k_batch_async", uni, n, k) == pytest.approx(k * 1.0 / n)
    with pytest.raises(ValueError, match="only for exponential"):
        ert("k_batch_sync", uni, n, k)
    # communication time adds to the mean of a renewal policy
    comm = delays.Delay(delays.exponential(2.0), upload=delays.constant(0.25))
    assert ert("k_batch_async", comm, n, k) == pytest.approx(k * 0.75 / n)
    # heterogeneous exponentials: Poisson superposition and memorylessness
    het = "exp:rate=2,speeds=sqrt"
    rates = 2.0 / np.sqrt(np.arange(1, n + 1))
    assert ert("k_batch_sync", het, n, k) == pytest.approx(k / rates.sum())
    assert ert("k_batch_async", het, n, k) == pytest.approx(k / rates.sum())
    assert ert("k_async", het, n, k) == pytest.approx(ert("k_sync", het, n, k))


def test_round_time_exactness_flags():
    exact = theory.round_time_is_exact
    sexp = "shifted_exp:shift=1,rate=1"
    assert exact("k_async", "exp:rate=1", 2) and exact("k_batch_sync", "exp:rate=1")
    assert not exact("k_async", sexp, 2) and exact("k_async", sexp, 1)
    assert not exact("k_batch_sync", "gamma:shape=2,scale=1")
    assert not exact("k_async", "exp:rate=1,straggler_prob=0.1,straggler_factor=3")
    assert all(exact(p, sexp) for p in ("sync", "k_sync", "k_batch_async", "async"))


def _k_async_round_times(spec, n, k, rounds, seed):
    """Event-driven k_async: the k first finishers restart, the others keep on."""
    rng = np.random.default_rng(seed)
    remaining = _sample(spec, rng, (n,))
    fresh = _sample(spec, rng, (rounds, k))
    out = np.empty(rounds)
    for t in range(rounds):
        order = np.argsort(remaining, kind="stable")[:k]
        out[t] = remaining[order[-1]]
        remaining -= out[t]
        remaining[order] = fresh[t]
    return out


def _batch_means(x, batches=50):
    means = x[: x.size // batches * batches].reshape(batches, -1).mean(axis=1)
    return means


def test_k_async_round_time_exact_for_exponential_and_bounded_for_nlu():
    n, k, rounds = 6, 2, 40_000
    x = _k_async_round_times("exp:rate=1", n, k, rounds, seed=1)[100:]
    assert (
        _z_mean(_batch_means(x), theory.expected_round_time("k_async", "exp", n, k)) < Z
    )
    # shifted exponential is new-longer-than-used: k_async beats the k_sync time
    sexp = "shifted_exp:shift=1,rate=1"
    y = _batch_means(_k_async_round_times(sexp, n, k, rounds, seed=2)[100:])
    se = y.std(ddof=1) / math.sqrt(y.size)
    assert y.mean() + Z * se < theory.expected_round_time("k_async", sexp, n, k)


# -------------------------------------------------------------- staleness


@pytest.mark.parametrize("n,k", [(8, 1), (8, 2), (8, 5), (4, 4)])
def test_staleness_pmf_and_mean(n, k):
    pmf = theory.staleness_pmf(n, k)
    assert abs(pmf.sum() - 1.0) < 1e-11
    lags = np.arange(pmf.size)
    assert (lags * pmf).sum() == pytest.approx((n - k) / k, rel=1e-9, abs=1e-12)
    assert theory.staleness_mean(n, k) == pytest.approx((n - k) / k)
    p = k / n
    np.testing.assert_allclose(pmf[:5], (p * (1 - p) ** lags)[:5], rtol=1e-12)
    for tau in (0, 1, 3, 10):
        trunc = theory.staleness_pmf(n, k, tau=tau)
        assert trunc.size == tau + 1
        assert trunc.sum() == pytest.approx(1.0, rel=1e-12)
        weights = (1 - p) ** np.arange(tau + 1)
        np.testing.assert_allclose(trunc, weights / weights.sum(), rtol=1e-12)
        assert theory.staleness_mean(n, k, tau) == pytest.approx(
            (np.arange(tau + 1) * trunc).sum(), rel=1e-12, abs=1e-15
        )
    assert theory.staleness_mean(n, k, 10_000) == pytest.approx((n - k) / k)


def test_staleness_pmf_lengths():
    assert theory.staleness_pmf(4, 2, max_staleness=2).tolist() == [0.5, 0.25, 0.125]
    padded = theory.staleness_pmf(4, 2, tau=1, max_staleness=3)
    np.testing.assert_allclose(padded, [2 / 3, 1 / 3, 0.0, 0.0], rtol=1e-12)
    assert theory.staleness_pmf(4, 4).tolist() == [1.0]
    with pytest.raises(ValueError, match="tau=-1"):
        theory.staleness_pmf(4, 2, tau=-1)


def test_wasted_per_round_limits():
    n, k = 8, 2
    assert theory.wasted_per_round(n, k, 0) == pytest.approx(n - k, rel=1e-12)
    assert theory.wasted_per_round(n, k, None) == 0.0
    assert theory.wasted_per_round(n, k, 500) < 1e-50
    w = [theory.wasted_per_round(n, k, tau) for tau in range(20)]
    assert all(a > b for a, b in zip(w, w[1:], strict=False))
    assert theory.wasted_per_round(n, n, 0) == 0.0


def test_staleness_and_waste_match_age_chain_simulation():
    """The exponential model: each round a uniform k-subset of the n jobs arrives.

    Jobs not arrived age by one round; a job reaching age tau + 1 is restarted
    (wasted). Compares per-round waste and the staleness frequencies.
    """
    n, k, tau, rounds, burn = 8, 2, 2, 60_000, 100
    rng = np.random.default_rng(3)
    age = np.zeros(n, dtype=int)
    wasted = np.empty(rounds)
    counts = np.zeros((rounds, tau + 1))
    for t in range(rounds):
        arrived = rng.choice(n, size=k, replace=False)
        np.add.at(counts[t], age[arrived], 1)
        age += 1
        age[arrived] = 0
        over = age > tau
        wasted[t] = over.sum()
        age[over] = 0
    wasted, counts = wasted[burn:], counts[burn:]
    assert _z_mean(_batch_means(wasted), theory.wasted_per_round(n, k, tau)) < Z
    pmf = theory.staleness_pmf(n, k, tau)
    for j in range(tau + 1):
        assert _z_mean(_batch_means(counts[:, j] / k), pmf[j]) < Z


# ---------------------------------------------------------------- bounds


BOUND = dict(eta=0.1, L=1.0, c=1.0, sigma2=1.0, b=1, f0_gap=1.0)


def test_error_bounds():
    floor = 0.1 * 1.0 * 1.0 / (2 * 1.0 * 4 * 1)
    assert theory.ksync_error_bound(0, k=4, **BOUND) == pytest.approx(1.0)
    assert theory.ksync_error_bound(1e5, k=4, **BOUND) == pytest.approx(floor)
    j = np.array([0.0, 1.0, 10.0])
    np.testing.assert_allclose(
        theory.ksync_error_bound(j, k=4, **BOUND),
        floor + 0.9**j * (1.0 - floor),
        rtol=1e-12,
    )
    # gamma' = 1 - gamma + p0/2 = 1 reproduces K-sync; gamma' < 1 is worse
    same = theory.kasync_error_bound(j, k=4, gamma=0.25, p0=0.5, **BOUND)
    np.testing.assert_allclose(same, theory.ksync_error_bound(j, k=4, **BOUND))
    worse = theory.kasync_error_bound(j[1:], k=4, gamma=0.5, p0=0.2, **BOUND)
    assert np.all(worse > theory.ksync_error_bound(j[1:], k=4, **BOUND))
    t = np.array([0.0, 2.0, 50.0])
    np.testing.assert_allclose(
        theory.error_vs_time(theory.ksync_error_bound, t, 0.5, k=4, **BOUND),
        theory.ksync_error_bound(t / 0.5, k=4, **BOUND),
    )
    with pytest.raises(ValueError, match=r"eta\*c=2.0 must be in \(0, 1\]"):
        theory.ksync_error_bound(1, **{**BOUND, "eta": 2.0}, k=1)
    with pytest.raises(ValueError, match="c=2.0"):
        theory.ksync_error_bound(1, **{**BOUND, "c": 2.0}, k=1)
    with pytest.raises(ValueError, match="gamma=1.5"):
        theory.kasync_error_bound(1, k=1, gamma=1.5, p0=0.0, **BOUND)
    with pytest.raises(ValueError, match="rounds"):
        theory.ksync_error_bound(-1, k=1, **BOUND)
    with pytest.raises(ValueError, match="mean_round_time"):
        theory.error_vs_time(theory.ksync_error_bound, 1.0, 0.0, k=1, **BOUND)


@pytest.mark.parametrize("spec", ["exp:rate=1", "shifted_exp:shift=0.5,rate=2"])
def test_best_fixed_k(spec):
    """In [1, n]; non-decreasing in the budget (short budgets favour fast rounds,
    long ones the 1/K floor); n for a huge budget; 1 without gradient noise."""
    n = 8
    budgets = [0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1e4]
    ks = [theory.best_fixed_k(spec, n, t, **BOUND) for t in budgets]
    assert all(1 <= k <= n for k in ks)
    assert ks == sorted(ks) and ks[-1] == n and ks[0] < n
    noiseless = {**BOUND, "sigma2": 0.0}
    assert {theory.best_fixed_k(spec, n, t, **noiseless) for t in budgets} == {1}
    # an infinite-mean K (Pareto alpha = 0.8, K = n) is never the best
    assert theory.best_fixed_k("pareto:scale=1,alpha=0.8", 4, 50.0, **BOUND) < 4


def test_noisy_quadratic_recursion_closed_form():
    h = np.array([0.0, 0.1, 1.0, 2.0, 3.0, 1e-9])
    w0 = np.array([1.0, -2.0, 0.5, 1.0, 0.3, 2.0])
    eta, noise, k, rounds = 1.0, 0.3, 3, 12  # eta*h hits 0, 1 and 2 exactly
    w2, losses = w0**2, []
    for _ in range(rounds + 1):
        losses.append(0.5 * (h * w2).sum())
        w2 = (1 - eta * h) ** 2 * w2 + eta**2 * noise**2 / k
    np.testing.assert_allclose(
        theory.noisy_quadratic_expected_loss(h, w0, eta, noise, k, rounds),
        losses,
        rtol=1e-12,
    )


def test_noisy_quadratic_matches_sgd_simulation():
    h = np.array([0.2, 1.0, 1.5])
    w0 = np.array([1.0, -2.0, 0.5])
    eta, noise, k, rounds, seeds = 0.3, 0.7, 4, 30, 20_000
    theory_loss = theory.noisy_quadratic_expected_loss(h, w0, eta, noise, k, rounds)
    rng = np.random.default_rng(0)
    w = np.tile(w0, (seeds, 1))
    loss = [0.5 * (h * w**2).sum(axis=1)]
    for _ in range(rounds):
        grads = h * w[:, None, :] + noise * rng.standard_normal((seeds, k, h.size))
        w = w - eta * grads.mean(axis=1)  # count normalisation over k updates
        loss.append(0.5 * (h * w**2).sum(axis=1))
    assert loss[0][0] == pytest.approx(theory_loss[0], rel=1e-12)
    for t in (1, 5, 30):
        assert _z_mean(loss[t], theory_loss[t]) < Z, t


def test_rennala_time_complexity_hand_examples():
    # L delta / eps = 10, sigma2 L delta / eps^2 = 100
    t, m = theory.rennala_time_complexity([4.0, 1.0, 2.0], 1, 1, 0.1, 1)
    assert m == 3 and t == pytest.approx((12 / 7) * (10 + 100 / 3), rel=1e-12)
    t, m = theory.rennala_time_complexity([1.0, 2.0, 100.0], 1, 1, 0.1, 1)
    assert m == 2 and t == pytest.approx((4 / 3) * (10 + 50), rel=1e-12)
    # without noise the fastest worker alone is optimal
    assert theory.rennala_time_complexity([3.0, 1.0, 2.0], 1, 1, 0.1, 0) == (10.0, 1)
    with pytest.raises(ValueError, match="taus"):
        theory.rennala_time_complexity([1.0, 0.0], 1, 1, 0.1, 1)


def test_abs_rate_shape():
    assert theory.abs_rate_shape(100, 4, 1) == pytest.approx(0.05)
    assert theory.abs_rate_shape(400, 4, 1) == pytest.approx(0.025)  # 1/sqrt(T)
    np.testing.assert_allclose(
        theory.abs_rate_shape(np.array([1.0, 4.0]), 1, 1), [1.0, 0.5]
    )
    with pytest.raises(ValueError):
        theory.abs_rate_shape(0, 1, 1)
