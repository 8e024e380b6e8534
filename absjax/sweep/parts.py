"""Part files and the result, in Parquet or CSV: written, checked, merged.

A part holds one unit's rows (``point``, the gridded keys, then the columns of
``Result.to_dataframe``); the result holds every part's rows in unit order.
Parquet keeps each column's dtype (a Parquet part is one row group; the result
has one row group per part, so writing it holds one part in memory); CSV keeps
the text of today's sweeps, cell for cell. Every file is written atomically.

>>> import pathlib, tempfile
>>> import pandas as pd
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> frame = pd.DataFrame({"point": [0, 0], "seed": [4, 5], "loss": [0.5, 0.25]})
>>> parts = [folder / "a.parquet", folder / "b.parquet"]
>>> for part in parts:
...     write_part(part, frame)
>>> write_results(folder / "results.parquet", parts)
>>> pd.read_parquet(folder / "results.parquet")["seed"].tolist()
[4, 5, 4, 5]
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from absjax.config import UsageError
from absjax.io import atomic_write
from absjax.sweep.grid import Unit

# What pyarrow raises on a file that is not (or no longer) Parquet.
_UNREADABLE = (OSError, ValueError, pa.ArrowException)


class _Cells(NamedTuple):
    """What the check of a part reads of it."""

    header: list[str]  # its column names
    rows: int  # its row count
    ragged: bool  # a CSV row with more or fewer cells than the header
    points: set[str]  # distinct values of ``point``, as text
    seeds: set[str]  # distinct values of ``seed``, as text


def write_part(path: Path, frame: pd.DataFrame) -> None:
    """Writes a unit's rows atomically, in the format of ``path``'s suffix."""
    if path.suffix == ".csv":
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
        return
    table = _table(frame)
    rows = max(1, table.num_rows)  # one row group
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, row_group_size=rows))


def check_part(path: Path, unit: Unit, columns: list[str]) -> None:
    """Checks a finished unit's part file: its first ``columns``, its rows, its
    point and seed indices. A Parquet part is checked from its footer and its
    ``point`` and ``seed`` columns, without reading the others.

    Raises
    ------
    UsageError
        The file is corrupt.
    """

    def corrupt(why: str) -> UsageError:
        return UsageError(
            f"part file {str(path)!r} is corrupt ({why}); delete it to rerun its "
            "unit, or pick another --out"
        )

    read = _csv_cells if path.suffix == ".csv" else _parquet_cells
    cells = read(path, corrupt)
    if cells.header[: len(columns)] != columns or "seed" not in cells.header:
        raise corrupt(f"its columns do not start with {columns} or lack 'seed'")
    if cells.rows != unit.rows or cells.ragged:
        raise corrupt(f"{cells.rows} rows instead of {unit.rows}, or ragged rows")
    expected = {str(i) for i in range(unit.first, unit.first + unit.seeds)}
    if cells.points != {str(unit.point)} or cells.seeds != expected:
        raise corrupt("its point or seed indices are not the unit's")


def write_results(path: Path, parts: list[Path]) -> None:
    """Writes the parts' rows in order into ``path`` (atomically), streaming.

    The columns are the union of the parts' (an objective with a test metric
    adds one); a part without a column leaves it empty (CSV) or null (Parquet).
    CSV cells are copied as written, so the numbers are exactly the parts'.
    """
    if path.suffix == ".csv":
        _write_csv_results(path, parts)
    else:
        _write_parquet_results(path, parts)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _table(frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table: plain ``string`` columns, no pandas metadata
    (the dtypes read back are the Arrow types', the same for every part)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = pa.schema(
        pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
        for f in table.schema
    )
    return table.cast(schema)


# ----------------------------------------------------------------------- CSV
def _csv_cells(path: Path, corrupt) -> _Cells:
    try:
        with path.open(newline="") as f:
            header, *rows = list(csv.reader(f)) or [[]]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise corrupt(f"unreadable: {_first_line(e)}") from None
    ragged = any(len(row) != len(header) for row in rows)
    if ragged or "point" not in header or "seed" not in header:
        return _Cells(header, len(rows), ragged, set(), set())
    point, seed = header.index("point"), header.index("seed")
    points, seeds = {r[point] for r in rows}, {r[seed] for r in rows}
    return _Cells(header, len(rows), False, points, seeds)


def _write_csv_results(path: Path, parts: list[Path]) -> None:
    columns: dict[str, None] = {}
    for part in parts:
        with part.open(newline="") as f:
            columns.update(dict.fromkeys(next(csv.reader(f))))

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, list(columns), lineterminator="\n")
            writer.writeheader()
            for part in parts:
                with part.open(newline="") as rows:
                    writer.writerows(csv.DictReader(rows))

    atomic_write(path, write)


# ------------------------------------------------------------------- Parquet
def _parquet_cells(path: Path, corrupt) -> _Cells:
    """The footer's columns and row count, then only the point and seed
    columns (their distinct values as text, like a CSV's cells)."""
    try:
        file = pq.ParquetFile(path)
        header, rows = file.schema_arrow.names, file.metadata.num_rows
        if "point" not in header or "seed" not in header:
            return _Cells(header, rows, False, set(), set())
        ids = file.read(columns=["point", "seed"])
    except _UNREADABLE as e:
        raise corrupt(f"unreadable: {_first_line(e)}") from None
    points, seeds = (
        {str(v) for v in ids.column(name).unique().to_pylist()}
        for name in ("point", "seed")
    )
    return _Cells(header, rows, False, points, seeds)


def _write_parquet_results(path: Path, parts: list[Path]) -> None:
    # The union of the parts' columns, in order of first appearance; a column
    # that some part lacks gets nulls there.
    schema = pa.unify_schemas([pq.read_schema(part) for part in parts])

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in parts:  # one part in memory at a time
                table = pq.read_table(part)
                columns = [
                    table.column(f.name).cast(f.type)
                    if f.name in table.column_names
                    else pa.nulls(table.num_rows, f.type)
                    for f in schema
                ]
                table = pa.Table.from_arrays(columns, schema=schema)
                writer.write_table(table, row_group_size=max(1, table.num_rows))

    atomic_write(path, write)
