"""Reading measured job durations (traces) from CSV files.

Three layouts (docs: Concepts > Delay laws, docs/concepts.md#concepts-delays),
told apart by the first non-blank
line unless ``format`` names one:

- **wide**: one column per worker under a header of worker names;
- **long**: the header ``worker,duration`` and one job per row;
- **list**: one duration per row, under the header ``duration`` or none: a
  pooled list with no worker information.

:func:`load_trace` returns one float64 array per worker; ``format="pooled"``
reads any layout and pools every duration into one array. Both
:mod:`absjax.fitting` and :class:`absjax.delays.Trace` read traces here, so this
module imports nothing from absjax but the argument checks.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = path.write_text("a,b\\n1.0,2.0\\n3.0,\\n")
>>> load_trace(path)
[array([1., 3.]), array([2.])]
>>> load_trace(path, format="pooled")
[array([1., 3., 2.])]
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from absjax._validate import check_int

FORMATS = ("auto", "wide", "long", "pooled")


def _parse_duration(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{where}: duration {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: duration {cell!r} is not finite")
    if value < 0:
        raise ValueError(f"{where}: duration {cell!r} is negative")
    return value


def _read_rows(path: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file as ``(line number, stripped cells)``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except OSError as e:
        raise ValueError(f"{path}: cannot read the trace file ({e})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: not a readable CSV file ({e})") from None
    return [(line, row) for line, row in rows if any(row)]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _load_wide(path, header, body) -> tuple[list[str], list[list[float]]]:
    line0 = header[0]
    names = list(header[1])
    while names and not names[-1]:  # a trailing comma on the header
        names.pop()
    for j, name in enumerate(names):
        if not name:
            raise ValueError(f"{path}:{line0}: column {j + 1} has no worker name")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"{path}:{line0}: worker name {dup!r} appears twice")
    if all(_is_number(n) for n in names) and names != [
        str(i) for i in range(len(names))
    ]:
        raise ValueError(
            f"{path}:{line0}: unknown layout: the first line looks like data; a "
            "wide trace needs a header of worker names (or ids 0..N-1), a long "
            "trace the header 'worker,duration'"
        )
    columns: list[list[float]] = [[] for _ in names]
    for line, row in body:
        if any(row[len(names) :]):
            raise ValueError(
                f"{path}:{line}: {len(row)} cells, but the header names "
                f"{len(names)} workers"
            )
        for j, cell in enumerate(row[: len(names)]):
            if cell:
                where = f"{path}:{line}: column {j + 1} ({names[j]!r})"
                columns[j].append(_parse_duration(cell, where))
    return names, columns


def _load_long(path, header, body, num_workers):
    order = [c.lower() for c in header[1]]
    iw, idur = order.index("worker"), order.index("duration")
    records = []
    for line, row in body:
        if len(row) != 2:
            raise ValueError(
                f"{path}:{line}: {len(row)} cells; a long trace has 2 (worker,duration)"
            )
        if not row[iw]:
            raise ValueError(f"{path}:{line}: empty worker id")
        where = f"{path}:{line}: column {idur + 1} ('duration')"
        records.append((line, row[iw], _parse_duration(row[idur], where)))
    if all(w.isdigit() for _, w, _ in records):
        ids = [int(w) for _, w, _ in records]
        count = num_workers if num_workers is not None else max(ids, default=-1) + 1
        for (line, w, _), i in zip(records, ids, strict=True):
            if i >= count:
                raise ValueError(
                    f"{path}:{line}: worker id {w} must be in [0, {count - 1}] "
                    f"(num_workers={num_workers})"
                )
        names = [str(i) for i in range(count)]
        index = ids
    else:
        names = list(dict.fromkeys(w for _, w, _ in records))
        index = [names.index(w) for _, w, _ in records]
    columns: list[list[float]] = [[] for _ in names]
    for (_, _, value), i in zip(records, index, strict=True):
        columns[i].append(value)
    return names, columns


def _trimmed(row: list[str]) -> list[str]:
    """The cells of a row without trailing empty ones (``"1.0,"``)."""
    cells = list(row)
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _load_list(path, rows) -> tuple[list[str], list[list[float]]]:
    values = []
    for line, row in rows:
        cells = _trimmed(row)
        if len(cells) != 1:
            raise ValueError(
                f"{path}:{line}: {len(cells)} cells; a pooled list has one "
                "duration per line"
            )
        values.append(_parse_duration(cells[0], f"{path}:{line}"))
    return ["pooled"], [values]


def read_trace(
    path: str | os.PathLike, num_workers: int | None = None, format: str = "auto"
) -> tuple[list[np.ndarray], bool]:
    """``(columns, pooled)``: :func:`load_trace`'s arrays and whether they are
    one pooled list (the list layout, or ``format="pooled"``)."""
    if format not in FORMATS:
        raise ValueError(f"format={format!r} must be one of {FORMATS}")
    path = os.fspath(path)
    if num_workers is not None:
        num_workers = check_int("num_workers", num_workers)
    rows = _read_rows(path)
    if not rows:
        raise ValueError(f"{path}: the file is empty (no header, no numeric data)")
    header, body = rows[0], rows[1:]
    cells = _trimmed(header[1])
    lowered = [c.lower() for c in cells]
    is_long = sorted(lowered) == ["duration", "worker"]
    is_list = False
    if format == "long":
        if not is_long:
            raise ValueError(
                f"{path}:{header[0]}: format='long' needs the header "
                f"'worker,duration'; got {header[1]!r}"
            )
        names, columns = _load_long(path, header, body, num_workers)
    elif format == "wide":
        names, columns = _load_wide(path, header, body)
    elif lowered == ["duration"]:
        is_list = True
        names, columns = _load_list(path, body)
    elif len(cells) == 1 and _is_number(cells[0]) and cells[0] != "0":
        is_list = True  # no header: the first line is already a duration
        names, columns = _load_list(path, rows)
    elif is_long:
        names, columns = _load_long(path, header, body, num_workers)
    elif "worker" in lowered or "duration" in lowered:
        raise ValueError(
            f"{path}:{header[0]}: unknown layout: header {header[1]!r} mentions "
            "'worker'/'duration' but a long trace has exactly the columns "
            "'worker,duration' (a pooled list: the single column 'duration')"
        )
    else:
        names, columns = _load_wide(path, header, body)
    if not any(columns):
        raise ValueError(f"{path}: no durations below the header (no numeric data)")
    pooled = is_list or format == "pooled"
    if not pooled and num_workers is not None and len(names) != num_workers:
        raise ValueError(
            f"{path}: the trace has {len(names)} workers; num_workers={num_workers}"
        )
    for j, (name, column) in enumerate(zip(names, columns, strict=True)):
        if not column:
            raise ValueError(f"{path}: worker {name!r} (number {j}) has no durations")
    arrays = [np.asarray(c, dtype=np.float64) for c in columns]
    if pooled:
        arrays = [np.concatenate(arrays)]
    return arrays, pooled


def load_trace(
    path: str | os.PathLike, num_workers: int | None = None, format: str = "auto"
) -> list[np.ndarray]:
    """Reads measured per-job durations from a CSV file, one array per worker.

    Three layouts, told apart by the header (the first non-blank line) when
    ``format="auto"``:

    - **wide**: one column per worker, a header of worker names, one job per
      row; columns may be ragged (empty cells are skipped). A header of numbers
      is taken for data unless it is exactly the ids ``0,1,...,N-1``.
    - **long**: the header ``worker,duration`` (either order, any case) and one
      job per row. Worker ids ``0..N-1`` order the workers by id (with
      ``num_workers``, ``N = num_workers``, else the largest id plus one);
      any other names order them by first appearance.
    - **list**: a single column, one duration per row, under the header
      ``duration`` or none (a first line that is a number other than ``0``; a
      lone ``0`` reads as the id header of a one-worker wide trace). It is one
      pooled array with no worker information, whatever ``num_workers``.

    ``format="wide"`` or ``"long"`` insists on that layout;
    ``format="pooled"`` reads the file as ``"auto"`` does and returns all its
    durations in one array (worker 0's first), for any ``num_workers``.

    Durations must be finite and ``>= 0`` (a zero is kept; :func:`fit` refuses
    it). Blank lines are skipped; a UTF-8 byte-order mark is ignored.

    Args:
      path: the CSV file.
      num_workers: if given, the number of workers the trace must have
        (not checked for a pooled trace).
      format: ``"auto"``, ``"wide"``, ``"long"`` or ``"pooled"``.

    Returns:
      A list of 1-D float64 arrays, one per worker (one in all for a pooled
      trace), each in file order.

    Raises:
      ValueError: naming the file and, where it applies, the line and column:
        a missing or unreadable file, no header or no durations, a cell that is
        not a number, a negative or non-finite duration, a worker with no
        durations, a worker count other than ``num_workers``, or a header that
        fits no layout.
    """
    return read_trace(path, num_workers, format)[0]
