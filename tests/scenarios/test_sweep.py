"""Sweeps: points validated before anything runs, runs on a LocalCluster equal to the same
runs one after another here, a finished sweep run again runs nothing, and its report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from upisim.actors.errors import ScenarioError
from upisim.reports.sweep import build_sweep_report
from upisim.scenarios.cli import main
from upisim.scenarios.sweep import bundled_sweeps, plan, run_one, sweep

BASE = """
name = "town"
seed = 1
duration_s = 20
[population]
size = 500
[load]
rate_per_s = 20
[rate_limits]
per_minute = 5
"""

SWEEP = """
name = "small"
base = "town.toml"
seed = 99
seeds = 2
[grid]
"load.rate_per_s" = [10, 40]
"""


def files(tmp_path: Path, sweep_text: str = SWEEP) -> Path:
    (tmp_path / "town.toml").write_text(BASE)
    path = tmp_path / "small.toml"
    path.write_text(sweep_text)
    return path


def test_each_point_gets_the_same_seeds_from_the_sweeps_seed_and_a_stable_id(tmp_path) -> None:
    _, runs = plan(files(tmp_path))
    assert [(r["point"], r["replicate"]) for r in runs] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    seeds = [r["seed"] for r in runs]
    assert seeds[:2] == seeds[2:] and seeds[0] != seeds[1]  # common random numbers
    assert [r["scenario"]["load"]["rate_per_s"] for r in runs] == [10, 10, 40, 40]
    assert len({r["id"] for r in runs}) == 4
    assert [r["id"] for r in plan(files(tmp_path))[1]] == [r["id"] for r in runs]


def test_a_sweep_on_two_workers_equals_its_runs_one_after_another_and_reruns_nothing(
    tmp_path: Path,
) -> None:
    path = files(tmp_path)
    table = sweep(path, tmp_path / "dask", workers=2)
    assert len(table) == 4 and table.ok.all()
    assert set(table["param.load.rate_per_s"]) == {10, 40}
    _, runs = plan(path)
    alone = pd.DataFrame([run_one(run, str(tmp_path / "here")) for run in runs])
    alone = alone.astype({"seed": "int64", "ok": bool})
    drop = ["wall_seconds"]
    pd.testing.assert_frame_equal(
        table.drop(columns=drop), alone.drop(columns=drop), check_like=True, check_dtype=False
    )
    assert (table["payments_total"] > 0).all()
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "dask").rglob("sweep_run.json")}
    again = sweep(path, tmp_path / "dask", workers=2)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing ran again
    pd.testing.assert_frame_equal(again, table)
    html = build_sweep_report(tmp_path / "dask", "small").read_text()
    assert html.count("<img") >= 4 and "Against load.rate_per_s" in html
    # the figures a sweep file names, and only those; a misspelt one is named, not plotted
    chosen = {"latency_ms.p99": "slowest 1% (ms)", "latency_ms.p999": "typo"}
    html = build_sweep_report(tmp_path / "dask", "small", chosen).read_text()
    assert html.count("<img") == 1 and 'alt="slowest 1% (ms) against' in html
    assert "Not in sweep.parquet, so not plotted: latency_ms.p999" in html


def test_a_misspelt_bundled_sweep_gets_a_suggestion(tmp_path, capsys) -> None:
    assert main(["sweep", "app_rate_limt", "--out", str(tmp_path / "out")]) == 2
    assert "(did you mean 'app_rate_limit'?)" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(bundled_sweeps()))
def test_every_bundled_sweep_plans(name: str) -> None:
    config, runs = plan(bundled_sweeps()[name])
    assert runs and config.name == name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SWEEP.replace("load.rate_per_s", "load.rate_per_sec"), "load.rate_per_sec"),
        (SWEEP.replace("[10, 40]", '[10, "fast"]'), "rate_per_s"),
        (SWEEP.replace('base = "town.toml"', 'base = "nowhere.toml"'), "nowhere.toml"),
        (SWEEP.replace("seeds = 2", "seeds = 0"), "seeds"),
        ('name = "x"\nbase = "town.toml"\n', "either [grid]"),
    ],
)
def test_a_bad_sweep_is_refused_naming_what_is_wrong(tmp_path, text, message, capsys) -> None:
    path = files(tmp_path, text)
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[")):
        plan(path)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing ran
