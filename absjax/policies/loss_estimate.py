"""The server's loss estimate, for rules that read the loss (AdaSync, ABS).

What a real parameter server may know of the loss is the loss of the
minibatches it aggregated: :class:`MinibatchAverage` (the default) keeps a
running average of them. :class:`ExactLoss` is the clearly named oracle mode
(``loss_estimate="exact"``): the exact objective ``F(w_{t+1})``, which no real
server knows. :class:`NoEstimate` is used when no rule reads the loss; the
engine then computes no minibatch losses at all.

The estimate is ``(loss, loss0)``: the value after the last round (``nan``
before round 0 in the minibatch mode) and its first value, which AdaSync's rule
compares it with.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class NoEstimate:
    """No rule reads the loss: the estimate stays ``nan``."""

    observes_minibatch = False  # whether jobs compute their minibatch loss

    def initial(self, objective, data, w, dtype):
        """The estimate before round 1 (``nan``: none yet).

        Parameters
        ----------
        objective : ~absjax.objectives.Objective
            The objective.
        data : dict
            Its data.
        w : object
            The initial model ``w_0``.
        dtype : numpy.dtype
            The estimate's float dtype.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        return jnp.full((), jnp.nan, dtype)

    def __call__(self, objective, state, arrivals, params, w):
        return state.loss, state.loss0


@dataclasses.dataclass(frozen=True)
class ExactLoss(NoEstimate):
    """Oracle mode: the exact objective of the new model."""

    def initial(self, objective, data, w, dtype):
        return objective.loss(data, w).astype(dtype)

    def __call__(self, objective, state, arrivals, params, w):
        loss = objective.loss(params.data, w).astype(state.loss.dtype)
        return loss, state.loss0


@dataclasses.dataclass(frozen=True)
class MinibatchAverage(NoEstimate):
    """``L = (1 - beta) L + beta * mean(aggregated minibatch losses)``, with
    ``beta = params.policy["loss_decay"]``; the first round's mean starts it."""

    observes_minibatch = True

    def __call__(self, objective, state, arrivals, params, w):
        mean = arrivals.loss_sum / jnp.maximum(arrivals.jobs_aggregated, 1)
        beta = params.policy["loss_decay"]
        first = state.version == 0
        loss = jnp.where(first, mean, (1 - beta) * state.loss + beta * mean)
        return loss, jnp.where(first, mean, state.loss0)
