"""absjax's prediction of a recorded parameter-server run, against the record.

For each recorded run (a folder written by :mod:`validation.server`), absjax
simulates the same objective, policy, N, K and learning rate, with the job
durations of the record as a trace (``trace:path=durations.csv``), replayed
in order from each worker's first job (``mode=replay,start=0``; ``REPLAY =
False`` resamples them per job instead). The comparison: staleness quantiles, the
update rate and the loss per update and over time, written as
``agreement.json`` and one figure of predicted and measured loss curves.

Run: ``python -m validation.compare validation/out/async validation/out/sync``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

REPLAY = True  # replay each worker's durations in order, from its first (start=0)
QUANTILES = (0.5, 0.75, 0.9)


def delay_spec(folder: Path, replay: bool = REPLAY) -> str:
    """The delay SPEC of a record's durations."""
    spec = f"trace:path={folder / 'durations.csv'},format=wide"
    return spec + (",mode=replay,start=0" if replay else "")


def policy_of(setup: dict):
    from absjax import policies

    if setup["mode"] == "async":
        return policies.asynchronous()
    if setup["mode"] == "sync":
        return policies.sync()
    return policies.k_async(setup["k"])


def predict(folder: Path, seeds: int = 16, replay: bool = REPLAY) -> dict:
    """absjax's runs of a record's configuration: staleness, clock, loss."""
    import absjax

    setup = json.loads((folder / "run.json").read_text())
    sim = absjax.Simulator(
        setup["workers"],
        policy_of(setup),
        delay_spec(folder, replay),
        setup["objective"],
        lr=setup["lr"],
        rounds=setup["rounds"],
        log_every=1,
    )
    result = sim.run(seeds=seeds, seed=setup["seed"], history=True)
    infos, _ = result.history
    s = np.asarray(infos.arrival_staleness)
    return {
        "staleness": s[s >= 0],
        "clock": np.asarray(result.metrics["wall_clock"]),  # (seeds, rounds)
        "loss": np.asarray(result.loss),
    }


def measured(folder: Path) -> dict:
    """The record: staleness of every aggregated job, clock and loss."""
    jobs = pd.read_csv(folder / "jobs.csv")
    updates = pd.read_csv(folder / "updates.csv")
    return {
        "staleness": jobs["staleness"].to_numpy(),
        "clock": updates["end"].to_numpy(),
        "loss": updates["loss"].to_numpy(),
        "service": updates["service"].to_numpy(),
    }


def agreement(real: dict, sim: dict) -> dict:
    """The numbers compared: quantiles, update rates, loss gaps."""
    rate_real = len(real["clock"]) / real["clock"][-1]
    rate_sim = float(np.mean(sim["clock"].shape[1] / sim["clock"][:, -1]))
    mean_loss = sim["loss"].mean(axis=0)
    low, high = np.quantile(sim["loss"], [0.05, 0.95], axis=0)
    gap = np.abs(mean_loss - real["loss"]) / real["loss"]
    return {
        "staleness_quantiles": {
            f"q{round(100 * q)}": {
                "measured": float(np.quantile(real["staleness"], q)),
                "predicted": float(np.quantile(sim["staleness"], q)),
            }
            for q in QUANTILES
        },
        "staleness_mean": {
            "measured": float(real["staleness"].mean()),
            "predicted": float(sim["staleness"].mean()),
        },
        "updates_per_s": {"measured": rate_real, "predicted": rate_sim},
        "server_time_mean_s": float(real["service"].mean()),
        "loss_relative_gap_by_update": {
            "median": float(np.median(gap)),
            "max": float(gap.max()),
            "final": float(gap[-1]),
        },
        "measured_inside_5_95_band": float(
            np.mean((real["loss"] >= low) & (real["loss"] <= high))
        ),
    }


def figure(runs: dict, path: Path, f_star: float) -> None:
    """Predicted (mean and 5-95% band over seeds) and measured excess loss
    ``F(w) - F*`` over the first quarter of the run's time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4))
    for ax, (name, (real, sim)) in zip(np.atleast_1d(axes), runs.items(), strict=True):
        clock = sim["clock"].mean(axis=0)
        excess = sim["loss"] - f_star
        low, high = np.quantile(excess, [0.05, 0.95], axis=0)
        ax.fill_between(clock, low, high, alpha=0.3, label="absjax 5-95%")
        ax.plot(clock, excess.mean(axis=0), label="absjax mean")
        ax.plot(real["clock"], real["loss"] - f_star, "k--", label="measured")
        ax.set(title=name, xlabel="wall clock (s)", ylabel="loss - F*", yscale="log")
        ax.set_xlim(0, real["clock"][-1] / 4)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compare(folders, out: Path, seeds: int = 16, replay: bool = REPLAY) -> dict:
    """Compares each record with absjax; writes the JSON and the figure."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs, numbers = {}, {}
    for folder in map(Path, folders):
        setup = json.loads((folder / "run.json").read_text())
        name = setup["mode"] + (
            f" K={setup['k']}" if setup["mode"] == "k_async" else ""
        )
        real, sim = measured(folder), predict(folder, seeds, replay)
        runs[name] = (real, sim)
        numbers[name] = {"setup": setup, **agreement(real, sim)}
    numbers["trace_mode"] = "replay" if replay else "resample"
    (out / "agreement.json").write_text(json.dumps(numbers, indent=1) + "\n")
    from absjax import objectives

    f_star = float(objectives.parse_objective(setup["objective"]).data["f_star"])
    figure(runs, out / "predicted_vs_measured.png", f_star)
    return numbers


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--out", default="validation/out")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument(
        "--resample", dest="replay", action="store_false", default=REPLAY
    )
    args = parser.parse_args(argv)
    print(
        json.dumps(compare(args.folders, args.out, args.seeds, args.replay), indent=1)
    )


if __name__ == "__main__":
    main()
