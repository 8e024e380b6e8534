"""Real-data readers and the worker splits (``absjax.datasets``).

The file readers are tested on tiny files written by ``datafiles`` in exactly
the on-disk formats: CIFAR-10 batches as pickled dicts of NumPy arrays (including a
byte-for-byte Python 2 ``cPickle`` protocol-2 file like the real ones) and
MNIST idx files packed with ``struct`` (plain and gzipped). The digits come
from the installed scikit-learn wheel. Nothing is downloaded.
"""

import gzip
import os
import pickle
import re
import struct

import numpy as np
import pytest
from datafiles import CIFAR_FILES, CIFAR_TRAIN
from datafiles import idx as _idx
from datafiles import write_batch as _write_batch
from datafiles import write_cifar as _write_cifar
from datafiles import write_mnist as _write_mnist
from scipy import stats

from absjax.datasets import (
    dirichlet_partition,
    label_shards,
    label_skew,
    load_cifar10,
    load_digits,
    load_mnist,
)
from absjax.objectives import digits as digits_lib


def _channels_last(rows):
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / 255.0


@pytest.mark.parametrize("protocol", ["py2", 2, 3, 4, 5])
def test_cifar10_round_trip(tmp_path, protocol):
    written = _write_cifar(tmp_path, protocol=protocol)
    (tmp_path / "batches.meta").write_bytes(b"ignored")  # optional, never read
    data = load_cifar10(tmp_path)
    assert sorted(data) == ["x_test", "x_train", "y_test", "y_train"]
    train_rows = np.concatenate([written[name][0] for name in CIFAR_TRAIN])
    train_labels = sum((written[name][1] for name in CIFAR_TRAIN), [])
    assert data["x_train"].shape == (9, 32, 32, 3)
    assert data["x_train"].dtype == np.float32 and data["y_train"].dtype == np.int32
    assert data["x_test"].shape == (2, 32, 32, 3) and data["x_test"].dtype == np.float32
    assert data["y_test"].dtype == np.int32
    # float32(b) / float32(255) is the correctly rounded b / 255.
    np.testing.assert_array_equal(
        data["x_train"], _channels_last(train_rows).astype(np.float32)
    )
    np.testing.assert_array_equal(data["y_train"], train_labels)
    np.testing.assert_array_equal(data["y_test"], written["test_batch"][1])
    # The layout, spelled out: row i holds red, green, blue planes, row-major.
    row = written["test_batch"][0][1]
    channel, h, w = 2, 5, 17
    assert data["x_test"][1, h, w, channel] == np.float32(
        row[channel * 1024 + h * 32 + w] / 255
    )
    assert data["x_train"].flags.c_contiguous


def test_cifar10_scaling_and_str_keys(tmp_path):
    for name in CIFAR_FILES:
        data = np.array([[0] * 3072, [255] * 3072, [51] * 3072], np.uint8)
        _write_batch(tmp_path / name, data, [0, 9, 4], keys=str)
    data = load_cifar10(tmp_path)
    assert data["x_train"].min() == 0.0 and data["x_train"].max() == 1.0
    np.testing.assert_allclose(data["x_test"][2], 0.2, rtol=1e-7)
    np.testing.assert_array_equal(data["y_train"], [0, 9, 4] * 5)


def test_cifar10_accepts_parent_of_extracted_folder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    _write_cifar(folder)
    np.testing.assert_array_equal(
        load_cifar10(tmp_path)["x_test"], load_cifar10(folder)["x_test"]
    )


def test_cifar10_zero_row_batch(tmp_path):
    _write_cifar(tmp_path, sizes=(0, 1, 1, 1, 1, 1))
    data = load_cifar10(tmp_path)
    assert data["x_train"].shape == (4, 32, 32, 3) and data["y_train"].shape == (4,)


def test_cifar10_missing_directory(tmp_path):
    with pytest.raises(ValueError, match="directory=.*nope.* not an existing"):
        load_cifar10(tmp_path / "nope")


def test_cifar10_missing_file(tmp_path):
    _write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    path = re.escape(str(tmp_path / "data_batch_3"))
    with pytest.raises(ValueError, match=f"{path}: missing"):
        load_cifar10(tmp_path)


def _bad(tmp_path, name="data_batch_2"):
    """A valid directory whose ``name`` will be overwritten by the test."""
    _write_cifar(tmp_path)
    return tmp_path / name


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, r"\(m, 3072\)"),
        ({b"data": np.zeros(3072, np.uint8), b"labels": [0]}, r"\(m, 3072\)"),
        ({b"data": np.zeros((2, 3, 32, 32), np.uint8), b"labels": [0, 1]}, "3072"),
        ({b"data": np.zeros((2, 3072)), b"labels": [0, 1]}, "must be uint8"),
        ({b"data": np.full((1, 3072), 256, np.int64), b"labels": [0]}, "0, 255"),
        ({b"data": [[0] * 3072], b"labels": [0]}, "NumPy array"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "1 labels for 2"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0, 1]}, "2 labels for"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"\[0, 9\]"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [-1, 3]}, r"\[0, 9\]"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0.0, 1.0]}, "integers"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [[1]]}, "1-D"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "missing key b'labels'"),
        ({b"labels": [0, 1]}, "missing key b'data'"),
        ([np.zeros((2, 3072), np.uint8), [0, 1]], "expected a pickled dict"),
    ],
)
def test_cifar10_bad_batch(tmp_path, batch, message):
    path = _bad(tmp_path)
    path.write_bytes(pickle.dumps(batch))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        load_cifar10(tmp_path)


@pytest.mark.parametrize(
    "payload", [b"", b"not a pickle at all", pickle.dumps({b"data": 1})[:-5]]
)
def test_cifar10_unreadable_pickle(tmp_path, payload):
    path = _bad(tmp_path, "test_batch")
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": not a readable"):
        load_cifar10(tmp_path)


class _Shell:
    """Pickles as a call to ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _Call:
    """Pickles as ``function(*args)``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def test_cifar10_refuses_malicious_pickle_without_running_it(tmp_path):
    path = _bad(tmp_path, "data_batch_1")
    sentinel = tmp_path / "pwned"
    evil = {b"data": _Shell(f"touch {sentinel}"), b"labels": []}
    path.write_bytes(pickle.dumps(evil))
    assert b"system" in path.read_bytes()  # the payload really is there
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*refusing.*system"):
        load_cifar10(tmp_path)
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(_Call(eval, "1 + 1")),
        pickle.dumps(_Call(getattr, "text", "upper")),
        pickle.dumps({b"data": _Call(np.load, "x.npy"), b"labels": [0]}),
        pickle.dumps(_Call(np.frombuffer, b"\x00" * 3072, np.uint8)),
        b"\x80\x02cbuiltins\n__import__\nX\x02\x00\x00\x00os\x85R.",
        b"\x80\x02cnumpy\ntesting\n.",
        # _codecs.encode is only allowed for the latin-1 bytes of protocol 2.
        b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x06\x00\x00\x00base64\x86R.",
    ],
    ids=["eval", "getattr", "np.load", "np.frombuffer", "__import__", "numpy", "codec"],
)
def test_cifar10_refuses_other_globals(tmp_path, payload):
    path = _bad(tmp_path, "test_batch")
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*(refus|allowed)"):
        load_cifar10(tmp_path)


ALL_MNIST = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.mark.parametrize("gz", [(), ALL_MNIST, ALL_MNIST[::2]], ids=str)
def test_mnist_round_trip(tmp_path, gz):
    arrays = _write_mnist(tmp_path, gz=gz)
    data = load_mnist(tmp_path)
    assert sorted(data) == ["x_test", "x_train", "y_test", "y_train"]
    for split, key in [("train", "train"), ("t10k", "test")]:
        images, labels = arrays[split]
        x, y = data[f"x_{key}"], data[f"y_{key}"]
        assert x.shape == (*images.shape, 1) and x.dtype == np.float32
        assert y.dtype == np.int32
        np.testing.assert_array_equal(x[..., 0], (images / 255.0).astype(np.float32))
        np.testing.assert_array_equal(y, labels)


def test_mnist_any_image_size_and_pixel_order(tmp_path):
    arrays = _write_mnist(tmp_path, n_train=2, n_test=2, rows=5, cols=7)
    data = load_mnist(tmp_path)
    assert data["x_train"].shape == (2, 5, 7, 1)
    flat = arrays["train"][0].tobytes()  # the idx payload, row-major
    i, r, c = 1, 3, 6
    assert data["x_train"][i, r, c, 0] == np.float32(flat[i * 35 + r * 7 + c] / 255)
    assert 0.0 <= data["x_train"].min() and data["x_train"].max() <= 1.0


def test_mnist_prefers_plain_file_over_gz(tmp_path):
    _write_mnist(tmp_path)
    name = "t10k-labels-idx1-ubyte"
    (tmp_path / f"{name}.gz").write_bytes(b"not gzip, never read")
    assert load_mnist(tmp_path)["y_test"].shape == (3,)


def test_mnist_missing_directory_and_file(tmp_path):
    with pytest.raises(ValueError, match="directory=.* not an existing"):
        load_mnist(tmp_path / "nope")
    _write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    path = re.escape(str(tmp_path / "train-labels-idx1-ubyte"))
    with pytest.raises(ValueError, match=f"{path}: missing MNIST file"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gzipped", [False, True])
def test_mnist_truncated_payload(tmp_path, gzipped):
    name = "train-images-idx3-ubyte"
    _write_mnist(tmp_path, gz=(name,) if gzipped else ())
    path = tmp_path / (f"{name}.gz" if gzipped else name)
    raw = _idx(0x803, (4, 28, 28), b"\x07" * (4 * 784 - 10))
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    expected, actual = 16 + 4 * 784, 16 + 4 * 784 - 10
    with pytest.raises(
        ValueError,
        match=re.escape(str(path))
        + f": truncated.*need {expected} bytes, file has {actual} bytes",
    ):
        load_mnist(tmp_path)


def test_mnist_trailing_bytes(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(_idx(0x801, (3,), [1, 2, 3, 4]))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": trailing bytes"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("train-images-idx3-ubyte", _idx(0x801, (4,), [0] * 4), "0x00000801.*803"),
        ("train-images-idx3-ubyte", _idx(0x0C03, (1, 1, 1), [0] * 4), "0x00000C03"),
        (
            "t10k-labels-idx1-ubyte",
            _idx(0x803, (3, 1, 1), [0] * 3),
            "expected 0x0.*801",
        ),
        ("t10k-labels-idx1-ubyte", b"\x00\x00", "too short for an idx header"),
        ("train-images-idx3-ubyte", struct.pack(">2I", 0x803, 4), "truncated idx h"),
    ],
)
def test_mnist_bad_header(tmp_path, name, raw, message):
    _write_mnist(tmp_path)
    (tmp_path / name).write_bytes(raw)
    with pytest.raises(
        ValueError, match=re.escape(str(tmp_path / name)) + ".*" + message
    ):
        load_mnist(tmp_path)


def test_mnist_count_mismatch(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(_idx(0x801, (5,), [1] * 5))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": 5 labels.*4 images"):
        load_mnist(tmp_path)


def test_mnist_bad_labels_sizes_and_gzip(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(_idx(0x801, (3,), [1, 10, 2]))
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*\[0, 9\]"):
        load_mnist(tmp_path)

    _write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(_idx(0x803, (3, 28, 27), [0] * (3 * 28 * 27)))
    with pytest.raises(ValueError, match="training images are.*test images"):
        load_mnist(tmp_path)

    _write_mnist(tmp_path)
    path.unlink()
    packed = tmp_path / "t10k-images-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(b"\x00" * 100)[:-6])  # cut inside the stream
    with pytest.raises(ValueError, match=re.escape(str(packed)) + ": cannot read"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------
# Digits (scikit-learn)
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits as sklearn_load_digits

    raw = sklearn_load_digits()
    return raw.images, raw.target


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_layout(digits):
    assert sorted(digits) == ["x_test", "x_train", "y_test", "y_train"]
    assert digits["x_train"].shape == (1437, 8, 8, 1)
    assert digits["x_test"].shape == (360, 8, 8, 1)
    assert digits["x_train"].dtype == digits["x_test"].dtype == np.float32
    assert digits["y_train"].dtype == digits["y_test"].dtype == np.int32
    assert digits["x_train"].flags.c_contiguous
    for split in ("train", "test"):
        x, y = digits[f"x_{split}"], digits[f"y_{split}"]
        assert x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_array_equal(np.unique(y), np.arange(10))
        # 17 levels: the pixels count set bits of a 4x4 block, 0..16, / 16.
        assert set(np.unique(x * 16)) <= set(range(17))


@pytest.mark.parametrize(
    ("fraction", "sizes"),
    [(0.1, (1617, 180)), (0.2, (1437, 360)), (0.25, (1347, 450)), (0.5, (898, 899))],
)
def test_digits_split_sizes_and_stratification(sklearn_digits, fraction, sizes):
    _, target = sklearn_digits
    data = load_digits(test_fraction=fraction, seed=3)
    assert (data["y_train"].size, data["y_test"].size) == sizes
    per_class = np.bincount(target, minlength=10)
    in_test = np.bincount(data["y_test"], minlength=10)
    # Within one row of the class's share (largest remainders).
    assert np.all(np.abs(in_test - fraction * per_class) < 1)
    np.testing.assert_array_equal(
        np.bincount(data["y_train"], minlength=10) + in_test, per_class
    )


def test_digits_rows_are_scikit_learns_without_overlap(sklearn_digits, digits):
    images, target = sklearn_digits
    train, test = digits_lib._stratified_split(target.astype(np.int32), 0.2, 0)
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(target.size))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    for split, index in (("train", train), ("test", test)):
        np.testing.assert_array_equal(digits[f"y_{split}"], target[index])
        np.testing.assert_array_equal(
            digits[f"x_{split}"][..., 0], (images[index] / 16).astype(np.float32)
        )


def test_digits_split_is_a_function_of_the_seed(digits):
    again, other = load_digits(seed=0), load_digits(seed=1)
    for key in digits:
        np.testing.assert_array_equal(digits[key], again[key])
    assert not np.array_equal(digits["x_test"], other["x_test"])
    # The class counts of each split do not depend on the seed.
    np.testing.assert_array_equal(
        np.bincount(digits["y_test"]), np.bincount(other["y_test"])
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_fraction": 0.0}, r"test_fraction=0.0 must be in \(0.0, 1.0\)"),
        ({"test_fraction": 1.0}, r"test_fraction=1.0 must be in \(0.0, 1.0\)"),
        ({"test_fraction": -0.2}, r"test_fraction=-0.2 must be in"),
        ({"test_fraction": float("nan")}, r"test_fraction=nan must be in"),
        ({"test_fraction": "0.2"}, r"test_fraction='0.2' must be in"),
        ({"test_fraction": True}, r"test_fraction=True must be in"),
        ({"test_fraction": 0.9999}, r"test_fraction=0.9999 puts 1797 of 1797 rows"),
        ({"seed": -1}, r"seed=-1 must be an integer >= 0"),
        ({"seed": 0.5}, r"seed=0.5 must be an integer >= 0"),
    ],
)
def test_digits_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digits(**kwargs)


# ----------------------------------------------------------------------------
# Dirichlet partition and label skew
# ----------------------------------------------------------------------------


def _balanced(num_classes=10, per_class=200):
    return np.repeat(np.arange(num_classes), per_class)


@pytest.mark.parametrize("alpha", [1e-3, 0.05, 1.0, 100.0, np.inf, None])
@pytest.mark.parametrize("num_workers", [1, 7, 20])
def test_partition_uses_every_index_once(alpha, num_workers):
    rng = np.random.default_rng(1)
    labels = rng.choice([2, 5, 9, 11], size=997, p=[0.5, 0.3, 0.15, 0.05])
    parts = dirichlet_partition(labels, num_workers, alpha, seed=3)
    assert len(parts) == num_workers
    assert all(p.dtype == np.int64 and p.ndim == 1 for p in parts)
    assert all(np.all(np.diff(p) > 0) for p in parts)  # sorted, no repeats
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(997))


def test_partition_is_a_function_of_the_seed():
    labels = _balanced()
    first = dirichlet_partition(labels, 20, 0.5, seed=4)
    again = dirichlet_partition(labels, 20, 0.5, seed=4)
    other = dirichlet_partition(labels, 20, 0.5, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    iid = dirichlet_partition(labels, 20, None, seed=4)
    inf = dirichlet_partition(labels, 20, float("inf"), seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(iid, inf, strict=True))


def test_skew_grows_as_alpha_falls():
    labels = _balanced(10, 200)  # 10 classes x 20 workers, 100 samples a worker
    seeds = range(5)
    mean_skew = {
        alpha: np.mean(
            [
                label_skew(labels, dirichlet_partition(labels, 20, alpha, s))
                for s in seeds
            ]
        )
        for alpha in (100.0, 1.0, 0.05)
    }
    # Typical values: 0.04, 0.33, 0.77; the gaps are > 10 standard errors.
    assert mean_skew[100.0] < 0.1 < mean_skew[1.0] < 0.5 < mean_skew[0.05]


def test_iid_split_matches_hypergeometric_skew():
    """alpha=inf: each worker's class counts are hypergeometric draws.

    A worker of m = n / N samples from n = 10 x 1000 balanced labels has
    E[TV] = 10 * E|X - m/10| / (2 m) with X ~ Hypergeom(n, 1000, m); the mean
    over seeds must match within z < 4 standard errors.
    """
    num_classes, per_class, num_workers = 10, 1000, 20
    labels = _balanced(num_classes, per_class)
    n, m = labels.size, labels.size // num_workers
    k = np.arange(m + 1)
    pmf = stats.hypergeom(n, per_class, m).pmf(k)
    theory = num_classes * np.sum(pmf * np.abs(k - m / num_classes)) / (2 * m)
    skews = []
    for seed in range(10):
        parts = dirichlet_partition(labels, num_workers, np.inf, seed)
        assert {p.size for p in parts} == {m}
        skews.append(label_skew(labels, parts))
    standard_error = np.std(skews, ddof=1) / np.sqrt(len(skews))
    assert abs(np.mean(skews) - theory) / standard_error < 4
    assert np.mean(skews) < 0.06  # near-uniform: theory is 0.052
    parts = dirichlet_partition(labels[:1003], 20, None, 0)
    assert {p.size for p in parts} == {50, 51}  # sizes differ by at most one


def test_label_skew_values():
    labels = np.array([0, 0, 1, 1])
    assert label_skew(labels, [np.array([0, 2]), np.array([1, 3])]) == 0.0
    assert label_skew(labels, [[0, 1], [2, 3]]) == 0.5
    assert label_skew(labels, [[0, 1], [], [2, 3]]) == 0.5  # empty parts skipped
    one_class_each = [np.flatnonzero(_balanced() == c) for c in range(10)]
    assert label_skew(_balanced(), one_class_each) == pytest.approx(0.9)
    assert label_skew(_balanced(), [np.arange(2000)]) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": np.zeros((4, 2), int)}, "labels must be a non-empty 1-D integer"),
        ({"labels": np.array([], int)}, "labels must be a non-empty 1-D integer"),
        ({"labels": np.array([0.0, 1.0])}, "labels must be a non-empty 1-D integer"),
        ({"num_workers": 0}, r"num_workers=0 must be an integer >= 1"),
        ({"num_workers": 2.0}, r"num_workers=2.0 must be an integer >= 1"),
        ({"num_workers": True}, r"num_workers=True must be an integer"),
        ({"alpha": 0.0}, r"alpha=0.0 must be in \(0, inf\]"),
        ({"alpha": -1.0}, r"alpha=-1.0 must be in \(0, inf\]"),
        ({"alpha": float("nan")}, r"alpha=nan must be in \(0, inf\]"),
        ({"alpha": -np.inf}, r"alpha=-inf must be in \(0, inf\]"),
        ({"alpha": "1"}, r"alpha='1' must be in \(0, inf\]"),
        ({"alpha": True}, r"alpha=True must be in \(0, inf\]"),
        ({"seed": -1}, r"seed=-1 must be an integer >= 0"),
        ({"seed": 1.5}, r"seed=1.5 must be an integer >= 0"),
    ],
)
def test_partition_invalid_arguments(kwargs, message):
    arguments = {"labels": _balanced(), "num_workers": 4, "alpha": 1.0, "seed": 0}
    with pytest.raises(ValueError, match=message):
        dirichlet_partition(**{**arguments, **kwargs})


# ----------------------------------------------------------------------------
# Sorted-by-label shards (STSyn)
# ----------------------------------------------------------------------------


def _check_covering(parts, n):
    assert all(p.dtype == np.int64 and p.ndim == 1 for p in parts)
    assert all(np.all(np.diff(p) > 0) for p in parts)  # sorted, no repeats
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))


@pytest.mark.parametrize(
    ("num_workers", "sizes", "labels_per_shard"),
    # The digits training rows (139..146 per class): how many labels a shard
    # covers, and on how many shards, as stated in label_shards' docstring.
    [
        (8, {179, 180}, {2: 8}),
        (16, {89, 90}, {1: 8, 2: 8}),
        (20, {71, 72}, {1: 12, 2: 8}),
    ],
)
def test_label_shards_on_digits(digits, num_workers, sizes, labels_per_shard):
    y = digits["y_train"]
    parts = label_shards(y, num_workers)
    assert len(parts) == num_workers
    _check_covering(parts, y.size)
    assert {p.size for p in parts} == sizes  # sizes differ by at most one
    covered = [np.unique(y[p]).size for p in parts]
    assert dict(zip(*np.unique(covered, return_counts=True), strict=True)) == (
        labels_per_shard
    )
    # Contiguous in label order: shard w's labels all <= shard w + 1's.
    for left, right in zip(parts, parts[1:], strict=False):
        assert y[left].max() <= y[right].min()


def test_label_shards_unbalanced_labels_and_stable_ties():
    rng = np.random.default_rng(2)
    labels = rng.choice([3, 7, 8], size=101, p=[0.6, 0.3, 0.1])
    parts = label_shards(labels, 7)
    _check_covering(parts, 101)
    assert {p.size for p in parts} == {14, 15}
    order = np.concatenate([p[np.argsort(labels[p], kind="stable")] for p in parts])
    np.testing.assert_array_equal(order, np.argsort(labels, kind="stable"))
    assert [p.size for p in label_shards(labels[:3], 5)] == [1, 1, 1, 0, 0]
    np.testing.assert_array_equal(label_shards(labels, 1)[0], np.arange(101))


def test_label_shards_are_more_skewed_than_dirichlet(digits):
    y = digits["y_train"]
    for num_workers in (8, 16, 20):
        dirichlet = dirichlet_partition(y, num_workers, 0.3, seed=0)
        _check_covering(dirichlet, y.size)
        shards = label_shards(y, num_workers)
        assert label_skew(y, shards) > label_skew(y, dirichlet)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": np.zeros((4, 2), int)}, "labels must be a non-empty 1-D integer"),
        ({"labels": np.array([0.0, 1.0])}, "labels must be a non-empty 1-D integer"),
        ({"num_workers": 0}, r"num_workers=0 must be an integer >= 1"),
        ({"num_workers": 2.0}, r"num_workers=2.0 must be an integer >= 1"),
    ],
)
def test_label_shards_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        label_shards(**{"labels": _balanced(), "num_workers": 4, **kwargs})


@pytest.mark.parametrize(
    ("labels", "parts", "message"),
    [
        (np.array([0, 1]), [np.array([0, 2])], r"parts\[0\].*\[0, len\(labels\)=2\)"),
        (np.array([0, 1]), [[0], [-1]], r"parts\[1\] holds indices in \[-1, -1\]"),
        (np.array([0, 1]), [np.array([0.0, 1.0])], r"parts\[0\] must be a 1-D int"),
        (np.array([0, 1]), [[[0, 1]]], r"parts\[0\] must be a 1-D integer"),
        (np.array([0, 1]), [[], []], "at least one non-empty"),
        (np.array([0.5, 1.0]), [[0]], "labels must be a non-empty 1-D integer"),
    ],
)
def test_label_skew_invalid_arguments(labels, parts, message):
    with pytest.raises(ValueError, match=message):
        label_skew(labels, parts)
