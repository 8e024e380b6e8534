"""The named policies: constructors of the six base mechanics and of the
adaptive and peer methods (docs: Concepts > The named policies,
docs/concepts.md#concepts-policies), each a :class:`Policy`.

>>> k_async(4, tau=3).base, abs_(k0=1, t0=5.0).base, rennala(4).discard
('k_async', 'k_async', 1)
"""

from __future__ import annotations

from typing import Any

from absjax import rules as rules_lib
from absjax import staleness as staleness_lib
from absjax._validate import check_int
from absjax.policies.policy import Policy


def sync() -> Policy:
    """Fully synchronous SGD: each round waits for all N workers.

    Returns
    -------
    ~absjax.policies.Policy

    Examples
    --------
    >>> sync().synchronous
    True
    """
    return Policy("sync")


def k_sync(k: int) -> Policy:
    """K-sync SGD (Dutta et al. 2018): wait for the K fastest of N fresh jobs.

    Parameters
    ----------
    k : int
        K, updates aggregated per round, in ``[1, N]``.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy("k_sync", k)


def k_batch_sync(k: int) -> Policy:
    """K-batch-sync SGD (Dutta et al. 2018): K fresh updates, finishers recompute.

    Parameters
    ----------
    k : int
        K, updates aggregated per round, in ``[1, N]``.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy("k_batch_sync", k)


def k_async(k: int, tau: int | None = None) -> Policy:
    """K-async SGD (Dutta et al. 2018), optionally with staleness bound ``tau``.

    Parameters
    ----------
    k : int
        K, updates aggregated per round, in ``[1, N]``.
    tau : int, optional
        Staleness bound (``None``: unbounded).

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).

    Examples
    --------
    >>> p = k_async(4, tau=3)
    >>> p.k, p.tau
    (4, 3)
    """
    return Policy("k_async", k, tau)


def k_batch_async(k: int, tau: int | None = None) -> Policy:
    """K-batch-async SGD (Dutta et al. 2018), optionally bounded by ``tau``.

    Parameters
    ----------
    k : int
        K, updates aggregated per round, in ``[1, N]``.
    tau : int, optional
        Staleness bound (``None``: unbounded).

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy("k_batch_async", k, tau)


def asynchronous(tau: int | None = None) -> Policy:
    """Fully asynchronous SGD (``k_async(1)``), optionally bounded by ``tau``.

    Parameters
    ----------
    tau : int, optional
        Staleness bound (``None``: unbounded).

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy("async", None, tau)


def abs_(
    k0: int,
    t0: float,
    kappa: float = 1.0,
    local_steps: int = 1,
    *,
    k_rule: rules_lib.Rule | None = None,
    tau_rule: rules_lib.Rule | None = None,
    tau: int | None = None,
    **parts: Any,
) -> Policy:
    """ABS, adaptive bounded staleness (Tan, Zhu, Zhang, arXiv 2301.08895).

    K-async with an adaptive non-decreasing K (default **[our reading]**:
    ``rules.AdaSync(t0)`` from ``K^0 = k0``), a staleness bound with the
    restart rule (default **[our reading]**: ``rules.StalenessBound(kappa)``,
    ``tau = ceil(kappa (N - K) / K)``) and ``local_steps`` U per job. Pass
    ``k_rule`` / ``tau_rule`` (any :mod:`absjax.rules` rule, e.g. a schedule;
    ``rules.Fixed()`` with ``tau`` for a constant bound) to swap a part;
    ``parts`` are further :class:`Policy` fields (``local_duration``,
    ``local_lr``, ``loss_estimate``, ``loss_decay``).

    Parameters
    ----------
    k0 : int
        ``K^0``, the initial K.
    t0 : float
        The AdaSync rule's time constant.
    kappa : float, default 1.0
        The factor of the staleness bound rule.
    local_steps : int, default 1
        U, local SGD steps per job.
    k_rule : ~absjax.rules.Rule, optional
        Replaces the AdaSync K rule.
    tau_rule : ~absjax.rules.Rule, optional
        Replaces the staleness bound rule.
    tau : int, optional
        The initial (or, with ``rules.Fixed()``, constant) bound.
    **parts
        Further :class:`Policy` fields.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range.

    Examples
    --------
    >>> p = abs_(k0=2, t0=5.0)
    >>> p.base, p.k, type(p.k_rule).__name__, type(p.tau_rule).__name__
    ('k_async', 2, 'AdaSync', 'StalenessBound')
    """
    return Policy(
        "abs",
        k0,
        tau,
        base="k_async",
        k_rule=rules_lib.AdaSync(t0) if k_rule is None else k_rule,
        tau_rule=rules_lib.StalenessBound(kappa) if tau_rule is None else tau_rule,
        local_steps=local_steps,
        **parts,
    )


def adasync(
    k0: int,
    t0: float,
    base: str = "k_sync",
    k_rule: rules_lib.Rule | None = None,
    **parts: Any,
) -> Policy:
    """AdaSync (Dutta et al., arXiv 2003.10579): K-sync or K-async whose K
    follows ``rules.AdaSync(t0)`` from ``K^0 = k0`` (or ``k_rule``, e.g.
    ``rules.ExpDelayRoot(t0)``, the journal's rule for K-sync with exponential
    delays).

    Parameters
    ----------
    k0 : int
        ``K^0``, the initial K.
    t0 : float
        The AdaSync rule's time constant.
    base : {"k_sync", "k_async"}
        The round mechanics.
    k_rule : ~absjax.rules.Rule, optional
        Replaces ``rules.AdaSync(t0)``.
    **parts
        Further :class:`Policy` fields.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    if base not in ("k_sync", "k_async"):
        raise ValueError(f"base={base!r} must be 'k_sync' or 'k_async'")
    k_rule = rules_lib.AdaSync(t0) if k_rule is None else k_rule
    return Policy("adasync", k0, base=base, k_rule=k_rule, **parts)


def sa_adasync(
    k0: int, t0: float, weight: staleness_lib.Weight | None = None, **parts: Any
) -> Policy:
    """SA-AdaSync: AdaSync over K-async with a staleness-aware step.

    By default Zhang et al.'s ``eta / max(1, s)`` (IJCAI 2016, arXiv
    1511.05950, ``staleness.Inverse()``); ``weight`` replaces it, e.g.
    ``staleness.distance(c=0.01)``, Dutta et al.'s ``eta_j = min(C / ||w_j -
    w_tau(j)||^2, eta_max)`` (AISTATS 2018, arXiv 1803.01113, eq. 13; for
    plain SGD, see :class:`~absjax.staleness.Distance`).

    Parameters
    ----------
    k0 : int
        ``K^0``, the initial K.
    t0 : float
        The AdaSync rule's time constant.
    weight : ~absjax.staleness.Weight, optional
        Replaces the staleness weight ``1 / max(1, s)``.
    **parts
        Further :class:`Policy` fields.

    Returns
    -------
    ~absjax.policies.Policy

    Examples
    --------
    >>> p = sa_adasync(2, 1.0, weight=staleness_lib.distance(c=0.01))
    >>> p.base, type(p.weight).__name__
    ('k_async', 'Distance')
    """
    return Policy(
        "sa_adasync",
        k0,
        base="k_async",
        k_rule=rules_lib.AdaSync(t0),
        weight=staleness_lib.Inverse() if weight is None else weight,
        **parts,
    )


def local_sgd(
    local_steps: int,
    k: int | None = None,
    local_duration: str = "sum",
    local_lr: float | None = None,
) -> Policy:
    """Local SGD (Wang & Joshi, arXiv 1810.08313): every round all N workers
    (or the K fastest, ``k``) run U local steps from the current model.

    Parameters
    ----------
    local_steps : int
        U, local SGD steps per job.
    k : int, optional
        K: wait for the K fastest (``None``: all N).
    local_duration : {"sum", "scaled"}
        A job's duration: the sum of U step draws, or one draw times U.
    local_lr : float, optional
        The local steps' learning rate (``None``: the server's ``lr``).

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy(
        "local_sgd",
        k,
        base="sync" if k is None else "k_sync",
        local_steps=local_steps,
        local_duration=local_duration,
        local_lr=local_lr,
    )


def ssp(s: int) -> Policy:
    """Stale synchronous parallel (Ho et al., NIPS 2013): asynchronous SGD in
    which a worker more than ``s`` pushes ahead of the slowest idles.

    Parameters
    ----------
    s : int
        How many pushes a worker may run ahead of the slowest.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy("ssp", base="async", ssp=s)


def rennala(b: int) -> Policy:
    """Rennala SGD (Tyurin & Richtarik, arXiv 2305.12387): a step from B fresh
    gradients; a gradient computed on an older model is discarded on arrival.

    Parameters
    ----------
    b : int
        B, fresh gradients per step.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    return Policy("rennala", b, base="k_batch_async", discard=1)


def ringmaster(r: int, variant: str = "discard") -> Policy:
    """Ringmaster ASGD (Maranjyan, Tyurin, Richtarik, arXiv 2501.16168).

    Asynchronous SGD that never applies an update with staleness ``>= r``:
    ``variant="discard"`` discards it on arrival, ``"stop"`` cancels the job
    as soon as its staleness reaches ``r`` (async with ``tau = r - 1``).

    Parameters
    ----------
    r : int
        Staleness threshold ``R >= 1``.
    variant : {"discard", "stop"}
        Discard stale updates on arrival, or stop their jobs.

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).
    """
    check_int("r", r, 1)
    if variant == "discard":
        return Policy("ringmaster", 1, base="k_batch_async", discard=r)
    if variant == "stop":
        return Policy("ringmaster", None, r - 1, base="async")
    raise ValueError(f"variant={variant!r} must be 'discard' or 'stop'")


def custom(base: str, k: int | None = None, tau: int | None = None, **parts):
    """Your own policy: round mechanics ``base`` plus rules and parts.

    Parameters
    ----------
    base : str
        One of the six round mechanics (``BASES``).
    k : int, optional
        K (default: the base's).
    tau : int, optional
        Staleness bound (``None``: unbounded).
    **parts
        Further :class:`Policy` fields (``k_rule``, ``tau_rule``,
        ``local_steps``, ``ssp``, ``discard``, ``weight``, ...).

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        For an unknown base or a number out of range.

    Examples
    --------
    >>> from absjax import rules
    >>> p = custom("k_async", k=2, tau_rule=rules.Schedule((10.0,), (4, 1)))
    >>> p.name, p.base, p.adaptive
    ('custom', 'k_async', True)
    """
    return Policy("custom", k, tau, base=base, **parts)


def make(name: str, k: int | None = None, tau: int | None = None) -> Policy:
    """Builds one of the six base policies from its name.

    Parameters
    ----------
    name : str
        One of the six base policies (``BASES``).
    k : int, optional
        K, updates aggregated per round, in ``[1, N]``.
    tau : int, optional
        Staleness bound (``None``: unbounded).

    Returns
    -------
    ~absjax.policies.Policy

    Raises
    ------
    ValueError
        If a number is outside its range (checked here, before anything
        compiles).

    Examples
    --------
    >>> make("k_sync", k=2).name
    'k_sync'
    """
    return Policy(name, k, tau)
