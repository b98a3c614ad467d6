"""Real signals on real processes: Ctrl-C (SIGINT) and `kill` (SIGTERM) never lose work.

- `run` interrupted while it simulates or while it writes exits 130 (SIGINT) or 143
  (SIGTERM) with one line, leaves the earlier result in `--out` byte for byte, and leaves no
  temporary folder and no worker process behind;
- `calibrate` terminated mid-way keeps its finished generations, and `--resume` continues
  from the last of them (the SIGINT case is in test_calibration.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labor_stocks.cli import main

from .conftest import stored_generations
from .test_scenario import write

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
MESSAGES = {signal.SIGINT: "labor-stocks: interrupted; nothing was written\n",
            signal.SIGTERM: "labor-stocks: terminated; nothing was written\n"}

LONG = 'name = "long"\nreplicates = 40\nend = 2030-12-31\n[parameters]\ninitial_stock = 30000\n'
SHORT = 'name = "short"\nreplicates = 1\nend = 2017-03-31\n[parameters]\ninitial_stock = 1000\n'


def earlier_result(folder: Path) -> tuple[Path, dict[str, bytes]]:
    """A finished run in `folder/outputs/result` and its files' bytes."""
    out = folder / "outputs" / "result"
    assert main(["run", str(write(folder, "short.toml", SHORT)), "--out", str(out), "--jobs", "1",
                 "--posterior", "none", "--quiet"]) == 0
    return out, {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def start(args: list[str], cwd: Path, code: str | None = None) -> subprocess.Popen:
    """`labor-stocks ARGS` (or a Python snippet ending in it) in a new session, so that a signal
    can go to its whole process group as a terminal's Ctrl-C does."""
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "labor_stocks", *args]
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def wait_for_line(process: subprocess.Popen, marker: str, timeout: float = 120) -> list[str]:
    """Read stderr until a line contains `marker`; the lines read."""
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    process.kill()
    raise AssertionError(f"never saw {marker!r} on stderr: {''.join(lines)}{process.communicate()[1]}")


def send(process: subprocess.Popen, sig: signal.Signals) -> None:
    """SIGINT to the process group (Ctrl-C in a terminal reaches every process); SIGTERM to the
    main process only (`kill PID`)."""
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)


def live_processes_in_group(group: int, grace: float = 5.0) -> list[str]:
    """Processes of process group `group` still alive (zombies aside) after up to `grace` seconds.

    Linux (/proc). A zombie is a finished process its parent did not reap; in a container whose
    first process does not reap orphans, multiprocessing's resource tracker ends up as one.
    """
    deadline = time.time() + grace
    while True:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")[:80]
                alive.append(f"{stat.parent.name} {command!r}")
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.1)


def assert_nothing_lost(process: subprocess.Popen, sig: signal.Signals, stderr: str, out: Path,
                        before: dict[str, bytes]) -> None:
    assert process.returncode == EXIT_CODES[sig], stderr
    assert "Traceback" not in stderr
    assert stderr.endswith(MESSAGES[sig]), stderr
    assert {p.name: p.read_bytes() for p in sorted(out.iterdir())} == before, "the earlier result is intact"
    assert [p.name for p in out.parent.iterdir()] == ["result"], "no temporary folder is left"
    assert live_processes_in_group(process.pid) == [], "no worker process of the run is left either"


@pytest.mark.parametrize("sig, jobs", [(signal.SIGINT, "1"), (signal.SIGINT, "2"), (signal.SIGTERM, "1"),
                                       (signal.SIGTERM, "2")], ids=["sigint-1-job", "sigint-2-jobs",
                                                                    "sigterm-1-job", "sigterm-2-jobs"])
def test_a_run_interrupted_while_simulating_keeps_the_earlier_result(tmp_path: Path, sig: signal.Signals,
                                                                     jobs: str) -> None:
    out, before = earlier_result(tmp_path)
    scenario = write(tmp_path, "long.toml", LONG)
    process = start(["run", str(scenario), "--out", str(out), "--jobs", jobs, "--posterior", "none"], tmp_path)
    wait_for_line(process, "posterior:")  # printed just before the replicates start
    time.sleep(0.5)  # the worker processes are still starting (importing numpy, mesa): Ctrl-C must not reach them
    assert process.poll() is None, "the run must still be simulating"
    send(process, sig)
    _, stderr = process.communicate(timeout=120)
    assert_nothing_lost(process, sig, stderr, out, before)


SLOW_PLOT = """\
import sys, time
import labor_stocks.outputs.run
from labor_stocks.cli import main

def slow_plot(table, scenario, reported, path, *args, **kwargs):
    open(path, "wb").write(b"half a plot")
    print("writing the plot", file=sys.stderr, flush=True)
    time.sleep(120)

labor_stocks.outputs.run.plot_projection = slow_plot
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_run_interrupted_while_writing_its_files_keeps_the_earlier_result(tmp_path: Path,
                                                                            sig: signal.Signals) -> None:
    """The temporary folder holds half the files when the signal comes: it goes, the old folder stays."""
    out, before = earlier_result(tmp_path)
    scenario = write(tmp_path, "short2.toml", SHORT.replace('"short"', '"short2"'))
    process = start(["run", str(scenario), "--out", str(out), "--jobs", "1", "--seed", "9", "--posterior", "none"],
                    tmp_path, code=SLOW_PLOT)
    wait_for_line(process, "writing the plot")
    staging = [p for p in out.parent.iterdir() if p.name.endswith(".partial")]
    assert len(staging) == 1 and (staging[0] / "projection.csv").is_file(), "the signal comes mid-write"
    send(process, sig)
    _, stderr = process.communicate(timeout=60)
    assert_nothing_lost(process, sig, stderr, out, before)


def test_a_terminated_calibration_resumes_from_its_last_finished_generation(tmp_path: Path) -> None:
    """SIGTERM (as a batch system sends) with two local processes; `--resume` then adds one generation."""
    database = tmp_path / "calibration.db"
    command = ["calibrate", "--population", "12", "--jobs", "2", "--scale", "40", "--out", str(tmp_path),
               "--draws", "1", "--quiet"]
    process = start([*command, "--generations", "20"], ROOT)
    wait_for_line(process, "generation 1/20")  # the first generation is stored
    time.sleep(1.0)  # the second one is under way in the sampler's processes
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith(f"terminated; finished generations are kept in {database}: continue with --resume")
    assert not (tmp_path / "posterior.csv").exists()
    stored = len(stored_generations(database))
    assert 1 <= stored < 20
    assert live_processes_in_group(process.pid) == [], "the sampler's worker processes went with it"

    resumed = subprocess.run([sys.executable, "-m", "labor_stocks", *command, "--generations", str(stored + 1), "--resume"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert resumed.returncode == 0, resumed.stderr
    assert len(stored_generations(database)) == stored + 1
    assert (tmp_path / "posterior.csv").exists() and (tmp_path / "fit.csv").exists()
