"""Command-line interface: ``absjax simulate``, ``sweep``, ``demo``, ``list``,
``tune`` (``absjax.tune.command``).

``absjax simulate --workers N --policy NAME --k K --tau T --delay SPEC
--objective SPEC --lr LR --rounds R --seeds S --seed BASE --log-every M
--out PATH.csv`` runs one configuration and writes tidy CSV rows (one per seed
and logged round); ``--config FILE.toml`` takes the same keys (command-line
flags win). A bad name or value prints one line and exits with code 2, before
anything is compiled and without writing any file. Files are written
atomically (a temporary file renamed into place). A long simulation shows a
progress bar on stderr (``--quiet``: none). ``absjax list [KIND]`` prints the
policies, delay laws, objectives and staleness weights a SPEC may name, with
their parameters and defaults (:mod:`absjax.catalog`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tqdm import tqdm

from absjax import catalog, compile_cache, policies
from absjax import config as cfg
from absjax import sweep as sweep_lib
from absjax._validate import check_int
from absjax.config import DEFAULTS, TYPES, UsageError, build_simulator  # noqa: F401
from absjax.engine import Simulator, layout
from absjax.engine.memory import resolve_chunk
from absjax.io import atomic_write, check_out, make_dir
from absjax.results import Result
from absjax.tune import command as tune_command

COMMANDS = "absjax.commands"  # entry-point group of commands from other packages
MOST_BLOCKS = 20  # a progress bar's blocks of seeds: at most 20 ...
FEWEST_BLOCKS = 8  # ... and at least 8 when the seeds allow (see _block_seeds)
_HELP = {  # flags whose meaning is more than their default
    "policy": "NAME or NAME:key=value,... (absjax list policies); default: "
    f"{DEFAULTS['policy']}",
    "k": f"K of the six base mechanics; default: {DEFAULTS['k']} with "
    f"{DEFAULTS['policy']} (the default policy), else max(1, workers // 4)",
    "tau": "staleness bound (none or inf: unbounded); default: none",
    "delay": f"NAME:key=value,... (absjax list delays); default: {DEFAULTS['delay']}",
    "objective": "NAME:key=value,... (absjax list objectives); default: "
    f"{DEFAULTS['objective']}",
    "weight": "NAME:key=value,... (absjax list weights); default: "
    f"{DEFAULTS['weight']}",
    "upload": "a delay law SPEC for the time to push an update",
    "download": "a delay law SPEC for the time to pull the model",
    "startup": "each worker's start-up before its first update: a delay law "
    "SPEC or per-worker times separated by ';'",
    "first_job": "a delay law SPEC for the compute time of a worker's first job",
    "read": "after (a worker whose update was applied reads the new model) or "
    "before (it is handed the model as it was when its update arrived); "
    "default: after",
    "out": "file for the results: tidy rows as Parquet (.parquet) or CSV "
    "(any other suffix), or the N-d arrays as NetCDF (.nc, read by absjax.load)",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _cache_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help=f"do not use JAX's persistent compilation cache "
        f"(default folder: ${compile_cache.ENV} or ~/.cache/absjax/jax)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="absjax", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sim = sub.add_parser(
        "simulate",
        help="simulate one policy over many seeds",
        epilog=catalog.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("--config", help="TOML file with the same keys as the flags")
    for name in DEFAULTS:
        flag = "--" + name.replace("_", "-")
        default = f"default: {DEFAULTS[name]}" if DEFAULTS[name] is not None else None
        sim.add_argument(flag, dest=name, default=None, help=_HELP.get(name, default))
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    _cache_flag(sim)
    listing = sub.add_parser(
        "list", help="the policies, delay laws, objectives and weights of a SPEC"
    )
    listing.add_argument(
        "kind", nargs="?", choices=tuple(catalog.KINDS), help="what to list"
    )
    demo = sub.add_parser("demo", help="a small comparison study with a figure")
    demo.add_argument("--out", default="results/demo", help="output directory")
    demo.add_argument("--seeds", default="32", help="seeds per policy")
    demo.add_argument("--seed", default="0", help="base seed")
    _cache_flag(demo)
    sweep = sub.add_parser("sweep", help="a resumable grid of simulations")
    sweep.add_argument("--config", required=True, help="TOML file: keys and [grid]")
    sweep.add_argument("--out", required=True, help="output directory")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument(
        "--format", help="parquet or csv (default: the directory's; new: parquet)"
    )
    _cache_flag(sweep)
    which = sweep.add_mutually_exclusive_group()
    which.add_argument("--shard", help="i/n: run the units u with u %% n == i")
    which.add_argument(
        "--merge", action="store_true", help="write the result from the parts"
    )
    _cache_flag(tune_command.add_parser(sub))
    sub.add_parser(
        "figures",
        help="the paper's figures and claims report (absjax figures --help)",
        add_help=False,  # its options, --help included, are paper_figures'
    )
    return parser


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    """Merges defaults, the TOML file and the flags (flags win)."""
    return cfg.merge(args.config, {name: getattr(args, name) for name in DEFAULTS})


def _ci(pair: tuple[float, float], digits: int = 4) -> str:
    mean, half = pair
    return f"{mean:.{digits}g} ± {half:.2g}"


def summary_lines(result, config: dict[str, Any], seconds: float) -> list[str]:
    """The one-screen summary printed after a simulation."""
    s = result.summary()

    def span(values) -> str:  # K and tau may change between rounds (rules)
        low, high = (
            "unbounded" if v == np.inf else f"{v:g}"
            for v in (np.min(values), np.max(values))
        )
        return low if low == high else f"{low}..{high}"

    lines = [
        f"policy {config['policy']} (K={span(result.k)}, tau={span(result.tau)}), "
        f"{config['workers']} workers, "
        f"{s['seeds']} seeds x {config['rounds']} rounds ({seconds:.1f} s)",
        f"delay {config['delay']}; objective {config['objective']}; lr {config['lr']}",
        f"mean round time     {_ci(s['round_time'])}   (95% CI over seeds)",
        f"staleness           mean {s['staleness_mean'][0]:.3g}, "
        f"max {s['staleness_max']}",
        f"wasted jobs/round   {_ci(s['wasted_per_round'])}",
        f"final loss          {_ci(s['final_loss'])}   (95% CI, non-diverged seeds)",
        f"diverged seeds      {s['diverged']} / {s['seeds']}",
    ]
    return lines


def _block_seeds(seeds: int, lanes: int) -> int:
    """Seeds per block of a run shown by a progress bar.

    A block is a whole number ``m`` of ``lanes`` (chunk x devices: what one
    program runs in parallel), so every block runs the same compiled program
    and none is narrower than a plain run. ``m`` gives ``FEWEST_BLOCKS`` to
    ``MOST_BLOCKS`` blocks (one lane group each when there are fewer) with
    the fewest padding seeds, then the fewest blocks.

    >>> _block_seeds(512, 64), _block_seeds(100 * 64, 64), _block_seeds(101 * 64, 64)
    (64, 640, 384)
    """
    units = -(-seeds // lanes)
    if units <= MOST_BLOCKS:
        return lanes
    first = -(-units // MOST_BLOCKS)
    last = max(units // FEWEST_BLOCKS, first)

    def cost(m: int) -> tuple[int, int]:
        blocks = -(-units // m)
        return blocks * m - units, blocks

    return lanes * min(range(first, last + 1), key=cost)


def _first_seeds(result: Result, seeds: int) -> Result:
    """``result`` cut to its first ``seeds`` seeds (no grid)."""
    if len(result.seeds) == seeds:
        return result
    return dataclasses.replace(
        result,
        metrics={name: v[..., :seeds, :] for name, v in result.metrics.items()},
        diverged_round=result.diverged_round[..., :seeds],
        seeds=result.seeds[:seeds],
    )


def run_with_progress(
    sim: Simulator,
    seeds: int,
    seed: int,
    progress: bool = True,
    chunk: int | str = "auto",
) -> Result:
    """``sim.run(seeds, seed, chunk=chunk)`` in blocks, with a progress bar.

    Each block is ``sim.run(seeds=block, seed=seed, seed_offset=first seed,
    chunk=chunk)``; a seed's numbers depend on its global index (and
    ``chunk``) only, so the concatenation equals one run bit for bit. The last
    block runs as many seeds as the others (one compiled program) and its
    extra seeds are dropped. The bar (stderr) counts seed-rounds and shows
    their rate and the time left. Without ``progress``, one plain run.
    """
    check_int("seeds", seeds)
    check_int("seed", seed, low=0)
    chunk = resolve_chunk(sim, chunk, seeds)
    lanes = chunk * jax.local_device_count()
    if not progress or seeds <= lanes:
        block = seeds
    else:
        block = _block_seeds(seeds, lanes)
    params, parts = sim.params, []  # built once, not once per block
    with tqdm(
        total=seeds * sim.rounds,
        desc="simulate",
        unit=" seed-rounds",
        unit_scale=True,
        smoothing=1.0,  # equal blocks: the last block's rate predicts the rest
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    ) as bar:
        for first in range(0, seeds, block):
            part = sim.run(block, seed, params, seed_offset=first, chunk=chunk)
            parts.append(part)
            bar.update(min(block, seeds - first) * sim.rounds)
    joined = parts[0] if len(parts) == 1 else Result.concat(parts)
    return _first_seeds(joined, seeds)


def simulate(args: argparse.Namespace) -> None:
    config = load_config(args)
    out = check_out(config["out"])
    try:
        sim = build_simulator(config)
    except ValueError as e:
        raise UsageError(str(e)) from None
    start = time.perf_counter()
    try:
        result = run_with_progress(
            sim, config["seeds"], config["seed"], progress=not args.quiet
        )
    except ValueError as e:
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - start
    for line in summary_lines(result, config, seconds):
        print(line)
    if out is None:
        return
    if out.suffix == ".nc":  # the N-d arrays, for absjax.load
        result.save(out)
        print(f"wrote {out} ({len(result.seeds)} seeds)")
        return
    if out.suffix == ".parquet":  # tidy rows: Parquet for .parquet, else CSV
        table = result.to_arrow()
        atomic_write(out, lambda tmp: pq.write_table(table, tmp))
        rows = table.num_rows
    else:
        frame = result.to_dataframe()
        atomic_write(out, lambda tmp: frame.to_csv(tmp, index=False))
        rows = len(frame)
    print(f"wrote {out} ({rows} rows)")


def demo(args: argparse.Namespace) -> None:
    """Compares sync, K-sync, K-async (bounded) and async on the standard workload."""
    seeds = cfg.convert("seeds", args.seeds)
    seed = cfg.convert("seed", args.seed)
    if seeds < 2:
        raise UsageError(f"seeds={seeds} must be >= 2 for confidence bands")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out={args.out!r} exists and is not a directory")
    make_dir(out)
    candidates = {
        "sync": policies.sync(),
        "K-sync (K=4)": policies.k_sync(4),
        "K-async (K=4, tau=3)": policies.k_async(4, tau=3),
        "async": policies.asynchronous(),
    }
    results, frames = {}, []
    start = time.perf_counter()
    for label, policy in candidates.items():
        sim = Simulator(
            16,
            policy,
            "shifted_exp:shift=0.5,rate=2",
            "linreg:dim=100,samples=4096,batch=32",
            lr=0.02,
            rounds=600,
            log_every=10,
        )
        results[label] = sim.run(seeds=seeds, seed=seed)
        frame = results[label].to_dataframe()
        frame["method"] = label
        frames.append(frame)
        print(f"{label:22s} round time {_ci(results[label].summary()['round_time'])}")
    from absjax import plots  # matplotlib: only the demo draws

    fig = plots.curves_figure(
        results,
        title=f"Linear regression, N=16 workers, shifted-exponential delays "
        f"({seeds} seeds)",
    )
    table = pd.concat(frames, ignore_index=True)
    atomic_write(out / "demo.png", lambda tmp: fig.savefig(tmp, dpi=150, format="png"))
    try:
        atomic_write(out / "demo.csv", lambda tmp: table.to_csv(tmp, index=False))
    except BaseException:
        (out / "demo.png").unlink(missing_ok=True)  # all or nothing
        raise
    print(
        f"wrote {out / 'demo.csv'} and {out / 'demo.png'} "
        f"in {time.perf_counter() - start:.0f} s"
    )


def list_(args: argparse.Namespace) -> None:
    """``absjax list [KIND]``: the names a SPEC of each kind may use."""
    print(catalog.describe(args.kind) if args.kind else catalog.overview())


def sweep(args: argparse.Namespace) -> None:
    """Runs or resumes a parameter sweep (see :mod:`absjax.sweep`)."""
    sweep_lib.command(
        args.config,
        args.out,
        quiet=args.quiet,
        file_format=args.format,
        shard=args.shard,
        merge=args.merge,
    )


def figures(args: argparse.Namespace) -> int:
    """Runs the paper-figure reproduction, a command that the ``paper_figures``
    package registers under the entry point ``absjax.commands:figures`` (absjax
    itself never imports it)."""
    found = metadata.entry_points(group=COMMANDS, name="figures")
    if not found:
        raise UsageError(
            "paper_figures is not installed: pip install -e . from the repository"
        )
    (command,) = found
    return command.load()(args.argv, prog="absjax figures")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``absjax`` command; returns the exit code."""
    try:
        layout.use_host_cores()  # before JAX starts: chunks on every core
        parser = _parser()
        args, rest = parser.parse_known_args(argv)
        if args.command == "figures":  # paper_figures parses its own options
            args.argv = rest
        elif rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        handler = {
            "simulate": simulate,
            "demo": demo,
            "sweep": sweep,
            "figures": figures,
            "list": list_,
            "tune": tune_command.run,
        }[args.command]
        compiles = ("simulate", "demo", "sweep", "tune")
        if args.command in compiles and not args.no_compile_cache:
            compile_cache.enable()
        code = handler(args)
    except UsageError as e:
        print(f"absjax: error: {e}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
