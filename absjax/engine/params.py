"""A simulator's numbers: canonical dtypes, range checks, grids.

Everything here runs eagerly in Python/NumPy before anything is traced, so
that a bad number is a ``ValueError`` naming it and its range, never an error
mid-compile (style guide, "validate eagerly").
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_positive
from absjax._vocabulary import UNBOUNDED
from absjax.engine.state import SimParams


def canonical(sim, params: SimParams) -> SimParams:
    """``params`` with the default structure, scalar leaves and dtypes.

    Every leaf becomes a strongly typed array of the default's dtype, so a
    Python float, ``np.float64`` or ``jnp.float32`` never causes a new
    compilation.
    """
    default = sim.params
    if not isinstance(params, SimParams):
        raise ValueError(
            f"params must be a SimParams (see Simulator.params), "
            f"got {type(params).__name__}"
        )
    if jax.tree.structure(params) != jax.tree.structure(default):
        raise ValueError(
            "params must have the structure of Simulator.params "
            "(same delay, weight and data entries)"
        )

    def cast(name, d, x):
        x = np.asarray(x) if not isinstance(x, jax.Array) else x
        if jnp.shape(x) != jnp.shape(d):
            raise ValueError(
                f"params.{name} has shape {jnp.shape(x)}; expected "
                f"{jnp.shape(d)} (use grid= to sweep values)"
            )
        return jnp.asarray(x, jnp.dtype(d.dtype))

    return jax.tree.map_with_path(
        lambda path, d, x: cast(jax.tree_util.keystr(path), d, x), default, params
    )


def check_params(sim, params: SimParams) -> None:
    """Raises ``ValueError`` for numbers outside their ranges (eagerly)."""
    policy = sim.policy
    policy.check_numbers(params.k, params.tau, sim.num_workers, sim.capacity)
    check_positive("lr", params.lr)
    numbers = params.policy
    for which, low, high in (("k_rule", 1, sim.capacity), ("tau_rule", 0, UNBOUNDED)):
        rule = getattr(policy, which)
        if rule is not None:
            rule.check(numbers[which], low, high)
    if "local_lr" in numbers:
        check_positive("local_lr", numbers["local_lr"])
    if "loss_decay" in numbers:
        beta = np.asarray(numbers["loss_decay"])
        if not np.all((beta > 0) & (beta <= 1)):
            raise ValueError(f"loss_decay={beta.tolist()} must be in (0, 1]")
    for name, low in (("ssp", 0), ("discard", 1)):
        if name in numbers and np.any(np.asarray(numbers[name]) < low):
            value = np.asarray(numbers[name]).tolist()
            raise ValueError(f"{name}={value} must be integers >= {low}")


def check_law_numbers(sim, params: SimParams) -> None:
    """Range checks of the delay model's and the weight's numbers."""
    sim.delay.check(params.delay)
    sim.weight.check(params.weight)


def check(sim, params: SimParams) -> None:
    """Every range check of one set of numbers."""
    check_params(sim, params)
    check_law_numbers(sim, params)


def grid_column(name: str, values) -> np.ndarray:
    """One grid axis as an array; ``tau`` may hold ``None``/``inf`` (unbounded)."""
    if name == "tau":
        values = [
            UNBOUNDED if v is None or v == np.inf else v
            for v in np.atleast_1d(np.asarray(values, dtype=object))
        ]
    try:
        return np.asarray(values, dtype=float if name != "tau" else None)
    except (TypeError, ValueError):
        raise ValueError(f"grid[{name!r}] must hold numbers, got {values!r}") from None


def grid_params(sim, params: SimParams, grid: dict[str, Any]):
    """Cartesian product of the grid values as params with a leading axis.

    Returns ``(gridded, axes, values)``: the params with each gridded leaf a
    column over the grid points, the same tree with ``0`` at the gridded leaves
    and ``None`` elsewhere, and each grid axis's values. Every grid point is
    checked before anything compiles.
    """
    names = list(grid)
    values = {name: grid_column(name, grid[name]) for name in names}
    for name, v in values.items():
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty 1-D sequence")
    mesh = np.meshgrid(*values.values(), indexing="ij")
    flat = {name: m.reshape(-1) for name, m in zip(names, mesh, strict=True)}
    gridded, axes = _columns(params, flat, "grid name")
    for g in range(len(next(iter(flat.values())))):
        check(sim, point(gridded, axes, g))
    return gridded, axes, values


def points_params(sim, params: SimParams, points: list[dict[str, Any]]):
    """A list of parameter points as params with one leading ``point`` axis.

    Each point is ``{name: value}`` (names as in a grid); a name that a point
    leaves out keeps ``params``' value. Returns ``(batched, axes, values)``
    like :func:`grid_params`, with ``values = {"point": [0, 1, ...]}``. Every
    point is checked before anything compiles; an error names the point.
    """
    if isinstance(points, dict) or not isinstance(points, list | tuple) or not points:
        raise ValueError("points must be a non-empty list of {name: value} dicts")
    tree = params._asdict()
    names: list[str] = []
    for i, given in enumerate(points):
        if not isinstance(given, dict):
            raise ValueError(f"points[{i}]={given!r} must be a {{name: value}} dict")
        for name in given:
            try:
                _leaf(tree, name, "name")
            except ValueError as e:
                raise ValueError(f"points[{i}]: {e}") from None
            if name not in names:
                names.append(name)
    flat = {}
    for name in names:
        default = np.asarray(_leaf(tree, name, "name")[0][name.split(".")[-1]])
        integer = np.issubdtype(default.dtype, np.integer)
        column = [p.get(name, default) for p in points]
        for i, value in enumerate(column):
            try:
                column[i] = grid_column(name, [value])[0]
            except ValueError:
                raise ValueError(
                    f"points[{i}][{name!r}]={value!r} must be a number"
                ) from None
            if integer and column[i] != np.round(column[i]):
                raise ValueError(f"points[{i}][{name!r}]={value!r} must be an integer")
        flat[name] = np.asarray(column)
    if not flat:  # points that change nothing still get their axis
        flat = {"lr": np.full(len(points), np.asarray(params.lr))}
    batched, axes = _columns(params, flat, "points name")
    for g in range(len(points)):
        try:
            check(sim, point(batched, axes, g))
        except ValueError as e:
            raise ValueError(f"points[{g}]: {e}") from None
    return batched, axes, {"point": np.arange(len(points))}


def _leaf(tree: dict, name: str, what: str):
    """The dict holding the number ``name`` (a dotted path) and its axes path;
    ``ValueError`` unless ``name`` names one number."""
    path = name.split(".")
    if path[0] == "data":
        raise ValueError("the objective's data set cannot be gridded")
    node = tree
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"{what} {name!r} is not a parameter")
        node = node[part]
    leaf = path[-1]
    if not isinstance(node, dict) or leaf not in node:
        raise ValueError(
            f"{what} {name!r} is not a parameter; known: "
            "k, tau, lr, policy.*, delay.*, weight.*"
        )
    old = node[leaf]
    if isinstance(old, dict):
        raise ValueError(f"{what} {name!r} names a group, not a number")
    if np.ndim(old):
        raise ValueError(
            f"{what} {name!r} names an array (trace data), not a "
            "number: it cannot be gridded"
        )
    return node, path


def _columns(params: SimParams, flat: dict[str, np.ndarray], what: str):
    """``params`` with the leaves named in ``flat`` replaced by its columns,
    and the axes tree (``0`` at those leaves, ``None`` elsewhere)."""
    tree = params._asdict()
    axes = jax.tree.map(lambda _: None, tree)
    for name, column in flat.items():
        node, path = _leaf(tree, name, what)
        axes_node = axes
        for part in path[:-1]:
            axes_node = axes_node[part]
        leaf = path[-1]
        dtype = np.asarray(node[leaf]).dtype
        if np.issubdtype(dtype, np.integer) and not np.all(column == np.round(column)):
            raise ValueError(f"grid[{name!r}] must hold integers")
        node[leaf] = jnp.asarray(column.astype(dtype))
        axes_node[leaf] = 0
    return SimParams(**tree), SimParams(**axes)


def point(gridded: SimParams, axes: SimParams, g: int) -> SimParams:
    """Grid point ``g`` of gridded params."""
    return jax.tree.map(
        lambda x, a: x if a is None else x[g],
        gridded,
        axes,
        is_leaf=lambda x: x is None,
    )


def prepare(
    sim,
    params: SimParams | None,
    grid: dict[str, Any] | None,
    points: list[dict[str, Any]] | None = None,
):
    """Validated numbers (gridded: with a leading axis), the grid's layout and
    values (``None`` and ``{}`` without a grid or points)."""
    params = canonical(sim, sim.params if params is None else params)
    if points is not None:
        if grid:
            raise ValueError("give grid= or points=, not both")
        return points_params(sim, params, points)
    if grid:
        return grid_params(sim, params, grid)
    check(sim, params)
    return params, None, {}
