"""Validation report: closed-form theory against simulation, over a grid.

One command::

    python analysis/validation_report.py --profile quick --out results/validation

For every policy family with a round-time formula (k_sync, k_async, and
k_batch_async), number of workers N and delay law, it sweeps K = 1..N in one
compiled program, compares the mean round time per seed with
``absjax.theory.expected_round_time`` (z-tests with ``absjax.compare``), then
checks the staleness law of K-async with exponential delays (mean, its
truncation by a bound tau, the jobs wasted by the bound, and the full pmf).
It writes ``report.md``, ``round_time.csv``, ``staleness.csv``,
``round_time_vs_k.png`` and ``staleness_pmf.png`` into ``--out``.

Where theory is exact the verdict is ``agrees`` / ``disagrees`` (``|z| < 4``).
K-async with non-exponential delays has no closed form: E[X_(K:N)] is then an
upper bound for new-longer-than-used laws (Dutta et al. 2018, arXiv
1803.01113), reported as ``bound holds`` / ``bound violated``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

import absjax
from absjax import compare, policies, theory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, markdown_table, save_figure, save_text  # noqa: E402

PROFILES = {
    "tiny": dict(
        ns=(4,),
        delays=("exp:rate=1", "pareto:scale=1,alpha=2.5"),
        seeds=16,
        rounds=100,
        pmf_rounds=200,
    ),
    "quick": dict(
        ns=(8, 16),
        delays=(
            "exp:rate=1",
            "shifted_exp:shift=0.5,rate=2",
            "pareto:scale=1,alpha=2.5",
        ),
        seeds=64,
        rounds=500,
        pmf_rounds=600,
    ),
}
FAMILIES = ("k_sync", "k_async", "k_batch_async")
OBJECTIVE = "quadratic:dim=1,noise=0.1"  # round timing does not depend on it


def k_values(n: int) -> list[int]:
    return sorted({1, 2, max(1, n // 4), n // 2, (3 * n) // 4, n} - {0})


def round_time_rows(profile: dict, seed: int) -> pd.DataFrame:
    frames = []
    for family in FAMILIES:
        for n in profile["ns"]:
            ks = k_values(n)
            for delay in profile["delays"]:
                sim = absjax.Simulator(
                    n,
                    policies.make(family, 1),
                    delay,
                    OBJECTIVE,
                    rounds=profile["rounds"],
                    log_every=profile["rounds"] // 5,
                    k_max=n,
                )
                result = sim.run(seeds=profile["seeds"], seed=seed, grid={"k": ks})
                skip = 1 if family == "k_batch_async" else 0  # renewal transient
                values = [theory.expected_round_time(family, delay, n, k) for k in ks]
                frame = compare.compare(
                    values, result, lambda r, s=skip: _round_time(r, s)
                )
                exact = [theory.round_time_is_exact(family, delay, k) for k in ks]
                frame["exact"] = exact
                frame.loc[~frame["exact"], "verdict"] = np.where(
                    frame.loc[~frame["exact"], "z"] < 4, "bound holds", "bound violated"
                )
                frame.insert(0, "delay", delay)
                frame.insert(0, "N", n)
                frame.insert(0, "policy", family)
                frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _round_time(result, skip_rows: int) -> np.ndarray:
    """Mean round length per seed after the first ``skip_rows`` logged rows."""
    wall, rounds = result.wall_clock, result.round
    if not skip_rows:
        return wall[..., -1] / rounds[..., -1]
    return (wall[..., -1] - wall[..., skip_rows - 1]) / (
        rounds[..., -1] - rounds[..., skip_rows - 1]
    )


def staleness_rows(profile: dict, seed: int):
    n = profile["ns"][0]
    frames, pmfs = [], []
    for k in sorted({1, max(1, n // 4), n // 2}):
        for tau in (None, 2):
            sim = absjax.Simulator(
                n,
                policies.k_async(k, tau),
                "exp:rate=1",
                OBJECTIVE,
                rounds=profile["pmf_rounds"],
                log_every=1,
            )
            result = sim.run(seeds=profile["seeds"], seed=seed, history=True)
            for quantity, value in (
                ("staleness_mean", theory.staleness_mean(n, k, tau)),
                ("wasted_per_round", theory.wasted_per_round(n, k, tau)),
            ):
                frame = compare.compare(
                    value, result, lambda r, q=quantity: _steady(r, q)
                )
                frame["quantity"] = quantity
                frame.insert(0, "tau", "none" if tau is None else tau)
                frame.insert(0, "K", k)
                frames.append(frame)
            s = result.history[0].arrival_staleness[:, 50:].reshape(-1)
            s = s[s >= 0]
            support = np.arange(min(int(s.max()) + 1, 16))
            simulated = np.bincount(s, minlength=support.size)[: support.size] / s.size
            pmf = theory.staleness_pmf(n, k, tau, max_staleness=support[-1])
            pmfs.append(
                pd.DataFrame(
                    {
                        "staleness": support,
                        "simulation": simulated,
                        "theory": pmf[: support.size],
                        "case": f"K={k}, tau={'none' if tau is None else tau}",
                    }
                )
            )
    return pd.concat(frames, ignore_index=True), pd.concat(pmfs, ignore_index=True), n


def _steady(result, quantity: str, burn_in: int = 50) -> np.ndarray:
    """Per-seed staleness mean or wasted jobs per round after a burn-in."""
    rows = slice(burn_in, None)
    aggregated = result.jobs_aggregated[..., rows]
    if quantity == "staleness_mean":
        return (result.staleness_mean[..., rows] * aggregated).sum(-1) / aggregated.sum(
            -1
        )
    return result.jobs_wasted[..., rows].mean(-1)


def round_time_figure(frame: pd.DataFrame):
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    delays = frame["delay"].unique()
    fig, axes = plt.subplots(
        len(delays),
        len(FAMILIES),
        squeeze=False,
        figsize=(3.4 * len(FAMILIES), 2.6 * len(delays)),
        constrained_layout=True,
    )
    colors = dict(
        zip(frame["N"].unique(), sns.color_palette("colorblind"), strict=False)
    )
    for i, delay in enumerate(delays):
        for j, family in enumerate(FAMILIES):
            ax = axes[i, j]
            for n, group in frame[
                (frame["delay"] == delay) & (frame["policy"] == family)
            ].groupby("N"):
                compare.plot_comparison(ax, group, "k", label=f"N={n}", color=colors[n])
            law = delay.replace(":", " (").replace(",", ", ") + ")"
            ax.set_title(f"{family}, {law}", fontsize=8)
            ax.set_xlabel("K (updates per round)")
            ax.set_ylabel("mean round time")
    axes[0, 0].legend(fontsize=7, frameon=False)
    fig.suptitle(
        "Round time vs K: theory (lines; for K-async with non-exponential "
        "delays an upper bound) and simulation (95% CI)",
        fontsize=10,
    )
    return fig


def pmf_figure(frame: pd.DataFrame, n: int):
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    cases = frame["case"].unique()
    cols = min(3, len(cases))
    rows = -(-len(cases) // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        squeeze=False,
        figsize=(3.4 * cols, 2.6 * rows),
        constrained_layout=True,
    )
    for ax, case in zip(axes.flat, cases, strict=False):
        group = frame[frame["case"] == case]
        ax.bar(
            group["staleness"], group["simulation"], color="#9ecae1", label="simulation"
        )
        ax.plot(
            group["staleness"],
            group["theory"],
            "o-",
            color="#d95f02",
            markersize=3,
            label="theory",
        )
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("staleness s")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("P(s)")
    for ax in list(axes.flat)[len(cases) :]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Staleness law of K-async, N={n}, exponential delays")
    return fig


def loss_recursion(profile: dict, seed: int):
    """Sync SGD on the noisy quadratic against its exact expected-loss recursion."""
    n, dim, noise, lr = 4, 10, 1.0, 0.2
    objective = absjax.objectives.quadratic(dim=dim, noise=noise, hmin=0.1, hmax=1.0)
    rounds = profile["rounds"]
    sim = absjax.Simulator(
        n,
        policies.sync(),
        "exp:rate=1",
        objective,
        lr=lr,
        rounds=rounds,
        log_every=rounds // 50,
    )
    result = sim.run(seeds=profile["seeds"] * 4, seed=seed)
    h = np.asarray(objective.data["h"], np.float64)
    expected = theory.noisy_quadratic_expected_loss(h, 1.0, lr, noise, n, rounds)
    logged = result.round[0]
    rows = []  # compare() takes one value per grid point: one call per round
    for i in (0, len(logged) // 4, len(logged) - 1):
        row = compare.compare(
            expected[logged[i]], result, lambda r, i=i: r.loss[..., i]
        )
        row.insert(0, "round", logged[i])
        rows.append(row)
    fig, ax = plt.subplots(figsize=(5.5, 3.5), constrained_layout=True)
    compare.plot_theory_curve(
        ax,
        result,
        np.arange(rounds + 1),
        expected,
        label=f"sync SGD, N={n} ({result.loss.shape[0]} seeds)",
    )
    ax.set_title("Noisy quadratic: exact expected loss vs simulation", fontsize=9)
    return pd.concat(rows, ignore_index=True), fig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--out", default="results/validation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    profile, out = PROFILES[args.profile], Path(args.out)
    rounds = round_time_rows(profile, args.seed)
    stale, pmf, n = staleness_rows(profile, args.seed)
    recursion, recursion_fig = loss_recursion(profile, args.seed)
    save_figure(recursion_fig, out / "loss_recursion.png")
    save_figure(round_time_figure(rounds), out / "round_time_vs_k.png")
    save_figure(pmf_figure(pmf, n), out / "staleness_pmf.png")
    save_text(out / "round_time.csv", rounds.to_csv(index=False))
    save_text(out / "staleness.csv", stale.to_csv(index=False))
    exact = rounds[rounds["exact"]]
    lines = [
        "# Theory vs simulation: validation report",
        "",
        f"Profile `{args.profile}`, seed {args.seed}, {profile['seeds']} seeds per "
        f"point, {profile['rounds']} rounds. Verdict: `agrees` when "
        "|z| = |mean - theory| / SE < 4.",
        "",
        "## Round time vs K",
        "",
        f"Exact formulas: {int((exact['verdict'] == 'agrees').sum())} of {len(exact)}"
        " points agree. Bounds (K-async, non-exponential delays): "
        f"{int((rounds['verdict'] == 'bound holds').sum())} of "
        f"{int((~rounds['exact']).sum())} hold.",
        "",
        "![round time vs K](round_time_vs_k.png)",
        "",
        markdown_table(
            rounds[
                [
                    "policy",
                    "N",
                    "delay",
                    "k",
                    "theory",
                    "mean",
                    "std_error",
                    "z",
                    "rel_error",
                    "verdict",
                ]
            ]
        ),
        "",
        "## Staleness of K-async (exponential delays)",
        "",
        f"{int((stale['verdict'] == 'agrees').sum())} of {len(stale)} agree "
        "(mean staleness and jobs wasted per round by the bound, after 50 rounds).",
        "",
        "![staleness pmf](staleness_pmf.png)",
        "",
        markdown_table(
            stale[
                ["K", "tau", "quantity", "theory", "mean", "std_error", "z", "verdict"]
            ]
        ),
        "",
        "## Noisy quadratic: exact expected loss of synchronous SGD",
        "",
        f"{int((recursion['verdict'] == 'agrees').sum())} of {len(recursion)} "
        "logged rounds agree.",
        "",
        "![loss recursion](loss_recursion.png)",
        "",
        markdown_table(
            recursion[["round", "theory", "mean", "std_error", "z", "verdict"]]
        ),
        "",
        f"_{machine_line(start)}._",
        "",
    ]
    save_text(out / "report.md", "\n".join(lines))
    print(f"wrote {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
