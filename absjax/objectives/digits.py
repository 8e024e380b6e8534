"""The digits: scikit-learn's 8x8 images, real data with nothing downloaded.

**Digits** (``load_digits``): scikit-learn's copy of the test part of the UCI
"Optical Recognition of Handwritten Digits" set (Alpaydin and Kaynak, 1998;
https://archive.ics.uci.edu/dataset/80), 1,797 grey 8x8 images of the digits
0..9 whose pixels count the set pixels of a 4x4 block of a 32x32 bitmap
(0..16), read with ``sklearn.datasets.load_digits`` and split here into
training and test rows, stratified by class.

The layout is that of :func:`absjax.objectives.datasets.load_mnist`, and
``absjax.datasets.load_digits`` is the same function.
"""

from __future__ import annotations

import math

import numpy as np

from absjax._validate import check_int, check_real

_DIGITS_SHAPE = (8, 8)  # rows, cols of one digits image
_DIGITS_LEVELS = 16  # a digits pixel counts the set pixels of a 4x4 block: 0..16


def _stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted int64 ``(train, test)`` row indices, stratified by class.

    The test split holds ``n_test = ceil(test_fraction * n)`` rows (scikit-
    learn's ``train_test_split`` convention). Class ``c`` of ``n_c`` rows gets
    ``floor(q_c)`` or ``ceil(q_c)`` of them, ``q_c = n_test * n_c / n``
    (largest remainders, ties to the smaller label), chosen uniformly at random
    from ``numpy.random.default_rng(seed)``: one permutation per class, in
    sorted label order.
    """
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n = labels.size
    n_test = math.ceil(test_fraction * n)
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_fraction={test_fraction!r} puts {n_test} of {n} rows in the "
            "test split; both splits must be non-empty"
        )
    exact = n_test * counts / n
    quota = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: n_test - quota.sum()]] += 1
    rng = np.random.default_rng(seed)
    test = [
        rng.permutation(np.flatnonzero(codes == c))[: quota[c]]
        for c in range(classes.size)
    ]
    test = np.sort(np.concatenate(test)).astype(np.int64)
    train = np.setdiff1d(np.arange(n), test).astype(np.int64)
    return train, test


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> dict[str, np.ndarray]:
    """scikit-learn's 8x8 digits, split into stratified training and test rows.

    The 1,797 images of ``sklearn.datasets.load_digits`` (shipped inside the
    scikit-learn wheel: nothing is downloaded; 174 to 183 per class) are
    scaled to ``[0, 1]`` by ``/ 16`` (the pixels count the set pixels of a
    4x4 block, 0..16). ``ceil(test_fraction * 1797)`` of them form the test
    split, each class contributing ``floor`` or ``ceil`` of its share
    ``n_test * n_c / 1797``, i.e. within one row of ``test_fraction * n_c``;
    the rows are chosen at random from ``seed`` (a pure function of
    ``(test_fraction, seed)``). Both splits keep scikit-learn's row order.
    Sizes (train / test): 1,617 / 180 for ``test_fraction = 0.1``, 1,437 /
    360 for 0.2 (the default; 35 to 37 test rows per class), 1,347 / 450 for
    0.25 and 898 / 899 for 0.5.

    scikit-learn is imported on the first call, not with ``absjax`` (its
    import takes seconds).

    Parameters
    ----------
    test_fraction : float, default 0.2
        The share of every class held out, in ``(0, 1)``; both splits must be non-empty.
    seed : int, default 0
        Seed ``>= 0`` of the NumPy generator that picks the test rows.

    Returns
    -------
    dict
        ``{"x_train": float32 (n, 8, 8, 1), "y_train": int32 (n,), "x_test": float32 (m,
        8, 8, 1), "y_test": int32 (m,)}``, the layout of ``load_mnist``.

    Raises
    ------
    ValueError
        ``test_fraction`` or ``seed`` is out of range.
    ImportError
        Scikit-learn is not installed.

    Examples
    --------
    >>> data = load_digits()
    >>> data["x_train"].shape, data["x_test"].shape, data["y_train"].dtype
    ((1437, 8, 8, 1), (360, 8, 8, 1), dtype('int32'))
    >>> float(data["x_train"].min()), float(data["x_train"].max())
    (0.0, 1.0)
    """
    test_fraction = check_real(
        "test_fraction", test_fraction, 0.0, 1.0, strict_low=True
    )
    seed = check_int("seed", seed, 0)
    try:
        from sklearn.datasets import load_digits as sklearn_digits  # lazy: slow
    except ImportError as err:
        raise ImportError(
            "load_digits needs scikit-learn (pip install 'scikit-learn>=1.3')"
        ) from err
    raw = sklearn_digits()
    images = np.asarray(raw.images, np.float32).reshape(-1, *_DIGITS_SHAPE, 1)
    images /= np.float32(_DIGITS_LEVELS)
    labels = np.asarray(raw.target, np.int32)
    train, test = _stratified_split(labels, test_fraction, seed)
    return {
        "x_train": images[train],
        "y_train": labels[train],
        "x_test": images[test],
        "y_test": labels[test],
    }
