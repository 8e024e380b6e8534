"""Neural-network objectives: an MLP and a small CNN classifier.

Both follow the ``Objective`` protocol of ``absjax.objectives``; the model ``w``
is a dict of layers, each a dict of arrays, so the engine treats it as any
other pytree. A job samples ``batch`` training rows; its gradient is
``jax.grad`` of the minibatch mean cross-entropy (``batch_loss``).

**Fields** shared by both (keyword-only; ``MLP`` and ``CNN`` list their own):

- ``dataset``: ``"synthetic"`` (default; the generators are described on
  ``MLP`` and ``CNN``, drawn in NumPy from ``data_seed``), ``"mnist"`` or
  ``"cifar10"``, read from the folder ``data_dir`` by ``absjax.datasets``
  (nothing is downloaded; ``data_dir`` is required for them and refused
  otherwise), or ``"digits"``, scikit-learn's 8x8 digits
  (``datasets.load_digits(seed=data_seed)``: 1,437 training and 360 test
  rows, stratified by class; no ``data_dir``). Real images (scaled to
  ``[0, 1]`` by the reader) are standardised per channel with the mean and
  standard deviation of the training subset; the MLP flattens them, the CNN
  reads them as NHWC.
- ``samples``, ``test_samples``: training and test rows; synthetic defaults
  4096 and 1024; for real data a cap on a random subset (default: all).
- ``classes`` (default 4) and ``noise``: synthetic data only (real sets have
  10 classes).
- ``eval_samples`` (default 4096): rows of the logged loss, see below.
- ``batch`` (default 32): rows per job, drawn with replacement.
- ``partition``, ``workers``: non-i.i.d. shards, see below.
- ``data_seed``, ``init_seed``: the data (and shards), and ``w_0``.

**Logged numbers**: ``loss`` is the mean cross-entropy over the first
``eval_samples`` training rows, which is the whole training set when
``samples <= eval_samples`` and otherwise a fixed, uniformly random
evaluation subset (rows are stored in random order); ``metric`` is the
accuracy on the test set. Both are evaluated in chunks of ``2^21`` input
numbers (682 CIFAR-10 images; one chunk for the synthetic sets) to bound
memory.

**Non-i.i.d. workers** (field ``partition``): ``None`` lets every worker
sample uniformly from the whole training set. A Dirichlet concentration
``alpha > 0`` splits the training rows over ``workers`` workers with
``datasets.dirichlet_partition(labels, workers, alpha, seed=data_seed)``
(Hsu, Qi, Brown, arXiv 1909.06335), ``"iid-shards"`` splits them at random
into equal shards, and ``"label-shards"`` sorts them by label and cuts them
into contiguous shards (``datasets.label_shards``, the split of the ABS
authors' STSyn code); worker ``i`` then samples only from its shard
(``data["shards"]``, ``(workers, max_shard)`` int32 padded with -1, and
``data["shard_size"]``, ``(workers,)`` int32). ``workers`` must equal the
simulator's ``num_workers`` (``check_workers`` raises otherwise) and no shard
may be empty (building ``data`` raises).

**SPEC strings**: ``"mlp:hidden=64x64,samples=2048,batch=32"``,
``"cnn:channels=8x16,dataset=mnist,data_dir=/data/mnist,samples=10000"``,
``"mlp:partition=0.3,workers=8"``,
``"cnn:dataset=digits,channels=16x32,fc=64,partition=label-shards,workers=8"``,
``"cnn:dataset=cifar10,data_dir=...,channels=64x64,kernel=5,padding=valid,fc=384x192"``
(the STSyn CNN). Layer widths are written ``AxBxC`` (``hidden=none`` or
``fc=none`` for no such layer; ``hidden=none`` is softmax regression);
``partition`` is a number, ``iid-shards``, ``label-shards`` or ``none``.

>>> import jax
>>> obj = MLP(hidden=(8,), samples=256, test_samples=64)
>>> data = obj.data
>>> w = obj.init(data)
>>> batch = obj.sample(jax.random.key(0), data, 0)
>>> g = obj.gradient(data, w, batch)
>>> batch.shape, sorted(g), g["dense_0"]["weights"].shape
((32,), ['dense_0', 'output'], (16, 8))
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_int
from absjax.objectives.classifier import _Classifier

_LATENT = 4  # latent dimension of the MLP's synthetic mixture (see MLP)
_PADDINGS = ("same", "valid")  # of CNN and conv2d


def _check_widths(name: str, widths: Any, allow_empty: bool) -> tuple[int, ...]:
    """``widths`` as a tuple of integers ``>= 1`` (non-empty unless allowed)."""
    try:
        values = tuple(widths)
        for width in values:
            check_int(name, width)
    except (TypeError, ValueError):
        values = ()
    else:
        if values or allow_empty:
            return tuple(int(v) for v in values)
    kind = "a tuple" if allow_empty else "a non-empty tuple"
    raise ValueError(f"{name}={widths!r} must be {kind} of integers >= 1")


def _layer(rng: np.random.Generator, shape, name: str, relu: bool, dtype) -> dict:
    """``{name: weights, "bias": zeros}``, drawn in NumPy (no XLA compile).

    Before a relu: He-normal, ``N(0, 2 / fan_in)`` (He et al., arXiv
    1502.01852); for the logits: Glorot-uniform, ``U(-a, a)`` with ``a =
    sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio, AISTATS 2010). ``fan_in``
    is the product of all but the last dimension (``k^2 c_in`` for a ``k x k``
    kernel).
    """
    fan_in, fan_out = math.prod(shape[:-1]), shape[-1]
    if relu:
        weights = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
    else:
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        weights = rng.uniform(-limit, limit, shape)
    return {
        name: jnp.asarray(weights, dtype),
        "bias": jnp.zeros((fan_out,), dtype),
    }


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class MLP(_Classifier):
    """Multi-layer perceptron ``dense-relu-...-dense`` with cross-entropy loss.

    The model is ``{"dense_0": ..., "dense_{L-1}": ..., "output": ...}``, each
    ``{"weights": (fan_in, fan_out), "bias": (fan_out,)}``, one hidden layer
    of each width in ``hidden`` (``()``: softmax regression). ``init`` draws
    it, layer by layer, from ``numpy.random.default_rng(init_seed)`` (so it is
    the same on every backend and costs no compile): He-normal weights
    before a relu, Glorot-uniform for the logits, zero biases (``_layer``).

    Own fields: ``hidden`` (default ``(64,)``); for the synthetic data ``dim``
    (16 features), ``clusters`` (1 base point per class) and ``noise`` (0.2).

    **Synthetic data**: a sign-symmetric Gaussian mixture (a multi-class
    XOR) in a ``L = min(4, dim)``-dimensional latent space embedded in ``dim``
    dimensions. Base points ``b_k = |g_k|``, ``g_k ~ N(0, I_L)``, ``k < classes
    * clusters``, belong to class ``k mod classes``; a row picks ``k`` and a
    sign pattern ``s`` in ``{-1, 1}^L`` uniformly and is ``x = B (s * b_k +
    noise * e) + noise * e'``, with ``B`` a random ``(dim, L)`` orthonormal
    basis and standard normal ``e, e'``. Every class thus has ``2^L``
    clusters per base point, and its distribution is unchanged by flipping
    any latent coordinate (``z = s * b_k + noise * e``), so the best linear
    model predicts from its biases alone (chance accuracy, for every
    ``data_seed``), while the class depends on ``z`` only through ``|z|``,
    which a relu layer computes (``|a| = relu(a) + relu(-a)``). Measured, with
    300 SGD steps of 32 rows (learning rate 0.1) on the defaults: about 0.87
    test accuracy for ``hidden=(64,)``, 0.27 for ``hidden=()``, chance 0.25;
    ``noise`` sets the overlap of the classes.

    Parameters
    ----------
    dataset : {"synthetic", "mnist", "cifar10", "digits"}
        The data set (see :mod:`absjax.objectives.networks`).
    data_dir : str or os.PathLike, optional
        The folder holding the MNIST or CIFAR-10 files (required for them,
        refused otherwise).
    classes : int, default 4
        Classes of the synthetic data, ``>= 2``.
    samples, test_samples : int, optional
        Training and test rows (synthetic defaults 4096 and 1024; for real data a
        cap on a random subset).
    eval_samples : int, default 4096
        Rows of the logged loss.
    batch : int, default 32
        Rows per job, drawn with replacement.
    noise : float
        Noise of the synthetic data, ``>= 0``.
    partition : float or str, optional
        Non-i.i.d. shards: a Dirichlet ``alpha > 0``, ``"iid-shards"`` or
        ``"label-shards"`` (``None``: every worker samples the whole set).
    workers : int, optional
        The number of workers to split over (required with ``partition``).
    data_seed : int, default 0
        Seed of the data (and shards).
    init_seed : int, default 0
        Seed of ``w_0``.
    hidden : tuple of int
        Hidden layer widths (``()``: softmax regression).
    dim : int, default 16
        Synthetic features.
    clusters : int, default 1
        Synthetic base points per class.

    Raises
    ------
    ValueError
        If a field is outside its range (the message names it).

    Examples
    --------
    >>> obj = MLP(hidden=(32, 32), dim=8, classes=3)
    >>> obj.data["x"].shape, obj.data["y_test"].shape
    ((4096, 8), (1024,))
    """

    hidden: tuple[int, ...] = (64,)
    dim: int = 16
    clusters: int = 1
    name: ClassVar[str] = "mlp"

    def __post_init__(self):
        object.__setattr__(
            self, "hidden", _check_widths("hidden", self.hidden, allow_empty=True)
        )
        check_int("dim", self.dim)
        check_int("clusters", self.clusters)
        super().__post_init__()

    def _synthetic(self, rng):
        latent = min(_LATENT, self.dim)
        count = self.classes * self.clusters
        base = np.abs(rng.standard_normal((count, latent)))
        basis = np.linalg.qr(rng.standard_normal((self.dim, latent)))[0]

        def draw(rng, n):
            cluster = rng.integers(0, count, n)
            signs = rng.choice(np.array([-1.0, 1.0]), (n, latent))
            z = signs * base[cluster] + self.noise * rng.standard_normal((n, latent))
            x = z @ basis.T + self.noise * rng.standard_normal((n, self.dim))
            return x.astype(np.float32), (cluster % self.classes).astype(np.int32)

        return draw

    def _layout(self, images):
        return images.reshape(images.shape[0], -1)

    def init(self, data):
        rng, dtype = np.random.default_rng(self.init_seed), data["x"].dtype
        widths = (data["x"].shape[1], *self.hidden, self.num_classes)
        w = {}
        for i in range(len(self.hidden)):
            shape = (widths[i], widths[i + 1])
            w[f"dense_{i}"] = _layer(rng, shape, "weights", True, dtype)
        w["output"] = _layer(rng, widths[-2:], "weights", False, dtype)
        return w

    def apply(self, w, x):
        """The logits of the inputs ``x`` under the model ``w``.

        Parameters
        ----------
        w : dict
            The model.
        x : jax.Array
            A batch of inputs.

        Returns
        -------
        jax.Array
            ``(batch, classes)`` logits.
        """
        for i in range(len(self.hidden)):
            layer = w[f"dense_{i}"]
            x = jax.nn.relu(x @ layer["weights"] + layer["bias"])
        return x @ w["output"]["weights"] + w["output"]["bias"]


def conv2d(x: jax.Array, kernel: jax.Array, padding: str = "same") -> jax.Array:
    """2-D convolution, stride 1, NHWC input and HWIO ``(kh, kw, c_in, c_out)``
    kernel, with ``"same"`` zero padding or ``"valid"`` (none).

    Equal to ``jax.lax.conv_general_dilated(x, kernel, (1, 1), padding.upper(),
    dimension_numbers=("NHWC", "HWIO", "NHWC"))`` (tested for 3x3 and 5x5):
    ``"same"`` keeps ``rows x cols`` and pads ``(k - 1) // 2`` zeros before and
    ``k // 2`` after (lax's convention, symmetric for odd ``k``); ``"valid"``
    gives ``(rows - kh + 1) x (cols - kw + 1)``. Computed as one matmul of the
    ``kh kw`` shifted copies of ``x`` (im2col): on XLA's CPU backend a training
    step is about 3x faster than ``lax.conv`` (3x3), and vmapped over per-worker
    kernels it stays a batched matmul instead of a grouped convolution. The
    patches hold ``kh kw c_in`` numbers per output pixel (1,600 for the 5x5
    64-channel layer of the STSyn CNN).

    Parameters
    ----------
    x : jax.Array
        ``(n, rows, cols, c_in)`` input.
    kernel : jax.Array
        ``(kh, kw, c_in, c_out)`` kernel.
    padding : {"same", "valid"}
        Zero padding.

    Returns
    -------
    jax.Array
        ``(n, rows', cols', c_out)``.

    Raises
    ------
    ValueError
        For another padding.

    Examples
    --------
    >>> x = jnp.ones((1, 6, 6, 2))
    >>> conv2d(x, jnp.ones((5, 5, 2, 3)), "valid").shape
    (1, 2, 2, 3)
    >>> float(conv2d(x, jnp.ones((3, 3, 2, 1)))[0, 0, 0, 0])  # a corner: 2x2x2
    8.0
    """
    if padding not in _PADDINGS:
        raise ValueError(f"padding={padding!r} must be one of {_PADDINGS}")
    kh, kw = kernel.shape[0], kernel.shape[1]
    if padding == "same":
        pad = ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0))
        x = jnp.pad(x, pad)
    rows, cols = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    patches = jnp.concatenate(
        [x[:, i : i + rows, j : j + cols, :] for i in range(kh) for j in range(kw)],
        axis=-1,
    )
    return patches @ kernel.reshape(-1, kernel.shape[-1])


def conv3x3(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """3x3 convolution, stride 1, ``SAME`` zero padding, NHWC and HWIO:
    ``conv2d(x, kernel, "same")`` for a ``(3, 3, c_in, c_out)`` kernel.

    Equal to ``jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
    dimension_numbers=("NHWC", "HWIO", "NHWC"))`` (tested), computed as one
    matmul of the nine shifted copies of ``x`` (im2col; see ``conv2d``).

    Parameters
    ----------
    x : jax.Array
        ``(n, rows, cols, c_in)`` input.
    kernel : jax.Array
        ``(3, 3, c_in, c_out)`` kernel.

    Returns
    -------
    jax.Array
        ``(n, rows, cols, c_out)``.

    Raises
    ------
    ValueError
        For a kernel that is not 3x3.
    """
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"kernel of shape {kernel.shape} must be (3, 3, c_in, c_out)")
    return conv2d(x, kernel, "same")


def max_pool2(x: jax.Array) -> jax.Array:
    """2x2 max pooling, stride 2, NHWC; an odd last row or column is dropped.

    Parameters
    ----------
    x : jax.Array
        ``(n, rows, cols, channels)``.

    Returns
    -------
    jax.Array
        ``(n, rows // 2, cols // 2, channels)``.

    Examples
    --------
    >>> max_pool2(jnp.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    n, rows, cols, channels = x.shape
    x = x[:, : rows - rows % 2, : cols - cols % 2]
    return x.reshape(n, rows // 2, 2, cols // 2, 2, channels).max(axis=(2, 4))


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class CNN(_Classifier):
    """Convolutional net ``[conv-relu-maxpool2] x L - [dense-relu] x F - dense``.

    One block per width in ``channels`` (a ``kernel x kernel`` ``conv2d`` with
    ``padding``, relu, ``max_pool2``), then one relu dense layer per width in
    ``fc`` on the flattened features, then a dense layer to the logits (LeCun
    et al., "Gradient-based learning applied to document recognition", 1998).
    A block maps a side of ``s`` pixels to ``s // 2`` (``"same"``) or ``(s -
    kernel + 1) // 2`` (``"valid"``). The model is ``{"conv_0": {"kernel":
    (kernel, kernel, c_in, c_out), "bias": (c_out,)}, ..., "dense_0":
    {"weights", "bias"}, ..., "output": {"weights", "bias"}}``, drawn like the
    ``MLP``'s, in that order: He-normal kernels (fan-in ``kernel^2 c_in``) and
    hidden dense weights, Glorot-uniform output weights, zero biases.

    Own fields: ``channels`` (default ``(8, 16)``), ``kernel`` (3; odd for
    ``"same"``), ``padding`` (``"same"`` or ``"valid"``), ``fc`` (hidden dense
    widths, default ``()``); for the synthetic images ``image_size`` (16) and
    ``noise`` (0.7). The defaults are the original small CNN, unchanged.

    **The STSyn CNN** of the ABS authors' group (docs: Concepts > The
    reproduction's workloads, docs/concepts.md#concepts-reproduction: conv 3->64
    5x5, pool, conv 64->64 5x5, pool, fc 1600->384->192->10 on CIFAR-10) is
    ``CNN(dataset="cifar10", data_dir=..., channels=(64, 64), kernel=5,
    padding="valid", fc=(384, 192))``: 32 -> 28 -> 14 -> 10 -> 5 pixels, so
    ``5 * 5 * 64 = 1600`` features, and 797,962 parameters (4,864 + 102,464
    convolution, 614,784 + 73,920 + 1,930 dense). With ``padding="same"`` the
    sides go 32 -> 16 -> 8, the first dense layer reads ``8 * 8 * 64 = 4096``
    features and the net has 1,756,426 parameters. On the 8x8 digits a
    ``"same"`` net pools at most three times (8 -> 4 -> 2 -> 1), e.g.
    ``CNN(dataset="digits", channels=(16, 32), fc=(64,))``: 8 -> 4 -> 2, 128
    features.

    **Synthetic data**: ``image_size x image_size`` single-channel images.
    Each class has a template of ``t = image_size // 2`` squared i.i.d.
    standard normal pixels, scaled to unit root-mean-square; an image is
    ``noise`` times standard normal pixel noise plus its class template pasted
    at the centre shifted by up to ``s = max(1, image_size // 8)`` pixels
    (uniform integers in ``[-s, s]``, independently per axis), so the features
    must be found anywhere in a window: a CNN learns it in a few hundred SGD
    steps (about 0.94 test accuracy after 300 steps of 32 images at the default
    ``noise = 0.7``, chance 0.25).

    Parameters
    ----------
    dataset : {"synthetic", "mnist", "cifar10", "digits"}
        The data set (see :mod:`absjax.objectives.networks`).
    data_dir : str or os.PathLike, optional
        The folder holding the MNIST or CIFAR-10 files (required for them,
        refused otherwise).
    classes : int, default 4
        Classes of the synthetic data, ``>= 2``.
    samples, test_samples : int, optional
        Training and test rows (synthetic defaults 4096 and 1024; for real data a
        cap on a random subset).
    eval_samples : int, default 4096
        Rows of the logged loss.
    batch : int, default 32
        Rows per job, drawn with replacement.
    noise : float
        Noise of the synthetic data, ``>= 0``.
    partition : float or str, optional
        Non-i.i.d. shards: a Dirichlet ``alpha > 0``, ``"iid-shards"`` or
        ``"label-shards"`` (``None``: every worker samples the whole set).
    workers : int, optional
        The number of workers to split over (required with ``partition``).
    data_seed : int, default 0
        Seed of the data (and shards).
    init_seed : int, default 0
        Seed of ``w_0``.
    channels : tuple of int
        Output channels of each convolution block.
    kernel : int, default 3
        Kernel side (odd for ``"same"``).
    padding : {"same", "valid"}
        Padding of the convolutions.
    fc : tuple of int
        Hidden dense widths.
    image_size : int, default 16
        Side of the synthetic images.

    Raises
    ------
    ValueError
        If a field is outside its range (the message names it).

    Examples
    --------
    >>> obj = CNN(channels=(4,), image_size=8, samples=64, test_samples=16)
    >>> obj.data["x"].shape, obj.init(obj.data)["output"]["weights"].shape
    ((64, 8, 8, 1), (64, 4))
    """

    channels: tuple[int, ...] = (8, 16)
    kernel: int = 3
    padding: str = "same"
    fc: tuple[int, ...] = ()
    image_size: int = 16
    noise: float = 0.7
    name: ClassVar[str] = "cnn"

    def __post_init__(self):
        object.__setattr__(
            self,
            "channels",
            _check_widths("channels", self.channels, allow_empty=False),
        )
        object.__setattr__(self, "fc", _check_widths("fc", self.fc, allow_empty=True))
        if self.padding not in _PADDINGS:
            raise ValueError(f"padding={self.padding!r} must be one of {_PADDINGS}")
        check_int("kernel", self.kernel)
        if self.padding == "same" and self.kernel % 2 == 0:
            raise ValueError(
                f"kernel={self.kernel} must be odd with padding='same' (an odd "
                "integer >= 1)"
            )
        super().__post_init__()
        # Synthetic images must survive the blocks; real ones are checked when
        # they are loaded.
        low = 4 if self.dataset != "synthetic" else max(4, self._min_side())
        check_int("image_size", self.image_size, low=low)

    def _side(self, side: int) -> int:
        """The side of the features after all blocks, for an input ``side``."""
        for _ in self.channels:
            if self.padding == "valid":
                side -= self.kernel - 1
            side //= 2
        return side

    def _min_side(self) -> int:
        """The smallest input side that leaves at least one pixel: ``2^L`` for
        ``"same"``; ``s_{i-1} = 2 s_i + kernel - 1`` from ``s_L = 1`` for
        ``"valid"``."""
        side = 1
        for _ in self.channels:
            side = 2 * side + (self.kernel - 1 if self.padding == "valid" else 0)
        return side

    def _synthetic(self, rng):
        size, t = self.image_size, self.image_size // 2
        shift = max(1, size // 8)
        templates = rng.standard_normal((self.classes, t, t))
        templates /= np.sqrt(np.mean(templates**2, axis=(1, 2), keepdims=True))

        def draw(rng, n):
            y = rng.integers(0, self.classes, n)
            offset = (size - t) // 2 + rng.integers(-shift, shift + 1, (n, 2))
            rows = offset[:, 0, None, None] + np.arange(t)[None, :, None]
            cols = offset[:, 1, None, None] + np.arange(t)[None, None, :]
            x = self.noise * rng.standard_normal((n, size, size))
            x[np.arange(n)[:, None, None], rows, cols] += templates[y]
            return x[..., None].astype(np.float32), y.astype(np.int32)

        return draw

    def _layout(self, images):
        smallest = min(images.shape[1:3])
        if smallest < self._min_side():
            convs = (
                f" after {self.kernel}x{self.kernel} 'valid' convolutions"
                if self.padding == "valid"
                else ""
            )
            raise ValueError(
                f"channels={self.channels} pools {len(self.channels)} times"
                f"{convs}, too often for {images.shape[1]}x{images.shape[2]} "
                f"images (at least {self._min_side()} pixels a side needed)"
            )
        return images

    def init(self, data):
        rng, dtype = np.random.default_rng(self.init_seed), data["x"].dtype
        rows, cols, c_in = data["x"].shape[1:]
        k = self.kernel
        w = {}
        for i, c_out in enumerate(self.channels):
            shape = (k, k, c_in, c_out)
            w[f"conv_{i}"] = _layer(rng, shape, "kernel", True, dtype)
            c_in = c_out
        width = self._side(rows) * self._side(cols) * c_in
        for i, hidden in enumerate(self.fc):
            w[f"dense_{i}"] = _layer(rng, (width, hidden), "weights", True, dtype)
            width = hidden
        shape = (width, self.num_classes)
        w["output"] = _layer(rng, shape, "weights", False, dtype)
        return w

    def apply(self, w, x):
        """The logits of the inputs ``x`` under the model ``w``.

        Parameters
        ----------
        w : dict
            The model.
        x : jax.Array
            A batch of inputs.

        Returns
        -------
        jax.Array
            ``(batch, classes)`` logits.
        """
        for i in range(len(self.channels)):
            layer = w[f"conv_{i}"]
            x = conv2d(x, layer["kernel"], self.padding) + layer["bias"]
            x = max_pool2(jax.nn.relu(x))
        x = x.reshape(x.shape[0], -1)
        for i in range(len(self.fc)):
            layer = w[f"dense_{i}"]
            x = jax.nn.relu(x @ layer["weights"] + layer["bias"])
        return x @ w["output"]["weights"] + w["output"]["bias"]


mlp = MLP
cnn = CNN
