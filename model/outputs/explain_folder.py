"""The explain folder: what `labor-stocks explain` writes, and when it may replace a folder.

The folder (default `outputs/<name>/explain/`, beside a run of the same scenario) holds
exactly `EXPLAIN_FILES`: `sensitivity.csv` (Sobol indices), `influence.csv` (what each
report does to the projection), `inputs.csv` (each input and the distribution it was drawn
from), `correlations.csv` (the posterior's rank correlations between calibrated parameters),
`explain.json` (settings, versions, timings) and the figure `explain.png` / `explain.svg`.

It is written whole, then renamed into place (`labor_stocks.files.staged_folder`), and it
replaces an existing folder only when all that folder holds is an explain's own files, each
recognised by its content (a table by its header, a figure by its mark, the record by its
keys); anything else is refused before any simulation, and a file with an explain's name
but other content is replaced only with `--force`. A run folder keeps an `explain/` folder
of this kind when `labor-stocks run` replaces it (`run_folder.check_run_folder`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError
from ..files import carries_mark, check_writable_folder, inside, starts_with_line

EXPLAIN_SUBFOLDER = "explain"
"""The explain folder's name inside a scenario's run folder `outputs/<name>/`."""
SENSITIVITY_FILE = "sensitivity.csv"
INFLUENCE_FILE = "influence.csv"
INPUTS_FILE = "inputs.csv"
CORRELATIONS_FILE = "correlations.csv"
RECORD_FILE = "explain.json"
FIGURE_FILE = "explain.png"
VECTOR_FILE = "explain.svg"
EXPLAIN_FILES: tuple[str, ...] = (SENSITIVITY_FILE, INFLUENCE_FILE, INPUTS_FILE, CORRELATIONS_FILE, RECORD_FILE,
                                  FIGURE_FILE, VECTOR_FILE)

SENSITIVITY_COLUMNS: tuple[str, ...] = ("place", "date", "input", "S1", "S1_low", "S1_high", "ST", "ST_low",
                                        "ST_high", "rank", "stock_p05", "stock_median", "stock_p95")
INFLUENCE_COLUMNS: tuple[str, ...] = ("place", "date", "report", "rank", "influence", "median_shift", "p05_shift",
                                      "p95_shift", "median", "p05", "p95", "median_without", "p05_without",
                                      "p95_without", "ess", "ess_share", "reliable")
INPUTS_COLUMNS: tuple[str, ...] = ("input", "kind", "drawn_from", "unit", "p05", "median", "p95",
                                   "most_correlated_with", "rank_correlation")
CORRELATIONS_FIRST = "parameter"
"""The first column of correlations.csv; the others are the calibrated parameters."""
_RECORD_BYTES = 5_000_000


def _is_record(path: Path) -> bool:
    try:
        if path.stat().st_size > _RECORD_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("command") == "labor-stocks explain"


def _starts_with_field(path: Path, field: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(field) + 2).removeprefix(b"\xef\xbb\xbf")
    except OSError:
        return False
    return head.split(b",", 1)[0].split(b"\n", 1)[0].rstrip(b"\r") == field.encode("utf-8")


RECOGNISED = {
    SENSITIVITY_FILE: lambda path: starts_with_line(path, ",".join(SENSITIVITY_COLUMNS)),
    INFLUENCE_FILE: lambda path: starts_with_line(path, ",".join(INFLUENCE_COLUMNS)),
    INPUTS_FILE: lambda path: starts_with_line(path, ",".join(INPUTS_COLUMNS)),
    CORRELATIONS_FILE: lambda path: _starts_with_field(path, CORRELATIONS_FIRST),
    RECORD_FILE: _is_record,
    FIGURE_FILE: lambda path: carries_mark(path, "explain"),
    VECTOR_FILE: lambda path: carries_mark(path, "explain"),
}
"""How each file of an explain folder is recognised as an explain's by its content."""


def _entries(target: Path, option: str) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(target), key=lambda entry: entry.name)
    except OSError as error:
        raise InputError(f"{option}: cannot read the folder {target} ({error.strerror or error})") from None


def is_explain_folder(path: Path) -> bool:
    """Whether `path` is a folder holding nothing but an explain's own files (recognised by content)."""
    if path.is_symlink() or not path.is_dir():
        return False
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    return all(entry.name in RECOGNISED and entry.is_file(follow_symlinks=False)
               and RECOGNISED[entry.name](Path(entry.path)) for entry in entries)


def check_explain_folder(target: Path, option: str = "--out", force: bool = False) -> None:
    """Fail early, before any simulation, when explain may not write (or replace) the folder `target`.

    Refused: the current folder or one holding it, a symbolic link, a file, an unwritable
    place, a folder holding anything explain does not write (named in the message), and,
    without `force`, a file with an explain's name that is not recognisably an explain's.
    """
    if inside(Path.cwd(), target):
        raise InputError(f"{option}: {target} is the current folder or holds it; explain replaces its whole folder: "
                         f"name a folder of its own, e.g. outputs/NAME/explain")
    if target.is_symlink():
        raise InputError(f"{option}: {target} is a symbolic link; give the folder itself")
    if target.exists() and not target.is_dir():
        raise InputError(f"{option}: {target} is a file, not a folder")
    check_writable_folder(target, option)
    if not target.is_dir():
        return
    entries = _entries(target, option)
    foreign = [entry for entry in entries
               if entry.name not in EXPLAIN_FILES or not entry.is_file(follow_symlinks=False)]
    if foreign:
        names = ", ".join(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else "") for entry in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise InputError(f"{option}: {target} is not an explain folder ({names}{more} in the way); explain replaces "
                         f"its whole folder: choose another folder, or move {'it' if len(foreign) == 1 else 'them'} "
                         f"away")
    if force:
        return
    for entry in entries:
        path = Path(entry.path)
        if not RECOGNISED[entry.name](path):
            raise InputError(f"{option}: {path} was not written by labor-stocks explain; give --force to replace it, "
                             f"or choose another folder")
