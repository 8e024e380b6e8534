"""Tests of :mod:`absjax.theory.staleness_law` under exponential delays.

Tolerances: exact identities ``rtol = 1e-12`` (sums of the pmf ``1e-11``);
the age-chain simulation is a z-test ``< Z = 4`` on batch means.
"""

import numpy as np
import pytest
from theory_helpers import Z, batch_means, z_mean

from absjax import theory


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
    assert z_mean(batch_means(wasted), theory.wasted_per_round(n, k, tau)) < Z
    pmf = theory.staleness_pmf(n, k, tau)
    for j in range(tau + 1):
        assert z_mean(batch_means(counts[:, j] / k), pmf[j]) < Z
