"""Result folders written all at once: a run's files appear together or not at all.

The files are written into a temporary folder beside the target (same parent, so the final
rename is atomic on one file system). Only when every file is written is the earlier result,
if any, moved aside, the new folder renamed into place and the old one deleted. An error or
an interruption before that removes the temporary folder and leaves the earlier result as it
was; `outputs/<name>/` is never half written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError

PARTIAL_SUFFIX = ".partial"
"""Suffix of the temporary folder of a run in progress (`.<name>.<random>.partial`)."""


def check_target(target: Path, option: str = "--out") -> None:
    """Fail early, before any simulation, when `target` can never receive a result folder."""
    if target.exists() and not target.is_dir():
        raise InputError(f"{option}: {target} is a file, not a folder")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option}: cannot write in {parent}")


@contextmanager
def staged_folder(target: Path, option: str = "--out") -> Iterator[Path]:
    """A temporary folder to write into; renamed to `target` when the block ends without error."""
    target = Path(target)
    check_target(target, option)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent))
    except OSError as error:
        raise InputError(f"{option}: cannot create a folder in {target.parent} ({error.strerror or error})") from None
    try:
        yield staging
        os.chmod(staging, 0o755)
        publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish(staging: Path, target: Path) -> None:
    """Replace `target` by `staging`: old result aside, new one into place, old one deleted."""
    backup = None
    if target.exists():
        backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.rmdir(backup)
        os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        if backup is not None:
            os.rename(backup, target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
