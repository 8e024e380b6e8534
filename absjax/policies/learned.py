"""Learned K rules: a monotone table over the loss ratio, saved to a file.

:class:`~absjax.policies.LossTable` is the K rule that :mod:`absjax.learn`
optimises by evolution strategies; :class:`~absjax.policies.LearnedRule` is
what such a run finds (the table, ABS's staleness factor ``kappa``, the period
``t0`` and the learning rate), saved as JSON; :func:`~absjax.policies.learned`
loads it as a :class:`~absjax.policies.Policy` usable wherever a policy is (Simulator,
Ensemble, sweeps, the CLI's ``learned:path=FILE``).

**Why a monotone table and not a small MLP.** The rule maps ``z = log(F_0 /
F_t)``, how many e-folds the server's loss estimate has fallen, to a fraction
``f(z)`` of the workers, piecewise linearly between fixed knots, with
non-decreasing values: ``K = round(1 + (N - 1) f(z))``, never below the K in
force. This keeps what ABS and AdaSync share (K grows as the loss falls and
never decreases, Tan, Zhu, Zhang, arXiv 2301.08895; Dutta et al., arXiv
2003.10579), contains AdaSync's square-root rule and the fixed K as special
cases (up to the knots' resolution), is read at a glance as a curve K(z), and
has a handful of numbers, so an evolution strategy with a population of tens
finds a good one in tens of generations. Writing K as a fraction of N lets one
table run on another number of workers. A small MLP reading more of the
server's view (elapsed time, staleness) could express more, but is neither
monotone nor interpretable and needs far more generations; the table reads
only the loss ratio and the K in force.

>>> rule = LossTable(knots=(0.0, 1.0), values=(0.0, 1.0), t0=1.0)
>>> from absjax.rules import ServerView
>>> import jax.numpy as jnp
>>> view = ServerView.initial(9, 1, 0)._replace(clock=jnp.asarray(1.5),
...     loss0=jnp.asarray(1.0), loss=jnp.asarray(float(jnp.exp(-0.5))))
>>> int(rule(view, rule.params))  # f(0.5) = 0.5: K = 1 + 8 * 0.5
5
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from absjax import rules as rules_lib
from absjax._validate import check_int, check_real
from absjax.policies.policy import Policy

FORMAT = "absjax.learned_rule"  # the "format" entry of a saved rule
KNOTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)  # z = log(F_0 / F_t) of the table's values
# the rule ``learned`` loads without a path: AdaSync's from K0 = 1 for N = 8 as
# a table (``absjax.learn.adasync_start(8)``), lr 0.3, t0 one mean job time
DEFAULT = Path(__file__).with_name("learned_rule.json")


def check_table(knots, values) -> None:
    """Raises ``ValueError`` unless ``knots`` increase and ``values`` (one per
    knot, or a population of such rows) are non-decreasing fractions in [0, 1]."""
    k = np.asarray(knots, float)
    if k.ndim != 1 or k.size < 2 or not np.all(np.isfinite(k)):
        raise ValueError(f"knots={list(knots)!r} must be at least 2 finite numbers")
    if np.any(np.diff(k) <= 0):
        raise ValueError(f"knots={k.tolist()} must be increasing")
    v = np.asarray(values, float)
    if v.shape[-1:] != (k.size,):
        raise ValueError(f"values must hold {k.size} numbers (one per knot)")
    if not np.all((v >= 0) & (v <= 1)):
        raise ValueError(f"values={v.tolist()} must be fractions in [0, 1]")
    if np.any(np.diff(v, axis=-1) < 0):
        raise ValueError(f"values={v.tolist()} must be non-decreasing (monotone)")


@dataclasses.dataclass(frozen=True)
class LossTable(rules_lib._LossRule):
    """K from a monotone piecewise-linear table over ``z = log(F_0 / F_t)``.

    At the end of each round in which the wall clock passed a multiple of
    ``t0``: ``K = max(K, round(1 + (N - 1) f(z)))``, where ``f`` interpolates
    ``values`` (non-decreasing fractions of the workers in [0, 1]) between
    ``knots`` and is constant beyond them, and ``F`` is the server's loss
    estimate (``N`` when ``F_t <= 0``). ``values`` are traced numbers
    (``policy.k_rule.values``), so tables differing only in them share one
    compiled program.

    Parameters
    ----------
    t0 : float, default 1.0
        The period of the rule's wall-clock checks, ``> 0``.
    knots : tuple of float, default ``KNOTS``
        Increasing ``z = log(F_0 / F_t)`` at which ``values`` hold, at least 2.
    values : tuple of float, optional
        ``f`` at each knot: non-decreasing fractions of the workers in [0, 1]
        (default: all 0).

    Raises
    ------
    ValueError
        If ``t0 <= 0``, the knots do not increase, or the values are not one
        non-decreasing fraction in [0, 1] per knot.
    """

    knots: tuple[float, ...] = KNOTS
    values: tuple[float, ...] = (0.0,) * len(KNOTS)
    name: ClassVar[str] = "loss_table"

    def __post_init__(self):
        super().__post_init__()
        check_table(self.knots, self.values)

    @property
    def params(self):
        return {**super().params, "values": jnp.asarray(self.values, float)}

    def target(self, view, ratio, params):
        z = jnp.log(jnp.maximum(ratio, 1e-30))
        f = jnp.interp(z, jnp.asarray(self.knots, z.dtype), params["values"])
        k = jnp.round(1 + (view.num_workers - 1) * f)
        return jnp.where(jnp.isnan(ratio), jnp.nan, k)

    def check(self, params, low, high):
        super().check(params, low, high)
        check_table(self.knots, params["values"])


def initial_k(values, num_workers: int) -> int:
    """K^0 of a table: ``round(1 + (N - 1) values[0])``."""
    return int(np.round(1 + (num_workers - 1) * float(np.asarray(values)[0])))


@dataclasses.dataclass(frozen=True)
class LearnedRule:
    """A learned policy: K-async with a learned K table and ABS's tau rule.

    The K rule is a :class:`~absjax.policies.LossTable`, the tau rule ABS's
    ``ceil(kappa (N - K) / K)`` (Tan, Zhu, Zhang, arXiv 2301.08895), run with
    the learning rate ``lr`` the rule was found with.

    Parameters
    ----------
    values : tuple of float
        The table's values at ``knots``: non-decreasing fractions of the
        workers in [0, 1].
    t0 : float
        The period of the K rule's wall-clock checks, ``> 0``.
    kappa : float
        ABS's staleness factor, ``>= 0``.
    lr : float
        The learning rate it was found with, ``> 0``.
    num_workers : int
        The N it was trained for.
    knots : tuple of float, default ``KNOTS``
        Increasing ``z = log(F_0 / F_t)`` of the table's values.
    metadata : dict, optional
        How it was found (objective, delay, seeds, fitness); default empty.

    Raises
    ------
    ValueError
        If a number is outside its range or the table is not monotone.
    """

    values: tuple[float, ...]
    t0: float
    kappa: float
    lr: float
    num_workers: int
    knots: tuple[float, ...] = KNOTS
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_table(self.knots, self.values)
        check_real("t0", self.t0, 0.0, strict_low=True)
        check_real("kappa", self.kappa, 0.0)
        check_real("lr", self.lr, 0.0, strict_low=True)
        check_int("num_workers", self.num_workers)

    def policy(self, num_workers: int | None = None) -> Policy:
        """The policy for ``num_workers`` workers.

        Parameters
        ----------
        num_workers : int, optional
            N to run it on (default: the trained N); the table is in fractions
            of N, so it carries over.

        Returns
        -------
        ~absjax.policies.Policy
            A K-async policy named ``"learned"`` with the rule's K and tau
            rules.
        """
        n = self.num_workers if num_workers is None else num_workers
        check_int("num_workers", n)
        return Policy(
            "learned",
            initial_k(self.values, n),
            base="k_async",
            k_rule=LossTable(t0=self.t0, knots=self.knots, values=self.values),
            tau_rule=rules_lib.StalenessBound(self.kappa),
        )

    def to_dict(self) -> dict[str, Any]:
        """The rule as a JSON-able dict, as :meth:`save` writes it.

        Returns
        -------
        dict
            ``"format"`` (``FORMAT``), ``"version"`` and every field.
        """
        fields = dataclasses.asdict(self)
        return {"format": FORMAT, "version": 1, **fields}

    def save(self, path: str | os.PathLike) -> None:
        """Writes the rule as JSON (floats kept exactly, by ``repr``).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.
        """
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LearnedRule:
        """Reads a rule written by :meth:`~absjax.policies.LearnedRule.save`.

        Parameters
        ----------
        path : str or os.PathLike
            The JSON file.

        Returns
        -------
        ~absjax.policies.LearnedRule

        Raises
        ------
        ValueError
            If the file cannot be read, is not a learned rule file, or holds
            numbers out of range.
        """
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            message = f"path={os.fspath(path)!r}: not a learned rule ({e})"
            raise ValueError(message) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"path={os.fspath(path)!r}: not a learned rule file")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("values", "knots"):
            kwargs[key] = tuple(float(v) for v in kwargs.get(key, ()))
        return cls(**kwargs)


def learned(
    path: str | os.PathLike = DEFAULT, num_workers: int | None = None
) -> Policy:
    """The policy of a learned rule saved by :mod:`absjax.learn` (a JSON file).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file (:meth:`~absjax.policies.LearnedRule.save`; default:
        AdaSync's rule from ``K0 = 1`` written as a table, a starting point;
        Dutta et al., arXiv 2003.10579).
    num_workers : int, optional
        N to run it on (default: the N it was trained for); the table is in
        fractions of N, so it carries over.

    Returns
    -------
    ~absjax.policies.Policy
        A K-async policy with the learned K rule; its learning rate is
        ``LearnedRule.load(path).lr``.

    Raises
    ------
    ValueError
        If ``path`` is not a learned rule file, or ``num_workers`` is out of
        range.
    """
    return LearnedRule.load(path).policy(num_workers)
