"""The K-first-finishers round: sync, K-sync, K-async and async.

The round ends at the K-th finish among the current jobs (K = N for sync, 1
for async); the K finishers push their updates, which were computed on the
models they read, and wait (idle) until the round's end. Who restarts on the
new model afterwards is the restart rule's business
(:mod:`absjax.policies.restarts`): all workers for K-sync (cancelling the N - K
slowest jobs), the K finishers plus the over-stale jobs for K-async.

Reference: Dutta, Joshi, Ghosh, Dube, Nagpurkar, "Slow and Stale Gradients Can
Win the Race" (AISTATS 2018, arXiv 1803.01113).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from absjax.policies.round import Arrivals

# finish_order finds up to this many first finishers by repeated argmin (O(N
# count)), more by a bitonic sorting network (O(N log^2 N), all of it
# vectorised). On XLA:CPU, with 64 seeds, argmin was the faster for count <= 8
# (N = 16 to 1024) and the network for count = 16 to 32 (N = 64 to 512,
# 1.75-3x); XLA:CPU's own sort (a comparator called per comparison) and
# lax.top_k were 3-4x slower than the network at N = 256 to 4096.
_ARGMIN_COUNT = 8
# Where the first finishers are selected before the network sorts them (a
# threshold found bit by bit: 32 counting passes, O(N)): from 256 workers on
# for count <= N / 4, from 1024 on for count <= N / 2. With 128 seeds, a seed
# took (network -> selection, us): N = 4096, count = 1024: 163-222 -> 78-83;
# count = 2048: 269 -> 160; N = 10^4, count = 2500: 1690-1840 -> 370-415;
# N = 2048, count = 1024: 70 -> 61; N = 256 and 512, count = N / 4: 1.2x and
# 1.4x faster in the timing-only engine; N = 256 and 512, count = N / 2, and
# N = 64, count = 16: even or slower.


def _selects(n: int, count: int) -> bool:
    """Whether :func:`finish_order` selects before it sorts (measured above)."""
    return n >= 256 and 4 * count <= n or n >= 1024 and 2 * count <= n


def finish_order(remaining: jax.Array, count: int) -> jax.Array:
    """The ``count`` first finishers in finishing order, ties broken by worker
    index (the three ways below, repeated argmin, the sorting network, and a
    selection then the network, break ties the same way: the numbers do not
    depend on which one runs). ``remaining`` holds no NaN (the network's order of
    NaN is not argsort's). XLA:CPU compares subnormal floats as zero, so all
    three ways order a subnormal time as a tie with 0 (NumPy does not).

    Parameters
    ----------
    remaining : jax.Array
        ``(num_workers,)`` time until each job finishes.
    count : int
        How many first finishers to list (static).

    Returns
    -------
    jax.Array
        ``(count,)`` int32 worker indices.

    Examples
    --------
    >>> finish_order(jnp.array([3.0, 1.0, 1.0, 2.0]), 3).tolist()
    [1, 2, 3]
    >>> finish_order(jnp.array([3.0, 1.0, 1.0, 2.0] * 10), 12)[:5].tolist()
    [1, 2, 5, 6, 9]
    """
    n = remaining.shape[0]
    if count > _ARGMIN_COUNT and _selects(n, count):
        first = first_set(remaining, count)
        return first[sorted_order(remaining[first])]
    if count > _ARGMIN_COUNT:
        return sorted_order(remaining)[:count]

    keys = _ordered_integers(remaining)
    last = jnp.iinfo(keys.dtype).max  # above every key, inf and NaN included

    def next_finisher(left, _):
        i = jnp.argmin(left)  # the first index among ties
        return left.at[i].set(last), i

    _, order = jax.lax.scan(next_finisher, keys, None, length=count)
    return order


def _ordered_integers(x: jax.Array) -> jax.Array:
    """Signed integers in the order of the floats ``x``, equal where they are
    equal (``-0 == +0``, as in the network's comparisons), NaN above inf: the
    bits, with the magnitude bits of negatives flipped.

    >>> x = jnp.array([2.0, -1.0, jnp.inf, 0.0, -jnp.inf, 0.5, -0.0])
    >>> keys = _ordered_integers(x)
    >>> jnp.argsort(keys, stable=True).tolist(), bool(keys[3] == keys[6])
    ([4, 1, 3, 6, 5, 0, 2], True)
    """
    x = jnp.where(x == 0, jnp.zeros_like(x), x)  # -0 -> +0
    if x.dtype == jnp.float64:
        bits = jax.lax.bitcast_convert_type(x, jnp.int64)
    else:
        bits = jax.lax.bitcast_convert_type(x.astype(jnp.float32), jnp.int32)
    negative = bits >> (bits.dtype.itemsize * 8 - 1)  # -1 for negatives, else 0
    return bits ^ (negative & jnp.iinfo(bits.dtype).max)


def first_set(remaining: jax.Array, count: int) -> jax.Array:
    """The ``count`` first finishers (ties by worker index), in index order.

    The ``count``-th smallest key ``a`` (:func:`_ordered_integers`, as
    unsigned) is built bit by bit from the top: a bit is kept where fewer than
    ``count`` keys lie below the candidate (32 counting passes over the jobs,
    64 for float64). The finishers are the keys below ``a`` and, of those
    equal to ``a``, the first by index; a prefix sum gives each its place.

    >>> first_set(jnp.array([3.0, 1.0, 1.0, 2.0, 1.0]), 3).tolist()
    [1, 2, 4]
    >>> first_set(jnp.array([3.0, 1.0, 1.0, 2.0, 1.0]), 2).tolist()
    [1, 2]
    """
    n = remaining.shape[0]
    signed = _ordered_integers(remaining)
    bits = signed.dtype.itemsize * 8
    unsigned = jnp.dtype(f"uint{bits}")
    top = np.array(1 << (bits - 1), unsigned)
    keys = jax.lax.bitcast_convert_type(signed, unsigned) ^ top  # unsigned order
    kth = jnp.zeros((), unsigned)
    for bit in range(bits - 1, -1, -1):
        candidate = kth | np.array(1 << bit, unsigned)
        kth = jnp.where(jnp.sum(keys < candidate) < count, candidate, kth)
    below, tied = keys < kth, keys == kth
    finisher = below | (tied & (jnp.cumsum(tied) <= count - jnp.sum(below)))
    place = jnp.where(finisher, jnp.cumsum(finisher) - 1, count)  # count: dropped
    workers = jnp.arange(n, dtype=jnp.int32)
    return jnp.zeros(count, jnp.int32).at[place].set(workers, mode="drop")


def sorted_order(x: jax.Array) -> jax.Array:
    """The indices that sort ``x`` (1-D, no NaN) ascending, ties by index: a
    stable argsort, by Batcher's bitonic sorting network.

    ``x`` is padded with ``inf`` to a power of two, ``2^m``, and sorted with its
    indices as (value, index) pairs in ``m (m + 1) / 2`` stages of
    compare-exchanges between elements ``i`` and ``i XOR j``, each stage one
    vectorised select over the whole array. Pairs are ordered by value, then
    index, a total order, so the result is unique: exactly
    ``jnp.argsort(x, stable=True)``. The padding (indices from ``len(x)`` on)
    sorts after every element of ``x``, ``inf`` included.

    Reference: K. E. Batcher, "Sorting networks and their applications",
    AFIPS Spring Joint Computer Conference 1968.

    >>> sorted_order(jnp.array([2.0, jnp.inf, 1.0, 2.0, 0.5])).tolist()
    [4, 2, 0, 3, 1]
    """
    n = x.shape[0]
    size = 1 << max(n - 1, 1).bit_length()
    keys = jnp.concatenate([x, jnp.full((size - n,), jnp.inf, x.dtype)])
    index = jnp.arange(size, dtype=jnp.int32)
    position = np.arange(size)
    span = 2  # sorted runs of span / 2 merge into runs of span
    while span <= size:
        j = span // 2  # the partner's distance
        while j >= 1:
            pairs = (-1, 2, j)  # [:, 0] element i, [:, 1] its partner i + j
            ascending = (position.reshape(pairs)[:, 0] & span) == 0
            k, i = keys.reshape(pairs), index.reshape(pairs)
            low, high, i_low, i_high = k[:, 0], k[:, 1], i[:, 0], i[:, 1]
            high_first = (high < low) | ((high == low) & (i_high < i_low))
            swap = high_first == ascending
            keys = _exchange(swap, low, high)
            index = _exchange(swap, i_low, i_high)
            j //= 2
        span *= 2
    return index[:n]


def _exchange(swap, low, high):
    """The pairs ``(low, high)``, swapped where ``swap``, back in one array."""
    pair = jnp.stack([jnp.where(swap, high, low), jnp.where(swap, low, high)], 1)
    return pair.reshape(-1)


def finish_rank(remaining: jax.Array) -> jax.Array:
    """Each job's position in finishing order, ties broken by worker index
    (the inverse permutation of :func:`finish_order`).

    Parameters
    ----------
    remaining : jax.Array
        ``(num_workers,)`` time until each job finishes.

    Returns
    -------
    jax.Array
        ``(num_workers,)`` int32 positions.

    Examples
    --------
    >>> finish_rank(jnp.array([3.0, 1.0, 1.0, 2.0])).tolist()
    [3, 0, 1, 2]
    """
    n = remaining.shape[0]
    order = finish_order(remaining, n)
    return jnp.zeros(n, jnp.int32).at[order].set(jnp.arange(n, dtype=jnp.int32))


def kth_arrivals(remaining: jax.Array, k: jax.Array, capacity: int):
    """The K first finishers among jobs with the given remaining times.

    Events are ordered by finish time with ties broken by worker index, so the
    arrival set is exactly the K first events.

    Parameters
    ----------
    remaining : jax.Array
        ``(num_workers,)`` time until each job finishes.
    k : jax.Array
        ``()`` int, number of arrivals that end the round.
    capacity : int
        Static ``>= k``, how many first finishers to list in order.

    Returns
    -------
    tuple of jax.Array
        ``(duration, arrived, first)``: the round's length (the K-th order statistic), a
        ``(num_workers,)`` bool mask of the K arrivals, and the ``capacity`` first
        finishers in order (entries from K on are not arrivals).

    Examples
    --------
    >>> d, mask, first = kth_arrivals(jnp.array([3.0, 1.0, 1.0, 2.0]), 2, 3)
    >>> float(d), mask.tolist(), first.tolist()
    (1.0, [False, True, True, False], [1, 2, 3])
    """
    first = finish_order(remaining, capacity)
    arrives = jnp.arange(capacity) < k
    duration = remaining[first[k - 1]]
    arrived = jnp.zeros(remaining.shape, bool).at[first].set(arrives)
    return duration, arrived, first


def _per_arrival(mask: jax.Array, g: jax.Array) -> jax.Array:
    """``mask`` (one entry per arrival) broadcast against the stacked ``g``."""
    return mask.reshape((-1,) + (1,) * (g.ndim - 1))


@dataclasses.dataclass(frozen=True)
class FirstFinishers:
    """Arrival rule: the round ends at the K-th finish (K = ``state.k``).

    The finishers idle from their finish to the round's end; a worker without a
    job (blocked by SSP: ``remaining = inf``) idles through the whole round.

    >>> import absjax
    >>> from absjax import policies
    >>> sim = absjax.Simulator(3, policies.k_async(2), "exp:rate=1", "timing",
    ...                        rounds=4, log_every=4)
    >>> type(sim.arrival_rule).__name__
    'FirstFinishers'
    """

    def __call__(self, jobs, keys, state, params) -> Arrivals:
        t, cap, workers = state.version, jobs.capacity, state.workers
        duration, arrived, first = kth_arrivals(workers.remaining, state.k, cap)
        active = jnp.arange(cap) < state.k  # entries of `first` from K on: masked
        staleness = jnp.where(active, t - workers.read[first], 0)
        weights = jobs.weigh(params, staleness, workers, first, state.w)
        omega = jnp.where(active, weights, 0.0)
        updates, losses = jobs.updates(keys, params, workers, first, state.w)
        weighted = jax.tree.map(
            lambda g: jnp.sum(
                jnp.where(_per_arrival(active, g), _per_arrival(omega, g) * g, 0.0),
                axis=0,
            ),
            updates,
        )
        blocked = jnp.isinf(workers.remaining)
        idle = jnp.sum(jnp.where(arrived, duration - workers.remaining, 0.0))
        idle = idle + duration * jnp.sum(blocked)
        job_time = workers.age + workers.remaining
        return Arrivals(
            duration=duration,
            workers=workers._replace(
                remaining=workers.remaining - duration,
                job_time=jnp.where(arrived, job_time, workers.job_time),
                age=workers.age + duration,
            ),
            finished=arrived,
            weighted=weighted,
            jobs_aggregated=state.k,
            weight_sum=jnp.sum(omega),
            loss_sum=jnp.sum(jnp.where(active, losses, 0.0)),
            staleness_sum=jnp.sum(staleness),
            staleness_max=jnp.max(staleness),
            arrivals=arrived.astype(jnp.int32),
            arrival_staleness=jnp.where(active, staleness, -1),
            jobs_started=jnp.int32(0),
            downloads=jnp.int32(0),
            jobs_discarded=jnp.int32(0),
            jobs_dropped=jnp.sum(active & (weights == 0)).astype(jnp.int32),
            uploads=state.k,
            idle_time=idle,
        )
