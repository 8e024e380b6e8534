"""absjax.tune and ``absjax tune``: the searches find what enumeration finds,
a seed fixes a study, bad input is one line and exit 2 before compiling, and
several processes join one Optuna study through its RDB storage."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from absjax import cli, tune
from absjax.tune import scores

pytest.importorskip("optuna")

N = 4
CASE = dict(
    num_workers=N,
    delay="exp:rate=1",
    objective="quadratic:dim=3",
    score="final",
    rounds=20,
    log_every=10,
)
SPACES = [tune.parse_range("k=1,2,4"), tune.parse_range("lr=0.02,0.3")]
METHOD = tune.Method("k_async:k=2", SPACES)


def _enumerated_best(seeds):
    """The best configuration of every one on ``seeds`` tuning seeds."""
    from absjax import Simulator, policies

    configs = [
        dict(zip(["k", "lr"], v, strict=True))
        for v in itertools.product((1, 2, 4), (0.02, 0.3))
    ]
    sim = Simulator(
        N,
        policies.k_async(2),
        "exp:rate=1",
        "quadratic:dim=3",
        lr=0.1,
        rounds=20,
        log_every=10,
        k_max=4,
    )
    result = sim.run(seeds=seeds, points=configs, seed_offset=tune.TUNE_OFFSET)
    values = scores.score(scores.per_seed(result, "final", None))
    return configs[int(np.argmin(values))]


@pytest.mark.slow  # about 35 s here: a dozen small compiles
def test_halving_and_optuna_find_the_enumerated_best():
    halving = tune.tune(
        [METHOD],
        budget=400,
        algorithm="halving",
        seeds=2,
        eta=2,
        rungs=2,
        eval_seeds=4,
        **CASE,
    )
    trials = halving.trials
    assert trials["rung"].eq(0).sum() == 6  # the finite space, all of it
    assert trials["rung"].eq(1).sum() == 3  # the better half, on more seeds
    expected = _enumerated_best(seeds=4)
    assert halving.best[METHOD.name]["config"] == expected
    optuna = tune.tune(
        [METHOD],
        budget=24 * 4 * 20,
        algorithm="tpe",
        seeds=4,
        batch=8,
        eval_seeds=4,
        **CASE,
    )
    assert len(optuna.trials) == 24
    assert optuna.best[METHOD.name]["config"] == expected
    assert set(optuna.table.columns) >= {"method", "final", "final_low", "final_high"}


@pytest.mark.slow  # about 35 s here
def test_the_same_seed_gives_the_same_study(tmp_path):
    spaces = [tune.parse_range("k=1:4:int"), tune.parse_range("lr=0.01:0.5:log")]
    method = tune.Method("k_async:k=2", spaces)
    args = dict(budget=1200, seeds=2, eta=2, rungs=2, eval_seeds=4, **CASE)
    for algorithm in ("halving", "qmc"):
        a = tune.tune([method], algorithm=algorithm, seed=3, **args)
        b = tune.tune([method], algorithm=algorithm, seed=3, **args)
        assert a.trials.equals(b.trials), algorithm
        assert a.table.equals(b.table), algorithm
    a.save(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "trials.parquet",
        "best.json",
        "table.csv",
        "table.md",
        "best_so_far.png",
        "response.png",
        "evaluation.png",
    }


def test_schedule_fits_the_budget_and_finite_spaces_are_enumerated():
    plan = tune.search.schedule(5000, 40, 10, 2, 3, 3)
    assert sum(r.cost for r in plan) <= 5000
    assert [r.seeds for r in plan] == [2, 6, 18] and plan[-1].rounds == 40
    assert sum(r.cost for r in tune.search.schedule(5000 * 3, 40, 10, 2, 3, 3)) > 5000
    rng = np.random.default_rng(0)
    configs = tune.search.sample(SPACES, 6, rng)
    assert len(configs) == 6 and len({tuple(c.values()) for c in configs}) == 6
    assert len(tune.search.sample(SPACES, 5, rng)) == 5  # draws, not the product


BASE = [
    "tune",
    "--workers",
    "4",
    "--objective",
    "quadratic:dim=3",
    "--rounds",
    "20",
    "--log-every",
    "10",
    "--target",
    "0.1",
]
OK = ["--method", "k_async:k=2", "--range", "k=1:4:int"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--budget", "999", "--method", "k_async:k=2", "--range", "k=3:1:int"],
            "is empty",
        ),
        (
            ["--budget", "999", "--method", "k_async:k=2", "--range", "k=,"],
            "choice k is empty",
        ),
        (
            ["--budget", "999", "--method", "k_async:k=2", "--range", "k=1:9:int"],
            r"must be in \[1, num_workers=4\]",
        ),
        (
            [
                "--budget",
                "999",
                "--method",
                "abs:k0=1,t0=5",
                "--range",
                "policy.tau_rule.kappa=-1:2",
            ],
            "kappa",
        ),
        (["--budget", "10", *OK], "too small for one rung"),
        (["--budget", "10", "--algorithm", "tpe", *OK], "too small for one trial"),
        (["--budget", "999", "--score", "speed", *OK], "score='speed'"),
        (["--budget", "999", "--algorithm", "grid", *OK], "algorithm='grid'"),
        (["--budget", "999", "--method", "k_async:k=2"], "has no --range"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(flags, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main([*BASE, *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("absjax: error:")
    assert __import__("re").search(message, err), err
    assert not out.exists()


@pytest.mark.slow
def test_two_processes_join_one_sqlite_study(tmp_path):
    import optuna

    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = [
        sys.executable,
        "-m",
        "absjax.cli",
        *BASE,
        "--budget",
        str(4 * 2 * 20),
        "--algorithm",
        "tpe",
        "--batch",
        "2",
        "--seeds",
        "2",
        "--eval-seeds",
        "4",
        "--storage",
        url,
        "--study-name",
        "shared",
        *OK,
    ]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [*command, "--seed", str(i), "--out", str(tmp_path / f"out{i}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    study = optuna.load_study(study_name="shared-k_async:k=2", storage=url)
    assert len(study.trials) == 8  # four from each process
    assert (tmp_path / "out1" / "trials.parquet").is_file()
