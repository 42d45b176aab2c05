"""Where a run's files go: the run folder's name, making it (or saying plainly why not),
and never mixing a run's files with another run's."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from upisim.actors.errors import UpisimError
from upisim.runfolder import TABLES

#: what a run writes besides its tables: replaced when a run is written over an earlier one
RUN_FILES = ("summary.json", "scenario.json", "scenario.toml", "transactions.csv")
RUN_FOLDERS = ("report",)

# Anything but letters, digits, "_", "." and "-" (path separators, "~", spaces, brackets)
_NOT_IN_FOLDER_NAMES = re.compile(r"[^\w.-]+")


def folder_name(name: str) -> str:
    """A scenario's name as one plain folder name: never a path, never hidden, never ``..``."""
    safe = _NOT_IN_FOLDER_NAMES.sub("_", name).strip("._-")
    while len(safe.encode()) > 100:  # room for -seedN-TIME in a file name's 255 bytes
        safe = safe[:-1].rstrip("._-")
    return safe or "scenario"


def default_out_dir(name: str, seed: int) -> Path:
    # The folder name is the only place the wall clock touches a run, and it is not a result.
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{folder_name(name)}-seed{seed}-{stamp}"


@contextlib.contextmanager
def output_folder(path: Path, option: str) -> Iterator[None]:
    """Make the folder ``path`` (given as ``option``) or say plainly why not; if what runs
    inside fails before writing anything there, the folder it made goes again."""
    made = make_folder(path, option)
    try:
        yield
    except BaseException:
        if made and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        raise


def make_folder(path: Path, option: str) -> bool:
    """Make the folder ``path`` or say why not; True if it was not there before."""
    for place in (path, *path.parents):
        if place.exists() or place.is_symlink():
            if not place.is_dir():
                raise UpisimError(f"{option} {path}: {place} is a file, not a folder")
            break
    existed = path.is_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UpisimError(f"{option} {path}: cannot make the folder ({error.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UpisimError(f"{option} {path}: cannot write in this folder (permission denied)")
    return not existed


def _earlier_run(path: Path) -> str | None:
    """The scenario name of the run whose folder ``path`` is, or None."""
    try:
        name = json.loads((path / "scenario.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


@contextlib.contextmanager
def run_folder(path: Path, option: str, scenario: str, force: bool) -> Iterator[None]:
    """:func:`output_folder` for a run of ``scenario``. A non-empty folder is refused unless
    it holds an earlier run of the same scenario, or ``force``; what an earlier run wrote
    there goes first, so no stale table or report survives into this run's folder."""
    if path.is_dir() and any(path.iterdir()):
        earlier = _earlier_run(path)
        if earlier != scenario and not force:
            what = f"a run of {earlier!r}, not {scenario!r}" if earlier else "not a run folder"
            raise UpisimError(
                f"{option} {path}: the folder is not empty and holds {what}; choose another "
                f"folder, or add --force to write this run over it"
            )
        for name in (*(f"{t}.parquet" for t in TABLES), *RUN_FILES):
            (path / name).unlink(missing_ok=True)
        for name in RUN_FOLDERS:
            shutil.rmtree(path / name, ignore_errors=True)
    with output_folder(path, option):
        yield
