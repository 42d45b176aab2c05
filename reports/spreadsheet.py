"""CSV cells a spreadsheet will not run as formulas (CSV injection, docs/run-folder.md).

Excel, LibreOffice and Google Sheets read a cell beginning with ``=``, ``+``, ``-`` or
``@`` (and tab or carriage return) as a formula; a VPA or a name in a scenario is
whatever someone typed. Such a text cell is written with a leading ``'``, which the
spreadsheet shows as text. Numbers, and text that is a plain decimal number (``-500``),
are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet may read it: risky text gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every risky text cell (and column name) escapped; the frame
    itself if it has none."""
    changed: dict[int, pd.Series] = {}
    for position in range(frame.shape[1]):  # by position: column names may repeat
        column = frame.iloc[:, position]
        if column.dtype.kind in "biufcmM":  # numbers, booleans and times stay as they are
            continue
        risky = column.map(lambda v: safe_cell(v) is not v)
        if risky.any():
            changed[position] = column.map(safe_cell)
    names = [safe_cell(name) for name in frame.columns]
    if not changed and names == list(frame.columns):
        return frame
    out = frame.copy()
    for position, column in changed.items():
        out.isetitem(position, column.to_numpy(dtype=object))
    out.columns = pd.Index(names)
    return out
