"""The public API is the ``upisim`` package, and nothing in a user's folder shadows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import upisim


def test_every_public_name_loads():
    assert sorted(upisim.__all__) == sorted(upisim._WHERE)
    for name in upisim.__all__:
        assert getattr(upisim, name) is not None, name


def test_a_users_own_reports_and_scenarios_do_not_shadow_upisim(tmp_path: Path, quickstart_run):
    (tmp_path / "reports.py").write_text('raise SystemExit("the user\'s reports.py was imported")')
    (tmp_path / "actors.py").write_text('raise SystemExit("the user\'s actors.py was imported")')
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "__init__.py").write_text('raise SystemExit("user scenarios/")')
    code = (
        "import sys, upisim; "
        f"run = upisim.load_run({str(quickstart_run)!r}); "
        "print(len(run.transactions))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert int(done.stdout) == 10  # the quickstart's ten payments


def test_import_upisim_alone_does_not_load_pandas():
    code = "import sys, upisim, upisim.actors; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
