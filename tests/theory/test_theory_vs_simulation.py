"""Monte-Carlo z-tests of the simulator against closed-form theory.

Each test computes a per-seed statistic (seeds are independent), and checks
``|mean - theory| / standard_error < Z`` with ``Z = 4`` (a false alarm rate of
about 6e-5 per test). Formulas (docs/concepts.md#concepts-theory):

- k_sync(K), i.i.d. durations: E[round] = E[X_(K:N)]; exponential(mu):
  (1/mu) sum_{i=N-K+1}^{N} 1/i (Dutta et al. 2018, arXiv 1803.01113); shifted
  exponential adds the shift; Pareto(scale, alpha): scale * Gamma(N+1)
  Gamma(N-K+1-1/alpha) / (Gamma(N-K+1) Gamma(N+1-1/alpha)).
- k_async(K), exponential: the same as k_sync (memorylessness); staleness is
  geometric, P(s=k) = p (1-p)^k with p = K/N, mean (N-K)/K; a bound tau
  truncates it to P(s=k) proportional to (1-p)^k, k <= tau.
- k_batch_async(K), any law: long-run round time K E[X] / N (renewal theory).
"""

import math

import numpy as np
import pytest
from scipy import special

import absjax
from absjax import delays, policies

Z = 4.0
QUAD = "quadratic:dim=1,noise=0.1"


def _z(samples, theory):
    samples = np.asarray(samples, np.float64).reshape(-1)
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    return abs(samples.mean() - theory) / se


def _exp_order_mean(k, n, rate, shift=0.0):
    return shift + sum(1.0 / i for i in range(n - k + 1, n + 1)) / rate


def _pareto_order_mean(k, n, scale, alpha):
    log = (
        special.gammaln(n + 1)
        + special.gammaln(n - k + 1 - 1 / alpha)
        - special.gammaln(n - k + 1)
        - special.gammaln(n + 1 - 1 / alpha)
    )
    return scale * math.exp(log)


def _round_times(sim, seeds=64, skip=0):
    """Mean round length per seed, skipping the first ``skip`` logged rows."""
    result = sim.run(seeds=seeds, seed=11)
    wall, rounds = result.wall_clock, result.round
    if skip:
        return (wall[:, -1] - wall[:, skip - 1]) / (rounds[:, -1] - rounds[:, skip - 1])
    return wall[:, -1] / rounds[:, -1]


K_SYNC_LAWS = {
    "exp": (delays.exponential(1.5), lambda k, n: _exp_order_mean(k, n, 1.5)),
    "shifted_exp": (
        delays.shifted_exponential(0.5, 2.0),
        lambda k, n: _exp_order_mean(k, n, 2.0, 0.5),
    ),
    "pareto": (
        delays.pareto(1.0, 2.5),
        lambda k, n: _pareto_order_mean(k, n, 1.0, 2.5),
    ),
}
# Each law once and each K once by default; the other pairs with --runslow.
K_SYNC_DEFAULT = {("exp", 1), ("shifted_exp", 3), ("pareto", 8)}


@pytest.mark.parametrize(
    "law,theory,k",
    [
        pytest.param(
            *K_SYNC_LAWS[name],
            k,
            id=f"{name}-{k}",
            marks=() if (name, k) in K_SYNC_DEFAULT else pytest.mark.slow,
        )
        for k in (1, 3, 8)
        for name in K_SYNC_LAWS
    ],
)
def test_k_sync_round_time(law, theory, k):
    n = 8
    policy = policies.sync() if k == n else policies.k_sync(k)
    sim = absjax.Simulator(n, policy, law, QUAD, rounds=400, log_every=400)
    assert _z(_round_times(sim), theory(k, n)) < Z


@pytest.mark.parametrize(
    "k",
    [
        pytest.param(1, marks=pytest.mark.slow),  # --runslow
        2,
        pytest.param(5, marks=pytest.mark.slow),
    ],
)
def test_k_async_exponential_round_time(k):
    n, rate = 8, 2.0
    policy = policies.asynchronous() if k == 1 else policies.k_async(k)
    sim = absjax.Simulator(
        n, policy, delays.exponential(rate), QUAD, rounds=400, log_every=400
    )
    assert _z(_round_times(sim), _exp_order_mean(k, n, rate)) < Z


@pytest.mark.parametrize(
    "law",
    [delays.uniform(0.5, 1.5), delays.shifted_exponential(0.5, 2.0)],
    ids=["uniform", "shifted_exp"],
)
def test_k_batch_async_renewal_round_time(law):
    n, k = 8, 3
    sim = absjax.Simulator(
        n, policies.k_batch_async(k), law, QUAD, rounds=2000, log_every=100
    )
    mean = float(law.mean(law.params))
    # The first 200 rounds are a transient (all jobs start together at time 0).
    assert _z(_round_times(sim, seeds=48, skip=2), k * mean / n) < Z


@pytest.mark.parametrize(
    "k,tau", [pytest.param(2, None, marks=pytest.mark.slow), (4, None), (2, 3)]
)
def test_k_async_staleness_law(k, tau):
    n, burn_in = 8, 50
    sim = absjax.Simulator(
        n,
        policies.k_async(k, tau),
        delays.exponential(1.0),
        QUAD,
        rounds=600,
        log_every=1,
    )
    infos, _ = sim.run(seeds=48, seed=5, history=True).history
    s = infos.arrival_staleness[:, burn_in:, 0, :]  # (seeds, rounds, capacity)
    p = k / n
    support = np.arange(tau + 1 if tau is not None else 12)
    pmf = (1 - p) ** support * (p if tau is None else 1.0)
    if tau is not None:
        pmf = pmf / pmf.sum()
    valid = (s >= 0).sum(axis=(1, 2))
    for value, prob in zip(support, pmf, strict=True):
        freq = (s == value).sum(axis=(1, 2)) / valid
        assert _z(freq, prob) < Z, (value, freq.mean(), prob)
    mean = np.where(s >= 0, s, 0).sum(axis=(1, 2)) / valid
    theory = (n - k) / k if tau is None else float((support * pmf).sum())
    assert _z(mean, theory) < Z
    if tau is not None:
        assert s.max() <= tau


@pytest.mark.slow  # 10^6 rounds: --runslow
def test_million_rounds_k_sync_on_theory():
    n, k, rate, rounds = 4, 2, 1.0, 10**6
    sim = absjax.Simulator(
        n,
        policies.k_sync(k),
        delays.exponential(rate),
        QUAD,
        rounds=rounds,
        log_every=rounds // 10,
    )
    result = sim.run(seeds=4, seed=3, chunk=4)
    mean = _exp_order_mean(k, n, rate)
    var = sum(1.0 / i**2 for i in range(n - k + 1, n + 1)) / rate**2
    per_seed = result.wall_clock[:, -1] / rounds
    se = math.sqrt(var / (rounds * per_seed.size))
    assert abs(per_seed.mean() - mean) / se < Z


@pytest.mark.slow  # 10^6 rounds: --runslow
def test_million_rounds_clock_is_exact():
    """A float32 running sum of 0.1 drifts by percents; the clock must not."""
    rounds, value = 10**6, 0.1
    sim = absjax.Simulator(
        2,
        policies.sync(),
        delays.constant(value),
        QUAD,
        rounds=rounds,
        log_every=rounds // 4,
    )
    wall = sim.run(seeds=1, chunk=1).wall_clock[0]
    expected = np.float64(np.float32(value)) * np.array([1, 2, 3, 4]) * rounds / 4
    np.testing.assert_allclose(wall, expected, rtol=1e-7)
