"""Loading a run folder (docs/run-folder.md) into pandas: the notebook API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# Column -> dtype, in the order docs/run-folder.md lists them. "str" is pandas'
# string dtype, "Int64" the nullable integer (the `int64, null` columns).
TRANSACTION_COLUMNS: dict[str, str] = {
    "txn_id": "str",
    "kind": "str",
    "method": "str",
    "payer_vpa": "str",
    "payee_vpa": "str",
    "payer_bank": "str",
    "payee_bank": "str",
    "amount_paise": "int64",
    "state": "str",
    "response_code": "str",
    "reason_code": "str",
    "decline_type": "str",
    "fraud_flags": "str",
    "t_initiated_ms": "int64",
    "t_received_ms": "Int64",
    "t_resolved_ms": "Int64",
    "t_risk_ms": "Int64",
    "t_debited_ms": "Int64",
    "t_credited_ms": "Int64",
    "t_completed_ms": "int64",
    "latency_ms": "int64",
}
EVENT_COLUMNS: dict[str, str] = {
    "t_ms": "int64",
    "kind": "str",
    "actor": "str",
    "txn_id": "str",
    "subject": "str",
    "detail": "str",
    "value": "int64",
}
MONEY_COLUMNS: dict[str, str] = {
    "t_ms": "int64",
    "bank": "str",
    "customers_paise": "int64",
    "settlement_paise": "int64",
    "card_outstanding_paise": "int64",
}
ACCOUNT_COLUMNS: dict[str, str] = {
    "vpa": "str",
    "name": "str",
    "bank": "str",
    "account": "str",
    "merchant": "bool",
    "new_user": "bool",
    "opening_paise": "int64",
    "closing_paise": "int64",
    "card_limit_paise": "int64",
    "card_outstanding_paise": "int64",
}
# Columns a run may lack: the card columns came after the first runs, and a trimmed or
# hand-made transactions file may have no `method`. A value is how docs/run-folder.md says
# to read the missing column; None leaves it out (there is nothing honest to fill in).
ADDED_LATER: dict[str, object] = {
    "method": None,
    "card_outstanding_paise": 0,
    "card_limit_paise": 0,
}


class RunFolderError(Exception):
    """A run folder is missing, incomplete or does not match docs/run-folder.md."""


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """One finished run: its JSON files as dicts and its Parquet tables as DataFrames."""

    path: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    transactions: pd.DataFrame
    events: pd.DataFrame
    money: pd.DataFrame


def load_run(
    run_dir: str | Path,
    *,
    transaction_columns: Sequence[str] | None = None,
) -> Run:
    """Load a run folder; `transaction_columns` reads only those columns (for speed).

    `summary.json` and `transactions.parquet` must exist; a missing `scenario.json`
    gives `{}` and a missing `events.parquet` or `money.parquet` an empty DataFrame
    with the documented columns. A column that older runs lack (`ADDED_LATER`) is
    filled as the contract says, or left out: check `"method" in run.transactions`.
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
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


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
                frame[name] = frame[name].astype(dtype)
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
            frame[name] = pd.Series(fill, index=frame.index, dtype=dtype)
        kept[name] = dtype
    if list(frame.columns) != list(kept):
        frame = frame[list(kept)]
    return frame, kept
