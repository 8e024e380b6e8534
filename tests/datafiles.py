"""Tiny CIFAR-10 and MNIST files in exactly their on-disk formats, for the tests.

CIFAR-10 batches are pickled dicts of NumPy arrays (including a byte-for-byte
Python 2 ``cPickle`` protocol-2 file like the real ones); MNIST files are idx
files packed with ``struct``, plain or gzipped. Shared by the data-set and the
network tests (test modules cannot import each other).
"""

import gzip
import pickle
import struct

import numpy as np

CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_FILES = [*CIFAR_TRAIN, "test_batch"]


# ----------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------


def py2_pickle(data, labels):
    """What Python 2's ``cPickle.dump(batch, f, 2)`` writes for a CIFAR batch:
    str keys and buffers as (SHORT_)BINSTRING, ``numpy.core.multiarray``."""

    def string(raw):
        if len(raw) < 256:
            return b"U" + bytes([len(raw)]) + raw  # SHORT_BINSTRING
        return b"T" + struct.pack("<i", len(raw)) + raw  # BINSTRING

    def integer(value):
        return b"J" + struct.pack("<i", value)  # BININT

    dtype = (
        b"cnumpy\ndtype\n"
        + string(b"u1")
        + integer(0)
        + integer(1)
        + b"\x87R"  # TUPLE3, REDUCE -> numpy.dtype("u1", 0, 1)
        + b"("
        + integer(3)
        + string(b"|")
        + b"NNN"
        + integer(-1)
        + integer(-1)
        + integer(0)
        + b"tb"  # TUPLE, BUILD -> dtype.__setstate__
    )
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        + b"cnumpy\nndarray\n"
        + integer(0)
        + b"\x85"
        + string(b"b")
        + b"\x87R"  # _reconstruct(ndarray, (0,), "b")
        + b"("
        + integer(1)
        + integer(data.shape[0])
        + integer(data.shape[1])
        + b"\x86"
        + dtype
        + b"\x89"
        + string(data.tobytes())
        + b"tb"  # ndarray.__setstate__((1, shape, dtype, False, raw))
    )
    label_list = b"](" + b"".join(integer(v) for v in labels) + b"e"
    return (
        b"\x80\x02}("
        + string(b"batch_label")
        + string(b"training batch 1 of 5")
        + string(b"data")
        + array
        + string(b"labels")
        + label_list
        + b"u."
    )


def write_batch(path, data, labels, protocol=pickle.DEFAULT_PROTOCOL, keys=bytes):
    if protocol == "py2":
        path.write_bytes(py2_pickle(np.asarray(data), list(labels)))
        return
    batch = {keys(b"data"): data, keys(b"labels"): labels}
    if keys is str:
        batch = {"data": data, "labels": labels}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


def write_cifar(root, sizes=(2, 1, 3, 2, 1, 2), seed=0, **kwargs):
    """Six batch files with ``sizes`` rows; returns {name: (data, labels)}."""
    rng = np.random.default_rng(seed)
    written = {}
    for name, m in zip(CIFAR_FILES, sizes, strict=True):
        data = rng.integers(0, 256, (m, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, m).tolist()
        write_batch(root / name, data, labels, **kwargs)
        written[name] = (data, labels)
    return written


# ----------------------------------------------------------------------------
# MNIST
# ----------------------------------------------------------------------------


def idx(magic, dims, payload):
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + bytes(payload)


def write_mnist(root, n_train=4, n_test=3, rows=28, cols=28, gz=(), seed=0):
    """Four idx files; those named in ``gz`` are gzipped. Returns the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in [("train", n_train), ("t10k", n_test)]:
        images = rng.integers(0, 256, (n, rows, cols), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        arrays[split] = (images, labels)
        files = {
            f"{split}-images-idx3-ubyte": idx(0x803, images.shape, images.tobytes()),
            f"{split}-labels-idx1-ubyte": idx(0x801, labels.shape, labels.tobytes()),
        }
        for name, raw in files.items():
            if name in gz:
                (root / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (root / name).write_bytes(raw)
    return arrays
