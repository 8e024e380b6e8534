"""The ``Objective`` base class and what the objectives share.

:class:`Objective` lists the functions the engine calls (the protocol is
described in :mod:`absjax.objectives`); ``uniform_indices`` draws minibatch
rows; ``_check_dataset`` checks the fields of the synthetic data-set
objectives.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from absjax._validate import check_int, check_real

Data = dict[str, jax.Array]


def _check_dataset(objective) -> None:
    """Checks the fields shared by the data-set objectives; no data generated yet."""
    for name in ("dim", "samples", "batch"):
        check_int(name, getattr(objective, name))
    check_int("data_seed", objective.data_seed, low=0)
    check_real("noise", objective.noise, 0.0)
    object.__setattr__(objective, "_data", None)


@dataclasses.dataclass(frozen=True, eq=False)
class Objective:
    """Base class; see :mod:`absjax.objectives` for the protocol."""

    name: ClassVar[str]
    has_loss: ClassVar[bool] = True  # False: loss is nan by design (timing only)
    has_metric: ClassVar[bool] = False
    metric_name: ClassVar[str] = ""

    @property
    def data(self) -> Data:
        """The data set, a pytree of arrays (generated once, from ``data_seed``)."""
        raise NotImplementedError

    def init(self, data: Data) -> Any:
        """The initial model ``w_0``, a pytree.

        Parameters
        ----------
        data : dict
            The objective's data set (``data``).

        Returns
        -------
        PyTree
            ``w_0``.
        """
        raise NotImplementedError

    def sample(self, key: jax.Array, data: Data, worker: jax.Array) -> Any:
        """The randomness of one job (a minibatch) of worker ``worker``.

        Parameters
        ----------
        key : jax.Array
            The job's key.
        data : dict
            The objective's data set (``data``).
        worker : jax.Array
            ``()`` int32, the worker's index (objectives with per-worker
            shards sample from its shard).

        Returns
        -------
        PyTree
            The minibatch.
        """
        raise NotImplementedError

    def gradient(self, data: Data, w: Any, batch: Any) -> Any:
        """The stochastic gradient of one job at ``w``, shaped like ``w``.

        Parameters
        ----------
        data : dict
            The objective's data set (``data``).
        w : PyTree
            The model.
        batch : PyTree
            One job's minibatch (:meth:`sample`).

        Returns
        -------
        PyTree
            The gradient.
        """
        raise NotImplementedError

    def batch_loss(self, data: Data, w: Any, batch: Any) -> jax.Array:
        """The loss of that minibatch at ``w``, a scalar.

        Parameters
        ----------
        data : dict
            The objective's data set (``data``).
        w : PyTree
            The model.
        batch : PyTree
            One job's minibatch (:meth:`sample`).

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        raise NotImplementedError

    def check_workers(self, num_workers: int) -> None:
        """Check that the data can serve ``num_workers`` workers.

        Parameters
        ----------
        num_workers : int
            N.

        Raises
        ------
        ValueError
            If the data cannot serve ``num_workers``.
        """

    def loss(self, data: Data, w: Any) -> jax.Array:
        """The logged training loss at ``w`` (exact, or in closed form).

        Parameters
        ----------
        data : dict
            The objective's data set (``data``).
        w : PyTree
            The model.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        raise NotImplementedError

    def metric(self, data: Data, w: Any) -> jax.Array:
        """The logged test metric at ``w`` (``nan`` where the objective has none).

        Parameters
        ----------
        data : dict
            The objective's data set (``data``).
        w : PyTree
            The model.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        return jnp.asarray(jnp.nan)


def uniform_indices(key: jax.Array, shape, n: int) -> jax.Array:
    """Uniform integers in ``[0, n)``, one 32-bit random word each.

    ``floor(u * n / 2^32)`` for a uniform 32-bit ``u`` (Lemire's multiply-shift,
    computed exactly in 32-bit halves), so the bias is at most ``n / 2^32``;
    ``jax.random.randint`` spends two words per integer.

    Parameters
    ----------
    key : jax.Array
        A typed PRNG key.
    shape : sequence of int
        The shape of the draws.
    n : int
        The range, ``>= 1`` (above ``2^16`` it draws with ``jax.random.randint``).

    Returns
    -------
    jax.Array
        int32 of shape ``shape``.

    Examples
    --------
    >>> int(uniform_indices(jax.random.key(0), (1000,), 7).max())
    6
    """
    if n > 2**16:
        return jax.random.randint(key, shape, 0, n)
    u = jax.random.bits(key, shape, jnp.uint32)
    n32 = jnp.uint32(n)
    high = (u >> 16) * n32 + (((u & 0xFFFF) * n32) >> 16)
    return (high >> 16).astype(jnp.int32)
