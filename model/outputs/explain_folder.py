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

from pathlib import Path

from ..files import OutputFolder, carries_mark, check_output_folder, json_record, starts_with_line

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
    data = json_record(path, _RECORD_BYTES)
    return data is not None and data.get("command") == "labor-stocks explain"


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


EXPLAIN_FOLDER = OutputFolder("explain", "an explain folder", "explain", "outputs/NAME/explain", RECOGNISED)
"""The explain folder as `files.check_output_folder` checks it (and a run folder keeps it, `run_folder.RUN_FOLDER`)."""


def check_explain_folder(target: Path, option: str = "--out", force: bool = False) -> None:
    """Fail early, before any simulation, when explain may not write (or replace) the folder `target`.

    Refused: the current folder or one holding it, a symbolic link, a file, an unwritable
    place, a folder holding anything explain does not write (named in the message), and,
    without `force`, a file with an explain's name that is not recognisably an explain's.
    """
    check_output_folder(EXPLAIN_FOLDER, target, option, force)
