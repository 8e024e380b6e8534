"""Neural-network objectives (``absjax/objectives/networks.py``).

Tolerances (style point 12):
- ``gradient`` against ``jax.grad(batch_loss)``: ``rtol = 1e-5`` (float32,
  the same computation traced twice);
- central finite differences in float64 along a random direction, step
  ``h = 1e-5``: ``rtol = 1e-6`` (error ``O(h^2)``), at a point moved off the
  relu kinks and pooling ties by random biases;
- ``conv3x3`` / ``conv2d`` / ``max_pool2`` against ``jax.lax``:
  ``rtol = atol = 1e-5`` (float32, 5x5x8 = 200-term sums of unit normals);
- learning: test accuracy after plain minibatch SGD (300 steps of 32 rows,
  learning rate 0.1, one seed) at least chance + a stated margin, measured
  values in the comments; on the digits in the simulator (K-async, 4 seeds)
  every seed at least chance 0.1 + 0.6, measured 0.93..0.96;
- shard sampling: every draw lies in the worker's shard, and the counts over a
  shard's positions pass the normal approximation of the chi-square test
  ``(chi2 - dof) / sqrt(2 dof) < 4``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from datafiles import write_cifar as _write_cifar
from datafiles import write_mnist as _write_mnist

from absjax import Ensemble, Simulator, datasets, delays, objectives, policies
from absjax.networks import CNN, MLP, conv2d, conv3x3, max_pool2
from absjax.objectives import classifier

SMALL = [
    lambda **kw: MLP(hidden=(8, 6), samples=128, test_samples=32, **kw),
    lambda **kw: CNN(channels=(3, 4), image_size=8, samples=64, test_samples=16, **kw),
    # 5x5 'valid' and a hidden dense layer: 8 -> 4 -> 2 pixels, 12 features.
    lambda **kw: CNN(
        channels=(3,),
        kernel=5,
        padding="valid",
        fc=(5,),
        image_size=8,
        samples=64,
        test_samples=16,
        **kw,
    ),
]
SMALL_IDS = ["mlp", "cnn", "cnn5-valid-fc"]


def _sgd(obj, steps=300, lr=0.1, seed=1):
    """Plain minibatch SGD from ``obj.init``, jitted, as one scan."""
    data = obj.data

    def step(w, key):
        g = obj.gradient(data, w, obj.sample(key, data, 0))
        return jax.tree.map(lambda p, q: p - lr * q, w, g), None

    @jax.jit
    def run(w, key):
        return jax.lax.scan(step, w, jax.random.split(key, steps))[0]

    return run(obj.init(data), jax.random.key(seed))


# ------------------------------------------------------------ gradients
@pytest.mark.parametrize("make", SMALL, ids=SMALL_IDS)
def test_gradient_is_grad_of_batch_loss(make):
    obj = make()
    data = obj.data
    w = obj.init(data)
    batch = jnp.asarray([3, 1, 4, 1, 5, 9, 2, 6], jnp.int32)
    g = jax.jit(obj.gradient)(data, w, batch)
    expected = jax.jit(jax.grad(obj.batch_loss, argnums=1))(data, w, batch)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), g, expected)


@pytest.mark.parametrize("make", SMALL, ids=SMALL_IDS)
def test_gradient_matches_finite_differences(make):
    with jax.enable_x64(True):
        obj = make()
        data = obj.data
        assert data["x"].dtype == jnp.float64
        # Off the relu kinks: zero biases put all-dead rows exactly on one.
        rng = np.random.default_rng(5)
        w = jax.tree.map(
            lambda a: a + 0.1 * rng.standard_normal(a.shape), obj.init(data)
        )
        v = jax.tree.map(lambda a: rng.standard_normal(a.shape), w)
        batch = jnp.arange(obj.batch, dtype=jnp.int32)
        g = jax.jit(obj.gradient)(data, w, batch)
        h = 1e-5

        @jax.jit
        def at(t):
            return obj.batch_loss(
                data, jax.tree.map(lambda a, b: a + t * b, w, v), batch
            )

        numeric = (at(h) - at(-h)) / (2 * h)
        analytic = sum(jax.tree.leaves(jax.tree.map(jnp.vdot, g, v)))
        assert float(numeric) == pytest.approx(float(analytic), rel=1e-6)


def test_conv_and_pool_match_lax():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 7, 6, 3)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 3, 5)), jnp.float32)
    expected = jax.lax.conv_general_dilated(
        x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    np.testing.assert_allclose(conv3x3(x, kernel), expected, rtol=1e-5, atol=1e-5)
    pooled = jax.lax.reduce_window(
        x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
    )
    assert max_pool2(x).shape == (2, 3, 3, 3)
    np.testing.assert_allclose(max_pool2(x), pooled, rtol=1e-5, atol=1e-5)
    # conv3x3 is conv2d's 'same' path, bit for bit (the default CNN's numbers).
    np.testing.assert_array_equal(conv3x3(x, kernel), conv2d(x, kernel, "same"))
    with pytest.raises(ValueError, match=r"must be \(3, 3, c_in, c_out\)"):
        conv3x3(x, jnp.zeros((5, 5, 3, 5)))


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("shape", [(5, 5), (1, 1), (3, 3), (4, 2)])
def test_conv2d_matches_lax(shape, padding):
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((3, 11, 9, 8)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((*shape, 8, 6)), jnp.float32)
    expected = jax.lax.conv_general_dilated(
        x, kernel, (1, 1), padding.upper(), dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    got = conv2d(x, kernel, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_refuses_an_unknown_padding():
    with pytest.raises(ValueError, match="padding='full' must be one of"):
        conv2d(jnp.zeros((1, 4, 4, 1)), jnp.zeros((3, 3, 1, 1)), "full")


# ---------------------------------------------------------------- shapes
def test_mlp_shapes():
    obj = MLP(hidden=(8, 6), dim=5, classes=3, samples=100, test_samples=20)
    data = obj.data
    assert data["x"].shape == (100, 5) and data["x_test"].shape == (20, 5)
    assert data["y"].dtype == jnp.int32 and set(np.unique(data["y"])) == {0, 1, 2}
    w = obj.init(data)
    shapes = jax.tree.map(jnp.shape, w)
    assert shapes == {
        "dense_0": {"weights": (5, 8), "bias": (8,)},
        "dense_1": {"weights": (8, 6), "bias": (6,)},
        "output": {"weights": (6, 3), "bias": (3,)},
    }
    batch = jax.eval_shape(obj.sample, jax.random.key(0), data, 0)
    assert batch.shape == (32,) and batch.dtype == jnp.int32
    assert jax.eval_shape(obj.apply, w, data["x"][:7]).shape == (7, 3)
    assert jax.eval_shape(obj.batch_loss, data, w, batch).shape == ()
    assert obj.has_metric and obj.metric_name == "test_accuracy"
    linear = MLP(hidden=(), dim=5, classes=3, samples=100)
    assert sorted(linear.init(linear.data)) == ["output"]


def test_cnn_shapes():
    obj = CNN(channels=(3, 4, 5), image_size=13, classes=6, samples=40)
    data = obj.data
    assert data["x"].shape == (40, 13, 13, 1)
    assert data["x_test"].shape == (1024, 13, 13, 1)
    shapes = jax.tree.map(jnp.shape, obj.init(data))
    assert shapes["conv_0"] == {"kernel": (3, 3, 1, 3), "bias": (3,)}
    assert shapes["conv_2"] == {"kernel": (3, 3, 4, 5), "bias": (5,)}
    # 13 -> 6 -> 3 -> 1 after three 2x2 poolings
    assert shapes["output"] == {"weights": (5, 6), "bias": (6,)}
    assert jax.eval_shape(obj.apply, obj.init(data), data["x"][:3]).shape == (3, 6)


def test_cnn_kernel_padding_and_fc_shapes():
    obj = CNN(channels=(2, 3), kernel=5, padding="valid", fc=(7, 6), image_size=20)
    shapes = jax.tree.map(jnp.shape, obj.init(obj.data))
    assert shapes["conv_0"]["kernel"] == (5, 5, 1, 2)
    assert shapes["conv_1"]["kernel"] == (5, 5, 2, 3)
    # 20 -> 16 -> 8 -> 4 -> 2 pixels: 2 * 2 * 3 = 12 features.
    assert shapes["dense_0"] == {"weights": (12, 7), "bias": (7,)}
    assert shapes["dense_1"] == {"weights": (7, 6), "bias": (6,)}
    assert shapes["output"] == {"weights": (6, 4), "bias": (4,)}
    assert jax.eval_shape(obj.apply, obj.init(obj.data), obj.data["x"][:3]).shape == (
        3,
        4,
    )
    same = CNN(channels=(2, 3), kernel=5, image_size=20)
    # 20 -> 10 -> 5 pixels: 5 * 5 * 3 = 75 features.
    assert jax.tree.map(jnp.shape, same.init(same.data))["output"]["weights"] == (
        75,
        4,
    )
    # The smallest synthetic image that survives: s = 2 (2 * 1 + 4) + 4 = 16.
    CNN(channels=(2, 3), kernel=5, padding="valid", image_size=16)
    with pytest.raises(ValueError, match="image_size=15 must be an integer >= 16"):
        CNN(channels=(2, 3), kernel=5, padding="valid", image_size=15)


def test_stsyn_cnn_parameter_count(tmp_path):
    """The ABS group's STSyn CNN on CIFAR-10
    (docs/concepts.md#concepts-reproduction)."""
    _write_cifar(tmp_path, sizes=(2, 1, 1, 1, 1, 2))
    stsyn = dict(channels=(64, 64), kernel=5, fc=(384, 192))
    obj = CNN(dataset="cifar10", data_dir=tmp_path, padding="valid", **stsyn)
    w = obj.init(obj.data)
    assert jax.tree.map(jnp.shape, w) == {
        "conv_0": {"kernel": (5, 5, 3, 64), "bias": (64,)},
        "conv_1": {"kernel": (5, 5, 64, 64), "bias": (64,)},
        "dense_0": {"weights": (1600, 384), "bias": (384,)},  # 32-28-14-10-5
        "dense_1": {"weights": (384, 192), "bias": (192,)},
        "output": {"weights": (192, 10), "bias": (10,)},
    }
    count = sum(leaf.size for leaf in jax.tree.leaves(w))
    assert count == (75 + 1) * 64 + (1600 + 1) * 64 + 1601 * 384 + 385 * 192 + 1930
    assert count == 797_962
    logits = jax.jit(obj.apply)(w, obj.data["x"][:2])
    assert logits.shape == (2, 10) and np.isfinite(logits).all()
    same = CNN(dataset="cifar10", data_dir=tmp_path, **stsyn)  # 32-16-8: 4096
    w_same = same.init(same.data)
    assert w_same["dense_0"]["weights"].shape == (4096, 384)
    assert sum(leaf.size for leaf in jax.tree.leaves(w_same)) == 1_756_426


def test_init_scales():
    """He-normal hidden weights (variance 2 / fan_in), zero biases."""
    obj = MLP(hidden=(512,), dim=256, samples=64)
    w = obj.init(obj.data)
    var = float(jnp.var(w["dense_0"]["weights"]))
    assert var == pytest.approx(2 / 256, rel=0.05)
    assert not jnp.any(w["dense_0"]["bias"])
    bound = math.sqrt(6 / (512 + 4))  # Glorot-uniform output layer
    assert float(jnp.max(jnp.abs(w["output"]["weights"]))) <= bound


# ----------------------------------------------------------- determinism
@pytest.mark.parametrize("make", SMALL, ids=SMALL_IDS)
def test_data_and_init_are_pure_functions_of_the_seeds(make):
    a, b = make(), make()
    for key in a.data:
        np.testing.assert_array_equal(a.data[key], b.data[key])
    jax.tree.map(np.testing.assert_array_equal, a.init(a.data), b.init(b.data))
    other_data, other_init = make(data_seed=1), make(init_seed=1)
    assert not np.array_equal(a.data["x"], other_data.data["x"])
    np.testing.assert_array_equal(a.data["x"], other_init.data["x"])
    w, w_other = a.init(a.data), other_init.init(a.data)
    assert not np.array_equal(w["output"]["weights"], w_other["output"]["weights"])
    assert a.data is a.data  # built once


# ---------------------------------------------------------- loss, metric
def test_loss_and_metric_are_exact_means():
    obj = MLP(hidden=(8,), samples=1100, test_samples=700)
    data = obj.data
    w = obj.init(data)

    def cross_entropy(x, y):
        logp = jax.nn.log_softmax(obj.apply(w, x))
        return -jnp.mean(logp[jnp.arange(y.size), y])

    assert float(obj.loss(data, w)) == pytest.approx(
        float(cross_entropy(data["x"], data["y"])), rel=1e-5
    )
    correct = jnp.argmax(obj.apply(w, data["x_test"]), axis=1) == data["y_test"]
    assert float(obj.metric(data, w)) == pytest.approx(float(jnp.mean(correct)))
    sub = MLP(hidden=(8,), samples=1100, eval_samples=300)
    assert float(sub.loss(sub.data, w)) == pytest.approx(
        float(cross_entropy(data["x"][:300], data["y"][:300])), rel=1e-5
    )


def test_chunked_evaluation_matches_one_chunk(monkeypatch):
    obj = MLP(hidden=(8,), samples=1100, test_samples=700)
    data, w = obj.data, obj.init(obj.data)
    whole = [float(obj.loss(data, w)), float(obj.metric(data, w))]
    # 64 rows of 16 features per chunk: 17 chunks and a remainder of 12 rows.
    monkeypatch.setattr(classifier, "_EVAL_NUMBERS", 16 * 64)
    chunked = [float(obj.loss(data, w)), float(obj.metric(data, w))]
    assert chunked == pytest.approx(whole, rel=1e-5)


# -------------------------------------------------------------- learning
def test_mlp_learns_the_mixture_and_beats_a_linear_model():
    # Measured: MLP(64) 0.871, linear 0.268 test accuracy; chance 0.25.
    mlp = MLP()
    linear = MLP(hidden=())
    acc = float(mlp.metric(mlp.data, _sgd(mlp)))
    acc_linear = float(linear.metric(linear.data, _sgd(linear)))
    chance = 1 / mlp.classes
    assert acc >= chance + 0.5, acc
    assert acc_linear <= chance + 0.1, acc_linear  # sign-symmetric classes


def test_cnn_learns_the_synthetic_images():
    # Measured: 0.943 test accuracy (chance 0.25); the loss falls 2.55 -> 0.10.
    obj = CNN()
    w = _sgd(obj)
    assert float(obj.metric(obj.data, w)) >= 1 / obj.classes + 0.4
    assert float(obj.loss(obj.data, w)) < 0.5 * float(
        obj.loss(obj.data, obj.init(obj.data))
    )


# ---------------------------------------------------------- partitions
def _shard_sets(data):
    sizes = np.asarray(data["shard_size"])
    shards = np.asarray(data["shards"])
    assert np.all(shards[np.arange(shards.shape[1]) >= sizes[:, None]] == -1)
    return [shards[w, : sizes[w]] for w in range(sizes.size)]


@pytest.mark.parametrize("partition", [0.3, 1, "iid-shards"])
def test_every_sample_in_exactly_one_shard(partition):
    obj = MLP(samples=600, partition=partition, workers=5)
    data = obj.data
    assert data["shards"].dtype == jnp.int32 and data["shards"].shape[0] == 5
    parts = _shard_sets(data)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(600))
    expected = datasets.dirichlet_partition(
        np.asarray(data["y"]),
        5,
        None if partition == "iid-shards" else partition,
        seed=0,
    )
    for got, want in zip(parts, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    if partition == "iid-shards":
        assert {p.size for p in parts} == {120}


def test_worker_batches_come_only_from_its_shard():
    obj = MLP(samples=400, partition=0.5, workers=4, batch=16)
    data = obj.data
    parts = _shard_sets(data)
    draws = 4000

    @jax.jit
    def draw(keys, worker):
        return jax.vmap(lambda k: obj.sample(k, data, worker))(keys)

    for worker, part in enumerate(parts):
        batches = np.asarray(
            draw(jax.random.split(jax.random.key(worker), draws), worker)
        )
        assert np.isin(batches, part).all()
        counts = np.array([np.sum(batches == i) for i in part])
        if part.size > 1:
            expected = batches.size / part.size
            chi2 = np.sum((counts - expected) ** 2 / expected)
            dof = part.size - 1
            assert (chi2 - dof) / math.sqrt(2 * dof) < 4.0
    # A traced worker index, as the engine passes it.
    workers = jnp.arange(4, dtype=jnp.int32)
    keys = jax.random.split(jax.random.key(9), 4)
    batches = jax.jit(jax.vmap(lambda k, i: obj.sample(k, data, i)))(keys, workers)
    for worker, part in enumerate(parts):
        assert np.isin(np.asarray(batches[worker]), part).all()


def test_dirichlet_shards_are_skewed():
    skewed = MLP(samples=800, partition=0.1, workers=4)
    iid = MLP(samples=800, partition="iid-shards", workers=4)
    y = np.asarray(skewed.data["y"])
    skew = datasets.label_skew(y, _shard_sets(skewed.data))
    assert skew > datasets.label_skew(y, _shard_sets(iid.data)) + 0.2


def test_check_workers():
    obj = MLP(samples=200, partition=0.5, workers=4)
    obj.check_workers(4)
    with pytest.raises(ValueError, match=r"workers=4 .* num_workers=3"):
        obj.check_workers(3)
    with pytest.raises(ValueError, match=r"workers=2 .* num_workers=5"):
        MLP(workers=2).check_workers(5)
    MLP().check_workers(7)  # i.i.d. data serve any number of workers
    empty = MLP(samples=3, partition="iid-shards", workers=4)
    with pytest.raises(ValueError, match=r"worker 3 of workers=4 with an empty shard"):
        empty.check_workers(4)


# ------------------------------------------------------------ real data
def test_mlp_and_cnn_on_cifar10_files(tmp_path):
    _write_cifar(tmp_path, sizes=(3, 2, 4, 2, 3, 5))
    raw = datasets.load_cifar10(tmp_path)
    obj = MLP(dataset="cifar10", data_dir=str(tmp_path), hidden=(8,), batch=4)
    data = obj.data
    assert data["x"].shape == (14, 3072) and data["x_test"].shape == (5, 3072)
    # Standardised per channel over the training images.
    images = np.asarray(data["x"]).reshape(14, 32, 32, 3)
    np.testing.assert_allclose(images.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(images.std(axis=(0, 1, 2)), 1.0, rtol=1e-4)
    mean, std = raw["x_train"].mean(axis=(0, 1, 2)), raw["x_train"].std(axis=(0, 1, 2))
    expected = ((raw["x_train"] - mean) / std).reshape(14, -1)
    # The rows are the training rows in a random order, labels kept with them.
    match = np.argmin(((images.reshape(14, 1, -1) - expected) ** 2).sum(-1), axis=1)
    assert sorted(match) == list(range(14))
    np.testing.assert_allclose(data["x"], expected[match], atol=1e-5)
    np.testing.assert_array_equal(data["y"], raw["y_train"][match])
    w = obj.init(data)
    assert w["output"]["weights"].shape == (8, 10)
    g = jax.jit(obj.gradient)(data, w, obj.sample(jax.random.key(0), data, 0))
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(g))

    capped = CNN(
        dataset="cifar10", data_dir=tmp_path, channels=(2, 3), samples=6, test_samples=2
    )
    assert capped.data["x"].shape == (6, 32, 32, 3)
    assert capped.data["x_test"].shape == (2, 32, 32, 3)
    shapes = jax.tree.map(jnp.shape, capped.init(capped.data))
    assert shapes["output"]["weights"] == (8 * 8 * 3, 10)
    g = jax.jit(capped.gradient)(
        capped.data, capped.init(capped.data), jnp.arange(4, dtype=jnp.int32)
    )
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(g))


def test_mlp_and_cnn_on_mnist_files_with_a_partition(tmp_path):
    _write_mnist(tmp_path, n_train=30, n_test=6, gz=("train-images-idx3-ubyte",))
    mlp = MLP(dataset="mnist", data_dir=tmp_path, partition="iid-shards", workers=3)
    assert mlp.data["x"].shape == (30, 784)
    assert mlp.data["shards"].shape == (3, 10)
    cnn = CNN(dataset="mnist", data_dir=tmp_path, samples=12, test_samples=4)
    assert cnn.data["x"].shape == (12, 28, 28, 1)
    assert jax.tree.map(jnp.shape, cnn.init(cnn.data))["output"]["weights"] == (
        7 * 7 * 16,
        10,
    )
    assert 0.0 <= float(cnn.metric(cnn.data, cnn.init(cnn.data))) <= 1.0


def test_mlp_and_cnn_on_digits():
    raw = datasets.load_digits()
    mlp = MLP(dataset="digits", hidden=(8,))
    data = mlp.data
    assert data["x"].shape == (1437, 64) and data["x_test"].shape == (360, 64)
    assert data["y"].dtype == jnp.int32 and mlp.num_classes == 10
    # Standardised with the training images' mean and std (one channel).
    mean, std = raw["x_train"].mean(), raw["x_train"].std()
    assert float(jnp.mean(data["x"])) == pytest.approx(0.0, abs=1e-5)
    assert float(jnp.std(data["x"])) == pytest.approx(1.0, rel=1e-4)
    expected_test = ((raw["x_test"] - mean) / std).reshape(360, -1)
    order = np.lexsort(np.asarray(data["x_test"]).T)
    np.testing.assert_allclose(
        np.asarray(data["x_test"])[order],
        expected_test[np.lexsort(expected_test.T)],
        atol=1e-5,
    )
    np.testing.assert_array_equal(np.sort(data["y"]), np.sort(raw["y_train"]))
    # The training rows are in a random order; eval_samples covers them all.
    assert not np.array_equal(data["y"], raw["y_train"])
    assert mlp.eval_samples >= data["x"].shape[0]

    cnn = CNN(dataset="digits", channels=(16, 32), fc=(64,))
    w = cnn.init(cnn.data)
    assert cnn.data["x"].shape == (1437, 8, 8, 1)
    shapes = jax.tree.map(jnp.shape, w)
    assert shapes["dense_0"]["weights"] == (2 * 2 * 32, 64)  # 8 -> 4 -> 2
    assert shapes["output"]["weights"] == (64, 10)
    g = jax.jit(cnn.gradient)(cnn.data, w, cnn.sample(jax.random.key(0), cnn.data))
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(g))
    assert 0.0 <= float(cnn.metric(cnn.data, w)) <= 1.0
    three = CNN(dataset="digits", channels=(4, 4, 4))  # 8 -> 4 -> 2 -> 1
    assert three.init(three.data)["output"]["weights"].shape == (4, 10)
    with pytest.raises(ValueError, match=r"pools 4 times, too often for 8x8"):
        _ = CNN(dataset="digits", channels=(4,) * 4).data
    with pytest.raises(ValueError, match=r"after 5x5 'valid' convolutions.*16 pixels"):
        _ = CNN(dataset="digits", channels=(4, 4), kernel=5, padding="valid").data
    # The split follows data_seed.
    other = MLP(dataset="digits", hidden=(8,), data_seed=1)
    assert not np.array_equal(
        np.sort(np.asarray(other.data["x_test"]), axis=0),
        np.sort(np.asarray(data["x_test"]), axis=0),
    )


def test_label_shards_partition_on_digits():
    obj = MLP(dataset="digits", partition="label-shards", workers=8)
    data = obj.data
    parts = _shard_sets(data)
    y = np.asarray(data["y"])
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1437))
    expected = datasets.label_shards(y, 8)
    for got, want in zip(parts, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert {p.size for p in parts} == {179, 180}
    assert {np.unique(y[p]).size for p in parts} == {2}
    batches = np.asarray(obj.sample(jax.random.key(1), data, 3))
    assert np.isin(batches, parts[3]).all()
    dirichlet = MLP(dataset="digits", partition=0.3, workers=8)
    parts = _shard_sets(dirichlet.data)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1437))


def test_mlp_learns_digits_in_the_simulator_under_k_async():
    """Chance is 0.1; measured final test accuracy 0.931..0.956 over the four
    seeds (300 rounds); the bound leaves a margin of 0.2 below that."""
    mlp = MLP(dataset="digits", hidden=(32,))
    sim = Simulator(
        8,
        policies.k_async(2),
        delays.exponential(1.0),
        mlp,
        lr=0.1,
        rounds=300,
        log_every=100,
    )
    (result,) = Ensemble([sim]).run(seeds=4, chunk=4)
    accuracy = result.test_accuracy[:, -1]
    assert accuracy.min() > 0.1 + 0.6, accuracy
    assert not result.diverged.any()


def test_real_data_errors(tmp_path):
    with pytest.raises(ValueError, match="needs data_dir"):
        MLP(dataset="mnist")
    with pytest.raises(ValueError, match="data_dir='.*nope' is not an existing"):
        CNN(dataset="cifar10", data_dir=tmp_path / "nope")
    with pytest.raises(ValueError, match="missing MNIST file"):
        _ = MLP(dataset="mnist", data_dir=tmp_path).data
    _write_mnist(tmp_path, n_train=4, n_test=2, rows=6, cols=6)
    with pytest.raises(ValueError, match=r"channels=\(2, 2, 2\) pools 3 times"):
        _ = CNN(dataset="mnist", data_dir=tmp_path, channels=(2, 2, 2)).data


# ----------------------------------------------------------------- specs
@pytest.mark.parametrize(
    "spec, expected",
    [
        ("mlp:hidden=32,samples=2048,batch=32", dict(hidden=(32,), samples=2048)),
        ("mlp:hidden=64x32x16,dim=8,clusters=2", dict(hidden=(64, 32, 16), dim=8)),
        ("mlp:hidden=none", dict(hidden=())),
        ("mlp:partition=0.5,workers=4", dict(partition=0.5, workers=4)),
        ("mlp:partition=iid-shards,workers=2", dict(partition="iid-shards")),
        ("mlp:partition=none,noise=0.1", dict(partition=None, noise=0.1)),
        ("cnn:channels=4x8,image_size=12,classes=3", dict(channels=(4, 8))),
        ("cnn:eval_samples=100,init_seed=2", dict(eval_samples=100, init_seed=2)),
        ("mlp:dataset=digits,hidden=64", dict(dataset="digits", hidden=(64,))),
        (
            "cnn:dataset=digits,channels=16x32,fc=64",
            dict(dataset="digits", channels=(16, 32), kernel=3, fc=(64,)),
        ),
        (
            "cnn:channels=64x64,kernel=5,padding=valid,fc=384x192",
            dict(kernel=5, padding="valid", fc=(384, 192)),
        ),
        ("cnn:fc=none,kernel=1", dict(fc=(), kernel=1, padding="same")),
        (
            "mlp:dataset=digits,partition=label-shards,workers=8",
            dict(partition="label-shards", workers=8),
        ),
    ],
)
def test_parse_network_specs(spec, expected):
    obj = objectives.parse_objective(spec)
    assert obj.name == spec.partition(":")[0]
    for key, value in expected.items():
        assert getattr(obj, key) == value


def test_parse_real_data_spec(tmp_path):
    obj = objectives.parse_objective(f"cnn:dataset=mnist,data_dir={tmp_path}")
    assert obj.dataset == "mnist" and obj.data_dir == str(tmp_path)


INVALID_SPECS = [
    ("mlp:hidden=64xa", "hidden='64xa' is not a valid list of widths"),
    ("mlp:hidden=0", r"hidden=\(0,\) must be a tuple of integers >= 1"),
    ("cnn:channels=none", r"channels=\(\) must be a non-empty tuple"),
    ("mlp:partition=abc", "partition='abc' is not a valid partition"),
    ("mlp:partition=0,workers=2", "partition=0.0 must be None, 'iid-shards'"),
    ("mlp:partition=inf,workers=2", "partition=inf must be None"),
    ("cnn:hidden=3", "no parameter 'hidden'"),
    ("cnn:fc=64xb", "fc='64xb' is not a valid list of widths"),
    ("cnn:kernel=4", "kernel=4 must be odd with padding='same'"),
    ("cnn:padding=full", "padding='full' must be one of"),
    ("mlp:dataset=imagenet", "dataset='imagenet' must be one of"),
]


@pytest.mark.parametrize(
    "spec, match", INVALID_SPECS, ids=[s for s, _ in INVALID_SPECS]
)
def test_invalid_network_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        objectives.parse_objective(spec)


INVALID_ARGS = [
    (lambda: MLP(hidden=(64, 0)), r"hidden=\(64, 0\)"),
    (lambda: MLP(hidden=64), "hidden=64"),
    (lambda: MLP(hidden=(2.5,)), r"hidden=\(2.5,\)"),
    (lambda: MLP(dim=0), "dim=0 must be an integer >= 1"),
    (lambda: MLP(clusters=0), "clusters=0"),
    (lambda: MLP(classes=1), "classes=1 must be an integer >= 2"),
    (lambda: MLP(samples=0), "samples=0"),
    (lambda: MLP(test_samples=2.0), "test_samples=2.0"),
    (lambda: MLP(eval_samples=0), "eval_samples=0"),
    (lambda: MLP(batch=0), "batch=0"),
    (lambda: MLP(noise=-0.1), r"noise=-0.1 must be in \[0.0, inf\)"),
    (lambda: MLP(noise=math.nan), "noise=nan"),
    (lambda: MLP(data_seed=-1), "data_seed=-1 must be an integer >= 0"),
    (lambda: MLP(init_seed=True), "init_seed=True"),
    (lambda: MLP(workers=0), "workers=0"),
    (lambda: MLP(partition=-1.0, workers=2), "partition=-1.0 must be None"),
    (lambda: MLP(partition="dirichlet", workers=2), "partition='dirichlet'"),
    (
        lambda: MLP(partition="label_shards", workers=2),
        "partition='label_shards' must be None, 'iid-shards', 'label-shards'",
    ),
    (lambda: MLP(partition=0.5), r"partition=0.5 needs workers"),
    (lambda: MLP(dataset="svhn"), "dataset='svhn' must be one of"),
    (lambda: MLP(data_dir="/tmp"), "data_dir='/tmp' is only read for"),
    (
        lambda: MLP(dataset="digits", data_dir="/tmp"),
        "data_dir='/tmp' is only read for .* not dataset='digits'",
    ),
    (lambda: CNN(channels=()), r"channels=\(\) must be a non-empty tuple"),
    (lambda: CNN(channels=(4, -1)), r"channels=\(4, -1\)"),
    (lambda: CNN(image_size=3), "image_size=3 must be an integer >= 4"),
    (lambda: CNN(channels=(2,) * 5, image_size=16), "image_size=16"),
    (lambda: CNN(kernel=0), "kernel=0 must be an integer >= 1"),
    (lambda: CNN(kernel=2.5), "kernel=2.5 must be an integer >= 1"),
    (lambda: CNN(kernel=4), "kernel=4 must be odd with padding='same'"),
    (lambda: CNN(padding="SAME"), "padding='SAME' must be one of"),
    (lambda: CNN(fc=(64, 0)), r"fc=\(64, 0\) must be a tuple of integers >= 1"),
    (lambda: CNN(fc=64), "fc=64 must be a tuple"),
]


@pytest.mark.parametrize("make, match", INVALID_ARGS)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_mlp_learns_in_the_simulator_under_k_async_and_abs():
    """Chance is 1/4; a linear model stays there (see above); the margin is 0.3."""
    mlp = MLP(hidden=(32,), samples=2048, test_samples=512)
    sims = [
        Simulator(8, policy, delays.exponential(1.0), mlp, lr=0.1, rounds=300)
        for policy in (policies.k_async(2), policies.abs_(k0=1, t0=2.0))
    ]
    for result in Ensemble(sims).run(seeds=4, chunk=4):
        accuracy = result.test_accuracy[:, -1]
        assert accuracy.min() > 0.25 + 0.3, (result.policy, accuracy)
        assert not result.diverged.any()
