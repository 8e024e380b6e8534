"""Real data sets: CIFAR-10 and MNIST readers (and the digits, re-exported).

The readers take a local directory and return NumPy arrays::

    {"x_train": float32 (n, rows, cols, channels) in [0, 1], "y_train": int32 (n,),
     "x_test": ..., "y_test": ...}

Nothing is downloaded at run time and nothing is written: fetch the files once,
by hand, and point the reader at the directory that holds them.

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

The digits (``load_digits``, in :mod:`absjax.objectives.digits`) ship inside
the scikit-learn wheel and need no file at all. The non-i.i.d. worker splits
(``dirichlet_partition``, ``label_shards``, ``label_skew``) live in
:mod:`absjax.objectives.partition`. Both are re-exported here.
"""

from __future__ import annotations

import gzip
import importlib
import math
import os
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from absjax.objectives.digits import load_digits as load_digits
from absjax.objectives.partition import dirichlet_partition as dirichlet_partition
from absjax.objectives.partition import label_shards as label_shards
from absjax.objectives.partition import label_skew as label_skew

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

    Parameters
    ----------
    directory : PathLike
        The folder that holds the batch files.

    Returns
    -------
    dict
        ``{"x_train": float32 (n, 32, 32, 3), "y_train": int32 (n,), "x_test": float32
        (m, 32, 32, 3), "y_test": int32 (m,)}``, pixels scaled to ``[0, 1]`` by ``/
        255``, channels last.

    Raises
    ------
    ValueError
        The directory or a file is missing, a file is not a readable pickle or asks for
        a global other than the NumPy array constructors, or its keys, shapes or labels
        are wrong; the message names the file.

    Examples
    --------
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

    Parameters
    ----------
    directory : PathLike
        The folder that holds the idx files.

    Returns
    -------
    dict
        ``{"x_train": float32 (n, rows, cols, 1), "y_train": int32 (n,), "x_test":
        float32 (m, rows, cols, 1), "y_test": int32 (m,)}``, pixels scaled to ``[0, 1]``
        by ``/ 255``.

    Raises
    ------
    ValueError
        The directory or a file is missing or unreadable, a magic number is wrong, a
        payload is shorter or longer than its header says (the message gives both byte
        counts), image and label counts differ, labels are outside ``0..9`` or the
        splits' image sizes differ; the message names the file.

    Examples
    --------
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
