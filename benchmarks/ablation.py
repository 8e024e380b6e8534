"""Where the time of the standard workload goes: ablations of the job update.

Runs the standard workload (see ``standard.py``) at 1024 seeds on the devices
present, three ways: the real linear-regression job (minibatch sampling and
gradient), sampling without the gradient, and neither (an update that costs
nothing). The differences are the cost of the gradient and of the sampling;
what remains is the engine (arrival order, staleness, aggregation, restarts,
clock, logging). Throughput in simulated seed-rounds per second, median of 3.

    python benchmarks/ablation.py [--seeds 1024] [--rounds 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time

import jax
import jax.numpy as jnp

import absjax
from absjax import objectives, policies


@dataclasses.dataclass(frozen=True, eq=False)
class SampleOnly(objectives.LinearRegression):
    """Draws the minibatch but replaces the gradient by a trivial update."""

    def gradient(self, data, w, batch):
        return 0.5 * w + 1e-9 * batch.sum()


@dataclasses.dataclass(frozen=True, eq=False)
class Free(objectives.LinearRegression):
    """Neither sampling nor gradient: the engine alone."""

    def sample(self, key, data, worker=0):
        return jnp.zeros((self.batch,), jnp.int32)

    def gradient(self, data, w, batch):
        return 0.5 * w


def rate(objective, seeds: int, rounds: int) -> float:
    sim = absjax.Simulator(
        16,
        policies.k_async(4, tau=3),
        "shifted_exp:shift=0.5,rate=2",
        objective,
        lr=0.05,
        rounds=rounds,
        log_every=10,
    )
    sim.run(seeds=seeds)  # compile
    times = []
    for seed in (1, 2, 3):
        start = time.perf_counter()
        sim.run(seeds=seeds, seed=seed)
        times.append(time.perf_counter() - start)
    return seeds * rounds / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, devices {jax.devices()}")
    kw = dict(dim=100, samples=4096, batch=32)
    rows = [
        ("linreg job (sample + gradient)", objectives.linreg(**kw)),
        ("sampling only", SampleOnly(**kw)),
        ("engine only", Free(**kw)),
    ]
    rates = {name: rate(obj, args.seeds, args.rounds) for name, obj in rows}
    for name, value in rates.items():
        print(
            f"{name:32s} {value:12,.0f} seed-rounds/s  {1e6 / value:6.2f} us/seed-round"
        )


if __name__ == "__main__":
    main()
