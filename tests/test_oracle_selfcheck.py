"""Self-checks of the reference simulator ``tests/oracle.py`` on hand-made cases.

Every expected value below was computed by hand from ``shared/spec.md``
sections 1-2; the comments show the event trace.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle import simulate


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
