"""Real data sets: CIFAR-10, MNIST and digits readers and non-i.i.d. worker splits.

The readers return NumPy arrays::

    {"x_train": float32 (n, rows, cols, channels) in [0, 1], "y_train": int32 (n,),
     "x_test": ..., "y_test": ...}

Nothing is downloaded at run time and nothing is written. CIFAR-10 and MNIST
are read from a local directory: fetch the files once, by hand, and point the
reader at the directory that holds them. The digits (``load_digits``) ship
inside the scikit-learn wheel and need no file at all.

**CIFAR-10** (``load_cifar10``): the "CIFAR-10 python version" from the
Toronto CIFAR page, https://www.cs.toronto.edu/~kriz/cifar.html, file
``cifar-10-python.tar.gz`` (170,498,071 bytes, md5
``c58f30108f718f92721af3b95e74349a``)::

    curl -O https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz
    tar xzf cifar-10-python.tar.gz    # creates cifar-10-batches-py/

then ``load_cifar10("cifar-10-batches-py")`` (the directory holding
``data_batch_1`` .. ``data_batch_5`` and ``test_batch``; its parent works too).
The batch files are pickles, read with an unpickler that only rebuilds dicts,
lists and NumPy arrays and refuses every other global, so a tampered file
cannot run code.

**MNIST** (``load_mnist``): the four idx files ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``, each plain or gzipped (``.gz``), from
http://yann.lecun.com/exdb/mnist/ or the usual mirror
https://ossci-datasets.s3.amazonaws.com/mnist/ (the one torchvision uses)::

    for f in train-images-idx3-ubyte train-labels-idx1-ubyte \\
             t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        curl -O https://ossci-datasets.s3.amazonaws.com/mnist/$f.gz
    done

The md5 sums of the ``.gz`` files, in that order, are
``f68b3c2dcbeaaa9fbdd348bbdeb94873``, ``d53e105ee54ea40749a09fcbcd1e9432``,
``9fb629c4189551a2d022fa330f9573f3`` and ``ec29112dd5afa0611ce80d1b7f02629c``.

**Digits** (``load_digits``): scikit-learn's copy of the test part of the UCI
"Optical Recognition of Handwritten Digits" set (Alpaydin and Kaynak, 1998;
https://archive.ics.uci.edu/dataset/80), 1,797 grey 8x8 images of the digits
0..9 whose pixels count the set pixels of a 4x4 block of a 32x32 bitmap
(0..16), read with ``sklearn.datasets.load_digits`` and split here into
training and test rows, stratified by class.

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

import gzip
import importlib
import math
import os
import pickle
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from absjax._validate import check_int, check_real

NUM_CLASSES = 10  # CIFAR-10, MNIST and digits all label their classes 0..9

_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"
_CIFAR_FOLDER = "cifar-10-batches-py"  # what cifar-10-python.tar.gz extracts to
_CIFAR_SHAPE = (3, 32, 32)  # one row: 1024 red, then green, then blue, row-major
_CIFAR_ROW = math.prod(_CIFAR_SHAPE)  # 3072 bytes per image

_IDX_IMAGES = 0x00000803  # idx magic: two zero bytes, 0x08 = unsigned byte, 3 dims
_IDX_LABELS = 0x00000801  # the same with 1 dim
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_DIGITS_SHAPE = (8, 8)  # rows, cols of one digits image
_DIGITS_LEVELS = 16  # a digits pixel counts the set pixels of a 4x4 block: 0..16

PathLike = str | os.PathLike


# ----------------------------------------------------------------------------
# Restricted unpickling
# ----------------------------------------------------------------------------


class _Refused(pickle.UnpicklingError):
    """A global outside the allow-list (raised before anything is called)."""


def _numpy_core(module: str) -> Any:
    try:  # NumPy >= 2 (and the forward-compatible stubs of 1.26)
        return importlib.import_module(f"numpy._core.{module}")
    except ImportError:  # older NumPy
        return importlib.import_module(f"numpy.core.{module}")


def _latin1_encode(text: Any, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` restricted to what pickle protocol <= 2 emits for bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode is only allowed as (str, 'latin1')")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    reconstruct = _numpy_core("multiarray")._reconstruct
    frombuffer = _numpy_core("numeric")._frombuffer
    return {
        # ndarray.__reduce__ (protocols 0-4; Python 2 pickles such as CIFAR-10's
        # name numpy.core, NumPy >= 2 writes numpy._core).
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # ndarray.__reduce_ex__ under protocol 5 (Python 3.8+'s default):
        # frombuffer(buf, dtype).reshape(shape), which refuses object dtypes.
        ("numpy.core.numeric", "_frombuffer"): frombuffer,
        ("numpy._core.numeric", "_frombuffer"): frombuffer,
        # bytes under protocols 0-2 when written by Python 3.
        ("_codecs", "encode"): _latin1_encode,
    }


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds only dicts, lists, scalars, strings and NumPy arrays."""

    def __init__(self, file: Any, path: Path):
        # encoding="bytes": Python 2 str (keys, the array buffer) -> bytes.
        super().__init__(file, encoding="bytes")
        self._path = path
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise _Refused(
                f"{self._path}: refusing to unpickle global {module}.{name}; only "
                "dicts, lists and NumPy arrays are allowed"
            ) from None


def _load_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as file:
            return _RestrictedUnpickler(file, path).load()
    except _Refused as err:
        message = str(err)
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        raise ValueError(message) from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read file ({err})") from err
    except Exception as err:  # any malformed pickle: report, never half-load
        raise ValueError(
            f"{path}: not a readable pickle ({type(err).__name__}: {err})"
        ) from err


# ----------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------


def _check_labels(path: Path, labels: Any, count: int) -> np.ndarray:
    """Labels as int32, checked for length ``count`` and range 0..9."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{path}: labels must be 1-D, got shape {y.shape}")
    if y.size == 0:
        y = y.astype(np.int32)
    if y.dtype.kind not in "iu":
        raise ValueError(f"{path}: labels must be integers, got dtype {y.dtype}")
    if y.size != count:
        raise ValueError(f"{path}: {y.size} labels for {count} images")
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise ValueError(
            f"{path}: labels must be in [0, {NUM_CLASSES - 1}], got values in "
            f"[{y.min()}, {y.max()}]"
        )
    return y.astype(np.int32)


def _get(path: Path, batch: dict, key: str) -> Any:
    for candidate in (key.encode(), key):  # Python 2 str keys load as bytes
        if candidate in batch:
            return batch[candidate]
    keys = sorted(repr(k) for k in batch)
    raise ValueError(f"{path}: missing key b{key!r}; keys are {', '.join(keys)}")


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (uint8 (m, 3072), int32 (m,))."""
    if not path.is_file():
        raise ValueError(f"{path}: missing CIFAR-10 batch file")
    batch = _load_pickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    data = _get(path, batch, "data")
    if not isinstance(data, np.ndarray):
        raise ValueError(f"{path}: data must be a NumPy array, got {type(data)}")
    if data.ndim != 2 or data.shape[1] != _CIFAR_ROW:
        raise ValueError(f"{path}: data must have shape (m, 3072), got {data.shape}")
    if data.dtype != np.uint8:
        if data.dtype.kind not in "iu":
            raise ValueError(f"{path}: data must be uint8, got dtype {data.dtype}")
        if data.size and (data.min() < 0 or data.max() > 255):
            raise ValueError(f"{path}: data must be bytes in [0, 255]")
        data = data.astype(np.uint8)
    labels = _check_labels(path, _get(path, batch, "labels"), data.shape[0])
    return data, labels


def _cifar_images(rows: np.ndarray) -> np.ndarray:
    """uint8 (m, 3072) channel-first rows -> float32 (m, 32, 32, 3) in [0, 1]."""
    images = rows.reshape(-1, *_CIFAR_SHAPE).transpose(0, 2, 3, 1)
    images = images.astype(np.float32, order="C")
    images /= np.float32(255.0)
    return images


def load_cifar10(directory: PathLike) -> dict[str, np.ndarray]:
    """Reads the CIFAR-10 "python version" batch files from ``directory``.

    ``directory`` holds ``data_batch_1`` .. ``data_batch_5`` (training, in that
    order) and ``test_batch``, as extracted from ``cifar-10-python.tar.gz``
    (see the module docstring); the parent of ``cifar-10-batches-py`` is
    accepted too. Each file is a pickled dict with ``b"data"``, a uint8 array
    ``(m, 3072)`` whose rows are a 3x32x32 image stored channel-first, and
    ``b"labels"``, ``m`` integers in ``0..9`` (the full data set has
    ``m = 10000``; any ``m`` is accepted). ``batches.meta`` is not needed.

    Args:
        directory: the folder that holds the batch files.

    Returns:
        ``{"x_train": float32 (n, 32, 32, 3), "y_train": int32 (n,),
        "x_test": float32 (m, 32, 32, 3), "y_test": int32 (m,)}``, pixels
        scaled to ``[0, 1]`` by ``/ 255``, channels last.

    Raises:
        ValueError: the directory or a file is missing, a file is not a
            readable pickle or asks for a global other than the NumPy array
            constructors, or its keys, shapes or labels are wrong; the
            message names the file.

    >>> import pickle, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> tmp = tempfile.TemporaryDirectory()
    >>> names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    >>> for name in names:
    ...     batch = {b"data": np.full((2, 3072), 255, np.uint8), b"labels": [3, 7]}
    ...     _ = Path(tmp.name, name).write_bytes(pickle.dumps(batch))
    >>> data = load_cifar10(tmp.name)
    >>> data["x_train"].shape, data["x_train"].dtype, data["y_test"].tolist()
    ((10, 32, 32, 3), dtype('float32'), [3, 7])
    >>> float(data["x_train"].max())
    1.0
    >>> tmp.cleanup()
    """
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"directory={str(directory)!r} is not an existing directory")
    if not (root / _CIFAR_TRAIN[0]).exists() and (root / _CIFAR_FOLDER).is_dir():
        root = root / _CIFAR_FOLDER
    train = [_cifar_batch(root / name) for name in _CIFAR_TRAIN]
    x_test, y_test = _cifar_batch(root / _CIFAR_TEST)
    return {
        "x_train": _cifar_images(np.concatenate([x for x, _ in train])),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": _cifar_images(x_test),
        "y_test": y_test,
    }


# ----------------------------------------------------------------------------
# MNIST (idx files)
# ----------------------------------------------------------------------------


def _read_maybe_gzip(root: Path, name: str) -> tuple[Path, bytes]:
    plain, packed = root / name, root / f"{name}.gz"
    if plain.is_file():
        path = plain
    elif packed.is_file():
        path = packed
    else:
        raise ValueError(f"{plain}: missing MNIST file (looked for it and {packed})")
    try:
        raw = path.read_bytes()
        if path is packed:
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: cannot read file ({err})") from err
    return path, raw


def _parse_idx(path: Path, raw: bytes, magic: int) -> np.ndarray:
    """An unsigned-byte idx file: big-endian magic, ``ndim`` uint32 dims, data."""
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for an idx header")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise ValueError(
            f"{path}: magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})"
        )
    if len(raw) < header:
        raise ValueError(
            f"{path}: truncated idx header, expected {header} bytes, got {len(raw)}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + math.prod(dims)
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "trailing bytes"
        raise ValueError(
            f"{path}: {state}: header dims {dims} need {expected} bytes, "
            f"file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _mnist_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = _MNIST_FILES[split]
    images_path, raw = _read_maybe_gzip(root, images_name)
    images = _parse_idx(images_path, raw, _IDX_IMAGES)
    if min(images.shape[1:]) < 1:
        raise ValueError(f"{images_path}: images of size {images.shape[1:]}")
    labels_path, raw = _read_maybe_gzip(root, labels_name)
    labels = _parse_idx(labels_path, raw, _IDX_LABELS)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{labels_path}: {labels.shape[0]} labels, but {images_path} holds "
            f"{images.shape[0]} images"
        )
    labels = _check_labels(labels_path, labels, images.shape[0])
    x = images[..., None].astype(np.float32)  # (n, rows, cols, 1)
    x /= np.float32(255.0)
    return x, labels


def load_mnist(directory: PathLike) -> dict[str, np.ndarray]:
    """Reads the four MNIST idx files (plain or ``.gz``) from ``directory``.

    The files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (see the module
    docstring for where to get them); a plain file is preferred over its
    ``.gz``. An idx file is a big-endian header, magic ``0x00000803`` and dims
    ``(n, rows, cols)`` for images or ``0x00000801`` and ``(n,)`` for labels,
    then the unsigned bytes; MNIST has ``rows = cols = 28`` but any size is
    accepted (the same for both splits).

    Args:
        directory: the folder that holds the idx files.

    Returns:
        ``{"x_train": float32 (n, rows, cols, 1), "y_train": int32 (n,),
        "x_test": float32 (m, rows, cols, 1), "y_test": int32 (m,)}``, pixels
        scaled to ``[0, 1]`` by ``/ 255``.

    Raises:
        ValueError: the directory or a file is missing or unreadable, a magic
            number is wrong, a payload is shorter or longer than its header
            says (the message gives both byte counts), image and label counts
            differ, labels are outside ``0..9`` or the splits' image sizes
            differ; the message names the file.

    >>> import gzip, struct, tempfile
    >>> from pathlib import Path
    >>> def idx(magic, dims, payload):
    ...     return struct.pack(f">{1 + len(dims)}I", magic, *dims) + bytes(payload)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for split, n in [("train", 3), ("t10k", 2)]:
    ...     images = idx(0x803, (n, 28, 28), [255] * (n * 784))
    ...     labels = idx(0x801, (n,), range(n))
    ...     gz = gzip.compress(images)
    ...     _ = Path(tmp.name, f"{split}-images-idx3-ubyte.gz").write_bytes(gz)
    ...     _ = Path(tmp.name, f"{split}-labels-idx1-ubyte").write_bytes(labels)
    >>> data = load_mnist(tmp.name)
    >>> data["x_train"].shape, data["y_train"].tolist(), float(data["x_test"].min())
    ((3, 28, 28, 1), [0, 1, 2], 1.0)
    >>> tmp.cleanup()
    """
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"directory={str(directory)!r} is not an existing directory")
    x_train, y_train = _mnist_split(root, "train")
    x_test, y_test = _mnist_split(root, "test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"{root}: training images are {x_train.shape[1:3]} but test images "
            f"are {x_test.shape[1:3]}"
        )
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


# ----------------------------------------------------------------------------
# Digits (scikit-learn)
# ----------------------------------------------------------------------------


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

    Args:
        test_fraction: the share of every class held out, in ``(0, 1)``; both
            splits must be non-empty.
        seed: seed ``>= 0`` of the NumPy generator that picks the test rows.

    Returns:
        ``{"x_train": float32 (n, 8, 8, 1), "y_train": int32 (n,),
        "x_test": float32 (m, 8, 8, 1), "y_test": int32 (m,)}``, the layout
        of ``load_mnist``.

    Raises:
        ValueError: ``test_fraction`` or ``seed`` is out of range.
        ImportError: scikit-learn is not installed.

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


# ----------------------------------------------------------------------------
# Worker partitions
# ----------------------------------------------------------------------------


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

    Args:
        labels: 1-D integer class labels, one per sample.
        num_workers: the number of parts, ``>= 1``.
        alpha: Dirichlet concentration in ``(0, inf)``, or ``inf``/``None``
            for an i.i.d. split.
        seed: seed ``>= 0`` of the NumPy generator; the split is a pure
            function of ``(labels, num_workers, alpha, seed)``.

    Returns:
        ``num_workers`` sorted int64 index arrays.

    Raises:
        ValueError: ``labels`` is not a non-empty 1-D integer array, or
            ``num_workers``, ``alpha`` or ``seed`` is out of range.

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

    Args:
        labels: 1-D integer class labels, one per sample.
        num_workers: the number of shards, ``>= 1``.

    Returns:
        ``num_workers`` sorted int64 index arrays.

    Raises:
        ValueError: ``labels`` is not a non-empty 1-D integer array, or
            ``num_workers`` is not an integer ``>= 1``.

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

    Args:
        labels: 1-D integer class labels, one per sample.
        parts: index arrays into ``labels`` (e.g. from ``dirichlet_partition``),
            at least one of them non-empty.

    Returns:
        The mean distance, a float in ``[0, 1)``.

    Raises:
        ValueError: ``labels`` is not a non-empty 1-D integer array, a part is
            not a 1-D integer array of indices in ``[0, len(labels))``, or all
            parts are empty.

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
