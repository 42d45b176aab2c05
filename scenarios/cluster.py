"""Where many runs go: Dask distributed, a ``LocalCluster`` of worker processes on this
machine by default, or a running scheduler's cluster (``--scheduler ADDRESS``). One
task is one whole run; a run never spans processes (DESIGN.md, Many runs)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask ``Client``: to ``scheduler``, or to a new local cluster of ``workers``
    single-threaded processes (removed again, with its scratch folder, afterwards)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    space = tempfile.mkdtemp(prefix="upisim-dask-")
    try:
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: campaigns may run side by side
                local_directory=space,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    finally:
        shutil.rmtree(space, ignore_errors=True)
