"""Learned K rules: the table, the ES search, saving and loading, bad input."""

import numpy as np
import pytest

import absjax
from absjax import learn, policies
from absjax.policies import LearnedRule, LossTable
from absjax.policies.spec import parse_policy

pytest.importorskip("evosax")

N, HORIZON = 4, 8.0
OBJECTIVE = "quadratic:dim=4,noise=0.5"


def _sim(start: LearnedRule) -> absjax.Simulator:
    return absjax.Simulator(
        N,
        start.policy(),
        "exp:rate=1",
        OBJECTIVE,
        lr=start.lr,
        rounds=60,
        log_every=2,
    )


@pytest.fixture(scope="module")
def start():
    return learn.adasync_start(N, k0=1, t0=1.0, lr=0.1)


@pytest.fixture(scope="module")
def evolved(start):
    sim = _sim(start)
    run = dict(population=6, generations=3, seeds=4, seed=3)
    first = learn.evolve(sim, HORIZON, start, **run)
    return sim, first, learn.evolve(sim, HORIZON, start, **run)


def test_es_improves_on_its_start_and_is_reproducible(evolved):
    sim, first, second = evolved
    assert first.score < first.initial_score
    assert first.rule == second.rule and first.history == second.history
    assert sim.traces == 1  # every generation and the final choice: one program


def test_saved_rule_loads_and_gives_the_same_numbers(evolved, tmp_path):
    sim, evo, _ = evolved
    path = tmp_path / "rule.json"
    evo.rule.save(path)
    loaded = LearnedRule.load(path)
    assert loaded == evo.rule
    rule = evo.rule
    batched = learn.run_candidates(sim, [rule.values], rule.lr, rule.kappa, 4, 0, 7)
    alone = absjax.Simulator(
        N,
        policies.learned(path),
        "exp:rate=1",
        OBJECTIVE,
        lr=loaded.lr,
        rounds=60,
        log_every=2,
    ).run(seeds=4, seed_offset=7)
    np.testing.assert_array_equal(batched.loss[0], alone.loss)
    np.testing.assert_array_equal(batched.wall_clock[0], alone.wall_clock)
    spec = parse_policy(f"learned:path={path}", num_workers=N)
    assert spec.k_rule == policies.learned(path).k_rule


def test_other_numbers_do_not_recompile(start):
    sim = _sim(start)
    learn.run_candidates(sim, [start.values] * 2, [0.1, 0.2], 1.0, seeds=2)
    traces = sim.traces
    other = np.linspace(0.0, 1.0, len(start.values))
    learn.run_candidates(sim, [other, start.values], [0.3, 0.05], [0.5, 2.0], seeds=2)
    assert sim.traces == traces


def test_table_rule_follows_its_values():
    rule = LossTable(t0=1.0, knots=(0.0, 1.0), values=(0.0, 1.0))
    view = absjax.ServerView.initial(5, 1, 0)._replace(
        clock=np.float32(1.5), loss0=np.float32(1.0), loss=np.float32(np.exp(-2.0))
    )
    assert int(rule(view, rule.params)) == 5  # beyond the last knot: f = 1
    assert int(rule(view._replace(loss=np.float32(1.0)), rule.params)) == 1


@pytest.mark.parametrize(
    "call,needle",
    [
        (lambda s, r: learn.evolve(s, HORIZON, r, objective="nope"), "objective="),
        (lambda s, r: learn.evolve(s, HORIZON, r, population=1), "population=1"),
        (lambda s, r: learn.evolve(s, HORIZON, r, strategy="x"), "strategy="),
        (lambda s, r: learn.evolve(s, -1.0, r), "horizon=-1"),
        (
            lambda s, r: learn.run_candidates(s, [[0.5, 0.1] + [1.0] * 4], 0.1, 1.0, 2),
            "non-decreasing",
        ),
        (lambda s, r: LossTable(values=(0.5, 0.1, 1, 1, 1, 1)), "non-decreasing"),
        (lambda s, r: LossTable(values=(0.0, 2.0, 2, 2, 2, 2)), "in [0, 1]"),
        (lambda s, r: LossTable(knots=(1.0, 0.0), values=(0, 0)), "increasing"),
        (lambda s, r: LearnedRule.load(__file__), "not a learned rule"),
    ],
)
def test_bad_input_is_one_line_before_compiling(start, call, needle):
    sim = _sim(start)
    with pytest.raises(ValueError, match=needle.replace("[", r"\[")) as info:
        call(sim, start)
    assert "\n" not in str(info.value)
    assert sim.traces == 0
