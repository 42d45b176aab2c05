"""Streaming a run's tables to Parquet in row groups, so memory does not grow with the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from upisim.actors.records import TRANSACTION_COLUMNS

_S, _I = pa.string(), pa.int64()

TRANSACTIONS = pa.schema(
    [
        (name, _I if name.startswith("t_") or name in ("amount_paise", "latency_ms") else _S)
        for name in TRANSACTION_COLUMNS
    ]
)
EVENTS = pa.schema(
    [
        ("t_ms", _I),
        ("kind", _S),
        ("actor", _S),
        ("txn_id", _S),
        ("subject", _S),
        ("detail", _S),
        ("value", _I),
    ]
)
ACCOUNTS = pa.schema(
    [
        ("vpa", _S),
        ("name", _S),
        ("bank", _S),
        ("account", _S),
        ("merchant", pa.bool_()),
        ("new_user", pa.bool_()),
        ("opening_paise", _I),
        ("closing_paise", _I),
        ("card_limit_paise", _I),
        ("card_outstanding_paise", _I),
    ]
)
NOTIFICATIONS = pa.schema(
    [
        ("t_ms", _I),
        ("vpa", _S),
        ("kind", _S),
        ("txn_id", _S),
        ("amount_paise", _I),
        ("counterparty", _S),
        ("code", _S),
    ]
)
MONEY = pa.schema(
    [
        ("t_ms", _I),
        ("bank", _S),
        ("customers_paise", _I),
        ("settlement_paise", _I),
        ("card_outstanding_paise", _I),
    ]
)


class TableWriter:
    """Rows (tuples in schema order) in, Parquet row groups of ``chunk_rows`` out."""

    def __init__(self, path: Path, schema: pa.Schema, chunk_rows: int = 65_536) -> None:
        self.path = path
        self.schema = schema
        self.chunk_rows = chunk_rows
        self.rows = 0
        self._buffer: list[tuple[Any, ...]] = []
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    @property
    def count(self) -> int:
        """Rows appended so far, written or not."""
        return self.rows + len(self._buffer)

    def append(self, row: tuple[Any, ...]) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.chunk_rows:
            self.flush()

    def extend(self, rows: list[tuple[Any, ...]]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        columns = list(zip(*self._buffer, strict=True))
        arrays = [pa.array(col, type=f.type) for col, f in zip(columns, self.schema, strict=True)]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows += len(self._buffer)
        self._buffer = []

    def close(self) -> None:
        self.flush()
        self._writer.close()


def parquet_to_csv(parquet: Path, csv: Path) -> None:
    """Convert row group by row group, so a large table never sits in memory whole."""
    source = pq.ParquetFile(parquet)
    with pacsv.CSVWriter(csv, source.schema_arrow) as writer:
        for i in range(source.num_row_groups):
            writer.write_table(source.read_row_group(i))
