"""Numbers that must not move: digests of full result arrays, one run per case.

Each case is one policy family on one delay modifier (about 25 cases, 3 seeds,
30 rounds, ``history=True`` so that every round's diagnostics and the models at
each log are hashed too). ``digests.json`` holds, per case, the SHA-256 of
every logged metric (by its CSV name) and the sorted SHA-256s of the history's
arrays (so that renaming a diagnostic does not change the fixture, while
changing any number does).

XLA:CPU may round differently on another processor or another jax release, so
the bit-for-bit check runs where the fixture was recorded (same jax, jaxlib,
processor flags); elsewhere the metrics are compared to the recorded float64
sums with ``rtol = 1e-5``, which still catches any change of logic.

Regenerate (only for a deliberate change of numbers, e.g. a new random-stream
version, said in the commit): ``python tests/test_digests.py --update``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import jax
import jaxlib
import numpy as np
import optax
import pytest

import absjax
from absjax import delays, policies, staleness

FIXTURE = Path(__file__).with_name("digests.json")
N, ROUNDS, LOG_EVERY, SEEDS = 5, 30, 5, 3
LINREG = "linreg:dim=4,samples=64,batch=4,noise=0.5"
TRACE_COLUMNS = [[0.5, 1.0, 4.0], [1.5, 2.0], [0.25, 3.0, 3.5], [2.5, 0.75], [1.0]]


def _trace(directory: Path) -> delays.Delay:
    path = directory / "trace.csv"
    rows = max(len(c) for c in TRACE_COLUMNS)
    lines = [",".join(f"w{i}" for i in range(len(TRACE_COLUMNS)))]
    for j in range(rows):
        lines.append(",".join(repr(c[j]) if j < len(c) else "" for c in TRACE_COLUMNS))
    path.write_text("\n".join(lines) + "\n")
    return delays.Delay(delays.Trace.from_csv(path))


def _delays(directory: Path) -> dict:
    return {
        "shifted_exp": delays.Delay(delays.shifted_exponential(shift=0.2, rate=2.0)),
        "constant_ties": delays.Delay(delays.constant(1.0)),
        "pareto": delays.Delay(delays.pareto(scale=0.5, alpha=1.5)),
        "exp": delays.Delay(delays.exponential(1.0)),
        "gamma_random_speeds": delays.Delay(delays.gamma(2.0, 0.5), speeds="random"),
        "lognormal": delays.Delay(delays.lognormal(0.0, 0.5)),
        "weibull": delays.Delay(delays.weibull(1.5, 1.0)),
        "uniform": delays.Delay(delays.uniform(0.5, 1.5)),
        "sqrt_speeds": delays.Delay(delays.exponential(1.0), speeds="sqrt"),
        "given_speeds": delays.Delay(
            delays.exponential(1.0), speeds=(1.0, 1.0, 2.0, 3.0, 0.5)
        ),
        "stragglers": delays.Delay(
            delays.shifted_exponential(shift=0.2, rate=2.0),
            straggler_prob=0.2,
            straggler_factor=4.0,
        ),
        "markov": delays.Delay(
            delays.exponential(1.0),
            markov_slow=0.2,
            markov_recover=0.3,
            markov_factor=5.0,
        ),
        "communication": delays.Delay(
            delays.exponential(2.0),
            upload=delays.uniform(0.1, 0.2),
            download=delays.exponential(10.0),
        ),
        "cluster": delays.Delay(
            delays.exponential(1.0),
            upload=delays.uniform(0.1, 0.2),
            speeds="sqrt",
            straggler_prob=0.2,
            straggler_factor=4.0,
        ),
        "trace": _trace(directory),
    }


# name: (policy, delay, objective, extra Simulator arguments, run arguments)
CASES = {
    "sync/shifted_exp": (policies.sync(), "shifted_exp", LINREG, {}, {}),
    "k_sync/pareto": (policies.k_sync(3), "pareto", LINREG, {}, {}),
    "k_batch_sync/constant_ties": (
        policies.k_batch_sync(3),
        "constant_ties",
        LINREG,
        {},
        {},
    ),
    "k_async/sqrt_speeds": (policies.k_async(3), "sqrt_speeds", LINREG, {}, {}),
    "k_async_tau1/gamma_random_speeds": (
        policies.k_async(3, tau=1),
        "gamma_random_speeds",
        LINREG,
        {},
        {},
    ),
    "k_batch_async_tau1/stragglers": (
        policies.k_batch_async(3, tau=1),
        "stragglers",
        LINREG,
        {},
        {},
    ),
    "k_batch_async/markov": (policies.k_batch_async(2), "markov", LINREG, {}, {}),
    "async/communication": (policies.asynchronous(), "communication", LINREG, {}, {}),
    "async_tau2/trace": (policies.asynchronous(tau=2), "trace", LINREG, {}, {}),
    "abs/shifted_exp": (policies.abs_(k0=1, t0=0.3), "shifted_exp", LINREG, {}, {}),
    "abs_exact_local2/cluster": (
        policies.abs_(k0=2, t0=0.3, kappa=0.5, local_steps=2, loss_estimate="exact"),
        "cluster",
        LINREG,
        {},
        {},
    ),
    "abs_scaled_local3/markov": (
        policies.abs_(
            k0=1, t0=0.5, local_steps=3, local_duration="scaled", local_lr=0.1
        ),
        "markov",
        LINREG,
        {},
        {},
    ),
    "adasync_k_sync/exp": (policies.adasync(k0=1, t0=0.5), "exp", LINREG, {}, {}),
    "adasync_k_async/gamma_random_speeds": (
        policies.adasync(k0=1, t0=0.3, base="k_async"),
        "gamma_random_speeds",
        LINREG,
        {},
        {},
    ),
    "sa_adasync/lognormal": (
        policies.sa_adasync(k0=2, t0=0.3),
        "lognormal",
        LINREG,
        {},
        {},
    ),
    "local_sgd/weibull": (policies.local_sgd(3), "weibull", LINREG, {}, {}),
    "local_sgd_k_scaled/uniform": (
        policies.local_sgd(2, k=3, local_duration="scaled"),
        "uniform",
        LINREG,
        {},
        {},
    ),
    "ssp1/stragglers": (policies.ssp(1), "stragglers", LINREG, {}, {}),
    "ssp0/given_speeds": (policies.ssp(0), "given_speeds", LINREG, {}, {}),
    "rennala/exp": (policies.rennala(3), "exp", LINREG, {}, {}),
    "ringmaster/cluster": (policies.ringmaster(2), "cluster", LINREG, {}, {}),
    "ringmaster_stop/pareto": (
        policies.ringmaster(2, variant="stop"),
        "pareto",
        LINREG,
        {},
        {},
    ),
    "k_async_inverse_adam/shifted_exp": (
        policies.k_async(2, tau=3),
        "shifted_exp",
        LINREG,
        dict(
            weight=staleness.inverse(),
            normalization="weight-sum",
            optimizer=optax.scale_by_adam(),
        ),
        {},
    ),
    "k_async_grid/exp": (
        policies.k_async(2),
        "exp",
        LINREG,
        dict(k_max=4),
        dict(grid={"k": [1, 3], "lr": [0.05, 0.2]}),
    ),
    "k_async_timing/stragglers": (
        policies.k_async(2),
        "stragglers",
        "timing",
        {},
        {},
    ),
    "k_async_mlp/exp": (
        policies.k_async(2),
        "exp",
        "mlp:hidden=4,dim=4,classes=3,samples=64,test_samples=32,"
        "eval_samples=32,batch=4",
        {},
        {},
    ),
    "abs_quadratic_polynomial/exp": (
        policies.abs_(k0=1, t0=0.4),
        "exp",
        "quadratic:dim=3",
        dict(weight=staleness.polynomial(a=0.5)),
        {},
    ),
}


def environment() -> dict:
    """What bit-identical XLA:CPU numbers depend on."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = " ".join(sorted(line.split(":", 1)[1].split()))
                break
    except OSError:
        pass
    return {
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "machine": platform.machine(),
        "cpu_flags": hashlib.sha256(flags.encode()).hexdigest()[:16],
        "backend": jax.default_backend(),
    }


def _sha(array) -> str:
    array = np.ascontiguousarray(np.asarray(array))
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def run_case(name: str, directory: Path) -> dict:
    policy, delay, objective, extra, run_kw = CASES[name]
    sim = absjax.Simulator(
        N,
        policy,
        _delays(directory)[delay],
        objective,
        lr=0.1,
        rounds=ROUNDS,
        log_every=LOG_EVERY,
        **extra,
    )
    result = sim.run(seeds=SEEDS, seed=7, history=True, chunk=4, **run_kw)
    metrics = {k: _sha(v) for k, v in sorted(result.metrics.items())}
    metrics["diverged_round"] = _sha(result.diverged_round)
    sums = {
        k: float(np.nansum(np.asarray(v, np.float64)))
        for k, v in sorted(result.metrics.items())
    }
    history = sorted(_sha(leaf) for leaf in jax.tree.leaves(result.history))
    return {"metrics": metrics, "sums": sums, "history": history}


@pytest.fixture(scope="module")
def recorded():
    return json.loads(FIXTURE.read_text())


# One case per mechanic and part runs by default; the other cases with --runslow
# (the whole fixture takes about 4 minutes on 2 cores).
DEFAULT = {
    "sync/shifted_exp",
    "k_batch_sync/constant_ties",
    "k_async_tau1/gamma_random_speeds",
    "k_batch_async/markov",
    "abs_exact_local2/cluster",
    "ssp1/stragglers",
    "rennala/exp",
    "ringmaster_stop/pareto",
    "k_async_grid/exp",
    "k_async_timing/stragglers",
}


@pytest.mark.parametrize(
    "name",
    [n if n in DEFAULT else pytest.param(n, marks=pytest.mark.slow) for n in CASES],
)
def test_numbers_are_unchanged(name, recorded, tmp_path):
    want = recorded["cases"][name]
    got = run_case(name, tmp_path)
    if recorded["environment"] == environment():
        assert got["metrics"] == want["metrics"]
        assert got["history"] == want["history"]
    else:  # another processor or jax: the logic, not the last bits
        assert got["sums"].keys() == want["sums"].keys()
        for metric, value in want["sums"].items():
            assert got["sums"][metric] == pytest.approx(value, rel=1e-5), metric


def test_every_case_is_recorded(recorded):
    assert sorted(recorded["cases"]) == sorted(CASES)


def _update() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cases = {name: run_case(name, Path(tmp)) for name in CASES}
    FIXTURE.write_text(
        json.dumps({"environment": environment(), "cases": cases}, indent=1) + "\n"
    )
    print(f"wrote {FIXTURE} ({len(cases)} cases)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_digests.py --update")
    _update()
