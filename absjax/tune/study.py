"""Tuning several methods fairly on one cluster, and the chosen ones compared.

:func:`tune` searches each method's space with one algorithm and the same
budget of simulated seed-rounds, on *tuning seeds* (global seed indices from
:data:`TUNE_OFFSET`), then runs each chosen configuration on fresh
*evaluation seeds* (indices ``0 .. eval_seeds - 1``, shared by every method)
and gives the median of the objective and of the time to the target with
percentile-bootstrap intervals. A choice on a range's edge is warned about
(``UserWarning``) and flagged in the table.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from absjax import delays as delays_lib
from absjax import policies as policies_lib
from absjax._validate import check_int
from absjax.engine import Simulator
from absjax.tune import scores, search
from absjax.tune.space import Choice, Space, check_space

TUNE_OFFSET = 1_000_000  # first global seed index of the tuning seeds


@dataclasses.dataclass
class Method:
    """A policy SPEC (``absjax list policies``) and the ranges of its numbers.

    Parameters
    ----------
    policy : str
        The policy's SPEC.
    spaces : list of ~absjax.tune.Range or ~absjax.tune.Choice
        The ranges of its numbers.
    label : str, optional
        The method's name in the results (default: ``policy``).
    """

    policy: str
    spaces: list[Space]
    label: str | None = None

    @property
    def name(self) -> str:
        """The method's name in the results (``label``, else ``policy``)."""
        return self.label or self.policy


@dataclasses.dataclass
class Tuned:
    """Every trial, the best configuration per method and the comparison.

    What :func:`~absjax.tune.tune` returns.

    Attributes
    ----------
    trials : pandas.DataFrame
        One row per trial: ``method``, ``algorithm``, ``index``, ``score``,
        ``seeds``, ``rounds``, ``cost``, ``spent`` (seed-rounds so far) and the
        configuration's numbers.
    best : dict
        Method name -> its ``policy``, chosen ``config`` and ``tune_score``.
    table : pandas.DataFrame
        One row per method: the chosen configuration's median objective on
        the evaluation seeds with its percentile-bootstrap interval, and the
        ranges whose edge it lies on (``on_edge``).
    evaluation : dict
        Method name -> ``(eval_seeds,)`` per-seed objective on the evaluation
        seeds.
    objective : str
        The objective (``score``): one of ``OBJECTIVES``.
    target : float or None
        The loss to reach.
    """

    trials: pd.DataFrame
    best: dict[str, dict[str, Any]]
    table: pd.DataFrame
    evaluation: dict[str, np.ndarray]  # method -> per-seed objective, fresh seeds
    objective: str
    target: float | None

    def save(self, out: str | Path) -> Path:
        """Writes the results and their figures to a folder.

        The files are ``trials.parquet``, ``best.json``, ``table.csv``,
        ``table.md`` and the figures (``absjax.tune.figures``).

        Parameters
        ----------
        out : str or pathlib.Path
            The folder (made if missing).

        Returns
        -------
        pathlib.Path
            ``out``.
        """
        from absjax.tune import figures

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.trials.to_parquet(out / "trials.parquet", index=False)
        (out / "best.json").write_text(json.dumps(self.best, indent=2) + "\n")
        self.table.to_csv(out / "table.csv", index=False)
        (out / "table.md").write_text(_markdown(self.table) + "\n")
        figures.save_all(self, out)
        return out


class _Runner:
    """One method's simulators (one per horizon) and its ``evaluate``."""

    def __init__(self, method: Method, common: dict[str, Any]):
        n = common["num_workers"]
        self.policy = policies_lib.parse_policy(method.policy, n, common["delay"])
        ks = [v for s in method.spaces if s.name == "k" for v in s.edges]
        self.k_max = int(max([*ks, self.policy.resolve_k(n)])) if ks else None
        if self.k_max is not None and self.k_max > n:
            raise ValueError(f"range k={ks} must be in [1, num_workers={n}]")
        self.common = common
        self.method = method
        self.sims: dict[int, Simulator] = {}
        check_space(self.sim(common["rounds"]), method.spaces)

    def sim(self, rounds: int) -> Simulator:
        if rounds not in self.sims:
            c = self.common
            self.sims[rounds] = Simulator(
                c["num_workers"],
                self.policy,
                c["delay"],
                c["objective"],
                lr=c["lr"],
                rounds=rounds,
                log_every=c["log_every"],
                k_max=self.k_max,
            )
        return self.sims[rounds]

    def run(self, configs, seeds, rounds, offset):
        return self.sim(rounds).run(
            seeds=seeds, seed=self.common["seed"], points=configs, seed_offset=offset
        )

    def evaluate(self, configs, seeds, rounds) -> np.ndarray:
        result = self.run(configs, seeds, rounds, TUNE_OFFSET)
        return scores.per_seed(result, self.common["score"], self.common["target"])


def tune(
    methods: list[Method],
    num_workers: int,
    delay: Any,
    objective: Any,
    budget: int,
    *,
    score: str = "time",
    target: float | None = None,
    algorithm: str = "halving",
    rounds: int = 200,
    log_every: int = 10,
    lr: float = 0.1,
    seeds: int = 2,
    eta: int = 3,
    rungs: int = 3,
    batch: int = 8,
    eval_seeds: int = 16,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
) -> Tuned:
    """Tunes each method with ``algorithm`` on the same budget and compares.

    Parameters
    ----------
    methods : list of Method
        The policies and the ranges of their numbers.
    num_workers : int
        N.
    delay : ~absjax.Delay or str
        The cluster's delay model (a SPEC or an object).
    objective : ~absjax.objectives.Objective or str
        The workload (a SPEC or an object).
    budget : int
        Simulated seed-rounds each method may spend on tuning.
    score : str
        ``"time"`` (median time to ``target``), ``"final"`` or ``"auc"``
        (``absjax.tune.scores``).
    target : float, optional
        The loss to reach (needed by ``"time"``; the table's time to target).
    algorithm : str
        ``"halving"``, ``"hyperband"`` or an Optuna sampler ``"tpe"``,
        ``"cmaes"``, ``"qmc"`` (``absjax.tune.search``).
    rounds, log_every, lr : int, int, float
        The full horizon, the logging period and the default learning rate.
    seeds : int
        Seeds of the first rung (halving) or of every trial (Optuna).
    eta, rungs : int
        Successive halving's reduction factor and number of rungs.
    batch : int
        Optuna trials asked and run as one program.
    eval_seeds : int
        Fresh seeds on which each choice is re-evaluated.
    seed : int
        The base seed of the simulations, the sampling and the bootstrap.
    storage, study_name : str, optional
        An Optuna RDB URL (``sqlite:///study.db``) and the study's name (one
        study per method: ``<study_name>-<method>``), for several processes.

    Returns
    -------
    Tuned
        The trials, the best configurations and the comparison table.

    Raises
    ------
    ValueError
        Bad input (an empty range, a range outside a number's allowed values,
        a budget too small for one rung, an unknown objective or algorithm),
        before anything compiles.
    """
    scores.check_objective(score, target)
    if algorithm not in search.ALGORITHMS:
        raise ValueError(
            f"algorithm={algorithm!r} must be one of: {', '.join(search.ALGORITHMS)}"
        )
    for name, value in (("budget", budget), ("seeds", seeds), ("eta", eta)):
        check_int(name, value, low=2 if name == "eta" else 1)
    check_int("rungs", rungs)
    check_int("batch", batch)
    check_int("eval_seeds", eval_seeds)
    if not methods:
        raise ValueError("methods must name at least one method")
    common = dict(
        num_workers=num_workers,
        delay=delays_lib.as_delay(delay),
        objective=objective,
        lr=lr,
        rounds=rounds,
        log_every=log_every,
        seed=seed,
        score=score,
        target=target,
    )
    runners = [_Runner(m, common) for m in methods]  # validates every range
    if algorithm in ("halving", "hyperband"):
        search.schedule(budget, rounds, log_every, seeds, eta, rungs)
    elif budget < seeds * rounds:
        raise ValueError(
            f"budget={budget} seed-rounds is too small for one trial of "
            f"{seeds} seeds x {rounds} rounds"
        )
    rows, best, table, evaluation = [], {}, [], {}
    for runner in runners:
        method = runner.method
        rng = np.random.default_rng(seed)
        if algorithm == "halving":
            plan = search.schedule(budget, rounds, log_every, seeds, eta, rungs)
            trials = search.halving(runner.evaluate, method.spaces, plan, rng)
        elif algorithm == "hyperband":
            trials = search.hyperband(
                runner.evaluate,
                method.spaces,
                budget,
                rounds,
                log_every,
                seeds,
                eta,
                rungs,
                rng,
            )
        else:
            name = f"{study_name}-{method.name}" if study_name else None
            trials, _ = search.optuna_search(
                runner.evaluate,
                method.spaces,
                budget,
                rounds,
                seeds,
                algorithm,
                batch,
                seed,
                storage,
                name,
            )
        chosen = search.best(trials)
        spent = np.cumsum([t["cost"] for t in trials])
        for i, t in enumerate(trials):
            rows.append(
                {
                    "method": method.name,
                    "algorithm": algorithm,
                    "index": i,
                    **{k: v for k, v in t.items() if k != "config"},
                    "spent": int(spent[i]),
                    **t["config"],
                }
            )
        edges = [
            s.name
            for s in method.spaces
            if not (isinstance(s, Choice) and len(s.values) < 3)
            and s.on_edge(chosen["config"][s.name])
        ]
        for name in edges:
            warnings.warn(
                f"{method.name}: the chosen {name}={chosen['config'][name]} lies "
                "on its range's edge: widen the range",
                UserWarning,
                stacklevel=2,
            )
        result = runner.run([chosen["config"]], eval_seeds, rounds, 0)
        values = scores.per_seed(result, score, target)[0]
        evaluation[method.name] = values
        med, low, high = scores.bootstrap(values, seed=seed)
        row = {
            "method": method.name,
            "algorithm": algorithm,
            "budget": int(spent[-1]),
            "trials": len(trials),
            "tune_score": chosen["score"],
            f"{score}": med,
            f"{score}_low": low,
            f"{score}_high": high,
        }
        if target is not None and score != "time":
            tt = scores.per_seed(result, "time", target)[0]
            row["time"], row["time_low"], row["time_high"] = scores.bootstrap(
                tt, seed=seed
            )
        row["on_edge"] = ",".join(edges)
        table.append(row)
        best[method.name] = {
            "policy": method.policy,
            "config": _plain(chosen["config"]),
            "tune_score": chosen["score"],
        }
    return Tuned(
        pd.DataFrame(rows), best, pd.DataFrame(table), evaluation, score, target
    )


def _plain(config: dict) -> dict:
    return {
        k: (v.item() if isinstance(v, np.generic) else v) for k, v in config.items()
    }


def _markdown(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    lines = [head, rule]
    for row in table.itertuples(index=False):
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
