"""The workloads: the network, the data and how the data is split over workers.

**Data.** scikit-learn's 8x8 digits (``absjax.datasets.load_digits``: 1,437
training and 360 held-out test rows, stratified by class; nothing is
downloaded), or with ``--cifar10 DIR`` (profile ``full``) CIFAR-10 read from
``DIR``. The network is an MLP or a CNN of ``absjax.networks``
(``Profile.network``; the CIFAR-10 CNN of the ABS group, conv 64-64 5x5 with
pooling and fc 384-192-10, is ``Profile.cifar_network``). The logged training
loss is the mean cross-entropy over the first ``eval_samples`` training rows
(stored in a random order), the test metric the accuracy on the test rows.

**Splits** (how the training rows are shared by the N workers; a job samples
its minibatch, with replacement, from its worker's shard):

- ``iid``: every worker's shard is the whole training set, i.e. i.i.d.
  sampling from all rows (the main comparisons);
- ``label-shards``: sorted by label and cut into N contiguous shards, the split
  of the ABS group's STSyn code (``datasets.label_shards``);
- ``dirichlet``: Hsu et al.'s Dirichlet split with concentration
  ``Profile.dirichlet_alpha`` (``datasets.dirichlet_partition``).

All three are the same program: :class:`Split` is a network objective whose
shards are given, padded to the number of training rows, so the simulators
are built once (with the i.i.d. split) and the other splits only change the
``data`` numbers passed to them (``SimParams.data``, same shapes).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from absjax import datasets, networks, objectives

SPLITS = ("iid", "label-shards", "dirichlet")
_PAD = -1  # absjax.networks pads a shard array with -1 past a shard's size


@dataclasses.dataclass(frozen=True, eq=False)
class Split(objectives.Objective):
    """``inner`` (a networks objective built with a partition, so that its
    ``sample`` draws from ``data["shards"]``) with the shards ``shards``
    (``{"shards": (N, rows) int32, "shard_size": (N,) int32}``)."""

    inner: Any
    shards: dict
    label: str
    name: ClassVar[str] = "split"
    has_metric: ClassVar[bool] = True
    metric_name: ClassVar[str] = "test_accuracy"

    @property
    def data(self):
        return {**self.inner.data, **self.shards}

    def init(self, data):
        return self.inner.init(data)

    def sample(self, key, data, worker):
        return self.inner.sample(key, data, worker)

    def gradient(self, data, w, batch):
        return self.inner.gradient(data, w, batch)

    def batch_loss(self, data, w, batch):
        return self.inner.batch_loss(data, w, batch)

    def loss(self, data, w):
        return self.inner.loss(data, w)

    def metric(self, data, w):
        return self.inner.metric(data, w)

    def check_workers(self, num_workers: int) -> None:
        self.inner.check_workers(num_workers)
        if self.shards["shards"].shape[0] != num_workers:
            raise ValueError(f"split {self.label!r} is for another number of workers")


def _network(fields: dict, **extra):
    fields = dict(fields)
    kind = fields.pop("kind")
    build = {"mlp": networks.MLP, "cnn": networks.CNN}[kind]
    return build(**fields, **extra)


def _padded(shards: np.ndarray, sizes: np.ndarray, rows: int) -> dict:
    out = np.full((shards.shape[0], rows), _PAD, np.int32)
    out[:, : shards.shape[1]] = shards
    return {
        "shards": jnp.asarray(out),
        "shard_size": jnp.asarray(sizes, jnp.int32),
    }


@dataclasses.dataclass
class Workload:
    """The objective of each split (one program serves them all) and what the
    report says about them."""

    splits: dict[str, Split]  # "iid", "label-shards", "dirichlet"
    dataset: str  # "digits" or "cifar10"
    fields: dict  # the network's fields
    description: str
    fallback: bool  # profile full without CIFAR-10 files: digits instead

    @property
    def objective(self) -> Split:
        return self.splits["iid"]

    def data(self, split: str):
        return self.splits[split].data

    def shard_labels(self, split: str) -> list[int]:
        """How many distinct labels each worker's shard holds."""
        data = self.splits[split].data
        y = np.asarray(data["y"])
        shards, sizes = np.asarray(data["shards"]), np.asarray(data["shard_size"])
        return [len(np.unique(y[s[:n]])) for s, n in zip(shards, sizes, strict=True)]


_WORKLOADS: dict = {}  # built once per process: the simulators are cached by it


def workload(profile, cifar10: str | None = None) -> Workload:
    """The workload of ``profile`` (CIFAR-10 from ``cifar10`` if given)."""
    key = (
        profile.name,
        profile.workers,
        profile.dirichlet_alpha,
        repr(profile.network),
        repr(profile.cifar_network),
        cifar10,
    )
    if key in _WORKLOADS:
        return _WORKLOADS[key]
    n = profile.workers
    if cifar10 is not None:
        fields = dict(profile.cifar_network)
        base = dict(dataset="cifar10", data_dir=cifar10)
    else:
        fields = dict(profile.network)
        base = dict(dataset="digits")
    partitions = {
        "iid": "label-shards",  # any partition: its shards are replaced below
        "label-shards": "label-shards",
        "dirichlet": profile.dirichlet_alpha,
    }
    inner = {
        split: _network(fields, **base, partition=p, workers=n)
        for split, p in partitions.items()
    }
    reference = inner["iid"].data
    rows = int(reference["x"].shape[0])
    splits = {}
    for split, obj in inner.items():
        data = obj.data
        for name in ("x", "y", "x_test", "y_test"):  # one data set, three splits
            if not np.array_equal(np.asarray(data[name]), np.asarray(reference[name])):
                raise RuntimeError(f"split {split!r} has other {name} rows")
        if split == "iid":
            shards = np.tile(np.arange(rows, dtype=np.int32), (n, 1))
            sizes = np.full(n, rows)
        else:
            shards, sizes = np.asarray(data["shards"]), np.asarray(data["shard_size"])
        splits[split] = Split(inner["iid"], _padded(shards, sizes, rows), split)
    net = {k: v for k, v in fields.items() if k != "kind"}
    kind = fields["kind"].upper()
    dataset = "cifar10" if cifar10 else "digits"
    text = f"{kind} (`absjax.networks.{kind}`, {net}) on " + (
        f"CIFAR-10 read from `{cifar10}`"
        if cifar10
        else "scikit-learn's 8x8 digits (`absjax.datasets.load_digits`: "
        f"{rows} training rows, {int(reference['y_test'].shape[0])} "
        "held-out test rows, stratified by class)"
    )
    fallback = profile.name == "full" and cifar10 is None
    _WORKLOADS[key] = Workload(splits, dataset, fields, text, fallback)
    return _WORKLOADS[key]


def label_counts_text(work: Workload, split: str) -> str:
    counts = work.shard_labels(split)
    low, high = min(counts), max(counts)
    return f"{low}" if low == high else f"{low} to {high}"


__all__ = ["SPLITS", "Split", "Workload", "datasets", "workload"]
