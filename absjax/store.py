"""Results as named N-d arrays (xarray) and as files (NetCDF).

A :class:`~absjax.Result` holds arrays shaped ``(*grid_shape, seeds, logs)``;
:func:`to_dataset` names them, as an :class:`xarray.Dataset`:

- **dimensions**: each grid axis under its name as given (``lr``,
  ``delay.compute.rate``), then ``seed`` and ``log``;
- **coordinates**: the grid values, the global seed indices (``seed``), the
  row number (``log``, ``0 .. logs - 1``) and ``round``, the round each row
  logs (``M, 2M, ..., R``): on ``log`` alone when every seed logs the same
  rounds (always, today), on every dimension otherwise;
- **variables**: every metric (``wall_clock``, ``loss``, ``k``, ``tau``, ...,
  the test metric), ``(*grid, seed, log)``, in its dtype (counts int64, times
  and losses float64, ``tau`` float64 with ``inf`` for unbounded), and
  ``diverged_round`` ``(*grid, seed)`` (int, ``-1`` while finite). A metric
  named like a grid axis (``k`` or ``tau`` when they are swept) is stored as
  ``k_metric``; each metric variable names its metric in its attribute
  ``metric``;
- **attributes**: ``config`` (the run's description,
  :attr:`Result.config <absjax.Result.config>`, as one JSON string) and the
  scalars ``policy``, ``num_workers``, ``seed``, ``metric_name`` (``""``
  without a test metric), ``absjax_version``, ``metrics`` and ``grid`` (the
  metric names and the grid axes in their order, JSON lists) and
  ``absjax_format`` (this layout's version, 1).

:func:`from_dataset` inverts it, also for a Dataset that xarray made of one:
``xarray.concat([...], dim="seed")`` of blocks of seeds, ``ds.transpose(...)``,
``ds.isel(seed=...)`` (an axis selected away, as by ``ds.sel(lr=0.1)``, is no
longer one of the Result's). :func:`save` writes one NetCDF-4 file (``.nc``,
zlib level 4, ``h5netcdf`` engine) through
:func:`absjax._atomic.atomic_write` (all or nothing), and :func:`load` reads
it. The per-round ``history`` is never stored.

**Why NetCDF, and only NetCDF.** A Result is written once, whole, by one
process: one self-describing, compressed file that every xarray, netCDF4,
ncdump or Panoply install reads, renamed into place atomically like every
other absjax output. Zarr's chunked directories suit arrays written piecewise
by many writers or kept in object storage, and a directory cannot replace an
old one in a single rename; ``result.to_xarray().to_zarr(path)`` writes one
when needed.

>>> import pathlib, tempfile
>>> import absjax
>>> sim = absjax.Simulator(4, absjax.policies.k_async(2), "exp:rate=1",
...                        "quadratic:dim=2", rounds=4, log_every=2)
>>> result = sim.run(seeds=3, grid={"lr": [0.05, 0.1]}, chunk=4)
>>> path = result.save(pathlib.Path(tempfile.mkdtemp()) / "run.nc")
>>> again = absjax.load(path)
>>> again.loss.shape, bool((again.loss == result.loss).all())
((2, 3, 2), True)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from absjax._atomic import atomic_write

FORMAT = 1  # version of the layout above, the attribute ``absjax_format``
ENGINE = "h5netcdf"  # NetCDF-4 (HDF5) files, readable by every netCDF library
COMPRESSION = {"zlib": True, "complevel": 4}  # lossless; level 4: fast, small
AXES = ("seed", "log")  # the two trailing dimensions of every metric


def variable(metric: str, grid) -> str:
    """The Dataset variable of ``metric``: its name, unless a grid axis (or
    a fixed dimension) has it, then ``<metric>_metric``."""
    taken = set(grid) | set(AXES) | {"diverged_round"}
    return f"{metric}_metric" if metric in taken else metric


def to_dataset(result) -> xr.Dataset:
    """The Result as an :class:`xarray.Dataset` (the layout above)."""
    grid = list(result.grid)
    dims = (*grid, *AXES)
    metrics = {name: np.asarray(values) for name, values in result.metrics.items()}
    logs = next(iter(metrics.values())).shape[-1]
    coords: dict[str, Any] = {
        name: (name, np.asarray(values)) for name, values in result.grid.items()
    }
    coords["seed"] = ("seed", np.asarray(result.seeds))
    coords["log"] = ("log", np.arange(logs))
    data_vars = {}
    for name, values in metrics.items():
        if name == "round":
            rows = values.reshape(-1, logs)
            if (rows == rows[:1]).all():
                coords["round"] = ("log", rows[0], {"metric": name})
            else:
                coords["round"] = (dims, values, {"metric": name})
            continue
        data_vars[variable(name, grid)] = (dims, values, {"metric": name})
    data_vars["diverged_round"] = (dims[:-1], np.asarray(result.diverged_round))
    try:
        config = json.dumps(result.config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"config must be JSON-able: {e}") from None
    attrs = {
        "config": config,
        "policy": result.policy,
        "num_workers": int(result.num_workers),
        "seed": int(result.seed),
        "metric_name": result.metric_name or "",
        "absjax_version": str(result.config.get("absjax_version", "")),
        "metrics": json.dumps(list(metrics)),
        "grid": json.dumps(grid),
        "absjax_format": FORMAT,
    }
    return xr.Dataset(data_vars, coords, attrs)


def from_dataset(ds: xr.Dataset) -> dict[str, Any]:
    """The fields of a :class:`~absjax.Result` (without ``history``) from a
    Dataset of the layout above; dimensions may come in any order."""
    needed = ("metrics", "config", "policy", "num_workers", "seed")
    missing = [f"attribute {a!r}" for a in needed if a not in ds.attrs]
    if "diverged_round" not in ds.variables:
        missing.append("variable 'diverged_round'")
    if missing:
        raise ValueError(
            "ds is not an absjax Result dataset (made by Result.to_xarray): it "
            f"lacks the {', '.join(missing)}"
        )
    if int(ds.attrs.get("absjax_format", FORMAT)) > FORMAT:
        raise ValueError(
            f"ds has absjax_format={ds.attrs['absjax_format']}, newer than this "
            f"absjax reads ({FORMAT}): upgrade absjax"
        )
    axes = [d for d in ds["diverged_round"].dims if d != "seed"]
    order = [name for name in json.loads(ds.attrs.get("grid", "[]")) if name in axes]
    grid = order + [d for d in axes if d not in order]  # the Result's axis order
    dims = (*grid, *AXES)
    metrics = {}
    for name in json.loads(ds.attrs["metrics"]):
        metrics[name] = _full(ds[variable(name, grid)], dims, ds.sizes)
    return {
        "metrics": metrics,
        "diverged_round": _full(ds["diverged_round"], dims[:-1], ds.sizes),
        "seeds": np.array(ds["seed"].values),
        "grid": {name: np.array(ds[name].values) for name in grid},
        "num_workers": int(ds.attrs["num_workers"]),
        "policy": str(ds.attrs["policy"]),
        "seed": int(ds.attrs["seed"]),
        "metric_name": str(ds.attrs.get("metric_name", "")) or None,
        "config": json.loads(ds.attrs["config"]),
    }


def _full(var: xr.DataArray, dims, sizes) -> np.ndarray:
    """``var``'s values as a fresh array over ``dims`` (broadcast where
    ``var`` lacks one, e.g. ``round`` on ``log`` alone)."""
    var = var.transpose(*[d for d in dims if d in var.dims])
    index = tuple(slice(None) if d in var.dims else None for d in dims)
    return np.array(np.broadcast_to(var.values[index], [sizes[d] for d in dims]))


def check_path(path) -> Path:
    """``path`` as a Path; ``ValueError`` unless it names a ``.nc`` file."""
    path = Path(path)
    if path.suffix == ".nc":
        return path
    hint = (
        ": Zarr is not a save format; write result.to_xarray().to_zarr(path)"
        if path.suffix == ".zarr"
        else ""
    )
    raise ValueError(f"path={str(path)!r} must end in '.nc' (a NetCDF file){hint}")


def save(result, path) -> Path:
    """Writes ``result`` to the NetCDF file ``path`` (all or nothing)."""
    path = check_path(path)
    ds = to_dataset(result)
    encoding = {
        name: {**(COMPRESSION if ds[name].ndim else {}), "_FillValue": None}
        for name in ds.variables
    }
    atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine=ENGINE, encoding=encoding))
    return path


def load(path) -> dict[str, Any]:
    """The fields of the Result saved in ``path`` (see :func:`from_dataset`)."""
    path = check_path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} is not a file")
    try:
        with xr.open_dataset(
            path, engine=ENGINE, mask_and_scale=False, decode_times=False
        ) as ds:
            ds = ds.load()
    except OSError as e:  # h5py's, naming no file: truncated or not NetCDF-4
        raise ValueError(
            f"path={str(path)!r} cannot be read as a NetCDF-4 file (truncated, "
            f"or another format?): {e}"
        ) from None
    return from_dataset(ds)
