"""No command loses a user's file: it replaces only what it wrote, never an input, and a refusal touches nothing.

- `run` replaces its folder only when all it holds is a run's files (by name and content);
  anything else in the way is one line and exit 2, before any simulation;
- `compare` and `fit` overwrite only their own tables and figures (a table by its header, a
  figure by its mark or beside such a table), never an input, without `--force`; `calibrate`
  checks its five files in `--out` the same way, before any simulation;
- `reports add` needs `--create` for a new ledger, refuses a read-only one, writes through a link;
- a killed run's temporary folder is cleaned by the next run into the same place;
- mistakes in the comparison's inputs are one line, no traceback; no warning leaks.
The property test at the end tries random trees of existing files at and around `--out`.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from labor_stocks.cli import main
from labor_stocks.files import STALE_SECONDS, clean_stale, write_file
from labor_stocks.outputs.run_folder import RUN_FILES

from .test_interruptions import SLOW_PLOT, start, wait_for_line
from .test_scenario import write

ROOT = Path(__file__).resolve().parent.parent
SMALL = 'name = "small"\nreplicates = 1\nend = 2017-03-31\noutput_freq = "month"\n[parameters]\ninitial_stock = 800\n'
ONE_DAY = ('name = "oneday"\nstart = 2018-01-01\nend = 2018-01-01\nreplicates = 2\noutput_freq = "day"\n'
           '[parameters]\ninitial_stock = 800\n')
LEDGER = ("id,source,published,period_start,period_end,place,kind,value,low,high,unit,confidence,quote,notes\n"
          "liaoning-2017,000_d47c0a86e59b55df.txt,2017-05-01,2017-03-31,2017-03-31,Liaoning,stock,20000,,,workers,"
          "low,\"about 20,000 workers\",\n")
RUN = ["--replicates", "1", "--jobs", "1", "--posterior", "none", "--quiet"]
FIT = ["--draws", "1", "--jobs", "1", "--posterior", "none", "--quiet"]


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def process(args: list[str], cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m labor_stocks ARGS` in a real process."""
    return subprocess.run([sys.executable, "-m", "labor_stocks", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def one_line(code: int, err: str) -> bool:
    return code == 2 and err.count("\n") == 1 and err.startswith("labor-stocks: error: ") and "Traceback" not in err


def snapshot(folder: Path) -> dict[str, object]:
    """Every path under `folder` with its bytes (a file), its target (a link) or its mode (a folder)."""
    tree: dict[str, object] = {}
    for top, folders, files in os.walk(folder):  # links are not followed
        for name in [*folders, *files]:
            path = Path(top) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                tree[key] = ("link", os.readlink(path))
            elif path.is_dir():
                tree[key] = ("dir", stat.S_IMODE(path.lstat().st_mode))
            else:
                tree[key] = (path.read_bytes(), stat.S_IMODE(path.lstat().st_mode))
    return dict(sorted(tree.items()))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real outputs, made once: a run folder, a comparison (PNG, SVG, CSV) and a fit (CSV, PNG)."""
    folder = tmp_path_factory.mktemp("made")
    scenario = write(folder, "small.toml", SMALL)
    ledger = write(folder, "reports.csv", LEDGER)
    assert main(["run", str(scenario), "--out", str(folder / "run"), *RUN]) == 0
    assert main(["compare", str(folder / "run"), "--out", str(folder / "comparison.png"), "--reports",
                 str(ledger), "--quiet"]) == 0
    assert main(["fit", "--reports", str(ledger), "--out", str(folder / "fit.csv"), *FIT]) == 0
    return {"folder": folder, "scenario": scenario, "ledger": ledger, "run": folder / "run",
            "comparison.png": folder / "comparison.png", "comparison.svg": folder / "comparison.svg",
            "comparison.csv": folder / "comparison.csv", "fit.csv": folder / "fit.csv", "fit.png": folder / "fit.png",
            "outlets.csv": folder / "outlets.csv",
            **{name: folder / "run" / name for name in RUN_FILES}}


# --- run -------------------------------------------------------------------------------------

def test_run_into_a_folder_that_is_not_a_run_folder_is_refused_before_simulating(tmp_path: Path) -> None:
    scenario = write(tmp_path, "small.toml", SMALL)
    out = tmp_path / "x"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.txt").write_text("thesis")
    before = snapshot(tmp_path)
    done = process(["run", str(scenario), "--out", str(out), "--jobs", "1", "--posterior", "none"])
    assert one_line(done.returncode, done.stderr), done.stderr
    assert f"{out} is not a run folder (sub/, thesis.txt in the way)" in done.stderr
    assert snapshot(tmp_path) == before


def test_a_users_file_in_a_run_folder_is_never_deleted_by_run_or_compare(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = write(tmp_path, "small.toml", SMALL)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "outputs" / "small"
    assert cli(["run", str(scenario), *RUN], capsys)[0] == 0
    (out / "notes.txt").write_text("my notes on this run")
    before = snapshot(tmp_path)
    code, _, err = cli(["run", str(scenario), *RUN], capsys)
    assert one_line(code, err) and "notes.txt in the way" in err, err
    code, _, err = cli(["compare", str(scenario), *RUN], capsys)
    assert one_line(code, err) and f"{scenario}: outputs/small is not a run folder (notes.txt in the way)" in err, err
    code, _, err = cli(["run", str(scenario), *RUN, "--force"], capsys)
    assert one_line(code, err) and "notes.txt in the way" in err, "--force never deletes another file"
    assert snapshot(tmp_path) == before


def test_a_file_with_a_runs_name_but_other_content_is_replaced_only_with_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write(tmp_path, "small.toml", SMALL)
    out = tmp_path / "result"
    out.mkdir()
    (out / "projection.csv").write_text("my own table\n")
    before = snapshot(tmp_path)
    code, _, err = cli(["run", str(scenario), "--out", str(out), *RUN], capsys)
    assert one_line(code, err) and f"{out}/projection.csv was not written by labor-stocks run; give --force" in err
    assert snapshot(tmp_path) == before
    assert cli(["run", str(scenario), "--out", str(out), *RUN, "--force"], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)


def fake_explain(folder: Path) -> Path:
    """An explain folder as `labor-stocks explain` leaves one, as far as its content marks go: tables by their
    headers, the record by its command, the figures by their mark."""
    from labor_stocks.outputs.explain_folder import INFLUENCE_COLUMNS, INPUTS_COLUMNS, SENSITIVITY_COLUMNS

    folder.mkdir()
    for name, columns in (("sensitivity.csv", SENSITIVITY_COLUMNS), ("influence.csv", INFLUENCE_COLUMNS),
                          ("inputs.csv", INPUTS_COLUMNS), ("correlations.csv", ("parameter", "initial_stock"))):
        (folder / name).write_text(",".join(columns) + "\n")
    (folder / "explain.json").write_text('{"command": "labor-stocks explain"}\n')
    (folder / "explain.png").write_bytes(b"\x89PNG\r\n\x1a\n tEXtSource labor-stocks explain")
    (folder / "explain.svg").write_text("<svg><!-- labor-stocks explain --></svg>")
    return folder


def test_a_run_keeps_an_explain_folder_inside_its_own(made: dict[str, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result"
    shutil.copytree(made["run"], out)
    explain = fake_explain(out / "explain")
    kept = snapshot(explain)
    code, _, err = cli(["run", str(made["scenario"]), "--out", str(out), *RUN, "--seed", "5"], capsys)
    assert code == 0, err
    assert snapshot(out / "explain") == kept
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, "explain"])
    assert '"seed": 5' in (out / "run.json").read_text(), "the run folder itself was replaced"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary or old folder left"


@pytest.mark.parametrize("damage, named", [
    ("notes.txt", "explain/notes.txt"),
    ("sub/", "explain/sub/"),
    ("sensitivity.csv", "explain/sensitivity.csv"),
    ("explain.png", "explain/explain.png"),
])
def test_an_explain_folder_holding_anything_else_makes_run_refuse_even_with_force(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, named: str) -> None:
    out = tmp_path / "result"
    shutil.copytree(made["run"], out)
    explain = fake_explain(out / "explain")
    if damage.endswith("/"):
        (explain / damage).mkdir()
    else:
        (explain / damage).write_bytes(b"a user's own " + damage.encode())
    before = snapshot(tmp_path)
    for force in ([], ["--force"]):
        code, _, err = cli(["run", str(made["scenario"]), "--out", str(out), *RUN, *force], capsys)
        assert one_line(code, err), err
        assert f"{out} is not a run folder ({named} in the way)" in err
        assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out", [".", "..", "{here}"])
def test_run_out_the_current_folder_fails_at_once(tmp_path: Path, out: str) -> None:
    scenario = write(tmp_path, "long.toml", 'name = "long"\nreplicates = 50\n')
    before = snapshot(tmp_path)
    began = time.perf_counter()
    done = process(["run", str(scenario), "--out", out.format(here=tmp_path), "--posterior", "none"], cwd=tmp_path)
    assert one_line(done.returncode, done.stderr), done.stderr
    assert "is the current folder or holds it" in done.stderr
    assert time.perf_counter() - began < 30, "refused before the run, not after it"
    assert snapshot(tmp_path) == before


def test_run_refuses_a_symbolic_link_as_its_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write(tmp_path, "small.toml", SMALL)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    code, _, err = cli(["run", str(scenario), "--out", str(tmp_path / "link"), *RUN], capsys)
    assert one_line(code, err) and "is a symbolic link" in err


# --- compare ---------------------------------------------------------------------------------

def test_compare_never_overwrites_an_input_or_a_file_it_did_not_make(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(made["run"], run)
    (tmp_path / "mine.csv").write_text("my numbers\n")
    before = snapshot(tmp_path)
    code, _, err = cli(["compare", str(run), "--out", str(run / "projection.png"), "--quiet"], capsys)
    assert one_line(code, err) and "inside the run folder" in err, err
    (tmp_path / "input.csv").symlink_to(run / "projection.csv")
    before = snapshot(tmp_path)
    for force in ([], ["--force"]):
        code, _, err = cli(["compare", str(run), "--out", str(tmp_path / "input.png"), "--quiet", *force], capsys)
        assert one_line(code, err) and "is one of this command's inputs" in err, err
    code, _, err = cli(["compare", str(run), "--out", str(tmp_path / "mine.png"), "--quiet"], capsys)
    assert one_line(code, err) and "mine.csv exists and was not written by labor-stocks compare; give --force" in err
    assert snapshot(tmp_path) == before
    assert cli(["compare", str(run), "--out", str(tmp_path / "mine.png"), "--quiet", "--force"], capsys)[0] == 0
    assert (tmp_path / "mine.csv").read_text().startswith("scenario,run,quantity,")
    assert cli(["compare", str(run), "--out", str(tmp_path / "mine.png"), "--quiet"], capsys)[0] == 0, \
        "its own files it replaces"


def test_compare_replaces_a_figure_of_an_earlier_version_beside_its_table(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A PNG without the mark is replaced when the comparison table beside it is there; a lone one is not."""
    shutil.copy(made["fit.png"], tmp_path / "comparison.png")  # a PNG that carries no compare mark
    out = ["compare", str(made["run"]), "--out", str(tmp_path / "comparison.png"), "--quiet"]
    code, _, err = cli(out, capsys)
    assert one_line(code, err) and "comparison.png exists and was not written by labor-stocks compare" in err
    shutil.copy(made["comparison.csv"], tmp_path / "comparison.csv")
    assert cli(out, capsys)[0] == 0


@pytest.mark.parametrize("damage", ["itself", "lost row", "truncated replicates"])
def test_a_comparison_that_cannot_be_made_is_one_line_before_anything_is_written(
        made: dict[str, Path], tmp_path: Path, damage: str) -> None:
    run, other = tmp_path / "run", tmp_path / "other"
    shutil.copytree(made["run"], run)
    shutil.copytree(made["run"], other)
    args = [str(run), str(run)]
    if damage == "lost row":
        lines = (other / "projection.csv").read_text().splitlines(keepends=True)
        (other / "projection.csv").write_text("".join(lines[:3] + lines[4:]))
        args = [str(run), str(other)]
    elif damage == "truncated replicates":
        data = (other / "replicates.npz").read_bytes()
        (other / "replicates.npz").write_bytes(data[: len(data) // 2])
        args = [str(run), str(other), "--relative-to", str(run)]
    before = snapshot(tmp_path)
    done = process(["compare", *args, "--out", str(tmp_path / "comparison.png"), "--quiet"])
    assert one_line(done.returncode, done.stderr), done.stderr
    expected = {"itself": "given twice", "lost row": "no row for stock in Liaoning on",
                "truncated replicates": "replicates.npz: cannot be read"}[damage]
    assert expected in done.stderr
    assert snapshot(tmp_path) == before


# --- fit -------------------------------------------------------------------------------------

@pytest.mark.parametrize("out, expected", [
    ("{tmp}/fit.png", "give a .csv file name"),
    ("{tmp}", "is a folder; give the table's file name"),
    ("{ledger}", "is one of this command's inputs"),
    ("{tmp}/nowhere/fit.csv", "no such folder"),
])
def test_fit_out_is_checked_before_the_simulations(made: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str], out: str,
                                                   expected: str) -> None:
    ledger = tmp_path / "reports.csv"
    shutil.copy(made["ledger"], ledger)
    before = snapshot(tmp_path)
    began = time.perf_counter()
    code, _, err = cli(["fit", "--reports", str(ledger), "--out", out.format(tmp=tmp_path, ledger=ledger),
                        "--force", *FIT], capsys)
    assert one_line(code, err) and expected in err, err
    assert time.perf_counter() - began < 1, "no simulation ran"
    assert snapshot(tmp_path) == before


def test_fit_replaces_its_own_table_and_figure_but_nothing_else(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fit = ["fit", "--reports", str(made["ledger"]), "--out", str(tmp_path / "fit.csv"), *FIT]
    shutil.copy(made["projection.csv"], tmp_path / "fit.csv")
    before = snapshot(tmp_path)
    code, _, err = cli(fit, capsys)
    assert one_line(code, err) and "fit.csv exists and was not written by labor-stocks fit" in err
    assert snapshot(tmp_path) == before
    shutil.copy(made["fit.csv"], tmp_path / "fit.csv")
    (tmp_path / "fit.png").write_bytes(b"a photograph")
    code, _, err = cli(fit, capsys)
    assert one_line(code, err) and "fit.png exists and was not written by labor-stocks fit" in err
    (tmp_path / "fit.png").unlink()
    code, out, err = cli(fit, capsys)
    assert code == 0, err
    assert f"written to {tmp_path / 'fit.csv'} and {tmp_path / 'fit.png'}" in out
    assert cli(fit, capsys)[0] == 0, "its own files it replaces"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.csv", "fit.png", "outlets.csv"]


# --- calibrate -------------------------------------------------------------------------------

CALIBRATE = ["--priors", str(ROOT / "calibration" / "priors.toml"), "--population", "4", "--generations", "1",
             "--jobs", "1", "--scale", "50", "--draws", "1", "--quiet"]
CALIBRATION_FILES = ("posterior.csv", "fit.csv", "fit.png", "identifiability.csv", "outlets.csv")


@pytest.mark.parametrize("name", CALIBRATION_FILES)
def test_calibrate_refuses_a_file_it_did_not_write_before_any_simulation(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    (tmp_path / name).write_bytes(b"a user's own file")
    before = snapshot(tmp_path)
    code, _, err = cli(["calibrate", "--reports", str(made["ledger"]), "--out", str(tmp_path), *CALIBRATE], capsys)
    assert one_line(code, err), err
    assert f"{tmp_path / name} exists and was not written by labor-stocks calibrate; give --force" in err
    assert snapshot(tmp_path) == before, "no database: no simulation started"


@pytest.mark.parametrize("input_, name", [("ledger", "fit.csv"), ("ledger", "outlets.csv"), ("priors", "posterior.csv"),
                                          ("priors", "identifiability.csv")])
def test_calibrate_never_replaces_its_inputs_even_with_force(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], input_: str, name: str) -> None:
    shutil.copy(made["ledger"] if input_ == "ledger" else ROOT / "calibration" / "priors.toml", tmp_path / name)
    reports = tmp_path / name if input_ == "ledger" else made["ledger"]
    args = ["calibrate", "--reports", str(reports), "--out", str(tmp_path), *CALIBRATE, "--force"]
    if input_ == "priors":
        args += ["--priors", str(tmp_path / name)]  # the last --priors counts
    before = snapshot(tmp_path)
    code, _, err = cli(args, capsys)
    assert one_line(code, err) and f"{tmp_path / name} is one of this command's inputs" in err, err
    assert snapshot(tmp_path) == before


def test_calibrate_replaces_its_own_files_and_others_only_with_force(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calibrate = ["calibrate", "--reports", str(made["ledger"]), "--out", str(tmp_path), *CALIBRATE]
    for name in ("fit.csv", "fit.png", "outlets.csv"):
        shutil.copy(made[name], tmp_path / name)  # fit's files are the calibration's too
    for name in ("posterior.csv", "identifiability.csv"):
        shutil.copy(ROOT / "calibration" / name, tmp_path / name)
    before = snapshot(tmp_path)
    code, _, err = cli(calibrate, capsys)
    assert code == 0, err
    after = snapshot(tmp_path)
    assert all(after[name] != before[name] for name in ("posterior.csv", "identifiability.csv", "fit.csv")), \
        "its own files replaced"
    assert sorted(after) == sorted([*CALIBRATION_FILES, "calibration.db"])
    (tmp_path / "fit.png").write_bytes(b"a photograph")
    code, _, err = cli(calibrate, capsys)
    assert one_line(code, err) and "fit.png exists and was not written by labor-stocks calibrate" in err, err
    assert (tmp_path / "fit.png").read_bytes() == b"a photograph"
    assert cli([*calibrate, "--force"], capsys)[0] == 0
    assert (tmp_path / "fit.png").read_bytes().startswith(b"\x89PNG")


# --- reports add -----------------------------------------------------------------------------

ADD = ["reports", "add", "--id", "jilin-2017", "--source", "003.txt", "--published", "2017-09-01",
       "--period-start", "2017-08-01", "--period-end", "2017-08-01", "--place", "Jilin", "--kind", "stock",
       "--value", "9000", "--unit", "workers", "--confidence", "low", "--quote", "about 9,000"]


def test_reports_add_needs_create_for_a_new_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "reprots.csv"
    code, _, err = cli([*ADD, "--file", str(typo)], capsys)
    assert one_line(code, err) and "no such ledger; give --create" in err
    assert not typo.exists()
    assert cli([*ADD, "--file", str(typo), "--create"], capsys)[0] == 0
    assert typo.read_text().startswith("id,source,")


def test_reports_add_refuses_a_read_only_ledger(made: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "reports.csv"
    shutil.copy(made["ledger"], ledger)
    ledger.chmod(0o444)
    before = snapshot(tmp_path)
    code, _, err = cli([*ADD, "--file", str(ledger)], capsys)
    assert one_line(code, err) and "the ledger is read-only" in err, err
    assert snapshot(tmp_path) == before


def test_reports_add_writes_the_ledger_a_link_points_to(made: dict[str, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shared").mkdir()
    ledger = tmp_path / "shared" / "reports.csv"
    shutil.copy(made["ledger"], ledger)
    link = tmp_path / "reports.csv"
    link.symlink_to(ledger)
    assert cli([*ADD, "--file", str(link)], capsys)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(ledger)
    assert "jilin-2017" in ledger.read_text()
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["reports.csv"]


# --- temporaries, messages, warnings ---------------------------------------------------------

def test_a_killed_runs_temporary_folder_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    scenario = write(tmp_path, "small.toml", SMALL)
    out = tmp_path / "outputs" / "small"
    killed = start(["run", str(scenario), "--out", str(out), *RUN], tmp_path, code=SLOW_PLOT)
    wait_for_line(killed, "writing the plot")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=30)
    left = [p for p in out.parent.iterdir() if p.name.endswith(".partial")]
    assert len(left) == 1 and left[0].name.startswith(f".small.{killed.pid}-"), "kill -9 leaves its temporary"
    recent = out.parent / f".small.{killed.pid}-abcdefgh.partial"
    recent.mkdir()  # a dead process's, but too young to be sure: another machine may be writing it
    alive = out.parent / f".small.{os.getpid()}-abcdefgh.partial"
    alive.mkdir()  # a live process's
    old = time.time() - STALE_SECONDS - 60
    for path in (left[0], alive):
        os.utime(path, (old, old))
    done = process(["run", str(scenario), "--out", str(out), *RUN], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([recent.name, alive.name, "small"])


def test_a_written_file_leaves_no_temporary_and_cleans_stale_ones(tmp_path: Path) -> None:
    stale = tmp_path / ".table.csv.tmp"  # the fixed temporary name of earlier versions
    stale.write_text("half")
    os.utime(stale, (time.time() - 3600,) * 2)
    other = tmp_path / ".notes.txt.tmp"
    other.write_text("not a temporary of table.csv")
    os.utime(other, (time.time() - 3600,) * 2)
    write_file(tmp_path / "table.csv", "a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.txt.tmp", "table.csv"]
    assert clean_stale(tmp_path / "table.csv") == []


def test_an_argument_error_names_the_program_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["compare", "outputs/x", "--at", "soon"], capsys)
    assert one_line(code, err)
    assert err == "labor-stocks: error: compare: argument --at: not a date (YYYY-MM-DD): 'soon'\n"
    code, _, err = cli(["nonsense"], capsys)
    assert one_line(code, err) and err.startswith("labor-stocks: error: argument command: invalid choice")


def test_no_warning_reaches_the_terminal(tmp_path: Path) -> None:
    """A one-day run once printed matplotlib's UserWarnings (AutoDateLocator, singular limits)."""
    scenario = write(tmp_path, "oneday.toml", ONE_DAY)
    for args in (["run", str(scenario), "--out", str(tmp_path / "a"), "--jobs", "1", "--posterior", "none"],
                 ["run", str(scenario), "--out", str(tmp_path / "b"), "--jobs", "1", "--posterior", "none",
                  "--seed", "4"],
                 ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c.png")]):
        done = process(args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        said = done.stderr.replace(str(tmp_path), "TMP")
        assert "warn" not in said.lower(), said


# --- the property: any tree of existing files is safe ----------------------------------------

NAMES = ("notes.txt", "comparison.png", "comparison.svg", "comparison.csv", "fit.csv", "fit.png", "outlets.csv",
         *RUN_FILES)
KINDS = ("ours", "ours", "ours", "junk", "swap", "link")


@st.composite
def contents(draw: st.DrawFn) -> tuple[str, bytes]:
    """A file's content: the real output of that name ("ours"), junk, another output's ("swap"), or a link
    to an input of the commands."""
    return draw(st.sampled_from(KINDS)), draw(st.binary(max_size=20))


@st.composite
def trees(draw: st.DrawFn, focus: tuple[str, ...], folder: bool) -> dict[str, object]:
    """Files and folders at and around the paths a command writes (`focus`), as {relative path: entry};
    an entry is "dir" or a file's content. A focused path is often taken: mostly by a folder of files when
    the command writes a `folder`, else mostly by a file."""
    tree: dict[str, object] = {}
    for path in focus:
        parent = str(Path(path).parent)
        if parent != "." and draw(st.integers(0, 5)) == 0:
            tree[parent] = draw(contents())  # a file where a folder is needed
            continue
        taken = draw(st.sampled_from(["absent", "absent", "file", "dir", "dir", "dir", "dir"] if folder else
                                     ["absent", "absent", "absent", "file", "file", "file", "dir"]))
        if taken == "file":
            tree[path] = draw(contents())
        elif taken == "dir":
            tree[path] = "dir"
            for name in draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True)):
                tree[f"{path}/{name}"] = draw(contents())
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True)):
        tree.setdefault(name, draw(contents()))
    return tree


def build(root: Path, tree: dict[str, object], made: dict[str, Path]) -> set[str]:
    """Make `tree` under `root` (an entry under a file is left out); the paths of the files that are really
    the commands' own."""
    ours: set[str] = set()
    for key, value in sorted(tree.items()):
        path = root / key
        if not all(parent.is_dir() or not parent.exists() for parent in path.parents) or os.path.lexists(path):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if value == "dir":
            path.mkdir()
            continue
        kind, junk = value
        if kind == "ours" and path.name in made:
            shutil.copy(made[path.name], path)
            ours.add(key)
        elif kind == "swap":
            shutil.copy(made["projection.csv" if path.name != "projection.csv" else "comparison.csv"], path)
        elif kind == "link":
            path.symlink_to(made["projection.csv"] if path.suffix else made["run"])
        else:
            path.write_bytes(b"user's own " + junk)
    return ours


def check_safe(root: Path, before: dict[str, object], ours: set[str], code: int, err: str,
               written: list[str], force: bool) -> None:
    """Refused: one line and the tree as it was. Done: only the outputs changed, and only files that were the
    command's own (or, with --force, files of an output's name) were replaced."""
    after = snapshot(root)
    assert "Traceback" not in err
    event("refused" if code else "done")
    if code != 0:
        assert one_line(code, err), err
        assert after == before
        return
    changed = {key for key in before if before[key] != after.get(key)} | set(after) - set(before)
    made_parents = {str(parent) for out in written for parent in Path(out).parents if str(parent) not in before}
    outside = {key for key in changed - made_parents
               if not any(key == out or key.startswith(out + "/") for out in written)}
    assert not outside, f"touched {sorted(outside)}"
    replaced = {key for key in before if key in changed and before[key][0] != "dir"}
    if force:
        assert all(Path(key).name in {*RUN_FILES, *(Path(w).name for w in written)} for key in replaced), replaced
    else:
        assert replaced <= ours, f"replaced files it did not make: {sorted(replaced - ours)}"


FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def cases(draw: st.DrawFn, places: tuple[str, ...], outputs) -> tuple[str, dict[str, object], bool]:
    """Where the command writes, the tree around it, and whether `--force` is given (a third of the time)."""
    where = draw(st.sampled_from(places))
    return where, draw(trees(tuple(outputs(where)), folder=outputs is run_outputs)), draw(st.integers(0, 2)) == 0


def run_outputs(where: str) -> list[str]:
    return [where]


def compare_outputs(where: str) -> list[str]:
    stem = where.removesuffix(".png")
    return [f"{stem}.png", f"{stem}.svg", f"{stem}.csv"]


def fit_outputs(where: str) -> list[str]:
    return [where, where.removesuffix(".csv") + ".png", str(Path(where).with_name("outlets.csv"))]


@pytest.mark.slow
@FEW
@given(case=cases(("result", "sub/result"), run_outputs))
def test_run_on_any_tree_succeeds_touching_only_its_folder_or_refuses_touching_nothing(
        made: dict[str, Path], capsys: pytest.CaptureFixture[str], case) -> None:
    where, tree, force = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ours = build(root, tree, made)
        before = snapshot(root)
        code, _, err = cli(["run", str(made["scenario"]), "--out", str(root / where), *RUN,
                            *(["--force"] if force else [])], capsys)
        check_safe(root, before, ours, code, err, run_outputs(where), force)
        if code == 0:
            assert sorted(p.name for p in (root / where).iterdir()) == sorted(RUN_FILES)


@pytest.mark.slow
@FEW
@given(case=cases(("comparison.png", "sub/comparison.png"), compare_outputs))
def test_compare_on_any_tree_succeeds_touching_only_its_files_or_refuses_touching_nothing(
        made: dict[str, Path], capsys: pytest.CaptureFixture[str], case) -> None:
    where, tree, force = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ours = build(root, tree, made)
        before = snapshot(root)
        code, _, err = cli(["compare", str(made["run"]), "--out", str(root / where), "--reports",
                            str(made["ledger"]), "--quiet", *(["--force"] if force else [])], capsys)
        check_safe(root, before, ours, code, err, compare_outputs(where), force)


@pytest.mark.slow
@FEW
@given(case=cases(("fit.csv", "sub/fit.csv"), fit_outputs))
def test_fit_on_any_tree_succeeds_touching_only_its_files_or_refuses_touching_nothing(
        made: dict[str, Path], capsys: pytest.CaptureFixture[str], case) -> None:
    where, tree, force = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ours = build(root, tree, made)
        before = snapshot(root)
        code, _, err = cli(["fit", "--reports", str(made["ledger"]), "--out", str(root / where), *FIT,
                            *(["--force"] if force else [])], capsys)
        check_safe(root, before, ours, code, err, fit_outputs(where), force)
