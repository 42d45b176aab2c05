"""The two sides of a comparison, A and B, each one run folder or several (the same
scenario at several seeds, say), and how a section puts one table of every run into
one table of the two sides (`reports.tables.runs_side_by_side`) and into words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from upisim.reports import fmt, tables
from upisim.reports.html import Safe, markup, table
from upisim.reports.run import Run, RunFolderError

T = TypeVar("T")
#: one run folder, or several
RunDirs = str | Path | Sequence[str | Path]


@dataclass(frozen=True, eq=False)
class Side:
    """Side A or B: its runs in the order given, and each run's money over time."""

    label: str
    runs: tuple[Run, ...]
    money: tuple[pd.DataFrame, ...]

    @property
    def name(self) -> str:
        """'A: RUN_FOLDER', or 'A: 5 runs' for a side of several."""
        if len(self.runs) == 1:
            return f"{self.label}: {self.runs[0].path.resolve().name}"
        return f"{self.label}: {len(self.runs)} runs"

    def each(self, of_run: Callable[[Run], T]) -> list[T]:
        """`of_run` of every run of the side, in order."""
        return [of_run(run) for run in self.runs]

    def run_label(self, run: Run) -> str:
        """How the page names one run: the side alone, or the side and the run's folder."""
        return self.label if len(self.runs) == 1 else f"{self.label} {run.path.resolve().name}"


def both(a: Side, b: Side, of_run: Callable[[Run], T]) -> tuple[list[T], list[T]]:
    """`of_run` of every run of side A, and of side B."""
    return a.each(of_run), b.each(of_run)


def folders(runs: RunDirs, label: str) -> list[Path]:
    """A side's run folders; refused when there are none or one is given twice."""
    paths = [Path(runs)] if isinstance(runs, str | Path) else [Path(r) for r in runs]
    if not paths:
        raise RunFolderError(f"side {label}: no run folder given")
    seen: dict[Path, Path] = {}
    for path in paths:
        if path.resolve() in seen:
            raise RunFolderError(f"side {label}: {path} is given twice")
        seen[path.resolve()] = path
    return paths


def pooled(
    frames: tuple[Sequence[pd.DataFrame], Sequence[pd.DataFrame]],
    key: str,
    value: str | Sequence[str],
    *,
    fill: Callable[[Any], Any] | None = None,
) -> pd.DataFrame:
    """One per-`key` table of every run (side A's runs', side B's) as one table of both
    sides (`tables.runs_side_by_side`): its `value` column, keyed by `key`; or its `value`
    columns, a row for each key and column (`key`, "figure"). A value a run does not have
    (NaN: no latency without a payment, no cap used without a cap) is left out of the
    side's mean; a key a run lacks is `fill(key)` there, or left out."""

    def rows(frame: pd.DataFrame) -> list[tuple[Any, Any]]:
        if isinstance(value, str):
            found = list(zip(frame[key], frame[value].tolist(), strict=True))
        else:
            found = tables.long_rows(frame, key, value)
        return [(k, v) for k, v in found if not (v is None or v is pd.NA or v != v)]

    return tables.runs_side_by_side(
        [rows(f) for f in frames[0]],
        [rows(f) for f in frames[1]],
        key if isinstance(value, str) else (key, "figure"),
        fill=fill,
    )


def biggest(frame: pd.DataFrame) -> pd.Series | None:
    """The row of a pooled table with the largest difference (a number, not 0), if any."""
    size = [abs(d) if is_number(d) else 0 for d in frame["difference"]]
    if not any(size):
        return None
    return frame.iloc[size.index(max(size))]


def is_number(value: Any) -> bool:
    """A number, and not a bool (which Python counts as one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def zero(_: Any) -> int:
    """The value a run lacking a count has: it counted none."""
    return 0


def several(a: Side, b: Side) -> bool:
    """Whether either side has several runs (the tables then show ranges and noise)."""
    return max(len(a.runs), len(b.runs)) > 1


def per_side(values: Sequence[float], show: Callable[[float], str]) -> str:
    """A side's figure in words: the run's (or its runs' when they agree), or the mean over
    its runs and their range."""
    if len(values) == 1 or min(values) == max(values):
        return show(values[0])
    mean = sum(values) / len(values)
    return f"{show(mean)} (runs {show(min(values))}–{show(max(values))})"


def beyond_noise(frame: pd.DataFrame) -> list[str]:
    """Row classes: "changed" for a difference that is not 0 and not within noise."""
    noise = frame["within noise"] if "within noise" in frame else [""] * len(frame)
    return [
        "changed" if d not in ("", 0) and n != "yes" else ""
        for d, n in zip(frame["difference"], noise, strict=True)
    ]


def cell(value: Any) -> str:
    """A count, or text as it is."""
    return fmt.count(value) if not isinstance(value, str) else value


def money(value: Any) -> str:
    """An amount in paise as rupees (a mean over runs to the nearest paisa), or text as it is."""
    return fmt.rupees(round(value)) if not isinstance(value, str) else value


def by_name(figure: Any) -> Callable[[Any], str]:
    """How a figure named ``figure`` is shown: an amount in paise (its name ends ``_paise``)
    as rupees, anything else as a count."""
    return money if str(figure).endswith("_paise") else cell


def signed(show: Callable[[Any], str] = cell) -> Callable[[Any], str]:
    """A difference with its sign, the magnitude shown by `show`."""

    def text(value: Any) -> str:
        if isinstance(value, str | bool):
            return str(value)
        if value == 0:
            return "0"
        return ("+" if value > 0 else "−") + show(abs(value))

    return text


def share_points(value: Any) -> str:
    """A difference of two shares in percentage points."""
    if isinstance(value, str) or value == 0:
        return signed()(value)
    return f"{'+' if value > 0 else '−'}{100 * abs(value):.1f} pp"


def shown(
    frame: pd.DataFrame,
    show: Callable[[Any], Callable[[Any], str]] | None = None,
    difference: Callable[[Any], Callable[[Any], str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Safe:
    """A pooled table on the page: each side's value, the difference and, with several
    runs a side, each side's range (lowest – highest) and the noise verdict. `show(key)`
    formats a row's values (default: counts), `difference(key)` its difference (default:
    signed `show(key)`); `key` is the row's key (a tuple of the columns before A when
    there are several)."""
    key_columns = list(frame.columns[: list(frame.columns).index("A")])
    values = show or (lambda _: cell)
    differences = difference or (lambda k: signed(values(k)))

    def text_of(formats: Callable[[Any], Callable[[Any], str]], k: Any, v: Any) -> str:
        return v if isinstance(v, str) else formats(k)(v)  # a blank, or several values

    text = pd.DataFrame({c: frame[c] for c in key_columns})
    parts = [list(frame[c]) for c in key_columns]
    keys = list(zip(*parts, strict=True)) if len(parts) > 1 else parts[0]
    for column, formats in (("A", values), ("B", values), ("difference", differences)):
        text[column] = [text_of(formats, k, v) for k, v in zip(keys, frame[column], strict=True)]
    if "within noise" in frame:
        for side in ("A", "B"):
            lows, highs = frame[f"{side} min"], frame[f"{side} max"]
            text[f"{side} range"] = [
                text_of(values, k, lo)
                if lo == hi
                else f"{text_of(values, k, lo)} – {text_of(values, k, hi)}"
                for k, lo, hi in zip(keys, lows, highs, strict=True)
            ]
        text["within noise"] = frame["within noise"]
    return table(text, headers=headers, classes=beyond_noise(frame))


def noise_note(a: Side, b: Side) -> Safe:
    """What the tables' ranges and noise mean, on a page comparing several runs a side."""
    if not several(a, b):
        return Safe("")
    return markup(
        "<p>A has {} run(s), B {}: a side's value is its mean over its runs, the difference "
        "is of the means, the range is the side's lowest to highest value; {}. Highlighted: "
        "differences beyond noise.</p>",
        len(a.runs),
        len(b.runs),
        tables.NOISE_RULE,
    )
