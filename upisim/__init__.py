"""upisim: a deterministic, actor-based simulator of India's UPI payment system.

The public API, for scripts and notebooks::

    import upisim

    scenario = upisim.load_scenario("scenarios/population.toml")
    result = upisim.run_scenario(scenario, "runs/population")
    run = upisim.load_run(result.out_dir)
    run.transactions.groupby("reason_code").size()

The packages themselves keep the design card's layout at the top of the
repository (``actors/``, ``scenarios/``, ``reports/``) and install as
``upisim.actors``, ``upisim.scenarios`` and ``upisim.reports``, so a user's own
``reports.py`` or ``scenarios/`` folder next to a notebook never shadows them.
Names load on first use: ``import upisim`` alone does not pull in pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from upisim.reports import (
        Run,
        RunFolderError,
        build_report,
        card_statement,
        compare_runs,
        load_run,
        statement,
    )
    from upisim.scenarios.config import Scenario, load_scenario, parse_scenario
    from upisim.scenarios.run import RunResult, run_scenario

__version__ = "0.1.0"

#: public name -> the module that defines it
_WHERE = {
    "Run": "upisim.reports",
    "RunFolderError": "upisim.reports",
    "build_report": "upisim.reports",
    "card_statement": "upisim.reports",
    "compare_runs": "upisim.reports",
    "load_run": "upisim.reports",
    "statement": "upisim.reports",
    "Scenario": "upisim.scenarios.config",
    "load_scenario": "upisim.scenarios.config",
    "parse_scenario": "upisim.scenarios.config",
    "RunResult": "upisim.scenarios.run",
    "run_scenario": "upisim.scenarios.run",
}

__all__ = [
    "Run",
    "RunFolderError",
    "RunResult",
    "Scenario",
    "build_report",
    "card_statement",
    "compare_runs",
    "load_run",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "statement",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'upisim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
