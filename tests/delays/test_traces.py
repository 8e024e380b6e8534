"""Trace-driven delays and persistent (Markov) stragglers.

Monte-Carlo checks are z-tests ``|estimate - exact| / standard_error < Z``; the
exact values are computed here with numpy (enumeration, the chain's stationary
law), not with absjax.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from replay import ORACLE_WORKERS as ORACLE_N
from replay import compare as _compare

import absjax
from absjax import cli, delays, fitting, policies, theory
from absjax.delays import Delay, Trace

Z = 4.0
# Per-worker measured durations: multiples of 1/4, so float32 clocks are exact.
COLUMNS = [[0.5, 1.0, 4.0], [1.5, 2.0], [0.25, 3.0, 3.5, 5.0], [2.5]]
K = 2


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _wide(path, columns):
    rows = max(len(c) for c in columns)
    lines = [",".join(f"w{i}" for i in range(len(columns)))]
    for j in range(rows):
        lines.append(",".join(repr(c[j]) if j < len(c) else "" for c in columns))
    return _write(path, lines)


def _kth_mean(columns, k):
    """Exact E[X_(k)] of independent uniform draws from each column."""
    total = 0.0
    for combo in itertools.product(*columns):
        total += sorted(combo)[k - 1]
    return total / math.prod(len(c) for c in columns)


# ------------------------------------------------------------------ the law
def test_trace_law_moments_are_the_pooled_empirical_ones():
    law = Trace(COLUMNS)
    pooled = np.concatenate(COLUMNS)
    p = law.params
    assert law.workers == 4 and not law.pooled
    assert float(law.mean(p)) == pytest.approx(pooled.mean(), rel=1e-6)
    assert float(law.variance(p)) == pytest.approx(pooled.var(), rel=1e-6)
    x = np.array([0.0, 0.25, 1.0, 2.2, 5.0, 9.0])
    want = [(pooled <= v).mean() for v in x]
    np.testing.assert_allclose(law.cdf(p, x), want, rtol=1e-6)
    assert Trace(np.array([1.0, 2.0])).pooled  # a flat list is pooled
    assert Trace(COLUMNS, pooled=True).durations == (tuple(pooled),)


def test_per_worker_and_pooled_resampling_frequencies():
    law, n = Trace(COLUMNS), 40_000
    workers = jnp.arange(4)
    x = np.asarray(law.sample(jax.random.key(0), law.params, (n, 4), workers))
    for i, column in enumerate(COLUMNS):
        values, counts = np.unique(x[:, i], return_counts=True)
        np.testing.assert_array_equal(values, sorted(column))  # worker i only
        p = 1 / len(column)
        z = (counts / n - p) / math.sqrt(max(p * (1 - p), 1e-300) / n)
        assert np.all(np.abs(z) < Z), (i, z)
    pooled = np.concatenate(COLUMNS)
    y = np.asarray(law.sample(jax.random.key(1), law.params, (n,)))
    for v in np.unique(pooled):
        p = np.mean(pooled == v)
        assert abs(np.mean(y == v) - p) / math.sqrt(p * (1 - p) / n) < Z, v


# ------------------------------------------------------------------ replay
@pytest.fixture(scope="module")
def trace_sim():
    delay = Delay(Trace(COLUMNS))
    return absjax.Simulator(
        4, policies.k_sync(K), delay, "timing", rounds=500, log_every=1
    )


def test_k_sync_round_time_is_the_kth_order_statistic(trace_sim):
    result = trace_sim.run(seeds=16, chunk=16)
    rounds = np.diff(result.wall_clock, axis=1, prepend=0.0)
    exact = _kth_mean(COLUMNS, K)
    se = rounds.std() / math.sqrt(rounds.size)
    assert abs(rounds.mean() - exact) / se < Z, (rounds.mean(), exact)
    # Replay: round r ends at the K-th smallest of the jobs drawn at r - 1.
    draw = trace_sim.job_draws(seed=0)
    for r in range(8):
        jobs = [float(draw(r - 1, 0, i)[0]) for i in range(4)]
        for i, x in enumerate(jobs):
            assert x in COLUMNS[i], (r, i, x)  # worker i's own durations
        assert rounds[0, r] == sorted(jobs)[K - 1]


def test_constant_trace_in_params_gives_exactly_that_constant(trace_sim):
    params = trace_sim.params
    delay = dict(params.delay)
    compute = dict(delay["compute"])
    compute["table"] = jnp.full_like(compute["table"], 0.75)
    delay["compute"] = compute
    result = trace_sim.run(seeds=2, chunk=16, params=params._replace(delay=delay))
    np.testing.assert_array_equal(result.wall_clock, 0.75 * result.round)
    assert trace_sim.traces == 1  # trace data are numbers, not structure


def test_pooled_trace_fits_any_worker_count():
    sim = absjax.Simulator(
        7, policies.k_async(2), Trace([1.0, 2.0, 3.0]), "timing", rounds=10
    )
    draw = sim.job_draws(seed=1)
    assert {float(draw(r, 0, i)[0]) for r in range(-1, 3) for i in range(7)} <= {
        1.0,
        2.0,
        3.0,
    }


# ------------------------------------------------------------------ Markov chain
P_SLOW, Q_RECOVER, FACTOR = 0.1, 0.3, 2.0


@pytest.fixture(scope="module")
def chain_run():
    delay = Delay(
        delays.constant(1.0),
        markov_slow=P_SLOW,
        markov_recover=Q_RECOVER,
        markov_factor=FACTOR,
    )
    sim = absjax.Simulator(
        8, policies.sync(), delay, "quadratic:dim=1", rounds=1500, log_every=1500
    )
    return sim, sim.run(seeds=4, chunk=4, history=True)


def test_markov_long_run_slow_fraction_and_persistence(chain_run):
    _, result = chain_run
    infos, _ = result.history
    slow = np.asarray(infos.slow)[:, 0]  # (seeds, rounds, workers): one job each
    pi = P_SLOW / (P_SLOW + Q_RECOVER)
    lam = 1 - P_SLOW - Q_RECOVER  # the chain's second eigenvalue
    se = math.sqrt(pi * (1 - pi) * (1 + lam) / (1 - lam) / slow.size)
    assert abs(slow.mean() - pi) / se < Z, (slow.mean(), pi)
    now, after = slow[:, :-1], slow[:, 1:]
    for state, want in ((True, 1 - Q_RECOVER), (False, P_SLOW)):
        n = np.sum(now == state)
        got = np.sum(after & (now == state)) / n
        assert abs(got - want) / math.sqrt(want * (1 - want) / n) < Z, (state, got)
    # A sync round lasts FACTOR if any job in it is slow, else 1.
    duration = np.asarray(infos.duration)[:, 0, 1:]
    np.testing.assert_array_equal(duration, np.where(slow[:, :-1].any(-1), 2.0, 1.0))


def test_markov_chain_is_seed_indexed_and_off_at_p_zero(chain_run):
    sim, result = chain_run
    infos, _ = result.history
    part = sim.run(seeds=2, seed_offset=2, chunk=4, history=True)
    np.testing.assert_array_equal(part.history[0].slow, np.asarray(infos.slow)[2:])
    params = sim.params
    off = dict(params.delay, markov_slow=jnp.asarray(0.0))
    none = sim.run(seeds=4, chunk=4, history=True, params=params._replace(delay=off))
    assert not np.asarray(none.history[0].slow).any()
    np.testing.assert_array_equal(none.wall_clock, 1.0 * none.round)
    assert sim.traces == 1


def test_delay_moments_use_the_stationary_mixture():
    d = Delay(
        delays.exponential(2.0), markov_slow=0.1, markov_recover=0.4, markov_factor=3
    )
    p = d.params
    pi = 0.2
    assert float(d.stationary_slow(p)) == pytest.approx(pi)
    assert float(d.mean(p)) == pytest.approx(0.5 * (1 - pi + 3 * pi), rel=1e-6)
    second = 2 / 4 * (1 - pi + 9 * pi)  # E[C^2] = 2 / rate^2
    assert float(d.variance(p)) == pytest.approx(second - 0.7**2, rel=1e-5)
    x = 1.0
    want = (1 - pi) * (1 - math.exp(-2 * x)) + pi * (1 - math.exp(-2 * x / 3))
    assert float(d.cdf(p, x)) == pytest.approx(want, rel=1e-6)


# ------------------------------------------------------------------ oracle
class _ChainReplay:
    """A simulator whose ``job_draws`` carries each worker's chain state.

    The oracle asks for each job once, in start order per worker, so the
    previous state of worker ``i`` is the one of its last job asked for.
    """

    def __init__(self, sim):
        self._sim = sim
        self.states = []

    def __getattr__(self, name):
        return getattr(self._sim, name)

    def job_draws(self, seed):
        draw, last, cache = self._sim.job_draws(seed), {}, {}

        def replay(r, slot, i):
            if (r, slot, i) not in cache:
                previous = last.get(i, False)
                last[i] = draw.slow(r, slot, i, previous)
                self.states.append(last[i])
                cache[r, slot, i] = draw(r, slot, i, previous)
            return cache[r, slot, i]

        return replay


@pytest.mark.parametrize(
    "policy",
    [pytest.param("k_batch_async", marks=pytest.mark.slow), "k_async_tau1"],
)
def test_trace_and_chain_match_the_oracle(policy):
    columns = [np.random.default_rng(i).uniform(0.2, 2.0, 3 + i) for i in range(5)]
    delay = Delay(
        Trace(columns),
        straggler_prob=0.1,
        straggler_factor=2.0,
        markov_slow=0.3,
        markov_recover=0.4,
        markov_factor=3.0,
    )
    chosen = {
        "k_batch_async": policies.k_batch_async(3),
        "k_async_tau1": policies.k_async(3, tau=1),
    }[policy]
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            ORACLE_N,
            chosen,
            delay,
            "quadratic:dim=4,noise=0.3",
            lr=0.2,
            rounds=30,
            log_every=1,
        )
        replay = _ChainReplay(sim)
        _compare(replay)
    assert 0 < sum(replay.states) < len(replay.states)  # both states occur


# ------------------------------------------------------------------ files
def test_trace_file_formats(tmp_path):
    wide = _wide(tmp_path / "wide.csv", COLUMNS)
    assert Trace.from_csv(wide).durations == tuple(map(tuple, COLUMNS))
    long = _write(
        tmp_path / "long.csv",
        ["worker,duration"] + [f"{i},{x!r}" for i, c in enumerate(COLUMNS) for x in c],
    )
    assert Trace.from_csv(long).durations == Trace.from_csv(wide).durations
    pooled = Trace.from_csv(wide, format="pooled")
    assert pooled.pooled and pooled.durations == (tuple(np.concatenate(COLUMNS)),)
    for lines in (["duration", "1.5", "2.5"], ["1.5", "2.5"]):
        listed = Trace.from_csv(_write(tmp_path / "list.csv", lines))
        assert listed.pooled and listed.durations == ((1.5, 2.5),)
    assert fitting.load_trace(wide, format="pooled")[0].size == 10
    d = delays.parse_delay(
        f"trace:path={wide},markov_slow=0.05,markov_recover=0.5,markov_factor=4"
    )
    assert d.compute.workers == 4 and d.markov_factor == 4.0
    assert delays.parse_law(d.compute.spec()).durations == d.compute.durations
    assert delays.parse_delay(f"trace:path={long},format=long").compute.workers == 4


BAD_FILES = [
    ("missing", None, "cannot read the trace file"),
    ("empty", [], "the file is empty"),
    ("malformed", ["a,b", "1.0,x"], r":2: column 2 \('b'\): duration 'x' is not"),
    ("negative", ["a,b", "1.0,-2.0"], "'-2.0' is negative"),
    ("header_only", ["a,b"], "no numeric data"),
]


@pytest.mark.parametrize("name, lines, match", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_trace_files_name_the_file(tmp_path, name, lines, match):
    path = tmp_path / f"{name}.csv"
    if lines is not None:
        _write(path, lines)
    with pytest.raises(ValueError, match=match) as err:
        delays.parse_delay(f"trace:path={path}")
    assert f"{name}.csv" in str(err.value)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Trace([[1.0], [-1.0]]), r"durations\[1\]\[0\]=-1.0 must be"),
        (lambda: Trace([[1.0], []]), r"durations\[1\] must be a non-empty"),
        (lambda: Trace([]), "at least one duration"),
        (lambda: Trace([1.0, math.nan]), r"durations\[1\]=nan"),
        (lambda: Delay(delays.exponential(), markov_slow=1.5), "markov_slow=1.5"),
        (lambda: Delay(delays.exponential(), markov_recover=-0.1), "markov_recov"),
        (lambda: Delay(delays.exponential(), markov_factor=0.0), "markov_factor=0"),
        (lambda: delays.parse_delay("exp:markov_slow=often"), "markov_slow='often'"),
        (lambda: delays.parse_delay("trace:format=wide"), "needs path=FILE"),
        (lambda: delays.parse_delay("trace:path=x.csv,rate=2"), "no parameter 'rate'"),
        (lambda: Trace.from_csv("x.csv", format="tall"), "format='tall'"),
        (
            lambda: absjax.Simulator(3, policies.sync(), Trace(COLUMNS), "timing"),
            "has 4 workers; num_workers=3",
        ),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_trace_table_cannot_be_gridded_and_probabilities_are_checked(trace_sim):
    with pytest.raises(ValueError, match="trace data"):
        trace_sim.run(grid={"delay.compute.table": [1.0, 2.0]})
    with pytest.raises(ValueError, match="markov_slow"):
        trace_sim.run(grid={"delay.markov_slow": [0.1, 1.5]})


# ------------------------------------------------------------------ CLI
def test_cli_runs_a_trace_with_markov_stragglers(tmp_path, capsys):
    wide = _wide(tmp_path / "durations.csv", COLUMNS)
    config = _write(
        tmp_path / "run.toml",
        [
            "workers = 4",
            'policy = "k_sync"',
            "k = 2",
            f'delay = "trace:path={wide},markov_slow=0.1,markov_recover=0.5,'
            'markov_factor=2"',
            'objective = "timing"',
            "rounds = 20",
            "log_every = 10",
            "seeds = 2",
        ],
    )
    out = tmp_path / "run.csv"
    assert cli.main(["simulate", "--config", str(config), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "delay, needle",
    [
        ("trace:path={dir}/nope.csv", "nope.csv: cannot read the trace file"),
        ("trace:path={dir}/bad.csv", "bad.csv:2: column 1"),
        ("trace:path={dir}/empty.csv", "empty.csv: the file is empty"),
        ("trace:path={dir}/ok.csv", "has 2 workers; num_workers=4"),
        ("trace:path={dir}/ok.csv,format=tall", "format='tall'"),
        ("exp:rate=1,markov_slow=1.5", "markov_slow=1.5"),
        ("exp:rate=1,markov_recover=-1", "markov_recover=-1.0"),
        ("exp:rate=1,markov_factor=0", "markov_factor=0.0"),
    ],
)
def test_cli_bad_traces_and_chains_exit_2(tmp_path, capsys, delay, needle):
    _write(tmp_path / "bad.csv", ["a,b", "-1,2"])
    _write(tmp_path / "empty.csv", [])
    _write(tmp_path / "ok.csv", ["a,b", "1,2"])
    out = tmp_path / "x.csv"
    argv = ["simulate", "--workers", "4", "--objective", "timing", "--rounds", "10"]
    code = cli.main([*argv, "--delay", delay.format(dir=tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and needle in err, err
    assert not out.exists()


# ------------------------------------------------------------------ theory
def test_theory_uses_per_worker_traces_and_the_stationary_chain():
    delay = Delay(Trace(COLUMNS))
    exact = _kth_mean(COLUMNS, K)
    assert theory.expected_round_time("k_sync", delay, 4, K) == pytest.approx(exact)
    pooled = Trace([1.0, 2.0, 3.0])
    assert theory.order_statistic_mean(pooled, 3, 3) == pytest.approx(
        _kth_mean([[1.0, 2.0, 3.0]] * 3, 3)
    )
    chain = Delay(
        delays.constant(1.0),
        markov_slow=P_SLOW,
        markov_recover=Q_RECOVER,
        markov_factor=FACTOR,
    )
    pi = P_SLOW / (P_SLOW + Q_RECOVER)  # a sync round is slow if any job is
    want = 1.0 + (FACTOR - 1.0) * (1 - (1 - pi) ** 8)
    assert theory.expected_round_time("sync", chain, 8) == pytest.approx(want)
    assert not theory.round_time_is_exact("k_async", chain, 2)
