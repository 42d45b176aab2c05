"""Loading a run folder (docs/run-folder.md) into pandas: the notebook API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import pandas_dtype

from upisim.runfolder import (
    BOOL,
    INT64,
    STRING,
    TABLES,
    AccountRow,
    Column,
    EventRow,
    FraudTruthRow,
    MoneyRow,
    Notification,
    QueueRow,
    SettlementRow,
    TraceRow,
    TransactionRow,
    columns,
)

# A column's pandas dtype by its run-folder type: "str" is pandas' string dtype (it holds
# missing values too), "Int64" the nullable integer (the `int64, null` columns).
_DTYPES = {STRING: "str", INT64: "int64", BOOL: "bool"}
_NULLABLE_DTYPES = {STRING: "str", INT64: "Int64", BOOL: "boolean"}


def dtypes(row: type[tuple[object, ...]]) -> dict[str, str]:
    """Column -> pandas dtype of a run-folder table, in order, from its row type."""
    return {c.name: _dtype(c) for c in columns(row)}


def _dtype(column: Column) -> str:
    return (_NULLABLE_DTYPES if column.nullable else _DTYPES)[column.type]


TRANSACTION_COLUMNS = dtypes(TransactionRow)
EVENT_COLUMNS = dtypes(EventRow)
MONEY_COLUMNS = dtypes(MoneyRow)
ACCOUNT_COLUMNS = dtypes(AccountRow)
NOTIFICATION_COLUMNS = dtypes(Notification)
QUEUE_COLUMNS = dtypes(QueueRow)
SETTLEMENT_COLUMNS = dtypes(SettlementRow)
FRAUD_TRUTH_COLUMNS = dtypes(FraudTruthRow)
TRACE_COLUMNS = dtypes(TraceRow)
# Columns a run may lack: the card columns and `refund_of` came after the first runs, and a
# trimmed or hand-made transactions file may have no `method`. A value is how
# docs/run-folder.md says to read the missing column; None leaves it out (there is nothing
# honest to fill in).
ADDED_LATER: dict[str, object] = {
    "method": None,
    "card_outstanding_paise": 0,
    "card_limit_paise": 0,
    "refund_of": "",
    "settled_paise": 0,
}


class RunFolderError(Exception):
    """A run folder is missing, incomplete or does not match docs/run-folder.md."""


@dataclass(frozen=True, eq=False)
class Run:
    """One finished run: its JSON files as dicts and its Parquet tables as DataFrames.

    `accounts` and `notifications` are read on first use: the reports never need
    them, and a run that records notifications has several per payment.
    """

    path: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    transactions: pd.DataFrame
    events: pd.DataFrame
    money: pd.DataFrame

    def table(self, stem: str) -> pd.DataFrame:
        """Any table of the run folder by its file's stem (``upisim.runfolder.TABLES``: every
        table a run may write, later ones included), with its documented columns; empty when
        the run has no such file."""
        if stem not in TABLES:
            raise RunFolderError(f"no table {stem!r}: the tables are {', '.join(TABLES)}")
        if stem in ("transactions", "events", "money"):
            frame: pd.DataFrame = getattr(self, stem)
            return frame
        return read_parquet(self.path / f"{stem}.parquet", dtypes(TABLES[stem]), required=False)

    @cached_property
    def accounts(self) -> pd.DataFrame:
        """`accounts.parquet`: every user's opening and closing balances."""
        return read_parquet(self.path / "accounts.parquet", ACCOUNT_COLUMNS, required=False)

    @cached_property
    def notifications(self) -> pd.DataFrame:
        """`notifications.parquet`, written only with `[notifications] record = true`."""
        file = self.path / "notifications.parquet"
        return read_parquet(file, NOTIFICATION_COLUMNS, required=False)

    @cached_property
    def queues(self) -> pd.DataFrame:
        """`queues.parquet`: each bank's core banking, second by second (empty for runs
        made before capacity existed)."""
        return read_parquet(self.path / "queues.parquet", QUEUE_COLUMNS, required=False)

    @cached_property
    def settlement(self) -> pd.DataFrame:
        """`settlement.parquet`: every bank's net position in every closed settlement cycle
        (empty for runs made before cycles existed)."""
        return read_parquet(self.path / "settlement.parquet", SETTLEMENT_COLUMNS, required=False)

    @cached_property
    def fraud_truth(self) -> pd.DataFrame:
        """`fraud_truth.parquet`: the label of every fraudulent payment (empty without fraud
        typologies, and for runs made before them)."""
        return read_parquet(self.path / "fraud_truth.parquet", FRAUD_TRUTH_COLUMNS, required=False)

    @cached_property
    def trace(self) -> pd.DataFrame:
        """`trace.parquet`: every message of the payments ``[trace]`` picked (empty without
        it)."""
        return read_parquet(self.path / "trace.parquet", TRACE_COLUMNS, required=False)


def load_run(
    run_dir: str | Path,
    *,
    transaction_columns: Sequence[str] | None = None,
) -> Run:
    """Load a run folder; `transaction_columns` reads only those columns (for speed).

    `summary.json` and `transactions.parquet` must exist; a missing `scenario.json`
    gives `{}` and a missing `events.parquet`, `money.parquet`, `accounts.parquet` or
    `notifications.parquet` an empty DataFrame with the documented columns. A column
    that older runs lack (`ADDED_LATER`) is filled as the contract says, or left out:
    check `"method" in run.transactions`.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such run folder")
    tx_columns = _pick(TRANSACTION_COLUMNS, transaction_columns, path / "transactions.parquet")
    return Run(
        path=path,
        summary=_read_json(path / "summary.json", required=True),
        scenario=_read_json(path / "scenario.json", required=False),
        transactions=read_parquet(path / "transactions.parquet", tx_columns, required=True),
        events=read_parquet(path / "events.parquet", EVENT_COLUMNS, required=False),
        money=read_parquet(path / "money.parquet", MONEY_COLUMNS, required=False),
    )


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame(
        {name: pd.Series(dtype=pandas_dtype(dtype)) for name, dtype in columns.items()}
    )


def _pick(columns: dict[str, str], wanted: Sequence[str] | None, file: Path) -> dict[str, str]:
    if wanted is None:
        return columns
    unknown = [name for name in wanted if name not in columns]
    if unknown:
        raise RunFolderError(f"{file.name}: no documented column(s) {', '.join(unknown)}")
    return {name: columns[name] for name in wanted}


def _read_json(file: Path, *, required: bool) -> dict[str, Any]:
    if not file.exists():
        if required:
            raise RunFolderError(f"{file}: missing (every run folder has one)")
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{file}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise RunFolderError(f"{file}: expected a JSON object, found {type(data).__name__}")
    return data


def read_parquet(
    file: Path,
    columns: dict[str, str],
    *,
    required: bool,
    filters: list[Any] | None = None,
) -> pd.DataFrame:
    """`columns` of a Parquet file with the documented dtypes, only the rows matching
    `filters` (pyarrow's syntax); an empty frame if the file is optional and missing."""
    if not file.exists():
        if required:
            raise RunFolderError(f"{file}: missing (every run folder has one)")
        return empty_frame(columns)
    try:
        present = set(pq.read_schema(file).names)
        missing = [name for name in columns if name not in present and name not in ADDED_LATER]
        if missing:
            raise RunFolderError(
                f"{file}: missing column(s) {', '.join(missing)} (see docs/run-folder.md)"
            )
        table = pq.read_table(
            file, columns=[name for name in columns if name in present], filters=filters
        )
    except (OSError, pa.ArrowException) as exc:
        raise RunFolderError(f"{file}: not a readable Parquet file ({exc})") from exc
    # Integer columns with nulls would otherwise become float64.
    frame = table.to_pandas(
        types_mapper={pa.int64(): pd.Int64Dtype()}.get, split_blocks=True, self_destruct=True
    )
    del table
    frame, columns = _older_run(frame, columns)
    for name, dtype in columns.items():
        if str(frame[name].dtype) != dtype:
            try:
                frame[name] = frame[name].astype(pandas_dtype(dtype))
            except (TypeError, ValueError) as exc:
                raise RunFolderError(
                    f"{file}: column {name} should be {dtype}, found {frame[name].dtype}"
                ) from exc
    return frame


def _older_run(frame: pd.DataFrame, columns: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Fill in the later columns an older run lacks; return the frame in documented order
    and the columns it now has."""
    kept = {}
    for name, dtype in columns.items():
        if name not in frame.columns:
            fill = ADDED_LATER[name]
            if fill is None:
                continue
            frame[name] = pd.Series(fill, index=frame.index, dtype=pandas_dtype(dtype))
        kept[name] = dtype
    if list(frame.columns) != list(kept):
        frame = frame[list(kept)]
    return frame, kept
