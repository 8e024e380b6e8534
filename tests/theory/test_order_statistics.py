"""Tests of :mod:`absjax.theory.order_statistics` against independent computations.

Tolerances:

- closed forms vs numerical integration of the same law (``method="quad"``):
  ``rtol = 1e-6`` (the integration itself aims at about 1e-10);
- Monte Carlo (numpy ``default_rng`` with fixed seeds, ``M = 200_000``
  replicas of n draws): z-test ``|estimate - theory| / SE < Z = 4`` for the
  mean (``SE = sd / sqrt(M)``) and, where the fourth moment of ``X_(k:n)`` is
  finite, for the variance (``SE = sqrt((m4 - s^4) / M)``);
- exact identities (hand examples): ``rtol = 1e-12``.
"""

import math

import numpy as np
import pytest
from scipy import stats
from theory_helpers import CLOSED, NUMERIC, Z, sample, z_mean

from absjax import delays, theory

M = 200_000
KN = [(1, 1), (1, 8), (3, 8), (8, 8)]


def _order_samples(delay, k, n, seed, speeds=None):
    x = sample(delay, np.random.default_rng(seed), (M, n), speeds)
    return np.partition(x, k - 1, axis=1)[:, k - 1]


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
    assert z_mean(x, mean) < Z
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
        assert z_mean(x, theory.order_statistic_mean_heterogeneous(fs, k)) < Z
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
