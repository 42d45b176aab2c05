"""Many runs as one experiment: a parameter sweep with seed replications, on Dask.

A sweep file names a base scenario, the parameters to vary (a ``grid``: every
combination of each key's values; or ``points``: an explicit list of overrides), by
the scenario's own dotted keys (``load.rate_per_s``, ``rate_limits.per_minute``; a
number indexes a list: ``banks.1.core.workers``), and ``seeds`` per point. Every
point is validated as a scenario file is, before anything runs, so a misspelt key
or a bad value is named with its field.

Seeds come from numpy's ``SeedSequence`` of the sweep's ``seed``: replicate ``r``
has the same seed at every point (common random numbers), so two points differ by
their parameters, not by their luck. Each run is one Dask task (a ``LocalCluster``
here, or ``--scheduler``'s cluster) writing its own run folder, ``OUT/runs/<id>``;
its id is a digest of the base scenario, its overrides and its seed, so running a
sweep again skips every run already finished, and widening a grid runs only what is
new. A run that fails is a row with its error and stops nothing. The rows, one per
run (id, seed, parameters, the numeric figures of its ``summary.json`` with nested
keys dotted), are ``OUT/sweep.parquet``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from upisim.actors.errors import ScenarioError
from upisim.scenarios.config import parse_scenario, resolve_path
from upisim.scenarios.explain import did_you_mean, format_errors
from upisim.scenarios.sections import _Strict

TIMING = "timing"
"""summary.json's wall-clock figures and how the run was run: kept apart, never compared."""


class SweepFile(_Strict):
    name: str = "sweep"
    base: str = Field(description="a bundled scenario's name, or a scenario file")
    seed: int = Field(default=0, ge=0, description="seeds the runs' seeds")
    seeds: int = Field(default=1, ge=1, le=10_000, description="runs per point")
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list)
    figures: dict[str, str] = Field(
        default_factory=dict,
        description="sweep.parquet column -> label: the figures the report plots (default: "
        "the headline figures)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> SweepFile:
        if bool(self.grid) == bool(self.points):
            raise ValueError("give either [grid] (values per key) or [[points]] (overrides)")
        if any(not values for values in self.grid.values()):
            raise ValueError("every [grid] key needs at least one value")
        return self


class Run(dict[str, Any]):
    """One run of a sweep: ``id``, ``seed``, ``params`` (dotted key -> value), ``scenario``."""


def _override(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (dotted; a number indexes a list) in a scenario's TOML dict."""
    *parents, last = key.split(".")
    here: Any = data
    for part in parents:
        if isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        elif isinstance(here, dict):
            here = here.setdefault(part, {})
        else:
            raise ScenarioError(f"sweep key {key!r}: {part!r} is not a section or a list index")
    if isinstance(here, list):
        if not (last.isdigit() and int(last) < len(here)):
            raise ScenarioError(f"sweep key {key!r}: {last!r} is not an index of the list")
        here[int(last)] = value
    elif isinstance(here, dict):
        here[last] = value
    else:
        raise ScenarioError(f"sweep key {key!r}: cannot set a field inside a plain value")


def plan(path: str | Path) -> tuple[SweepFile, list[Run]]:
    """The sweep file's runs, each validated as a scenario; a ScenarioError names what is
    wrong (the sweep's field, or the point's scenario field)."""
    path = Path(path)
    try:
        sweep = SweepFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        bundled = bundled_sweeps()
        raise ScenarioError(
            f"{path}: no such sweep file, and no bundled sweep of that name"
            f"{did_you_mean(str(path), bundled)} (bundled: {', '.join(bundled)})"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
    except ValidationError as error:
        raise ScenarioError(format_errors(str(path), error, SweepFile, "sweep file")) from None
    base_path = resolve_path(sweep.base)
    if not base_path.exists() and (path.parent / sweep.base).exists():
        base_path = path.parent / sweep.base  # a file beside the sweep
    try:
        base_text = base_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: base {sweep.base!r}: no such scenario") from None
    base = tomllib.loads(base_text)
    if sweep.grid:
        keys = list(sweep.grid)
        points = [dict(zip(keys, v, strict=True)) for v in itertools.product(*sweep.grid.values())]
    else:
        points = sweep.points
    seeds = [int(s) for s in np.random.SeedSequence(sweep.seed).generate_state(sweep.seeds)]
    digest_of_base = hashlib.sha256(base_text.encode()).hexdigest()
    runs = []
    for i, params in enumerate(points):
        data = json.loads(json.dumps(base))  # a deep copy of plain TOML values
        for key, value in params.items():
            _override(data, key, value)
        where = f"{path}: point {i + 1} ({', '.join(f'{k} = {v!r}' for k, v in params.items())})"
        parse_scenario(data, where)  # every field checked before anything runs
        for replicate, seed in enumerate(seeds):
            data["seed"] = seed
            key = json.dumps([digest_of_base, params, seed], sort_keys=True, default=str)
            run_id = hashlib.sha256(key.encode()).hexdigest()[:12]
            runs.append(
                Run(
                    id=run_id,
                    point=i,
                    replicate=replicate,
                    seed=seed,
                    params=params,
                    scenario=json.loads(json.dumps(data)),
                )
            )
    return sweep, runs


def figures(summary: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric fields of a summary, nested keys dotted (``latency_ms.p99``)."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if name == TIMING:
            continue
        if isinstance(value, Mapping):
            out |= figures(value, f"{name}.")
        elif isinstance(value, int | float):  # bool is an int
            out[name] = float(value)
    return out


def run_one(run: Mapping[str, Any], out_dir: str) -> dict[str, Any]:
    """One run of the sweep, in whatever process Dask gives it: its row."""
    from upisim.scenarios.run import run_scenario

    folder = Path(out_dir) / "runs" / run["id"]
    row: dict[str, Any] = {"run_id": run["id"], "point": run["point"],
                           "replicate": run["replicate"], "seed": run["seed"],
                           **{f"param.{k}": v for k, v in run["params"].items()}}  # fmt: skip
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sweep_run.json").unlink(missing_ok=True)  # not finished until rewritten
        result = run_scenario(parse_scenario(run["scenario"]), folder)
    except Exception as error:  # recorded, and the sweep goes on
        return row | {"ok": False, "error": f"{type(error).__name__}: {error}"}
    row |= {"ok": bool(result.ok), "error": "; ".join(result.summary["problems"])}
    row |= {"wall_seconds": float(result.summary.get(TIMING, {}).get("wall_seconds", math.nan))}
    row |= figures(result.summary)
    (folder / "sweep_run.json").write_text(json.dumps(row, default=str) + "\n")
    return row


def _finished(run: Mapping[str, Any], out_dir: Path) -> dict[str, Any] | None:
    done = out_dir / "runs" / run["id"] / "sweep_run.json"
    if not done.exists():
        return None
    row: dict[str, Any] = json.loads(done.read_text())
    return row if row.get("ok") is not None and row.get("run_id") == run["id"] else None


def sweep(
    path: str | Path,
    out_dir: str | Path,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run a sweep file's runs not yet finished in ``out_dir`` on Dask and return every
    run's row (also written to ``out_dir/sweep.parquet``)."""
    from distributed import as_completed

    from upisim.scenarios.cluster import dask_client

    _, runs = plan(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for run in runs:
        done = _finished(run, out)
        if done is not None and done.get("ok"):
            rows[run["id"]] = done
        else:
            todo.append(run)
    if progress is not None:
        progress(len(rows), len(runs))
    if todo:
        with dask_client(workers, scheduler) as client:
            futures = [client.submit(run_one, dict(run), str(out), pure=False) for run in todo]
            for future in as_completed(futures):
                row = future.result()
                rows[row["run_id"]] = row
                if progress is not None:
                    progress(len(rows), len(runs))
    table = pd.DataFrame([rows[run["id"]] for run in runs])
    table = table.astype({"point": "int64", "replicate": "int64", "seed": "int64", "ok": bool})
    table.to_parquet(out / "sweep.parquet", index=False)
    return table


def add_parser(sub: Any) -> None:
    """The ``upisim sweep`` command's arguments."""
    parser = sub.add_parser(
        "sweep", help="run a sweep file: parameters varied, seeds replicated, on Dask"
    )
    parser.add_argument("sweep_file", help="a sweep file, or a bundled sweep's name")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes on this machine (default: 2)"
    )
    parser.add_argument("--scheduler", help="a Dask scheduler's address, to run on its cluster")
    parser.add_argument("--out", help="the sweep's folder (default: runs/sweep-NAME)")
    parser.set_defaults(func=main)


def bundled_sweeps() -> dict[str, Path]:
    return {p.stem: p for p in sorted((Path(__file__).parent / "sweeps").glob("*.toml"))}


def main(args: Any) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress

    from upisim.reports.sweep import build_sweep_report

    if args.workers < 1:
        raise ScenarioError("sweep: --workers must be at least 1")
    path = Path(args.sweep_file)
    if not path.exists() and args.sweep_file in bundled_sweeps():
        path = bundled_sweeps()[args.sweep_file]
    config, runs = plan(path)  # every point validated before a cluster starts
    out = Path(args.out or f"runs/sweep-{config.name}")
    console = Console()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"sweep {config.name}: {len(runs)} run(s)", total=len(runs))
        table = sweep(path, out, args.workers, args.scheduler,
                      lambda done, total: bar.update(task, completed=done))  # fmt: skip
    html = build_sweep_report(out, config.name, config.figures)
    failed = table[~table.ok.astype(bool)]
    console.print(f"{len(table) - len(failed)} of {len(table)} runs finished with every "
                  f"invariant held")  # fmt: skip
    for row in failed.itertuples():
        console.print(f"[red]run {row.run_id}[/] (seed {row.seed}): {escape(str(row.error))}")
    console.print(f"sweep table: {escape(str(out / 'sweep.parquet'))}")
    console.print(f"report: {escape(str(html))}")
    return 1 if len(failed) else 0
