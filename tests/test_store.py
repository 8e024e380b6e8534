"""Results as xarray Datasets and NetCDF files: layout, round trips, atomicity.

Two programs, each compiled once for the module: K-async (tau unbounded, so
``tau`` is ``inf``) on quadratics over a 2-axis grid of ``k`` (also a metric's
name) and ``lr``, and ungridded on a small MLP with a test metric.
"""

import json

import numpy as np
import pytest
import xarray as xr

import absjax
from absjax import policies, store

ROUNDS, LOG_EVERY, SEEDS = 6, 3, 3
MLP = "mlp:hidden=4,dim=4,samples=64,test_samples=32,eval_samples=32,batch=8"


def _sim(objective):
    return absjax.Simulator(
        4,
        policies.k_async(2),
        "exp:rate=1",
        objective,
        rounds=ROUNDS,
        log_every=LOG_EVERY,
    )


@pytest.fixture(scope="module")
def gridded():
    grid = {"k": [1, 2], "lr": [0.05, 0.1, 0.2]}
    return _sim("quadratic:dim=3").run(seeds=SEEDS, seed=3, grid=grid, chunk=4)


@pytest.fixture(scope="module")
def mlp_sim():
    return _sim(MLP)


@pytest.fixture(scope="module")
def ungridded(mlp_sim):
    return mlp_sim.run(seeds=SEEDS, seed=3, chunk=4)


def _assert_same(a: absjax.Result, b: absjax.Result):
    assert list(a.metrics) == list(b.metrics)
    for name, values in a.metrics.items():
        assert b.metrics[name].dtype == values.dtype, name
        np.testing.assert_array_equal(b.metrics[name], values, err_msg=name)
    assert b.diverged_round.dtype == a.diverged_round.dtype
    np.testing.assert_array_equal(b.diverged_round, a.diverged_round)
    assert b.seeds.dtype == a.seeds.dtype
    np.testing.assert_array_equal(b.seeds, a.seeds)
    assert list(b.grid) == list(a.grid)
    for name, values in a.grid.items():
        assert b.grid[name].dtype == np.asarray(values).dtype, name
        np.testing.assert_array_equal(b.grid[name], values)
    for name in ("num_workers", "policy", "seed", "metric_name", "config"):
        assert getattr(b, name) == getattr(a, name), name
    assert b.history is None


@pytest.mark.parametrize("run", ["gridded", "ungridded"])
def test_save_and_load_round_trip(run, request, tmp_path):
    result = request.getfixturevalue(run)
    path = result.save(tmp_path / "run.nc")
    assert path == tmp_path / "run.nc" and path.is_file()
    _assert_same(result, absjax.load(path))
    _assert_same(result, absjax.Result.load(str(path)))
    _assert_same(result, absjax.Result.from_xarray(result.to_xarray()))


def test_dataset_dimensions_coordinates_and_attributes(gridded):
    ds = gridded.to_xarray()
    assert ds.loss.dims == ("k", "lr", "seed", "log")
    assert dict(ds.sizes) == {"k": 2, "lr": 3, "seed": SEEDS, "log": 2}
    assert ds.diverged_round.dims == ("k", "lr", "seed")
    np.testing.assert_array_equal(ds["lr"], [0.05, 0.1, 0.2])
    np.testing.assert_array_equal(ds["seed"], [0, 1, 2])
    np.testing.assert_array_equal(ds["log"], [0, 1])
    assert ds["round"].dims == ("log",)
    np.testing.assert_array_equal(ds["round"], [LOG_EVERY, 2 * LOG_EVERY])
    assert ds["round"].dtype == np.int64
    # the metric k is stored beside the grid axis k, and says which it is
    assert ds["k_metric"].attrs["metric"] == "k" and "k_metric" in ds.data_vars
    assert ds.wall_clock.attrs["metric"] == "wall_clock"
    assert ds.tau.dtype == np.float64 and np.isinf(ds.tau).all()
    assert ds.jobs_wasted.dtype == np.int64
    attrs = ds.attrs
    assert attrs["policy"] == "k_async" and attrs["num_workers"] == 4
    assert attrs["seed"] == 3 and attrs["metric_name"] == ""
    assert attrs["absjax_version"] == absjax.__version__
    assert attrs["absjax_format"] == store.FORMAT
    assert json.loads(attrs["metrics"]) == list(gridded.metrics)
    config = json.loads(attrs["config"])
    assert config == gridded.config
    assert config["policy"]["name"] == "k_async" and config["rounds"] == ROUNDS
    assert config["delay"]["compute"] == "exp:rate=1.0"
    assert config["seed"] == 3 and config["seed_offset"] == 0
    assert config["chunk"] == 4 and config["num_workers"] == 4
    assert config["jax_version"] and config["absjax_version"]
    for value in attrs.values():  # NetCDF attributes: scalars and strings
        assert isinstance(value, str | int)


def test_sel_gives_the_grid_slice(gridded, tmp_path):
    for ds in (gridded.to_xarray(), xr.open_dataset(gridded.save(tmp_path / "g.nc"))):
        np.testing.assert_array_equal(ds.loss.sel(lr=0.1), gridded.loss[:, 1])
        point = ds.sel(k=2.0, lr=0.2)
        np.testing.assert_array_equal(point.wall_clock, gridded.wall_clock[1, 2])
        np.testing.assert_array_equal(point.k_metric, gridded.k[1, 2])
        ds.close()


def test_test_metric_is_a_variable(ungridded):
    ds = ungridded.to_xarray()
    assert ungridded.metric_name == "test_accuracy"
    assert ds.attrs["metric_name"] == "test_accuracy"
    assert ds.test_accuracy.dims == ds.loss.dims == ("seed", "log")
    assert ds.diverged_round.dims == ("seed",)
    assert ds.tau.dtype == np.float64 and np.isinf(ds.tau).all()


def test_xarray_concat_of_seed_blocks_is_one_run(ungridded, mlp_sim):
    blocks = ((0, 2), (2, 1))
    parts = [mlp_sim.run(seeds=n, seed=3, seed_offset=o, chunk=4) for o, n in blocks]
    joined = xr.concat([p.to_xarray() for p in parts], dim="seed")
    _assert_same(ungridded, absjax.Result.from_xarray(joined))
    _assert_same(ungridded, absjax.Result.concat(parts))


def test_rows_at_different_rounds_keep_a_full_round_coordinate(ungridded, tmp_path):
    rounds = ungridded.metrics["round"].copy()
    rounds[1] += 1  # never made by the engine: seeds logging other rounds
    odd = absjax.Result(
        **{**vars(ungridded), "metrics": {**ungridded.metrics, "round": rounds}}
    )
    ds = odd.to_xarray()
    assert ds["round"].dims == ("seed", "log")
    _assert_same(odd, absjax.load(odd.save(tmp_path / "odd.nc")))


def test_transposed_dataset_reads_the_same(gridded):
    ds = gridded.to_xarray().transpose("log", "seed", "lr", "k")
    _assert_same(gridded, absjax.Result.from_xarray(ds))


def test_a_failing_write_leaves_no_file(gridded, tmp_path, monkeypatch):
    def broken(self, path, **kwargs):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        gridded.save(tmp_path / "run.nc")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_keeps_the_old_file(ungridded, gridded, tmp_path, monkeypatch):
    path = ungridded.save(tmp_path / "run.nc")
    monkeypatch.setattr(xr.Dataset, "to_netcdf", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        gridded.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]
    _assert_same(ungridded, absjax.load(path))


@pytest.mark.parametrize("name", ["run.csv", "run", "run.zarr", "run.nc4"])
def test_other_suffixes_are_refused(ungridded, tmp_path, name):
    with pytest.raises(ValueError, match=r"path='.*run.*' must end in '.nc'"):
        ungridded.save(tmp_path / name)
    with pytest.raises(ValueError, match=r"must end in '.nc'"):
        absjax.load(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_foreign_files_and_datasets_are_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        absjax.load(tmp_path / "missing.nc")
    path = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", np.arange(3))}).to_netcdf(path, engine=store.ENGINE)
    with pytest.raises(ValueError, match="not an absjax Result dataset"):
        absjax.load(path)


def test_newer_formats_and_bad_configs_are_refused(ungridded):
    ds = ungridded.to_xarray()
    ds.attrs["absjax_format"] = store.FORMAT + 1
    with pytest.raises(ValueError, match="newer than this absjax reads"):
        absjax.Result.from_xarray(ds)
    odd = absjax.Result(**{**vars(ungridded), "config": {"f": print}})
    with pytest.raises(ValueError, match="config must be JSON-able"):
        odd.to_xarray()


@pytest.mark.parametrize("keep", [0.5, 0.1, 0.0])
def test_a_truncated_file_is_refused_with_its_name(ungridded, tmp_path, keep):
    path = ungridded.save(tmp_path / "cut.nc")
    data = path.read_bytes()
    path.write_bytes(data[: int(keep * len(data))])
    with pytest.raises(ValueError, match=r"path='.*cut.nc' cannot be read as a Net"):
        absjax.load(path)
