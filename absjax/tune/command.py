"""``absjax tune``: the command line of ``absjax.tune.tune``.

``absjax tune --workers 8 --delay exp:rate=1 --objective quadratic:dim=4
--target 0.05 --budget 6000 --method k_async:k=2 --range k=1:8:int --range
lr=0.01:1:log --method abs:k0=2,t0=5 --range policy.k_rule.t0=1:100:log --out
DIR``: each ``--range`` belongs to the ``--method`` before it. Bad input is one
line and exit code 2, before anything compiles.
"""

from __future__ import annotations

import argparse
import warnings

from absjax.config import UsageError
from absjax.tune import scores, search
from absjax.tune.space import parse_range
from absjax.tune.study import Method, tune


class _Methods(argparse.Action):
    """``--method`` starts a method; ``--range`` adds to the last one."""

    def __call__(self, parser, namespace, value, option_string=None):
        methods = getattr(namespace, "methods", None) or []
        if option_string == "--method":
            methods.append((value, []))
        elif not methods:
            raise UsageError(f"--range {value} must follow a --method")
        else:
            methods[-1][1].append(value)
        namespace.methods = methods


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``tune`` subcommand's options."""
    p = sub.add_parser("tune", help="tune the numbers of policies on a cluster")
    p.add_argument(
        "--method",
        action=_Methods,
        dest="methods",
        required=True,
        help="a policy SPEC (absjax list policies); repeatable",
    )
    p.add_argument(
        "--range",
        action=_Methods,
        dest="methods",
        help="NAME=LOW:HIGH[:log][:int] or NAME=V1,V2,... of the "
        "--method before it (names: k, tau, lr, policy.*, weight.*)",
    )
    p.add_argument("--workers", type=int, default=8, help="N; default: 8")
    p.add_argument("--delay", default="exp:rate=1", help="a delay SPEC")
    p.add_argument("--objective", default="quadratic:dim=10", help="workload SPEC")
    p.add_argument(
        "--score",
        default="time",
        help=f"what to minimise: {', '.join(scores.OBJECTIVES)}",
    )
    p.add_argument("--target", type=float, help="the loss to reach")
    p.add_argument("--budget", type=int, required=True, help="seed-rounds per method")
    p.add_argument(
        "--algorithm", default="halving", help=f"one of {', '.join(search.ALGORITHMS)}"
    )
    for flag, default in (
        ("rounds", 200),
        ("log-every", 10),
        ("seeds", 2),
        ("eta", 3),
        ("rungs", 3),
        ("batch", 8),
        ("eval-seeds", 16),
        ("seed", 0),
    ):
        p.add_argument(
            f"--{flag}", type=int, default=default, help=f"default: {default}"
        )
    p.add_argument("--lr", type=float, default=0.1, help="default: 0.1")
    p.add_argument("--storage", help="an Optuna RDB URL, e.g. sqlite:///study.db")
    p.add_argument("--study-name", default="absjax", help="default: absjax")
    p.add_argument("--out", required=True, help="output directory")
    return p


def run(args: argparse.Namespace) -> None:
    """Runs ``absjax tune``; bad input raises ``UsageError`` (exit 2)."""
    try:
        methods = [
            Method(spec, [parse_range(r) for r in ranges])
            for spec, ranges in args.methods
        ]
        for method in methods:
            if not method.spaces:
                raise ValueError(f"--method {method.policy} has no --range")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            tuned = tune(
                methods,
                args.workers,
                args.delay,
                args.objective,
                args.budget,
                score=args.score,
                target=args.target,
                algorithm=args.algorithm,
                rounds=args.rounds,
                log_every=args.log_every,
                lr=args.lr,
                seeds=args.seeds,
                eta=args.eta,
                rungs=args.rungs,
                batch=args.batch,
                eval_seeds=args.eval_seeds,
                seed=args.seed,
                storage=args.storage,
                study_name=args.study_name if args.storage else None,
            )
    except ValueError as e:
        raise UsageError(str(e)) from None
    for w in caught:
        print(f"absjax: warning: {w.message}")
    out = tuned.save(args.out)
    print((out / "table.md").read_text(), end="")
    print(f"wrote {out}/: trials.parquet, best.json, table.csv, table.md, figures")
