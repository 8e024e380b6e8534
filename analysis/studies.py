"""Parameter studies, each one command, on the public absjax API.

``python analysis/studies.py k_tau --out results/studies``
    Time-to-target of K-async over a grid of K and staleness bounds tau (one
    compiled program per study), as a heatmap and a table.
``python analysis/studies.py best_k --out results/studies``
    The best fixed K of K-sync (least mean time-to-target) against the number of
    workers N and the delay tail (exponential, shifted exponential, Pareto),
    next to the K that minimises the error-runtime bound of Dutta et al. (2018,
    arXiv 1803.01113) at the same time budget (``absjax.theory.best_fixed_k``).

The workload is the noisy quadratic ``F(w) = 0.5 sum_j h_j w_j^2`` (dim 10,
h from 0.1 to 1, gradient noise 1, ``w_0 = 1``, ``F(w_0) = 2.75``) with
learning rate 0.1 and target loss 0.1: small K gives short rounds but a high
noise floor (about ``dim * lr * noise^2 / (4 K)``), large K the opposite.
``--profile tiny`` is the size the test suite runs.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import absjax
from absjax import policies, theory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, markdown_table, save_figure, save_text  # noqa: E402

OBJECTIVE = "quadratic:dim=10,noise=1.0,hmin=0.1,hmax=1.0"
LR, TARGET = 0.1, 0.1
DELAYS = {
    "exponential": "exp:rate=1",
    "shifted exponential": "shifted_exp:shift=0.5,rate=2",
    "Pareto (alpha=2.5)": "pareto:scale=1,alpha=2.5",
}
PROFILES = {
    "tiny": dict(
        n=8,
        ks=(1, 2, 8),
        taus=(0, 2, None),
        seeds=8,
        rounds=200,
        ns=(4, 8),
        delays=("exponential",),
    ),
    "quick": dict(
        n=16,
        ks=(1, 2, 4, 8, 16),
        taus=(0, 1, 2, 4, 8, None),
        seeds=32,
        rounds=1500,
        ns=(4, 8, 16, 32),
        delays=tuple(DELAYS),
    ),
}


def _time_to_target(result) -> pd.DataFrame:
    """Per grid point: share of finite runs reaching the target, median and mean
    time (``inf`` if any finite run never reached it), diverged seeds apart."""
    t = result.time_to_target(TARGET)  # nan: diverged, inf: never reached
    t = t.reshape(-1, t.shape[-1])
    finite_runs = ~np.isnan(t)
    with warnings.catch_warnings():  # all seeds of a cell diverged: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return pd.DataFrame(
            {
                "reached": np.isfinite(t).sum(-1) / np.maximum(finite_runs.sum(-1), 1),
                "median_time": np.nanmedian(np.where(finite_runs, t, np.nan), -1),
                "mean_time": np.nanmean(np.where(finite_runs, t, np.nan), -1),
                "diverged": (~finite_runs).sum(-1),
            }
        )


def k_tau(profile: dict, seed: int, out: Path) -> str:
    n = profile["n"]
    taus = [policies.UNBOUNDED if tau is None else tau for tau in profile["taus"]]
    sim = absjax.Simulator(
        n,
        policies.k_async(1, tau=0),
        DELAYS["shifted exponential"],
        OBJECTIVE,
        lr=LR,
        rounds=profile["rounds"],
        log_every=5,
        k_max=n,
    )
    result = sim.run(
        seeds=profile["seeds"], seed=seed, grid={"k": list(profile["ks"]), "tau": taus}
    )
    k, tau = np.meshgrid(profile["ks"], profile["taus"], indexing="ij")
    frame = _time_to_target(result)
    frame.insert(0, "tau", ["none" if t is None else t for t in tau.reshape(-1)])
    frame.insert(0, "K", k.reshape(-1))
    sns.set_theme(style="white", context="paper", font_scale=1.1)
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    table = frame.pivot(index="K", columns="tau", values="median_time")
    table = table[[("none" if t is None else t) for t in profile["taus"]]]
    sns.heatmap(
        table.replace(np.inf, np.nan),
        annot=True,
        fmt=".3g",
        cmap="viridis_r",
        cbar_kws={"label": "median time to target"},
        ax=ax,
    )
    ax.set_xlabel("staleness bound tau")
    ax.set_ylabel("K (updates per round)")
    ax.set_title(
        f"K-async, N={n}: median wall-clock time to loss {TARGET} (blank: not reached)",
        fontsize=9,
    )
    save_figure(fig, out / "k_tau_heatmap.png")
    save_text(out / "k_tau.csv", frame.to_csv(index=False))
    best = frame[np.isfinite(frame["median_time"])].nsmallest(1, "median_time")
    lines = [
        f"## Time to target over (K, tau): K-async, N={n}",
        "",
        f"{profile['seeds']} seeds per cell, shifted-exponential delays; best "
        f"cell: {markdown_table(best)}",
        "",
        "![heatmap](k_tau_heatmap.png)",
        "",
        markdown_table(frame),
        "",
    ]
    return "\n".join(lines)


def best_k(profile: dict, seed: int, out: Path) -> str:
    rows = []
    for name in profile["delays"]:
        delay = DELAYS[name]
        for n in profile["ns"]:
            ks = list(range(1, n + 1)) if n <= 16 else [1, 2, 4, 8, 12, 16, 24, 32]
            sim = absjax.Simulator(
                n,
                policies.k_sync(1),
                delay,
                OBJECTIVE,
                lr=LR,
                rounds=profile["rounds"],
                log_every=5,
                k_max=n,
            )
            result = sim.run(seeds=profile["seeds"], seed=seed, grid={"k": ks})
            frame = _time_to_target(result)
            frame["k"] = ks
            reached = frame[frame["reached"] == 1.0]
            if reached.empty:
                continue
            best = reached.loc[reached["mean_time"].idxmin()]
            bound_k = theory.best_fixed_k(
                delay,
                n,
                float(best["mean_time"]),
                eta=LR,
                L=1.0,
                c=0.1,
                sigma2=10.0,
                b=1,
                f0_gap=2.75,
            )
            rows.append(
                {
                    "delay": name,
                    "N": n,
                    "best K (simulation)": int(best["k"]),
                    "mean time": best["mean_time"],
                    "best K (bound)": bound_k,
                }
            )
    frame = pd.DataFrame(rows)
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    sns.lineplot(
        data=frame, x="N", y="best K (simulation)", hue="delay", marker="o", ax=ax
    )
    sns.lineplot(
        data=frame,
        x="N",
        y="best K (bound)",
        hue="delay",
        marker="x",
        linestyle="--",
        ax=ax,
        legend=False,
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(
        sorted(frame["N"].unique()), labels=map(str, sorted(frame["N"].unique()))
    )
    ax.minorticks_off()
    ax.set_xlabel("workers N")
    ax.set_ylabel("best fixed K")
    ax.set_title(
        f"K-sync: K with least mean time to loss {TARGET} (solid) and the "
        "bound's choice (dashed)",
        fontsize=9,
    )
    save_figure(fig, out / "best_k.png")
    save_text(out / "best_k.csv", frame.to_csv(index=False))
    return "\n".join(
        [
            f"## Best fixed K vs N and delay tail (K-sync, target {TARGET})",
            "",
            f"{profile['seeds']} seeds per (N, K, delay).",
            "",
            "![best K](best_k.png)",
            "",
            markdown_table(frame),
            "",
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=("k_tau", "best_k"))
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--out", default="results/studies")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start, out = time.perf_counter(), Path(args.out)
    study = {"k_tau": k_tau, "best_k": best_k}[args.study]
    text = study(PROFILES[args.profile], args.seed, out)
    text += f"\n_Profile `{args.profile}`, seed {args.seed}; {machine_line(start)}._\n"
    save_text(out / f"{args.study}.md", text)
    print(f"wrote {out / (args.study + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
