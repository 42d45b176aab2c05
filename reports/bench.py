"""How long a report of an n-row run takes to build, and how much memory it needs.

python -m reports.bench [N_ROWS]
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

from upisim.reports.report import build_report
from upisim.reports.synthetic import write_synthetic_run


def bench_report(n_rows: int, seed: int = 0) -> dict[str, float | int]:
    """Build the report of a synthetic run of `n_rows` payments (written to a temp dir).

    Writing the run and building the report each happen in a fresh process: a
    child starts with its parent's peak RSS (`ru_maxrss` survives fork and exec),
    so the run is written elsewhere to keep it out of the report's figure.
    """
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="upisim-bench-") as tmp:
        run_dir = str(Path(tmp) / "run")
        with context.Pool(1) as pool:
            pool.apply(write_synthetic_run, (run_dir, n_rows, seed))
        with context.Pool(1) as pool:
            seconds, peak_kb = pool.apply(_timed_build, (run_dir,))
    return {
        "report_rows": n_rows,
        "report_seconds": round(seconds, 3),
        "report_peak_rss_mb": round(peak_kb / 1024, 1),
    }


def _timed_build(run_dir: str) -> tuple[float, int]:
    start = time.perf_counter()
    build_report(run_dir)
    seconds = time.perf_counter() - start
    # ru_maxrss is in kilobytes on Linux.
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(bench_report(rows)))
