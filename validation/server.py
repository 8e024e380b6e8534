"""A real parameter server on this machine: worker processes, numpy gradients.

Each worker is a ``multiprocessing`` process that waits for a model, computes
the minibatch gradient of absjax's least-squares objective
(``absjax.objectives.linreg``, the same data set) and sends it back. The job
durations are whatever the computation and the pipes take: nothing sleeps.
Worker ``i`` is made heavier by computing its gradient ``work[i]`` times (the
same numbers each time), so the workers differ in speed.

The server (this process) applies updates as the policy says: ``async``
(every arrival, at once), ``k_async`` (the first K arrivals of a round; their
workers restart on the new model, the others keep computing) and ``sync``
(all N). A restarting worker reads the model after the round's update is
applied. Every job's worker, base version, start (the server's dispatch of
the model), end (the server's receipt of the gradient) and staleness is
recorded, with the loss after each update and the server's time per round (from
the round's last arrival to the dispatch of its last restart: the update, the
loss, the records and the sends), which absjax does not model yet.

Writes, into ``out``: ``jobs.csv`` (one row per aggregated job),
``updates.csv`` (per round: end time, service time, loss),
``durations.csv`` (each worker's job durations, one column per worker: an
absjax trace, ``trace:path=durations.csv``) and ``run.json`` (the set-up
and the mean server time).

Run: ``python -m validation.server --mode async --workers 3 --rounds 300``.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

MODES = ("async", "k_async", "sync")


def problem(dim: int, samples: int, batch: int) -> dict:
    """absjax's linreg data set (numpy float64 copies) and its SPEC."""
    from absjax import objectives

    spec = f"linreg:dim={dim},samples={samples},batch={batch}"
    data = objectives.parse_objective(spec).data
    arrays = {k: np.asarray(v, np.float64) for k, v in data.items()}
    return {"spec": spec, "batch": batch, **arrays}


def loss(p: dict, w: np.ndarray) -> float:
    """absjax's exact loss: ``F* + (w - w*)' G (w - w*) / 2``."""
    d = w - p["w_star"]
    return float(p["f_star"] + 0.5 * d @ p["gram"] @ d)


def _worker(index, work, seed, x, y, b, inbox, outbox):
    rng = np.random.default_rng(seed + index)
    while True:
        message = inbox.recv()
        if message is None:
            return
        version, w = message
        rows = rng.integers(0, x.shape[0], b)
        for _ in range(work):
            xb = x[rows]
            g = xb.T @ (xb @ w - y[rows]) / b
        outbox.put((index, version, g))


def run(
    mode: str = "async",
    workers: int = 3,
    k: int = 1,
    rounds: int = 300,
    lr: float = 0.05,
    work: tuple[int, ...] | None = None,
    dim: int = 50,
    samples: int = 2000,
    batch: int = 64,
    seed: int = 0,
) -> dict:
    """Runs the server for ``rounds`` updates and returns the records."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} must be one of {MODES}")
    k = {"async": 1, "sync": workers}.get(mode, k)
    work = tuple(work or [1 + 3 * i for i in range(workers)])
    p = problem(dim, samples, batch)
    ctx = mp.get_context("spawn")  # not fork: the server holds JAX's threads
    outbox = ctx.Queue()
    pipes, procs = [], []
    for i in range(workers):
        theirs, ours = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker,
            args=(i, work[i], seed, p["x"], p["y"], batch, theirs, outbox),
        )
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    w = np.zeros(dim)
    version = 0
    jobs, updates = [], []
    try:
        for pipe in pipes:  # warm up: one untimed job each
            pipe.send((0, w))
        for _ in pipes:
            outbox.get()
        t0 = time.perf_counter()
        dispatched = [0.0] * workers  # when each worker was sent its model
        for i, pipe in enumerate(pipes):
            dispatched[i] = time.perf_counter() - t0
            pipe.send((version, w.copy()))
        while version < rounds:
            arrived = []
            while len(arrived) < k:
                index, base, g = outbox.get()
                end = time.perf_counter() - t0
                arrived.append((index, base, dispatched[index], end, g))
            w = w - lr * sum(a[4] for a in arrived) / k
            updates.append({"round": version, "end": end, "loss": loss(p, w)})
            for index, base, start, end, _ in arrived:
                jobs.append(
                    {
                        "worker": index,
                        "round": version,
                        "base": base,
                        "staleness": version - base,
                        "start": start - t0,
                        "end": end - t0,
                    }
                )
            version += 1
            for index, *_ in arrived:
                dispatched[index] = time.perf_counter() - t0
                pipes[index].send((version, w.copy()))
            # The server's time: from the round's last arrival to the last
            # restart's dispatch (the update, the loss, the records, the sends).
            updates[-1]["service"] = dispatched[arrived[-1][0]] - updates[-1]["end"]
    finally:
        for pipe in pipes:
            pipe.send(None)
        for proc in procs:
            proc.join(timeout=5)
    setup = dict(mode=mode, workers=workers, k=k, rounds=rounds, lr=lr, work=list(work))
    setup.update(objective=p["spec"], seed=seed, loss0=loss(p, np.zeros(dim)))
    return {"setup": setup, "jobs": jobs, "updates": updates}


def write(records: dict, out: str | Path) -> Path:
    """Writes the records as CSV and JSON files into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("jobs", "updates"):
        rows = records[name]
        with open(out / f"{name}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    n = records["setup"]["workers"]
    columns = [
        [j["end"] - j["start"] for j in records["jobs"] if j["worker"] == i]
        for i in range(n)
    ]
    with open(out / "durations.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"worker{i}" for i in range(n)])
        for r in range(max(map(len, columns))):
            writer.writerow([repr(c[r]) if r < len(c) else "" for c in columns])
    service = [u["service"] for u in records["updates"]]
    setup = {**records["setup"], "service_mean": float(np.mean(service))}
    (out / "run.json").write_text(json.dumps(setup, indent=1) + "\n")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="async", choices=MODES)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", default="validation/out/async")
    args = parser.parse_args(argv)
    records = run(args.mode, args.workers, args.k, args.rounds, args.lr)
    print(write(records, args.out))


if __name__ == "__main__":
    main()
