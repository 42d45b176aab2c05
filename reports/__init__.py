"""Reports on a finished run: load its tables, build the HTML report, compare two runs.

Reads run folders only (docs/run-folder.md); never imports actors, scenarios or SimPy.
"""

from upisim.reports.compare import compare_runs
from upisim.reports.report import build_report
from upisim.reports.run import Run, RunFolderError, load_run
from upisim.reports.statement import card_statement, statement

__all__ = [
    "Run",
    "RunFolderError",
    "build_report",
    "card_statement",
    "compare_runs",
    "load_run",
    "statement",
]
