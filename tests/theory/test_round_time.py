"""Tests of :mod:`absjax.theory.round_time`: expected round time per policy.

Tolerances: formulas by hand with ``pytest.approx`` (``rel = 1e-6``); the
event-driven k_async simulation is a z-test ``< Z = 4`` on batch means
(batches long against the chain's mixing time).
"""

import math

import numpy as np
import pytest
from theory_helpers import Z, batch_means, sample, z_mean

from absjax import delays, policies, theory


def test_policy_names_match_the_policies_module():
    assert theory.POLICY_NAMES == policies.BASES  # theory covers the round mechanics


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
    remaining = sample(spec, rng, (n,))
    fresh = sample(spec, rng, (rounds, k))
    out = np.empty(rounds)
    for t in range(rounds):
        order = np.argsort(remaining, kind="stable")[:k]
        out[t] = remaining[order[-1]]
        remaining -= out[t]
        remaining[order] = fresh[t]
    return out


def test_k_async_round_time_exact_for_exponential_and_bounded_for_nlu():
    n, k, rounds = 6, 2, 40_000
    x = _k_async_round_times("exp:rate=1", n, k, rounds, seed=1)[100:]
    assert (
        z_mean(batch_means(x), theory.expected_round_time("k_async", "exp", n, k)) < Z
    )
    # shifted exponential is new-longer-than-used: k_async beats the k_sync time
    sexp = "shifted_exp:shift=1,rate=1"
    y = batch_means(_k_async_round_times(sexp, n, k, rounds, seed=2)[100:])
    se = y.std(ddof=1) / math.sqrt(y.size)
    assert y.mean() + Z * se < theory.expected_round_time("k_async", sexp, n, k)
