"""What a report says about text it did not write: CSV cells a spreadsheet would run as
formulas are escaped, and a summary that lacks its figures is never called healthy."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.reports.fake_run import Fixture
from upisim.reports import build_report, compare_runs
from upisim.reports.spreadsheet import safe_cell, spreadsheet_safe

FORMULA_START = ("=", "+", "-", "@")
NASTY = ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3@okicici", "@SUM(A1)", "\t=1"]


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_text_that_starts_a_formula_is_quoted_and_numbers_are_not() -> None:
    assert [safe_cell(t) for t in NASTY] == ["'" + t for t in NASTY]
    assert [safe_cell(v) for v in (-500, -1.5, "-500", "+91", "-0.25", "ok", "", None)] == [
        -500,
        -1.5,
        "-500",
        "+91",
        "-0.25",
        "ok",
        "",
        None,
    ]
    frame = pd.DataFrame({"vpa": ["=1+2@x", "a@x"], "paise": [-500, 7], "mixed": ["@x", -3]})
    safe = spreadsheet_safe(frame)
    assert safe.to_dict("list") == {
        "vpa": ["'=1+2@x", "a@x"],
        "paise": [-500, 7],
        "mixed": ["'@x", -3],
    }
    assert frame["vpa"].tolist() == ["=1+2@x", "a@x"]  # the frame itself is left alone


def test_report_csvs_escape_formulas_from_the_run(
    make_run: Callable[..., Fixture], tmp_path: Path
) -> None:
    run = make_run("nasty")

    def scenario(data: dict) -> None:
        data["name"] = NASTY[0]
        data["merchant"]["vpa"] = NASTY[2]
        data["merchant"]["name"] = NASTY[3]
        data["offset_paise"] = -500

    _edit_json(run.path / "scenario.json", scenario)
    _edit_json(run.path / "summary.json", lambda s: s.update(scenario=NASTY[1], drift_paise=-42))

    index = build_report(run.path, tmp_path / "report")

    for table in sorted((tmp_path / "report").glob("*.csv")):
        cells = _cells(table)
        risky = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
        assert risky == [], table.name
    scenario_cells = _cells(tmp_path / "report" / "scenario.csv")
    assert {"'" + NASTY[0], "'" + NASTY[2], "'" + NASTY[3], "-500"} <= set(scenario_cells)
    assert {"'+1+2", "-42"} <= set(_cells(tmp_path / "report" / "headline.csv"))
    assert index.exists()


def test_compare_csvs_escape_formulas(make_run: Callable[..., Fixture], tmp_path: Path) -> None:
    a, b = make_run("nasty_a"), make_run("nasty_b")
    _edit_json(b.path / "scenario.json", lambda s: s.update(name=NASTY[0]))
    compare_runs(a.path, b.path, tmp_path / "compare")
    cells = _cells(tmp_path / "compare" / "compare_scenario.csv")
    assert "'" + NASTY[0] in cells
    assert [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)] == []


@pytest.mark.parametrize("summary", [{}, {"scenario": "x", "seed": 1}])
def test_a_summary_without_its_figures_is_not_called_healthy(
    make_run: Callable[..., Fixture], tmp_path: Path, summary: dict
) -> None:
    run = make_run("hollow")
    (run.path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")

    page = build_report(run.path, tmp_path / "report").read_text(encoding="utf-8")

    assert 'class="banner good"' not in page and "Every check passed" not in page
    assert 'class="banner bad"' in page and "Summary incomplete" in page
    assert "lacks ok, payments_total" in page


def test_a_summary_missing_one_figure_says_which(
    make_run: Callable[..., Fixture], tmp_path: Path
) -> None:
    run = make_run("no_ok")
    _edit_json(run.path / "summary.json", lambda s: s.pop("stuck_payments"))

    page = build_report(run.path, tmp_path / "report").read_text(encoding="utf-8")

    assert "Every check passed" not in page and "summary.json lacks stuck_payments" in page


def test_a_comparison_with_a_hollow_summary_is_not_called_healthy(
    make_run: Callable[..., Fixture], tmp_path: Path
) -> None:
    a, b = make_run("whole"), make_run("hollow_b")
    (b.path / "summary.json").write_text("{}", encoding="utf-8")

    page = compare_runs(a.path, b.path, tmp_path / "compare").read_text(encoding="utf-8")

    assert "Both runs held every invariant" not in page and 'class="banner good"' not in page
    assert "Summary incomplete" in page and "B&#x27;s summary.json lacks ok" in page
