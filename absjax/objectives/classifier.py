"""The classifier base of the neural-network objectives (``MLP`` and ``CNN``).

Data (synthetic, MNIST or CIFAR-10), worker shards, minibatch sampling and the
cross-entropy loss shared by the networks; the fields are described in
:mod:`absjax.objectives.networks`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_int, check_real
from absjax.objectives import datasets
from absjax.objectives.base import Data, Objective, uniform_indices
from absjax.objectives.digits import load_digits
from absjax.objectives.partition import dirichlet_partition, label_shards

_DATASETS = ("synthetic", "mnist", "cifar10", "digits")
_FROM_FILES = ("mnist", "cifar10")  # the data sets read from data_dir
_IID_SHARDS = "iid-shards"
_LABEL_SHARDS = "label-shards"
_SHARDS = (_IID_SHARDS, _LABEL_SHARDS)
_SYNTHETIC_SAMPLES = 4096  # default training rows of the synthetic sets
_SYNTHETIC_TEST = 1024  # default test rows of the synthetic sets
_EVAL_NUMBERS = 2**21  # input numbers per chunk of loss and metric (bounds memory)
_PAD = -1  # index filling the shard array past a worker's shard size


def _cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Per-row ``-log softmax(logits)[label]``."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class _Classifier(Objective):
    """Shared data, sampling and loss of ``MLP`` and ``CNN``.

    The fields are described in :mod:`absjax.objectives.networks`.
    """

    dataset: str = "synthetic"
    data_dir: str | os.PathLike | None = None
    classes: int = 4
    samples: int | None = None
    test_samples: int | None = None
    eval_samples: int = 4096
    batch: int = 32
    noise: float = 0.2
    partition: float | str | None = None
    workers: int | None = None
    data_seed: int = 0
    init_seed: int = 0
    has_metric: ClassVar[bool] = True
    metric_name: ClassVar[str] = "test_accuracy"

    def __post_init__(self):
        if self.dataset not in _DATASETS:
            raise ValueError(f"dataset={self.dataset!r} must be one of {_DATASETS}")
        if self.dataset not in _FROM_FILES:
            if self.data_dir is not None:
                raise ValueError(
                    f"data_dir={str(self.data_dir)!r} is only read for "
                    f"dataset='mnist' or 'cifar10', not dataset={self.dataset!r}"
                )
        elif self.data_dir is None:
            raise ValueError(
                f"dataset={self.dataset!r} needs data_dir, the folder holding "
                "its files (see absjax.datasets for where to get them)"
            )
        elif not Path(self.data_dir).is_dir():
            raise ValueError(
                f"data_dir={str(self.data_dir)!r} is not an existing directory"
            )
        check_int("classes", self.classes, low=2)
        for name in ("samples", "test_samples"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name))
        for name in ("eval_samples", "batch"):
            check_int(name, getattr(self, name))
        check_real("noise", self.noise, 0.0)
        check_int("data_seed", self.data_seed, low=0)
        check_int("init_seed", self.init_seed, low=0)
        if self.workers is not None:
            check_int("workers", self.workers)
        if self.partition is not None:
            if self.partition not in _SHARDS:
                try:
                    alpha = check_real("partition", self.partition, 0, strict_low=True)
                except ValueError:
                    raise ValueError(
                        f"partition={self.partition!r} must be None, "
                        f"{_IID_SHARDS!r}, {_LABEL_SHARDS!r} or a Dirichlet "
                        "alpha in (0, inf)"
                    ) from None
                object.__setattr__(self, "partition", alpha)
            if self.workers is None:
                raise ValueError(
                    f"partition={self.partition!r} needs workers, the number "
                    "of workers (the simulator's num_workers) to split over"
                )
        object.__setattr__(self, "_data", None)

    # ----------------------------------------------------------------- data
    @property
    def num_classes(self) -> int:
        """``classes`` for synthetic data, 10 for MNIST, CIFAR-10 and digits."""
        if self.dataset == "synthetic":
            return self.classes
        return datasets.NUM_CLASSES

    def _synthetic(self, rng: np.random.Generator):
        """Draws the class structure from ``rng``; returns ``draw(rng, n)``,
        which draws ``n`` rows ``(x, y)`` in the model's layout."""
        raise NotImplementedError

    def _layout(self, images: np.ndarray) -> np.ndarray:
        """Real images ``(n, rows, cols, channels)`` in the model's layout."""
        raise NotImplementedError

    def _arrays(self):
        rng = np.random.default_rng(self.data_seed)
        if self.dataset == "synthetic":
            n = self.samples or _SYNTHETIC_SAMPLES
            m = self.test_samples or _SYNTHETIC_TEST
            # Independent streams: test_samples does not change the training set.
            structure, train, test = rng.spawn(3)
            draw = self._synthetic(structure)
            return (*draw(train, n), *draw(test, m))
        if self.dataset == "digits":
            raw = load_digits(seed=self.data_seed)
        elif self.dataset == "mnist":
            raw = datasets.load_mnist(self.data_dir)
        else:
            raw = datasets.load_cifar10(self.data_dir)
        train = rng.permutation(raw["y_train"].size)[: self.samples]
        test = rng.permutation(raw["y_test"].size)[: self.test_samples]
        x, x_test = raw["x_train"][train], raw["x_test"][test]
        mean = x.mean(axis=(0, 1, 2))
        std = x.std(axis=(0, 1, 2))
        std = np.where(std > 0, std, 1.0)  # a constant channel stays centred
        x, x_test = (x - mean) / std, (x_test - mean) / std
        return (
            self._layout(x),
            raw["y_train"][train],
            self._layout(x_test),
            raw["y_test"][test],
        )

    def _shards(self, labels: np.ndarray) -> Data:
        if self.partition == _LABEL_SHARDS:
            parts = label_shards(labels, self.workers)
        else:
            alpha = None if self.partition == _IID_SHARDS else self.partition
            parts = dirichlet_partition(
                labels, self.workers, alpha, seed=self.data_seed
            )
        sizes = [p.size for p in parts]
        if min(sizes) == 0:
            raise ValueError(
                f"partition={self.partition!r} leaves worker {sizes.index(0)} of "
                f"workers={self.workers} with an empty shard (shard sizes "
                f"{sizes}); use a larger alpha, more samples or fewer workers"
            )
        shards = np.full((self.workers, max(sizes)), _PAD, np.int32)
        for worker, part in enumerate(parts):
            shards[worker, : part.size] = part
        return {
            "shards": jnp.asarray(shards),
            "shard_size": jnp.asarray(sizes, jnp.int32),
        }

    @property
    def data(self) -> Data:
        """``x``, ``y``, ``x_test``, ``y_test`` and, with a partition,
        ``shards`` ``(workers, max_shard)`` int32 (padded with -1) and
        ``shard_size`` ``(workers,)`` int32; built once, on first use."""
        if self._data is None:
            x, y, x_test, y_test = self._arrays()
            data = {
                "x": jnp.asarray(x, float),
                "y": jnp.asarray(y, jnp.int32),
                "x_test": jnp.asarray(x_test, float),
                "y_test": jnp.asarray(y_test, jnp.int32),
            }
            if self.partition is not None:
                data.update(self._shards(np.asarray(y)))
            object.__setattr__(self, "_data", data)
        return self._data

    def check_workers(self, num_workers: int) -> None:
        """Raises ``ValueError`` unless ``workers`` (if set) is ``num_workers``
        and, with a partition, every shard is non-empty."""
        if self.workers is not None and self.workers != num_workers:
            raise ValueError(
                f"the objective's workers={self.workers} must equal the "
                f"simulator's num_workers={num_workers}"
            )
        if self.partition is not None:
            _ = self.data  # builds the shards; raises if one is empty

    # ---------------------------------------------------------------- model
    def apply(self, w: dict, x: jax.Array) -> jax.Array:
        """Logits ``(rows, num_classes)`` of a batch of inputs."""
        raise NotImplementedError

    def sample(self, key, data, worker=0):
        """``batch`` training-row indices, with replacement, from the whole
        set or from worker ``worker``'s shard.

        A shard's size is a traced number, so its positions are drawn with
        ``jax.random.randint``; ``uniform_indices`` needs a static size.
        """
        if self.partition is None:
            return uniform_indices(key, (self.batch,), data["x"].shape[0])
        size = data["shard_size"][worker]
        position = jax.random.randint(key, (self.batch,), 0, size)
        return data["shards"][worker, position]

    def _batch_cross_entropy(self, w, x, y):
        return jnp.mean(_cross_entropy(self.apply(w, x), y))

    def gradient(self, data, w, batch):
        x, y = data["x"][batch], data["y"][batch]
        return jax.grad(self._batch_cross_entropy)(w, x, y)

    def batch_loss(self, data, w, batch):
        return self._batch_cross_entropy(w, data["x"][batch], data["y"][batch])

    def _row_mean(self, w, x, y, per_row):
        """Mean of ``per_row(logits, labels)`` over the rows, in chunks of
        ``_EVAL_NUMBERS`` input numbers."""
        chunk = max(1, _EVAL_NUMBERS // math.prod(x.shape[1:]))
        if x.shape[0] <= chunk:
            return jnp.mean(per_row(self.apply(w, x), y))

        def one(row):
            xi, yi = row
            return per_row(self.apply(w, xi[None]), yi[None])[0]

        return jnp.mean(jax.lax.map(one, (x, y), batch_size=chunk))

    def loss(self, data, w):
        n = self.eval_samples
        x, y = data["x"][:n], data["y"][:n]
        return self._row_mean(w, x, y, _cross_entropy)

    def metric(self, data, w):
        def correct(logits, labels):
            return (jnp.argmax(logits, axis=-1) == labels).astype(logits.dtype)

        return self._row_mean(w, data["x_test"], data["y_test"], correct)
