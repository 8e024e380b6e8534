"""Non-i.i.d. worker splits of a labelled data set.

**Non-i.i.d. workers**: ``dirichlet_partition`` is the Dirichlet label split
of Hsu, Qi and Brown, "Measuring the Effects of Non-Identical Data Distribution
for Federated Visual Classification" (arXiv 1909.06335); ``label_shards`` is
the split of the ABS authors' STSyn code (sort by label, cut into contiguous
shards); ``label_skew`` measures how far the workers' label mixes are from the
global one.

>>> import numpy as np
>>> labels = np.repeat(np.arange(10), 100)
>>> parts = dirichlet_partition(labels, num_workers=20, alpha=0.1, seed=0)
>>> np.array_equal(np.sort(np.concatenate(parts)), np.arange(1000))
True
>>> iid = dirichlet_partition(labels, num_workers=20, alpha=None, seed=0)
>>> bool(label_skew(labels, parts) > label_skew(labels, iid))
True
>>> [np.unique(labels[p]).tolist() for p in label_shards(labels, 4)]
[[0, 1, 2], [2, 3, 4], [5, 6, 7], [7, 8, 9]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from absjax._validate import check_int


def _check_label_array(labels: Any) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be a non-empty 1-D integer array, got shape {y.shape} "
            f"and dtype {y.dtype}"
        )
    return y


def _is_iid(alpha: Any) -> bool:
    """``True`` for ``None``/``inf``; checks a finite ``alpha > 0`` otherwise."""
    if alpha is None:
        return True
    is_number = isinstance(alpha, int | float | np.integer | np.floating)
    if is_number and not isinstance(alpha, bool | np.bool_):
        if alpha == math.inf:
            return True
        if math.isfinite(alpha) and alpha > 0:
            return False
    raise ValueError(f"alpha={alpha!r} must be in (0, inf], or None for i.i.d.")


def dirichlet_partition(
    labels: Any,
    num_workers: int,
    alpha: float | None,
    seed: int = 0,
) -> list[np.ndarray]:
    """Splits sample indices over workers with Dirichlet(alpha) label mixes.

    For each class ``c`` (in sorted order) the indices with label ``c`` are
    shuffled, proportions ``p ~ Dirichlet(alpha * ones(num_workers))`` are
    drawn, and worker ``w`` receives the slice between
    ``floor(n_c * cumsum(p)[w - 1])`` and ``floor(n_c * cumsum(p)[w])``
    (Hsu, Qi, Brown, arXiv 1909.06335, Sec. 3). Small ``alpha`` gives each
    worker few classes (``alpha -> 0``: one class per worker and class), large
    ``alpha`` approaches the global mix. ``alpha = inf`` or ``None`` is the
    i.i.d. split: all indices shuffled, then cut into ``num_workers`` parts
    whose sizes differ by at most one (``np.array_split``). (The Dirichlet
    split's own ``alpha -> inf`` limit is stratified, ``n_c / num_workers`` of
    every class per worker, so a large finite ``alpha`` can be less skewed
    than this random split; ``label_skew`` notes the i.i.d. sampling skew.)

    Every index ``0 .. len(labels) - 1`` lands in exactly one part. A worker
    can receive no sample at all when ``alpha`` is small or
    ``num_workers > len(labels)``.

    Parameters
    ----------
    labels : object
        1-D integer class labels, one per sample.
    num_workers : int
        The number of parts, ``>= 1``.
    alpha : float or None
        Dirichlet concentration in ``(0, inf)``, or ``inf``/``None`` for an i.i.d.
        split.
    seed : int, default 0
        Seed ``>= 0`` of the NumPy generator; the split is a pure function of ``(labels,
        num_workers, alpha, seed)``.

    Returns
    -------
    list of numpy.ndarray
        ``num_workers`` sorted int64 index arrays.

    Raises
    ------
    ValueError
        ``labels`` is not a non-empty 1-D integer array, or ``num_workers``, ``alpha``
        or ``seed`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> parts = dirichlet_partition(labels, num_workers=2, alpha=None, seed=0)
    >>> [len(p) for p in parts]
    [4, 4]
    >>> parts = dirichlet_partition(labels, num_workers=3, alpha=0.5, seed=1)
    >>> sorted(np.concatenate(parts).tolist())
    [0, 1, 2, 3, 4, 5, 6, 7]
    """
    y = _check_label_array(labels)
    num_workers = check_int("num_workers", num_workers, 1)
    iid = _is_iid(alpha)
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    if iid:
        chunks = np.array_split(rng.permutation(y.size), num_workers)
        return [np.sort(chunk).astype(np.int64) for chunk in chunks]
    pieces: list[list[np.ndarray]] = [[] for _ in range(num_workers)]
    concentration = np.full(num_workers, float(alpha))
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        share = rng.dirichlet(concentration)
        cuts = np.floor(np.cumsum(share)[:-1] * members.size).astype(np.int64)
        cuts = np.clip(cuts, 0, members.size)
        for worker, chunk in enumerate(np.split(members, cuts)):
            pieces[worker].append(chunk)
    return [np.sort(np.concatenate(p)).astype(np.int64) for p in pieces]


def label_shards(labels: Any, num_workers: int) -> list[np.ndarray]:
    """Sorts the samples by label and cuts them into contiguous shards.

    The non-i.i.d. split of the STSyn code of the ABS authors' group
    ("STSyn: Speeding Up Local SGD with Straggler-Tolerant Synchronization",
    the precursor of ABS, arXiv 2301.08895, which shares a co-author; there
    with N = 20 CIFAR-10 shards): the indices are sorted by label (stably, so
    ties keep their order in ``labels``) and cut into ``num_workers``
    consecutive pieces whose sizes differ by at most one
    (``np.array_split``). Shard ``w`` thus covers a run of consecutive labels:
    with ``C`` classes of about ``n / C`` samples each, about ``C / N + 1``
    of them, at most ``ceil((n / N - 1) / n_min) + 1`` with ``n_min`` the
    smallest class. On the 1,437 digits training rows (``load_digits()``,
    139 to 146 per class, the same counts for every ``seed``): N = 8 shards
    of 179-180 rows cover exactly 2 labels each, N = 16 shards of 89-90 rows
    1 or 2 (8 shards each), N = 20 shards of 71-72 rows 1 (12 shards) or 2
    (8 shards). Unlike ``dirichlet_partition`` there is no seed: the
    split is a function of ``labels`` alone (``networks`` applies it to rows
    stored in a random order, so which samples of a class share a shard is
    random there).

    Every index ``0 .. len(labels) - 1`` lands in exactly one shard; a shard
    is empty only when ``num_workers > len(labels)``.

    Parameters
    ----------
    labels : object
        1-D integer class labels, one per sample.
    num_workers : int
        The number of shards, ``>= 1``.

    Returns
    -------
    list of numpy.ndarray
        ``num_workers`` sorted int64 index arrays.

    Raises
    ------
    ValueError
        ``labels`` is not a non-empty 1-D integer array, or ``num_workers`` is not an
        integer ``>= 1``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([2, 0, 1, 0, 2, 1, 0])
    >>> [p.tolist() for p in label_shards(labels, 3)]
    [[1, 3, 6], [2, 5], [0, 4]]
    """
    y = _check_label_array(labels)
    num_workers = check_int("num_workers", num_workers, 1)
    order = np.argsort(y, kind="stable")
    return [np.sort(c).astype(np.int64) for c in np.array_split(order, num_workers)]


def label_skew(labels: Any, parts: Sequence[Any]) -> float:
    """Mean total-variation distance of the workers' label mixes from the global.

    With ``q_w`` the label distribution of part ``w`` and ``p`` that of all of
    ``labels``, returns ``mean_w TV(q_w, p) = mean_w sum_c |q_w(c) - p(c)| / 2``
    over the non-empty parts: ``0`` when every worker sees the global mix,
    ``1 - min_c p(c)`` at most (each worker holds the rarest single class).
    An i.i.d. part of ``m`` samples still has a sampling skew of order
    ``sqrt(num_classes / m)``.

    Parameters
    ----------
    labels : object
        1-D integer class labels, one per sample.
    parts : sequence of object
        Index arrays into ``labels`` (e.g. from ``dirichlet_partition``), at least one
        of them non-empty.

    Returns
    -------
    float
        The mean distance, a float in ``[0, 1)``.

    Raises
    ------
    ValueError
        ``labels`` is not a non-empty 1-D integer array, a part is not a 1-D integer
        array of indices in ``[0, len(labels))``, or all parts are empty.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> label_skew(labels, [np.array([0, 2]), np.array([1, 3])])
    0.0
    >>> label_skew(labels, [np.array([0, 1]), np.array([2, 3])])
    0.5
    """
    y = _check_label_array(labels)
    _, codes = np.unique(y, return_inverse=True)
    num_classes = int(codes.max()) + 1
    overall = np.bincount(codes, minlength=num_classes) / y.size
    distances = []
    for w, part in enumerate(parts):
        index = np.asarray(part)
        if index.size == 0:
            continue
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise ValueError(f"parts[{w}] must be a 1-D integer index array")
        if index.min() < 0 or index.max() >= y.size:
            raise ValueError(
                f"parts[{w}] holds indices in [{index.min()}, {index.max()}], "
                f"which must be in [0, len(labels)={y.size})"
            )
        mix = np.bincount(codes[index], minlength=num_classes) / index.size
        distances.append(0.5 * np.abs(mix - overall).sum())
    if not distances:
        raise ValueError("parts must hold at least one non-empty index array")
    return float(np.mean(distances))
