"""Self-checks of the reference simulator ``tests/oracle.py`` on hand-made cases.

Every expected value below was computed by hand from the semantics in the
docs (Concepts > A round and The six mechanics, docs/concepts.md); the comments
show the event trace.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import _k_target, simulate


class Table:
    """A ``duration``/``batch`` callable backed by a dict that logs its calls.

    Args:
        values: Map ``(r, slot, worker) -> value``. A missing key raises
            ``KeyError``, so an unexpected job index fails the test.
        default: If given, returned for missing keys instead of raising.
    """

    def __init__(self, values, default=None):
        self.values = dict(values)
        self.default = default
        self.calls = []

    def __call__(self, r, slot, i):
        self.calls.append((r, slot, i))
        if (r, slot, i) in self.values:
            return self.values[(r, slot, i)]
        if self.default is None:
            raise KeyError((r, slot, i))
        return self.default


def const_sample(r, slot, i):
    """A batch whose sample is always ``[1.0]``."""
    return np.array([1.0])


def grad_sample(w, sample):
    """Update = the sample itself (independent of the model)."""
    return np.asarray(sample, dtype=np.float64)


def grad_w(w, sample):
    """Update = the base model (gradient of ``|w|^2 / 2``), so staleness shows."""
    return np.array(w, dtype=np.float64)


def one(s):
    """Constant staleness weight."""
    return 1.0


def run(policy, n, k, tau, rounds, duration, batch=const_sample, **kw):
    """Runs the oracle with defaults for the model part."""
    args = dict(grad=grad_sample, w0=[0.0], lr=1.0, weight=one, normalization="count")
    args.update(kw)
    return simulate(policy, n, k, tau, rounds, duration, batch, **args)


def field(recs, name):
    """The list of one attribute over all round records."""
    return [getattr(r, name) for r in recs]


def random_duration(seed):
    """Deterministic exponential durations keyed on the job index."""

    def dur(r, slot, i):
        return float(np.random.default_rng((seed, r + 1, slot, i)).exponential())

    return dur


def random_batch(seed):
    """Deterministic 2-D samples keyed on the job index."""

    def bat(r, slot, i):
        return np.random.default_rng((seed, 7, r + 1, slot, i)).normal(size=2)

    return bat


def assert_same(a, b):
    """Asserts two record lists are identical, field by field."""
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        for name in (
            "wall_clock",
            "arrivals",
            "staleness",
            "restarted",
            "cancelled",
            "mid_restarts",
            "uploads",
            "downloads",
            "idle",
        ):
            assert getattr(ra, name) == getattr(rb, name), name
        np.testing.assert_array_equal(ra.w, rb.w)


# ---------------------------------------------------------------- sync family


def test_sync_constant_durations():
    dur = Table({}, default=1.0)
    recs = run(
        "sync",
        3,
        1,
        None,
        3,
        dur,
        batch=lambda r, s, i: np.array([1.0, 2.0]),
        w0=[0.0, 0.0],
        lr=0.1,
    )
    assert field(recs, "wall_clock") == [1.0, 2.0, 3.0]
    assert field(recs, "arrivals") == [[0, 1, 2]] * 3  # ties by worker index
    assert field(recs, "staleness") == [[0, 0, 0]] * 3
    assert field(recs, "restarted") == [{0, 1, 2}] * 3
    assert field(recs, "cancelled") == [set()] * 3
    assert field(recs, "mid_restarts") == [0] * 3
    assert field(recs, "uploads") == [3] * 3
    assert field(recs, "downloads") == [3] * 3
    assert field(recs, "idle") == [0.0] * 3
    for t, rec in enumerate(recs, start=1):
        np.testing.assert_allclose(rec.w, [-0.1 * t, -0.2 * t])
    expected_calls = [(r, 0, i) for r in (-1, 0, 1, 2) for i in range(3)]
    assert dur.calls == expected_calls


def test_sync_unequal_durations_idle():
    # t=0: finish 1, 3, 2 -> round 0 ends at 3, order 0, 2, 1,
    # idle (3-1) + (3-2) + 0 = 3.  Restart at 3 with 2, 1, 1 -> finish 5, 4, 4:
    # order 1, 2 (tie at 4, by index), 0; ends at 5; idle 1 + 1 = 2.
    dur = Table(
        {(-1, 0, 0): 1.0, (-1, 0, 1): 3.0, (-1, 0, 2): 2.0}
        | {(0, 0, 0): 2.0, (0, 0, 1): 1.0, (0, 0, 2): 1.0}
        | {(1, 0, i): 1.0 for i in range(3)}
    )
    recs = run("sync", 3, 99, None, 2, dur)
    assert field(recs, "wall_clock") == [3.0, 5.0]
    assert field(recs, "arrivals") == [[0, 2, 1], [1, 2, 0]]
    assert field(recs, "idle") == [3.0, 2.0]


def test_k_sync_cancels_slowest():
    # t=0: finish 3, 1, 2 -> K=2: arrivals 1 (t=1), 2 (t=2); round ends at 2;
    # worker 0 cancelled; worker 1 idles 1.  Restart at 2 with 1, 5, 1 ->
    # finish 3, 7, 3: arrivals 0, 2 (tie by index); worker 1 cancelled.
    dur = Table(
        {(-1, 0, 0): 3.0, (-1, 0, 1): 1.0, (-1, 0, 2): 2.0}
        | {(0, 0, 0): 1.0, (0, 0, 1): 5.0, (0, 0, 2): 1.0}
        | {(1, 0, i): 1.0 for i in range(3)}
    )
    bat = Table({}, default=None)
    bat.values = {key: np.array([float(key[2] + 1)]) for key in dur.values}
    recs = run("k_sync", 3, 2, None, 2, dur, batch=bat)
    assert field(recs, "wall_clock") == [2.0, 3.0]
    assert field(recs, "arrivals") == [[1, 2], [0, 2]]
    assert field(recs, "staleness") == [[0, 0], [0, 0]]
    assert field(recs, "cancelled") == [{0}, {1}]
    assert field(recs, "restarted") == [{0, 1, 2}, {0, 1, 2}]
    assert field(recs, "idle") == [1.0, 0.0]
    assert field(recs, "uploads") == [2, 2]
    assert field(recs, "downloads") == [3, 3]
    # w1 = 0 - (2 + 3)/2 = -2.5 ; w2 = -2.5 - (1 + 3)/2 = -4.5
    assert [float(r.w[0]) for r in recs] == [-2.5, -4.5]
    assert sorted(dur.calls) == sorted(dur.values)
    assert sorted(bat.calls) == sorted(dur.values)


def test_k_sync_all_ties():
    recs = run("k_sync", 3, 2, None, 2, lambda r, s, i: 1.0)
    assert field(recs, "arrivals") == [[0, 1], [0, 1]]
    assert field(recs, "cancelled") == [{2}, {2}]
    assert field(recs, "wall_clock") == [1.0, 2.0]


def test_k_batch_sync_fast_worker_arrives_several_times():
    # Worker 0 takes 0.5 per job, others 10: round 0 = worker 0 at 0.5, 1.0,
    # 1.5 (mid-round slots 1 and 2 on w_0), then ends; 1 and 2 are cancelled.
    # Round 1 starts at 1.5 with durations 1, 1, 2 -> finish 2.5, 2.5, 3.5:
    # worker 0 (tie, index first), worker 1 (both restart mid-round), worker 2.
    dur = Table(
        {(-1, 0, 0): 0.5, (-1, 0, 1): 10.0, (-1, 0, 2): 10.0}
        | {(0, 1, 0): 0.5, (0, 2, 0): 0.5}
        | {(0, 0, 0): 1.0, (0, 0, 1): 1.0, (0, 0, 2): 2.0}
        | {(1, 1, 0): 5.0, (1, 2, 1): 5.0}
        | {(1, 0, i): 1.0 for i in range(3)}
    )
    bat = Table({}, default=None)
    bat.values = {key: np.array([float(key[1] + 1)]) for key in dur.values}
    recs = run("k_batch_sync", 3, 3, None, 2, dur, batch=bat)
    assert field(recs, "wall_clock") == [1.5, 3.5]
    assert field(recs, "arrivals") == [[0, 0, 0], [0, 1, 2]]
    assert field(recs, "staleness") == [[0, 0, 0], [0, 0, 0]]
    assert field(recs, "cancelled") == [{1, 2}, {0, 1}]
    assert field(recs, "restarted") == [{0, 1, 2}, {0, 1, 2}]
    assert field(recs, "mid_restarts") == [2, 2]
    assert field(recs, "uploads") == [3, 3]
    # Mid-round restarts are on the version already held: not downloads.
    assert field(recs, "downloads") == [3, 3]
    assert field(recs, "idle") == [0.0, 0.0]
    # Round 0 samples 1, 2, 3 (slots 0, 1, 2) -> w1 = -2; round 1 all slot 0
    # of round 0 (sample 1) -> w2 = -3.
    assert [float(r.w[0]) for r in recs] == [-2.0, -3.0]
    assert sorted(dur.calls) == sorted(dur.values)


def test_k_batch_sync_k_larger_than_n():
    # N=2, K=4, constant durations 1: arrivals at t=1: 0, 1; t=2: 0, 1.
    recs = run("k_batch_sync", 2, 4, None, 2, lambda r, s, i: 1.0)
    assert field(recs, "arrivals") == [[0, 1, 0, 1]] * 2
    assert field(recs, "wall_clock") == [2.0, 4.0]
    assert field(recs, "cancelled") == [{0}, {0}]
    assert field(recs, "mid_restarts") == [3, 3]


# --------------------------------------------------------------- async family

ASYNC_DUR = {
    (-1, 0, 0): 1.0,
    (-1, 0, 1): 2.0,
    (-1, 0, 2): 4.0,
    (0, 0, 0): 2.0,
    (1, 0, 1): 5.0,
    (2, 0, 0): 10.0,
    (3, 0, 2): 10.0,
    (4, 0, 1): 10.0,
}


def test_async_staleness_and_model():
    # Trace (grad = base model, w0 = 1, lr = 0.5, count):
    # r0: w0 at t=1, b=0, s=0, u=w_0=1    -> w1 = 0.5;   w0 restarts -> 3
    # r1: w1 at t=2, b=0, s=1, u=w_0=1    -> w2 = 0.0;   w1 restarts -> 7
    # r2: w0 at t=3, b=1, s=1, u=w_1=0.5  -> w3 = -0.25; w0 restarts -> 13
    # r3: w2 at t=4, b=0, s=3, u=w_0=1    -> w4 = -0.75; w2 restarts -> 14
    # r4: w1 at t=7, b=2, s=2, u=w_2=0    -> w5 = -0.75
    dur = Table(ASYNC_DUR)
    recs = run("async", 3, 2, None, 5, dur, grad=grad_w, w0=[1.0], lr=0.5)
    assert field(recs, "wall_clock") == [1.0, 2.0, 3.0, 4.0, 7.0]
    assert field(recs, "arrivals") == [[0], [1], [0], [2], [1]]
    assert field(recs, "staleness") == [[0], [1], [1], [3], [2]]
    assert field(recs, "restarted") == [{0}, {1}, {0}, {2}, {1}]
    assert field(recs, "cancelled") == [set()] * 5
    assert field(recs, "downloads") == [1] * 5
    assert field(recs, "uploads") == [1] * 5
    assert field(recs, "idle") == [0.0] * 5
    assert [float(r.w[0]) for r in recs] == [0.5, 0.0, -0.25, -0.75, -0.75]
    assert dur.calls == list(ASYNC_DUR)


def test_async_ties_by_worker_index():
    # All jobs take 1: at t=1 workers 0, 1, 2 arrive one per round, in index
    # order; then at t=2 worker 0 (restarted at 1 on w_1) etc.
    recs = run("async", 3, 1, None, 6, lambda r, s, i: 1.0)
    assert field(recs, "wall_clock") == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert field(recs, "arrivals") == [[0], [1], [2], [0], [1], [2]]
    assert field(recs, "staleness") == [[0], [1], [2], [2], [2], [2]]


def test_k_async_idle_and_keep_computing():
    # N=3, K=2; t=0 finish 1, 2, 4. r0 ends at 2 (workers 0, 1; 0 idles 1);
    # 0 and 1 restart at 2 with 3, 1 -> finish 5, 3; worker 2 keeps its job.
    # r1: worker 1 at 3 (b=1, s=0), worker 2 at 4 (b=0, s=1); idle 1.
    dur = Table(
        {(-1, 0, 0): 1.0, (-1, 0, 1): 2.0, (-1, 0, 2): 4.0}
        | {(0, 0, 0): 3.0, (0, 0, 1): 1.0}
        | {(1, 0, 1): 1.0, (1, 0, 2): 1.0}
    )
    recs = run("k_async", 3, 2, None, 2, dur)
    assert field(recs, "wall_clock") == [2.0, 4.0]
    assert field(recs, "arrivals") == [[0, 1], [1, 2]]
    assert field(recs, "staleness") == [[0, 0], [0, 1]]
    assert field(recs, "restarted") == [{0, 1}, {1, 2}]
    assert field(recs, "cancelled") == [set(), set()]
    assert field(recs, "idle") == [1.0, 1.0]
    assert field(recs, "downloads") == [2, 2]


def test_bounded_staleness_restart():
    # async, tau = 1, same draws as test_async_staleness_and_model at first.
    # r0: worker 0 at 1 (s=0) -> restarts on w1, ends 3. Others b=0: 1-0=1 ok.
    # r1: worker 1 at 2 (s=1) -> restarts on w2, ends 7. Worker 2 (b=0):
    #     2-0 = 2 > 1 -> cancelled, restarts on w2 with duration(1,0,2)=0.5.
    # r2: worker 2 at 2.5 (s=0) -> restarts, ends 12.5. Worker 0 (b=1):
    #     3-1 = 2 > 1 -> cancelled, restarts on w3 at 2.5 with 1 -> 3.5.
    # r3: worker 0 at 3.5 (b=3, s=0). Worker 1 (b=2): 4-2 = 2 > 1 -> restart.
    dur = Table(
        {(-1, 0, 0): 1.0, (-1, 0, 1): 2.0, (-1, 0, 2): 4.0}
        | {(0, 0, 0): 2.0, (1, 0, 1): 5.0, (1, 0, 2): 0.5}
        | {(2, 0, 2): 10.0, (2, 0, 0): 1.0}
        | {(3, 0, 0): 1.0, (3, 0, 1): 1.0}
    )
    recs = run("async", 3, 1, 1, 4, dur)
    assert field(recs, "wall_clock") == [1.0, 2.0, 2.5, 3.5]
    assert field(recs, "arrivals") == [[0], [1], [2], [0]]
    assert field(recs, "staleness") == [[0], [1], [0], [0]]
    assert field(recs, "restarted") == [{0}, {1, 2}, {0, 2}, {0, 1}]
    assert field(recs, "cancelled") == [set(), {2}, {0}, {1}]
    assert field(recs, "downloads") == [1, 2, 2, 2]
    assert sorted(dur.calls) == sorted(dur.values)


@pytest.mark.parametrize("tau", [0, 1, 2])
def test_bounded_staleness_holds_on_random_draws(tau):
    for policy, k in [("async", 1), ("k_async", 2), ("k_batch_async", 3)]:
        recs = run(policy, 5, k, tau, 200, random_duration(tau))
        assert max(max(r.staleness) for r in recs) <= tau
    # Unbounded async does exceed it on the same kind of draws.
    recs = run("async", 5, 1, None, 200, random_duration(0))
    assert max(max(r.staleness) for r in recs) > 2


def test_k_async_tau0_equals_k_sync():
    for n, k in [(4, 2), (3, 3), (5, 1)]:
        kw = dict(
            batch=random_batch(3),
            grad=grad_w,
            w0=[1.0, -2.0],
            lr=0.3,
            weight=lambda s: 1.0 / max(s, 1),
            normalization="weight-sum",
        )
        a = run("k_async", n, k, 0, 30, random_duration(1), **kw)
        b = run("k_sync", n, k, None, 30, random_duration(1), **kw)
        assert_same(a, b)


def test_aliases():
    kw = dict(batch=random_batch(0), grad=grad_w, w0=[1.0, 1.0], lr=0.1)
    assert_same(
        run("sync", 4, 1, None, 20, random_duration(5), **kw),
        run("k_sync", 4, 4, None, 20, random_duration(5), **kw),
    )
    assert_same(
        run("async", 4, 3, 2, 20, random_duration(5), **kw),
        run("k_async", 4, 1, 2, 20, random_duration(5), **kw),
    )


def test_k_batch_async_trace_and_normalization():
    # N=2, K=2; t=0 finish 1, 3.
    # r0: worker 0 at 1 (s=0), mid-restart slot 1 on w_0 (held: no download),
    #     ends 2; worker 0 at 2 (s=0) completes -> restarts on w_1, ends 4.
    # r1: worker 1 at 3 (b=0, s=1), mid-restart on w_1 (download), ends 13;
    #     worker 0 at 4 (b=1, s=0) completes -> restarts on w_2.
    dur = Table(
        {(-1, 0, 0): 1.0, (-1, 0, 1): 3.0, (0, 1, 0): 1.0, (0, 0, 0): 2.0}
        | {(1, 1, 1): 10.0, (1, 0, 0): 1.0}
    )
    kw = dict(grad=grad_w, w0=[1.0], lr=0.5)
    recs = run("k_batch_async", 2, 2, None, 2, dur, **kw)
    assert field(recs, "wall_clock") == [2.0, 4.0]
    assert field(recs, "arrivals") == [[0, 0], [1, 0]]
    assert field(recs, "staleness") == [[0, 0], [1, 0]]
    assert field(recs, "restarted") == [{0}, {0}]
    assert field(recs, "cancelled") == [set(), set()]
    assert field(recs, "mid_restarts") == [1, 1]
    assert field(recs, "downloads") == [1, 2]
    assert field(recs, "idle") == [0.0, 0.0]
    # count: w1 = 1 - 0.5 * 1 = 0.5; w2 = 0.5 - 0.5 * (1 + 0.5) / 2 = 0.125
    assert [float(r.w[0]) for r in recs] == [0.5, 0.125]
    assert sorted(dur.calls) == sorted(dur.values)
    # weight-sum with omega(s) = 0.5**s: r1 weights 0.5, 1 -> Z = 1.5,
    # w2 = 0.5 - 0.5 * (0.5 * 1 + 1 * 0.5) / 1.5 = 1/6.
    recs = run(
        "k_batch_async",
        2,
        2,
        None,
        2,
        Table(dur.values),
        weight=lambda s: 0.5**s,
        normalization="weight-sum",
        **kw,
    )
    np.testing.assert_allclose([r.w[0] for r in recs], [0.5, 1.0 / 6.0])


def test_k_batch_async_tau0_cancels_mid_round_job():
    # N=2, K=2, tau=0; t=0 finish 1, 3.
    # r0: worker 0 at 1 -> mid-restart on w_0, ends 2; at 2 completes, restarts
    #     on w_1 (ends 4). Worker 1 (b=0): 1-0 > 0 -> cancelled, restarts on
    #     w_1 at 2 with 1 -> ends 3.
    # r1: worker 1 at 3 (s=0) -> mid-restart on w_1 (held, no download), ends
    #     3.5; completes at 3.5 (s=0), restarts on w_2. Worker 0 (b=1):
    #     2-1 > 0 -> cancelled, restarts on w_2.
    dur = Table(
        {(-1, 0, 0): 1.0, (-1, 0, 1): 3.0, (0, 1, 0): 1.0}
        | {(0, 0, 0): 2.0, (0, 0, 1): 1.0, (1, 1, 1): 0.5}
        | {(1, 0, 0): 1.0, (1, 0, 1): 1.0}
    )
    recs = run("k_batch_async", 2, 2, 0, 2, dur)
    assert field(recs, "wall_clock") == [2.0, 3.5]
    assert field(recs, "arrivals") == [[0, 0], [1, 1]]
    assert field(recs, "staleness") == [[0, 0], [0, 0]]
    assert field(recs, "restarted") == [{0, 1}, {0, 1}]
    assert field(recs, "cancelled") == [{1}, {0}]
    assert field(recs, "downloads") == [2, 2]
    assert sorted(dur.calls) == sorted(dur.values)


def test_absolute_times_are_float64():
    # Large absolute times keep small increments exactly (float32 would not).
    recs = run("sync", 2, 2, None, 3, lambda r, s, i: 1e9 if r == -1 else 1e-3)
    assert [r.wall_clock - 1e9 for r in recs] == pytest.approx(
        [0.0, 1e-3, 2e-3], abs=1e-6
    )
    assert recs[1].wall_clock > recs[0].wall_clock


def test_invalid_arguments():
    d = lambda r, s, i: 1.0  # noqa: E731
    with pytest.raises(ValueError):
        run("k_sync", 3, 4, None, 1, d)
    with pytest.raises(ValueError):
        run("k_async", 3, 0, None, 1, d)
    with pytest.raises(ValueError):
        run("ssp", 3, 1, None, 1, d)
    with pytest.raises(ValueError):
        run("async", 3, 1, None, 1, d, normalization="mean")
    with pytest.raises(ValueError):
        run("sync", 3, 1, None, 1, d, weight=lambda s: 0.0, normalization="weight-sum")


# ------------------------------------------------------------ local SGD steps


def grad_quad(w, sample):
    """Gradient of ``(w - xi)^2 / 2``."""
    return np.asarray(w, dtype=np.float64) - np.asarray(sample, dtype=np.float64)


def test_local_steps_two_steps_on_a_quadratic():
    # sync, N=2, w0 = 1, lr = 0.5, local_lr = 0.25, U = 2 (batch gives U samples).
    # Worker 0, samples (0, 2): g0 = 1 - 0 = 1, v1 = 1 - 0.25 = 0.75,
    #     g1 = 0.75 - 2 = -1.25 -> u = -0.25.
    # Worker 1, samples (1, 1): g0 = 0, v1 = 1, g1 = 0 -> u = 0.
    # w1 = 1 - 0.5 * (-0.25 + 0) / 2 = 1.0625.
    # Minibatch loss of the first sample at w_b: 0.5 and 0 -> m_0 = 0.25.
    samples = {0: [np.array([0.0]), np.array([2.0])], 1: [np.array([1.0])] * 2}
    bat = Table({(-1, 0, i): samples[i] for i in range(2)}, samples[1])
    kw = dict(grad=grad_quad, w0=[1.0], lr=0.5)
    recs = run(
        "sync",
        2,
        2,
        None,
        1,
        lambda r, s, i: 1.0,
        batch=bat,
        local_steps=2,
        local_lr=0.25,
        batch_loss=lambda w, xi: float(0.5 * (w[0] - xi[0]) ** 2),
        **kw,
    )
    assert float(recs[0].w[0]) == 1.0625
    assert recs[0].loss_estimate == 0.25
    assert bat.calls[:2] == [(-1, 0, 0), (-1, 0, 1)]
    # local_lr defaults to lr: worker 0: v1 = 0.5, g1 = -1.5, u = -0.5;
    # w1 = 1 - 0.5 * (-0.5) / 2 = 1.125.
    bat = Table({(-1, 0, i): samples[i] for i in range(2)}, samples[1])
    recs = run(
        "sync", 2, 2, None, 1, lambda r, s, i: 1.0, batch=bat, local_steps=2, **kw
    )
    assert float(recs[0].w[0]) == 1.125
    # U = 1 keeps the plain gradient; a wrong number of samples is an error.
    with pytest.raises(ValueError, match="samples"):
        run("sync", 2, 2, None, 1, lambda r, s, i: 1.0, local_steps=3, **kw)


def test_local_steps_one_equals_default():
    kw = dict(batch=random_batch(2), grad=grad_w, w0=[1.0, 2.0], lr=0.2)
    for policy, k in [("k_async", 2), ("k_batch_sync", 3)]:
        assert_same(
            run(policy, 4, k, 1, 20, random_duration(4), **kw),
            run(policy, 4, k, 1, 20, random_duration(4), local_steps=1, **kw),
        )


# --------------------------------------------------- adaptive K and tau rules


def test_adasync_k_grows_at_boundaries_and_never_decreases():
    # k_sync, N=8, constant durations 1 -> round t ends at c_t = t + 1.
    # t0 = 2: floor(c_t / 2) > floor(c_{t-1} / 2) after rounds 1, 3, 5, 7.
    # grad = -1, lr = 1 -> w_t = t; exact_loss(w_t) scripted; L_0 = 64.
    # After r1: L = 16 -> ceil(sqrt(4)) = 2          -> K = 2 from round 2.
    # After r2: L = 1 would give 8, but no boundary -> K stays 2.
    # After r3: L = 64 -> target 1 < 2               -> K stays 2.
    # After r5: L = 4 -> ceil(sqrt(16)) = 4          -> K = 4 from round 6.
    # After r7: L = 0 -> N                           -> K = 8 from round 8.
    script = {0: 64, 1: 50, 2: 16, 3: 1, 4: 64, 5: 9, 6: 4, 7: 100, 8: 0}
    script |= {9: 5, 10: 5}
    recs = run(
        "k_sync",
        8,
        5,  # ignored: K^0 = k0
        None,
        10,
        lambda r, s, i: 1.0,
        batch=lambda r, s, i: np.array([-1.0]),
        k_rule=("adasync", 1, 2.0),
        loss_estimate="exact",
        exact_loss=lambda w: float(script[int(w[0])]),
    )
    assert field(recs, "wall_clock") == [float(t + 1) for t in range(10)]
    assert field(recs, "k") == [1, 1, 2, 2, 2, 2, 4, 4, 8, 8]
    assert [len(r.arrivals) for r in recs] == field(recs, "k")
    assert field(recs, "tau") == [None] * 10  # sync family: no bound
    assert field(recs, "loss_estimate") == [script[t + 1] for t in range(10)]
    assert recs[6].cancelled == {4, 5, 6, 7}


def test_adasync_minibatch_estimate():
    # k_sync, N=4, t0 = 1, durations 1: a boundary after every round.
    # beta = 0.5; batch_loss = the sample's value; only aggregated jobs count.
    # r0: K=1, worker 0 (loss 16; the cancelled 1000s do not count)
    #     -> L = L_0 = 16, target ceil(sqrt(1)) = 1.
    # r1: K=1, worker 0 (4): L = 8 + 2 = 10, ceil(sqrt(1.6)) = 2.
    # r2: K=2, workers 0, 1 (0, 2): m = 1, L = 5.5, ceil(1.71) = 2.
    # r3: K=2, (-4, -4): L = 2.75 - 2 = 0.75, ceil(4.62) = 5 -> min(N, 5) = 4.
    # r4: K=4, (-10 x 4): L = 0.375 - 5 = -4.625 <= 0 -> N.
    values = {(-1, 0, 0): 16.0, (0, 0, 0): 4.0, (1, 0, 0): 0.0, (1, 0, 1): 2.0}
    values |= {(2, 0, 0): -4.0, (2, 0, 1): -4.0}
    values |= {(3, 0, i): -10.0 for i in range(4)}
    bat = Table({key: np.array([v]) for key, v in values.items()}, np.array([1e3]))
    recs = run(
        "k_sync",
        4,
        1,
        None,
        5,
        lambda r, s, i: 1.0,
        batch=bat,
        k_rule=("adasync", 1, 1.0),
        beta=0.5,
        batch_loss=lambda w, xi: float(xi[0]),
    )
    assert field(recs, "k") == [1, 1, 2, 2, 4]
    assert field(recs, "loss_estimate") == [16.0, 10.0, 5.5, 0.75, -4.625]


def test_loss_ratio_k_rule_is_linear_and_never_decreases():
    # k_sync, N=8, k0 = 2, durations 1 -> c_t = t + 1; t0 = 2: boundaries
    # after rounds 1, 3, 5, 7, 9. grad = -1, lr = 1 -> w_t = t; L_0 = 60.
    # target = min(N, floor(k0 * max(L_0, 0) / L_t)):
    # After r0: L = 1, no boundary                   -> K stays 2.
    # After r1: L = 24 -> floor(2 * 2.5) = 5          -> K = 5 from round 2
    #           (AdaSync would give ceil(2 sqrt(2.5)) = ceil(3.16) = 4).
    # After r2: L = 1 would give N, no boundary       -> K stays 5.
    # After r3: L = 100 -> floor(2 * 0.6) = 1 < 5     -> K stays 5.
    # After r5: L = 16 -> floor(2 * 3.75) = floor(7.5) = 7 -> K = 7 from 6.
    # After r7: L = 0 -> N                            -> K = 8 from round 8.
    script = {0: 60, 1: 1, 2: 24, 3: 1, 4: 100, 5: 1, 6: 16, 7: 1, 8: 0}
    script |= {9: 5, 10: 5}
    recs = run(
        "k_sync",
        8,
        3,  # ignored: K^0 = k0
        None,
        10,
        lambda r, s, i: 1.0,
        batch=lambda r, s, i: np.array([-1.0]),
        k_rule=("loss_ratio", 2, 2.0),
        loss_estimate="exact",
        exact_loss=lambda w: float(script[int(w[0])]),
    )
    assert field(recs, "wall_clock") == [float(t + 1) for t in range(10)]
    assert field(recs, "k") == [2, 2, 5, 5, 5, 5, 7, 7, 8, 8]
    assert [len(r.arrivals) for r in recs] == field(recs, "k")


def test_exp_root_targets_by_hand():
    # N = 5, k0 = 2: K^2 / (5 - K) = (4 / 3) r, i.e. K^2 + c K - 5 c = 0 with
    # c = 4 r / 3; the root is rounded up.
    # r = 1: c = 4/3, 3 K^2 + 4 K - 20 = 0, K = (-4 + 16) / 6 = 2 exactly.
    assert _k_target("exp_root", 2, 5, 1.0) == 2
    # r = 3: c = 4, K = -2 + sqrt(24) = 2.899 -> 3.
    assert _k_target("exp_root", 2, 5, 3.0) == 3
    # r = 6: c = 8, K = -4 + sqrt(56) = 3.483 -> 4.
    assert _k_target("exp_root", 2, 5, 6.0) == 4
    # r = 12: c = 16, K = -8 + sqrt(144) = 4 exactly (16 / 1 = 4/3 * 12).
    assert _k_target("exp_root", 2, 5, 12.0) == 4
    # r = 30: c = 40, K = -20 + sqrt(600) = 4.495 -> 5; r = inf -> N.
    assert _k_target("exp_root", 2, 5, 30.0) == 5
    assert _k_target("exp_root", 2, 5, math.inf) == 5
    # k0 = N: N whatever r; r = 0: root 0 (K then stays as it is).
    assert _k_target("exp_root", 5, 5, 0.5) == 5
    assert _k_target("exp_root", 2, 5, 0.0) == 0
    # The other two rules: ceil(2 sqrt(2.25)) = 3, floor(2 * 2.25) = 4.
    assert _k_target("adasync", 2, 5, 2.25) == 3
    assert _k_target("loss_ratio", 2, 5, 2.25) == 4
    assert _k_target("loss_ratio", 2, 5, math.inf) == 5


def test_exp_root_k_rule_rounds():
    # k_sync, N=5, k0 = 2, durations 1, t0 = 1: a boundary after every round;
    # w_t = t; L_0 = 60. Targets from test_exp_root_targets_by_hand:
    # After r0: L = 60,  r = 1   -> 2 exactly      -> K = 2.
    # After r1: L = 20,  r = 3   -> 2.899 -> 3     -> K = 3 from round 2.
    # After r2: L = 120, r = 0.5 -> c = 2/3,
    #           K = (-2/3 + sqrt(4/9 + 40/3)) / 2 = 1.52 -> 2 < 3 -> K = 3.
    # After r3: L = 5,   r = 12  -> 4 exactly      -> K = 4 from round 4.
    # After r4: L = 10,  r = 6   -> 3.483 -> 4     -> K = 4.
    # After r5: L = 2,   r = 30  -> 4.495 -> 5     -> K = 5 from round 6.
    script = {0: 60, 1: 60, 2: 20, 3: 120, 4: 5, 5: 10, 6: 2, 7: 1}
    recs = run(
        "k_sync",
        5,
        1,  # ignored: K^0 = k0
        None,
        7,
        lambda r, s, i: 1.0,
        batch=lambda r, s, i: np.array([-1.0]),
        k_rule=("exp_root", 2, 1.0),
        loss_estimate="exact",
        exact_loss=lambda w: float(script[int(w[0])]),
    )
    assert field(recs, "k") == [2, 2, 3, 3, 4, 4, 5]
    assert [len(r.arrivals) for r in recs] == field(recs, "k")


def test_distance_step_by_hand():
    # k_async, N=3, K=2, lr = 0.5, update = the base model (grad_w), w0 = 4,
    # C = 1.8: eta_j = min(C / (w_t - w_b)^2, lr), lr when fresh.
    # Workers 0, 1 take 1 per job; worker 2's first job takes 2.5.
    # r0: workers 0, 1 at 1 (b=0, fresh): etas [0.5, 0.5];
    #     w1 = 4 - (0.5 * 4 + 0.5 * 4) / 2 = 2. Both restart on w1.
    # r1: workers 0, 1 at 2 (b=1, fresh): w2 = 2 - (1 + 1) / 2 = 1.
    # r2: worker 2 at 2.5 (b=0, s=2, u = 4): d^2 = (1 - 4)^2 = 9,
    #     C / 9 = 0.2 -> eta 0.2; worker 0 at 3 (b=2, fresh, u = 1): 0.5.
    #     count:      w3 = 1 - (0.2 * 4 + 0.5 * 1) / 2 = 1 - 0.65 = 0.35.
    #     weight-sum: Z = (0.2 + 0.5) / 0.5 = 1.4, w3 = 1 - 1.3 / 1.4 = 1/14.
    # r3: worker 1 at 3 (b=2, s=1, u = 1), then worker 0 at 4 (b=3, fresh;
    #     the tie with worker 2 at 4 goes to index 0).
    #     count: d^2 = (0.35 - 1)^2 = 0.4225, C / d^2 = 4.26 > lr -> 0.5;
    #            w4 = 0.35 - (0.5 * 1 + 0.5 * 0.35) / 2 = 0.0125.
    #     weight-sum: d^2 = (13/14)^2, C / d^2 = 2.09 > lr -> 0.5; Z = 2,
    #            w4 = 1/14 - (0.5 + 0.5/14) / 2 = -2.75 / 14.
    dur = Table({(-1, 0, 2): 2.5}, 1.0)
    kw = dict(grad=grad_w, w0=[4.0], lr=0.5, weight=None, distance_c=1.8)
    recs = run("k_async", 3, 2, None, 4, dur, **kw)
    assert field(recs, "wall_clock") == [1.0, 2.0, 3.0, 4.0]
    assert field(recs, "arrivals") == [[0, 1], [0, 1], [2, 0], [1, 0]]
    assert field(recs, "staleness") == [[0, 0], [0, 0], [2, 0], [1, 0]]
    etas = field(recs, "etas")
    assert etas[:2] == [[0.5, 0.5]] * 2 and etas[3] == [0.5, 0.5]
    assert etas[2] == [pytest.approx(0.2, rel=1e-12), 0.5]
    w = [float(r.w[0]) for r in recs]
    assert w == pytest.approx([2.0, 1.0, 0.35, 0.0125], rel=1e-12)
    dur = Table({(-1, 0, 2): 2.5}, 1.0)
    recs = run("k_async", 3, 2, None, 4, dur, normalization="weight-sum", **kw)
    w = [float(r.w[0]) for r in recs]
    assert w == pytest.approx([2.0, 1.0, 1 / 14, -2.75 / 14], rel=1e-12)
    assert field(recs, "etas")[2] == [pytest.approx(0.2, rel=1e-12), 0.5]
    # Without distance_c no step sizes are recorded.
    dur = Table({(-1, 0, 2): 2.5}, 1.0)
    kw.update(weight=one, distance_c=None)
    assert field(run("k_async", 3, 2, None, 4, dur, **kw), "etas") == [[]] * 4


def test_kappa_tau_values():
    for k, expected in [(1, 7), (2, 3), (8, 0)]:
        recs = run("k_async", 8, k, None, 3, random_duration(1), tau_rule=("kappa", 1))
        assert field(recs, "tau") == [expected] * 3
        assert field(recs, "k") == [k] * 3
    # kappa = 0.5, N = 4, K = 1: ceil(1.5) = 2; the given tau is ignored.
    recs = run("async", 4, 1, 9, 2, random_duration(1), tau_rule=("kappa", 0.5))
    assert field(recs, "tau") == [2, 2]
    # Fixed tau is recorded as given; sync family records no bound.
    assert field(run("async", 4, 1, 3, 2, random_duration(1)), "tau") == [3, 3]
    assert field(run("k_sync", 4, 2, 3, 2, random_duration(1)), "tau") == [None] * 2


def test_kappa_restart_uses_next_tau():
    # k_async, N=3, k0 = 1, t0 = 1.5, kappa = 1; w_t = t; L_0 = 4.
    # r0: worker 0 at 1; no boundary; K^1 = 1, tau^1 = 2: workers 1, 2 (b=0,
    #     1 - 0 <= 2) keep. Worker 0 restarts, ends 2.
    # r1: worker 0 at 2; boundary (floor(2/1.5) = 1): L_1 = 1 -> K^2 = 2,
    #     tau^2 = ceil(1/2) = 1; workers 1, 2: 2 - 0 > 1 -> cancelled.
    # r2: all three restarted at 2 with duration 1: arrivals 0, 1 at 3.
    dur = Table({(-1, 0, 0): 1.0, (-1, 0, 1): 10.0, (-1, 0, 2): 10.0}, 1.0)
    script = {0: 4.0, 1: 4.0, 2: 1.0, 3: 1.0}
    recs = run(
        "k_async",
        3,
        1,
        None,
        3,
        dur,
        batch=lambda r, s, i: np.array([-1.0]),
        k_rule=("adasync", 1, 1.5),
        tau_rule=("kappa", 1.0),
        loss_estimate="exact",
        exact_loss=lambda w: script[int(w[0])],
    )
    assert field(recs, "k") == [1, 1, 2]
    assert field(recs, "tau") == [2, 2, 1]
    assert field(recs, "cancelled") == [set(), {1, 2}, set()]
    assert field(recs, "restarted") == [{0}, {0, 1, 2}, {0, 1}]
    assert field(recs, "wall_clock") == [1.0, 2.0, 3.0]
    assert field(recs, "arrivals") == [[0], [0], [0, 1]]


def test_abs_rules_hold_on_random_draws():
    # ABS: adaptive non-decreasing K, kappa bound; every aggregated update has
    # staleness <= tau^t (docs/concepts.md#concepts-bounded-staleness).
    for policy in ("k_async", "k_batch_async"):
        recs = run(
            policy,
            6,
            1,
            None,
            150,
            random_duration(8),
            batch=random_batch(8),
            grad=grad_w,
            w0=[1.0, -1.0],
            lr=0.05,
            k_rule=("adasync", 1, 0.5),
            tau_rule=("kappa", 1.0),
            loss_estimate="exact",
            exact_loss=lambda w: float(w @ w),
        )
        ks = field(recs, "k")
        assert all(1 <= a <= b <= 6 for a, b in zip(ks, ks[1:], strict=False))
        assert ks[-1] > 1
        for rec in recs:
            assert rec.tau == -(-(6 - rec.k) // rec.k)
            assert max(rec.staleness) <= rec.tau


# ----------------------------------------------------------------------- SSP


def test_ssp_zero_blocks_fast_workers():
    # async, N=3, s=0; workers 0, 1 take 1, worker 2 takes 10.
    # r0: worker 0 at 1, p = [1,0,0]: 1 - 0 > 0 -> blocked {0}.
    # r1: worker 1 at 1, p = [1,1,0] -> blocked {0, 1}; idle 1 * (1 - 1) = 0.
    # r2: worker 2 at 10, p = [1,1,1] -> all start on w_3 at 10;
    #     idle 2 * (10 - 1) = 18.  Then the same again from time 10.
    dur = Table({}, None)
    dur.values = {
        (r, 0, i): (10.0 if i == 2 else 1.0) for r in (-1, 2, 5) for i in (0, 1, 2)
    }
    recs = run("async", 3, 1, None, 6, dur, ssp=0, grad=grad_w, w0=[1.0])
    assert field(recs, "wall_clock") == [1.0, 1.0, 10.0, 11.0, 11.0, 20.0]
    assert field(recs, "arrivals") == [[0], [1], [2], [0], [1], [2]]
    assert field(recs, "staleness") == [[0], [1], [2], [0], [1], [2]]
    assert field(recs, "blocked") == [{0}, {0, 1}, set()] * 2
    assert field(recs, "restarted") == [set(), set(), {0, 1, 2}] * 2
    assert field(recs, "idle") == [0.0, 0.0, 18.0] * 2
    assert field(recs, "downloads") == [0, 0, 3] * 2
    assert field(recs, "uploads") == [1] * 6
    assert dur.calls == sorted(dur.values)


def test_ssp_invariants_and_large_s_is_async():
    kw = dict(batch=random_batch(1), grad=grad_w, w0=[1.0, 1.0], lr=0.1)
    for s in (0, 1, 2):
        recs = run("async", 4, 1, None, 200, random_duration(s), ssp=s, **kw)
        pushes = [0] * 4
        for rec in recs:
            pushes[rec.arrivals[0]] += 1
            assert max(pushes) - min(pushes) <= s + 1
            assert all(pushes[i] - min(pushes) > s for i in rec.blocked)
        assert any(rec.blocked for rec in recs)
    assert_same(
        run("async", 4, 1, 2, 100, random_duration(3), ssp=10**9, **kw),
        run("async", 4, 1, 2, 100, random_duration(3), **kw),
    )


# ------------------------------------------------------ Rennala / Ringmaster


def test_rennala_discards_stale_arrivals():
    # k_batch_async, N=2, K=B=2, R=1; grad = base model, w0 = 1, lr = 0.5.
    # r0: j=0 worker 0 at 1 (s=0) accepted, restarts slot 1 on w_0 -> 2;
    #     j=1 worker 0 at 2 (s=0) completes; restarts on w_1 -> 4.
    # r1: j=0 worker 1 at 3 (b=0, s=1) DISCARDED, restarts slot 1 on w_1
    #     (download) -> 3.5; j=1 worker 1 at 3.5 (s=0) accepted, restarts
    #     slot 2 on w_1 -> 13.5; j=2 worker 0 at 4 (s=0) completes -> w_2.
    # r2: worker 0 at 5 and 6 (fresh); worker 1 still computing.
    # w1 = 1 - 0.5 * 1 = 0.5; w2 = 0.5 - 0.5 * 0.5 = 0.25; w3 = 0.125.
    dur = Table(
        {(-1, 0, 0): 1.0, (-1, 0, 1): 3.0, (0, 1, 0): 1.0, (0, 0, 0): 2.0}
        | {(1, 1, 1): 0.5, (1, 2, 1): 10.0, (1, 0, 0): 1.0}
        | {(2, 1, 0): 1.0, (2, 0, 0): 1.0}
    )
    recs = run(
        "k_batch_async", 2, 2, None, 3, dur, discard=1, grad=grad_w, w0=[1.0], lr=0.5
    )
    recs_w = [float(r.w[0]) for r in recs]
    assert field(recs, "wall_clock") == [2.0, 4.0, 6.0]
    assert field(recs, "arrivals") == [[0, 0], [1, 0], [0, 0]]
    assert field(recs, "staleness") == [[0, 0], [0, 0], [0, 0]]
    assert field(recs, "discarded") == [0, 1, 0]
    assert field(recs, "uploads") == [2, 3, 2]
    assert field(recs, "mid_restarts") == [1, 2, 1]
    assert field(recs, "downloads") == [1, 2, 1]
    assert field(recs, "restarted") == [{0}, {0}, {0}]
    assert recs_w == [0.5, 0.25, 0.125]
    assert sorted(dur.calls) == sorted(dur.values)


def test_rennala_and_ringmaster_on_random_draws():
    for k, r in [(3, 1), (1, 2), (2, 3)]:
        recs = run("k_batch_async", 5, k, None, 300, random_duration(k), discard=r)
        assert max(max(rec.staleness) for rec in recs) < r
        assert sum(field(recs, "discarded")) > 0
        for rec in recs:
            assert len(rec.arrivals) == k
            assert rec.uploads == k + rec.discarded
    # Without the threshold the same kind of draws do aggregate stale updates.
    recs = run("k_batch_async", 5, 1, None, 300, random_duration(1))
    assert max(max(rec.staleness) for rec in recs) >= 2


# ------------------------------------------------------ new argument checks


def test_invalid_new_arguments():
    d = lambda r, s, i: 1.0  # noqa: E731
    bl = lambda w, xi: 1.0  # noqa: E731
    bad = [
        ("k_async", 1, dict(ssp=0)),
        ("async", 1, dict(ssp=-1)),
        ("async", 1, dict(discard=1)),
        ("k_batch_async", 1, dict(discard=0)),
        ("sync", 1, dict(local_steps=0)),
        ("sync", 1, dict(local_lr=0.0)),
        ("k_async", 1, dict(k_rule=("adasync", 0, 1.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("adasync", 4, 1.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("adasync", 1, 0.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("adapt", 1, 1.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("loss_ratio", 4, 1.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("exp_root", 1, 0.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("exp_root", 1, 1.0))),
        ("k_async", 1, dict(distance_c=0.0)),
        ("k_async", 1, dict(distance_c=-1.0)),
        ("k_async", 1, dict(distance_c=math.inf)),
        ("async", 1, dict(k_rule=("adasync", 1, 1.0), batch_loss=bl)),
        ("k_async", 1, dict(k_rule=("adasync", 1, 1.0))),
        ("k_async", 1, dict(k_rule=("adasync", 1, 1.0), loss_estimate="exact")),
        ("k_async", 1, dict(loss_estimate="mean")),
        ("k_async", 1, dict(tau_rule=("kappa", -1.0))),
        ("k_async", 1, dict(tau_rule=("const", 1.0))),
        ("k_batch_async", 4, dict(tau_rule=("kappa", 1.0))),
        ("k_async", 1, dict(beta=0.0)),
        ("k_async", 1, dict(beta=1.5)),
    ]
    for policy, k, kw in bad:
        with pytest.raises(ValueError):
            run(policy, 3, k, None, 1, d, **kw)
