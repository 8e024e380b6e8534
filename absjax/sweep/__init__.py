"""Resumable, shardable parameter sweeps: ``absjax sweep --config FILE --out DIR``.

A sweep runs the cartesian product of a grid of ``absjax simulate``
configurations, each over the same number of seeds, and streams the rows to
disk as it goes, so that an interrupted sweep (Ctrl-C, a crash, ``kill -9``)
resumes where it stopped and ends with exactly the rows of an uninterrupted
run. The TOML file holds the keys of ``absjax simulate``
(:data:`absjax.config.DEFAULTS`, same names, same conversion and validation) as
fixed values, a ``[grid]`` table of lists of values for any of those keys,
``seeds`` (seeds per grid point), ``chunk_seeds`` (seeds per unit of work) and
``format`` (``"parquet"``, the default, or ``"csv"``)::

    workers = 16
    objective = "linreg:dim=100,samples=4096,batch=32"
    seeds = 1024
    chunk_seeds = 256

    [grid]
    policy = ["k_sync", "k_async"]
    k = [2, 4, 8]
    lr = [0.05, 0.1]

Points are numbered in the order of ``itertools.product`` over the grid's keys
in file order (the last key varies fastest). Every point's Simulator is built,
and so validated, before anything is run or written. The work is split into
units, one grid point times ``chunk_seeds`` consecutive seeds; a unit runs
``Simulator.run(seeds, seed, seed_offset=first seed)``, and since a seed's keys
derive from its global index, the rows are those of one run over all seeds.
Points that differ only in the learning rate, tau or the base seed share one
Simulator and hence one compiled program (:mod:`absjax.sweep.grid`).

The output directory::

    DIR/manifest.json   version, configuration, points, units, file format,
                        fingerprint
    DIR/parts/point-0003-seeds-000256-000511.parquet   one finished unit
    DIR/results.parquet all parts in unit order (written at the end)

(``.csv`` files with ``format = "csv"``, :mod:`absjax.sweep.parts`). Every
file is written atomically (a temporary file renamed into place) and the
manifest first, so a killed sweep leaves only finished parts and temporary
files, which the next run removes. Re-running the same command skips the units
whose part exists, after checking its columns, rows and seeds. A directory
that is not empty and has no manifest, a manifest of another configuration,
absjax version or file format, a corrupt part, or another run of the same
units writing to the directory stops the sweep with a one-line error before
anything is overwritten (:mod:`absjax.sweep.directory`).

``--shard i/n`` runs only the units ``u`` with ``u % n == i``, so n processes
fill one directory together; the last one to finish writes the result, and
``--merge`` writes it from the parts (:mod:`absjax.sweep.shards`).

From Python, ``run_sweep(config, Path("DIR"))`` takes the TOML file's keys as
a dict and returns the path of the result (``shard="i/n"``: ``None`` while
other shards' units are missing); ``merge_sweep(config, Path("DIR"))`` writes
it from the parts.
"""

from absjax.sweep.grid import CHUNK_SEEDS, FILE_FORMATS, Plan, Unit, plan
from absjax.sweep.runner import command, merge_sweep, run_sweep
from absjax.sweep.shards import Shard

__all__ = [
    "CHUNK_SEEDS",
    "FILE_FORMATS",
    "Plan",
    "Shard",
    "Unit",
    "command",
    "merge_sweep",
    "plan",
    "run_sweep",
]
