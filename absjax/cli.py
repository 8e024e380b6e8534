"""Command-line interface: ``absjax simulate``, ``absjax sweep``, ``absjax demo``.

``absjax simulate --workers N --policy NAME --k K --tau T --delay SPEC
--objective SPEC --lr LR --rounds R --seeds S --seed BASE --log-every M
--out PATH.csv`` runs one configuration and writes tidy CSV rows (one per seed
and logged round); ``--config FILE.toml`` takes the same keys (command-line
flags win). A bad name or value prints one line and exits with code 2, before
anything is compiled and without writing any file. Files are written
atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DEFAULTS: dict[str, Any] = {
    "workers": 16,
    "policy": "k_async",
    "k": 4,
    "tau": None,
    "delay": "shifted_exp:shift=0.5,rate=2",
    "objective": "linreg:dim=100,samples=4096,batch=32",
    "lr": 0.05,
    "rounds": 1000,
    "seeds": 16,
    "seed": 0,
    "log_every": 10,
    "weight": "constant",
    "normalization": "count",
    "upload": None,
    "download": None,
    "out": None,
}
TYPES: dict[str, type] = {
    "workers": int,
    "policy": str,
    "k": int,
    "tau": int,
    "delay": str,
    "objective": str,
    "lr": float,
    "rounds": int,
    "seeds": int,
    "seed": int,
    "log_every": int,
    "weight": str,
    "normalization": str,
    "upload": str,
    "download": str,
    "out": str,
}


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="absjax", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sim = sub.add_parser("simulate", help="simulate one policy over many seeds")
    sim.add_argument("--config", help="TOML file with the same keys as the flags")
    for name in DEFAULTS:
        flag = "--" + name.replace("_", "-")
        sim.add_argument(
            flag,
            dest=name,
            default=None,
            help=f"default: {DEFAULTS[name]}" if DEFAULTS[name] is not None else None,
        )
    demo = sub.add_parser("demo", help="a small comparison study with a figure")
    demo.add_argument("--out", default="results/demo", help="output directory")
    demo.add_argument("--seeds", default="32", help="seeds per policy")
    demo.add_argument("--seed", default="0", help="base seed")
    sweep = sub.add_parser("sweep", help="a resumable grid of simulations")
    sweep.add_argument("--config", required=True, help="TOML file: keys and [grid]")
    sweep.add_argument("--out", required=True, help="output directory")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    figures = sub.add_parser("figures", help="the paper's figures and claims report")
    figures.add_argument("--profile", help="tiny, quick (default, 10 min) or full")
    figures.add_argument("--out", help="output directory (default results/figures)")
    figures.add_argument("--seed", help="base seed (default 0)")
    figures.add_argument("--quiet", action="store_true", help="no progress bars")
    figures.add_argument("--cifar10", help="CIFAR-10 folder (profile full)")
    figures.add_argument("--jax-cache", help="JAX compilation cache folder")
    return parser


def _convert(name: str, value: Any) -> Any:
    kind = TYPES[name]
    if value is None:
        return None
    if name == "tau" and isinstance(value, str) and value.lower() in ("none", "inf"):
        return None  # unbounded
    if kind is int:
        if isinstance(value, bool) or isinstance(value, float):
            raise UsageError(f"{name}={value!r} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise UsageError(f"{name}={value!r} must be an integer") from None
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise UsageError(f"{name}={value!r} must be a number") from None
    if not isinstance(value, str):
        raise UsageError(f"{name}={value!r} must be a string")
    return value


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    """Merges defaults, the TOML file and the flags (flags win)."""
    config = dict(DEFAULTS)
    given: dict[str, Any] = {}
    if args.config:
        path = Path(args.config)
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise UsageError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"config file {path} is not valid TOML: {e}") from None
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in DEFAULTS:
                raise UsageError(
                    f"config file {path}: unknown key {key!r} (known: "
                    f"{', '.join(sorted(DEFAULTS))})"
                )
            given[name] = _convert(name, value)
    for name in DEFAULTS:
        value = getattr(args, name)
        if value is not None:
            given[name] = _convert(name, value)
    if given.get("policy", DEFAULTS["policy"]) != DEFAULTS["policy"]:
        config["k"] = None  # the default K belongs to the default policy only
    config.update(given)
    return config


def build_simulator(config: dict[str, Any]):
    """Builds (and thereby validates) the Simulator of a configuration."""
    import absjax
    from absjax import delays, policies, staleness

    spec = config["policy"]
    if ":" in spec or spec not in policies.BASES:  # a SPEC, e.g. abs:k0=1,t0=5
        if config["k"] is not None or config["tau"] is not None:
            raise ValueError(
                f"policy {spec!r} takes its numbers in the SPEC (e.g. "
                "'abs:k0=1,t0=5' or 'k_async:k=4,tau=2'), not in k/tau"
            )
        policy = policies.parse_policy(spec)
    else:
        policy = policies.make(spec, config["k"], config["tau"])
    delay = delays.parse_delay(config["delay"], config["upload"], config["download"])
    return absjax.Simulator(
        config["workers"],
        policy,
        delay,
        config["objective"],
        lr=config["lr"],
        rounds=config["rounds"],
        log_every=config["log_every"],
        weight=staleness.parse_weight(config["weight"]),
        normalization=config["normalization"],
    )


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Calls ``write(tmp)`` then renames ``tmp`` to ``path``: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)  # mkstemp makes 0600 files; give the usual mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_out(out: str | None) -> Path | None:
    """Checks, before any simulation, that ``out`` can be written."""
    if out is None:
        return None
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"out={out!r} is a directory; give a file path")
    _make_dir(path.parent)
    return path


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(
            f"cannot create directory {str(directory)!r}: {e.strerror or e}"
        ) from None
    if not os.access(directory, os.W_OK):
        raise UsageError(f"directory {str(directory)!r} is not writable")


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


def simulate(args: argparse.Namespace) -> None:
    config = load_config(args)
    out = _check_out(config["out"])
    try:
        sim = build_simulator(config)
    except ValueError as e:
        raise UsageError(str(e)) from None
    start = time.perf_counter()
    try:
        result = sim.run(seeds=config["seeds"], seed=config["seed"])
    except ValueError as e:
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - start
    for line in summary_lines(result, config, seconds):
        print(line)
    if out is not None:
        frame = result.to_dataframe()
        atomic_write(out, lambda tmp: frame.to_csv(tmp, index=False))
        print(f"wrote {out} ({len(frame)} rows)")


def demo(args: argparse.Namespace) -> None:
    """Compares sync, K-sync, K-async (bounded) and async on the standard workload."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    import absjax
    from absjax import plots, policies

    seeds, seed = _convert("seeds", args.seeds), _convert("seed", args.seed)
    if seeds < 2:
        raise UsageError(f"seeds={seeds} must be >= 2 for confidence bands")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out={args.out!r} exists and is not a directory")
    _make_dir(out)
    candidates = {
        "sync": policies.sync(),
        "K-sync (K=4)": policies.k_sync(4),
        "K-async (K=4, tau=3)": policies.k_async(4, tau=3),
        "async": policies.asynchronous(),
    }
    results, frames = {}, []
    start = time.perf_counter()
    for label, policy in candidates.items():
        sim = absjax.Simulator(
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


def sweep(args: argparse.Namespace) -> None:
    """Runs or resumes a parameter sweep (see :mod:`absjax.sweep`)."""
    from absjax import sweep as sweep_lib

    try:
        sweep_lib.command(args.config, args.out, quiet=args.quiet)
    except sweep_lib.cli.UsageError as e:  # not ours under python -m absjax.cli
        raise UsageError(str(e)) from None


def figures(args: argparse.Namespace) -> int:
    """Forwards to ``paper_figures.reproduce.main``: the one hand-over from
    absjax to paper_figures, imported by name only here, when the command runs
    (absjax never imports paper_figures at module level)."""
    import importlib

    argv = []
    for name in ("profile", "out", "seed", "cifar10", "jax_cache"):
        if getattr(args, name) is not None:
            argv += ["--" + name.replace("_", "-"), getattr(args, name)]
    if args.quiet:
        argv.append("--quiet")
    try:
        reproduce = importlib.import_module("paper_figures.reproduce")
    except ModuleNotFoundError as e:
        if e.name not in ("paper_figures", "paper_figures.reproduce"):
            raise
        raise UsageError(
            "paper_figures is not installed: pip install -e . from the repository"
        ) from None
    return reproduce.main(argv, prog="absjax figures")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``absjax`` command; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        handler = {
            "simulate": simulate,
            "demo": demo,
            "sweep": sweep,
            "figures": figures,
        }[args.command]
        code = handler(args)
    except UsageError as e:
        print(f"absjax: error: {e}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
