"""Tests of :mod:`absjax.theory.bounds`: error bounds and time complexities.

Tolerances: exact identities ``rtol = 1e-12``; the SGD simulation on the
noisy quadratic is a z-test ``< Z = 4`` over independent seeds.
"""

import numpy as np
import pytest
from theory_helpers import Z, z_mean

from absjax import theory

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
        assert z_mean(loss[t], theory_loss[t]) < Z, t


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
