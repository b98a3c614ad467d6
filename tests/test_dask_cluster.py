"""Scale-out on a real Dask cluster: a scheduler and two workers started with the `dask` command
line as separate processes on 127.0.0.1, as an analyst would start them on a cluster.

- an ensemble on the cluster gives the same bytes as a local run with the same seed;
- a calibration on the cluster gives a valid posterior of the same shape as a local one
  (ABC-SMC with a dynamic sampler is reproducible in distribution, not bit for bit);
- a worker killed mid-run does not lose the run: it completes on the worker left, with the
  same bytes.

Every process started here is ended in a finalizer (SIGTERM to its process group, then
SIGKILL), whatever the test's outcome.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from labor_stocks.calibration.priors import for_reports, load_priors
from labor_stocks.calibration.reports import load_reports

from .test_scenario import write

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DASK = str(Path(sys.executable).with_name("dask"))
"""The dask command of the environment running the tests (whether or not its bin is on PATH)."""
STARTUP_SECONDS = 60


@dataclass
class Cluster:
    """A running scheduler and its workers: their processes, address and log file."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    log: Path | None = None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log and self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group we started (a worker's nanny and its child), then SIGKILL if needed."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[Cluster]:
    """`dask scheduler` and `workers` x `dask worker` on 127.0.0.1, each in its own process group."""
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    log = folder / "cluster.log"
    handle = log.open("w")
    common = dict(cwd=folder, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                  start_new_session=True)
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", HOST, "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(scheduler_file)], **common)
    cluster = Cluster("", scheduler, log=log)
    try:
        deadline = time.time() + STARTUP_SECONDS
        while not scheduler_file.exists() or not scheduler_file.read_text().strip().endswith("}"):
            assert scheduler.poll() is None, f"the scheduler stopped:\n{cluster.log_tail()}"
            assert time.time() < deadline, f"no scheduler file after {STARTUP_SECONDS} s:\n{cluster.log_tail()}"
            time.sleep(0.1)
        cluster.address = json.loads(scheduler_file.read_text())["address"]
        assert cluster.address.startswith(f"tcp://{HOST}:"), cluster.address
        for _ in range(workers):
            cluster.workers.append(subprocess.Popen(
                [DASK, "worker", cluster.address, "--nworkers", "1", "--nthreads", "1", "--host", HOST,
                 "--no-dashboard", "--death-timeout", "60", "--local-directory", str(folder)], **common))
        from distributed import Client

        with Client(cluster.address, timeout=STARTUP_SECONDS, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=STARTUP_SECONDS)
        yield cluster
    finally:
        for process in [*cluster.workers, scheduler]:
            _stop(process)
        handle.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


def labor_stocks(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m model ARGS` in a new process, as an analyst runs it."""
    return subprocess.run([sys.executable, "-m", "labor_stocks", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


SMALL = """\
name = "small"
end = 2021-12-31
replicates = 6
seed = 5
output_freq = "quarter"
[parameters]
initial_stock = 5000
"""


def test_an_ensemble_on_a_dask_cluster_gives_the_bytes_of_a_local_run(tmp_path: Path, cluster: Cluster) -> None:
    scenario = write(tmp_path, "small.toml", SMALL)
    local = labor_stocks("run", str(scenario), "--out", str(tmp_path / "local"), "--jobs", "1",
                         "--posterior", "none", "--quiet")
    assert local.returncode == 0, local.stderr
    remote = labor_stocks("run", str(scenario), "--out", str(tmp_path / "dask"), "--scheduler", cluster.address,
                          "--posterior", "none", "--quiet")
    assert remote.returncode == 0, f"{remote.stderr}\n{cluster.log_tail()}"
    assert (tmp_path / "dask" / "projection.csv").read_bytes() == (tmp_path / "local" / "projection.csv").read_bytes()
    record = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert record["execution"]["scheduler"] == cluster.address and record["execution"]["jobs"] is None


def _generations(database: Path) -> pd.DataFrame:
    import pyabc

    populations = pyabc.History(f"sqlite:///{database}").get_all_populations()
    return populations[populations.t >= 0].reset_index(drop=True)


def test_a_calibration_on_a_dask_cluster_gives_a_valid_posterior_like_a_local_one(
        tmp_path: Path, cluster: Cluster) -> None:
    """Same generations, population and parameters; a posterior inside the priors that a run can use.

    Not the same numbers: pyabc's Dask sampler takes whichever particles finish first, so a
    calibration is reproducible in distribution only (an ensemble is reproducible bit for bit).
    """
    options = ["--population", "10", "--generations", "2", "--scale", "50", "--draws", "2", "--quiet"]
    outputs = {}
    for name, where in (("local", ["--jobs", "1"]), ("dask", ["--scheduler", cluster.address])):
        out = tmp_path / name
        out.mkdir()
        done = labor_stocks("calibrate", *options, *where, "--out", str(out))
        assert done.returncode == 0, f"{name}: {done.stderr}\n{cluster.log_tail()}"
        assert "Traceback" not in done.stderr
        outputs[name] = out

    fitted = for_reports(load_priors(ROOT / "calibration" / "priors.toml"), load_reports(ROOT / "calibration" /
                                                                                        "reports.csv"))
    priors = {prior.name: prior for prior in fitted}
    posteriors = {name: pd.read_csv(out / "posterior.csv") for name, out in outputs.items()}
    assert list(posteriors["dask"].columns) == list(posteriors["local"].columns) == ["weight", *priors]
    for name, posterior in posteriors.items():
        assert len(posterior) == 10, name
        assert abs(posterior.weight.sum() - 1) < 1e-4 and (posterior.weight >= 0).all(), name
        for parameter, prior in priors.items():
            if prior.distribution != "normal":  # an outlet's bias: a normal prior has no bounds
                assert posterior[parameter].between(prior.low * (1 - 1e-6), prior.high * (1 + 1e-6)).all(), parameter
    for name, out in outputs.items():
        generations = _generations(out / "calibration.db")
        assert list(generations.t) == [0, 1], name
        assert (generations.particles == 10).all(), name
        assert generations.epsilon.iloc[1] <= generations.epsilon.iloc[0], name
    fits = {name: pd.read_csv(out / "fit.csv") for name, out in outputs.items()}
    assert list(fits["dask"].id) == list(fits["local"].id)

    scenario = write(tmp_path, "small.toml", SMALL.replace("replicates = 6", "replicates = 2"))
    runs = []
    for attempt in ("first", "second"):
        done = labor_stocks("run", str(scenario), "--posterior", str(outputs["dask"] / "posterior.csv"),
                            "--seed", "3", "--jobs", "1", "--out", str(tmp_path / attempt), "--quiet")
        assert done.returncode == 0, done.stderr
        runs.append((tmp_path / attempt / "projection.csv").read_bytes())
    assert runs[0] == runs[1], "a fixed-seed run from the cluster's posterior is reproducible"


REPLICATES = 12


def test_a_worker_killed_mid_run_does_not_lose_the_run(tmp_path: Path) -> None:
    from distributed import Client

    # Runs on the scheduler (a lambda travels by value; the scheduler cannot import this module):
    # the tasks it knows, and how many of them are finished. A result the run has fetched is
    # released at once, so finished replicates also show as tasks the scheduler forgot.
    tasks = lambda dask_scheduler: (len(dask_scheduler.tasks),  # noqa: E731
                                    sum(task.state == "memory" for task in dask_scheduler.tasks.values()))
    scenario = write(tmp_path, "long.toml", SMALL.replace("end = 2021-12-31", "end = 2030-12-31")
                     .replace("replicates = 6", f"replicates = {REPLICATES}").replace("initial_stock = 5000", "initial_stock = 40000"))
    local = labor_stocks("run", str(scenario), "--out", str(tmp_path / "local"), "--jobs", "2",
                         "--posterior", "none", "--quiet")
    assert local.returncode == 0, local.stderr

    with dask_cluster(tmp_path / "dask") as running, \
            Client(running.address, timeout=30, set_as_default=False) as watcher:
        run = subprocess.Popen([sys.executable, "-m", "labor_stocks", "run", str(scenario), "--out", str(tmp_path / "dask-run"),
                                "--scheduler", running.address, "--posterior", "none", "--quiet"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
        try:
            deadline, submitted = time.time() + 120, 0
            while True:  # both workers busy and at least one replicate done: then one dies mid-replicate
                busy = watcher.processing()
                known, in_memory = watcher.run_on_scheduler(tasks)
                submitted = max(submitted, known)
                done = in_memory + (submitted - known if submitted == REPLICATES else 0)
                if len(busy) == 2 and all(busy.values()) and done >= 1:
                    break
                assert run.poll() is None, f"the run ended before a worker could be killed: {run.communicate()}"
                assert time.time() < deadline, f"the workers never got busy:\n{running.log_tail()}"
                time.sleep(0.05)
            victim = running.workers[0]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            stdout, stderr = run.communicate(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        assert run.returncode == 0, f"{stderr}\n{running.log_tail()}"
        assert len(watcher.scheduler_info()["workers"]) == 1, "the killed worker is gone"
        assert "lost" in running.log.read_text().lower() or "remove worker" in running.log.read_text().lower()
    assert (tmp_path / "dask-run" / "projection.csv").read_bytes() == (tmp_path / "local" / "projection.csv").read_bytes()
