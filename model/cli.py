"""The `labor-stocks` command line: it parses, calls the library, prints.

A user's mistake (a bad file, a bad argument) is one line on stderr and exit code 2, never a
traceback. Everything here is callable from Python through the library modules.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .calibration.abc import (CALIBRATION_SCALE, DEFAULT_GENERATIONS, DEFAULT_MAX_MINUTES, DEFAULT_MAX_SIMULATIONS,
                          DEFAULT_POPULATION)
from .errors import InputError
from .ensemble.processes import Terminated, raise_if_interrupted, terminate_as_interrupt
from .scenarios.scenario import MAX_REPLICATES
from .world.population import describe_scale


def _count(least: int, most: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [least, most], with a one-line message otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:,}, got {value:,}")
        return value
    parse.__name__ = "count"
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the argument, and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _simulate(args: argparse.Namespace) -> int:
    """One replicate of the shared history with default parameters: yearly stocks per province."""
    import datetime as dt

    from .scenarios.history import HISTORY_START, load_history
    from .world.parameters import with_overrides
    from .world.sim import LaborModel

    try:
        end = dt.date.fromisoformat(args.end)
    except ValueError:
        raise InputError(f"--end: not a date (YYYY-MM-DD): {args.end!r}") from None
    if end < HISTORY_START:
        raise InputError(f"--end: {end} is before the start of the history, {HISTORY_START}")
    model = LaborModel(with_overrides({}), load_history(), HISTORY_START, end, args.seed).run()
    table = model.results("provinces")
    table = table[table.date.dt.is_year_end | (table.date == table.date.max())]
    print(table.pivot(index="date", columns="place", values="stock").to_string())
    return 0


def _run(args: argparse.Namespace) -> int:
    """Run a scenario's ensemble and write projection.csv, run.json and projection.png."""
    from .outputs.run import choose_posterior, default_out, run_scenario
    from .outputs.run_folder import check_run_folder
    from .scenarios.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.scheduler and args.jobs is not None:
        raise InputError("--jobs and --scheduler: give one of them (the scheduler's workers do the work)")
    out = Path(args.out) if args.out else default_out(scenario)
    check_run_folder(out, force=args.force)
    posterior, posterior_name = choose_posterior(args.posterior, scenario.path)
    jobs = args.jobs if args.jobs is not None else max(1, min(os.cpu_count() or 1, 4))
    talk = not args.quiet
    if talk:
        print(f"scenario: {scenario.name} ({scenario.path})", file=sys.stderr)
        print(f"posterior: {posterior_name}", file=sys.stderr)
    with terminate_as_interrupt():
        result = run_scenario(scenario, out, replicates=args.replicates, seed=args.seed, jobs=jobs,
                              scheduler=args.scheduler, posterior=posterior, posterior_name=posterior_name,
                              progress=talk and sys.stderr.isatty(),
                              command=["labor-stocks", *(args.argv or [])], checkpoint=raise_if_interrupted,
                              force=args.force)
    for warning in result.warnings:
        print(f"labor-stocks: warning: {warning}", file=sys.stderr)
    seconds = result.record.timings["total_seconds"]
    print(f"wrote {result.out}/ (projection.csv, run.json, projection.png, replicates.npz): "
          f"{result.record.replicates} replicates, seed {result.record.seed}, {seconds:.1f} s; "
          f"parameters: {posterior_name}")  # even with --quiet: where the parameters came from
    return 0


def _reports_check(args: argparse.Namespace) -> int:
    """Validate a reports ledger; a problem is one line naming the row and column."""
    from .calibration.reports import load_reports

    reports = load_reports(args.file)
    print(f"{args.file}: {len(reports)} reports, all valid")
    return 0


REPORT_OPTIONS: tuple[tuple[str, bool, str], ...] = (
    ("id", True, "a short slug, e.g. dandong-oct-2024"),
    ("source", True, "the article's file name or address"),
    ("published", True, "date the article was published, YYYY-MM-DD"),
    ("period-start", True, "first day the figure covers, YYYY-MM-DD"),
    ("period-end", True, "last day it covers (a stock: the same day), YYYY-MM-DD"),
    ("place", True, "a province, a city, China or overseas"),
    ("kind", True, "stock, inflow, outflow or defections"),
    ("value", False, "the figure, e.g. 4000"),
    ("low", False, "lower bound ('over 20': 21)"),
    ("high", False, "upper bound"),
    ("unit", True, "workers or workers_per_day"),
    ("confidence", True, "high, medium or low"),
    ("quote", True, "the article's exact words"),
    ("notes", False, "how the figure was read (dates, places inferred)"),
    ("statement", False, "a key shared by the rows that restate one statement, a slug like the id "
                         "(counted once by the calibration)"),
    ("outlet", False, "whose figure it is, on one line of at most 60 characters (default: the source); "
                      "its bias and accuracy are estimated"),
)
"""The options of `reports add`, one per column of the ledger: (name, required, help). The row
is validated with the whole ledger by the same rules as `reports check` (`reports.parse_reports`)."""


def _reports_add(args: argparse.Namespace) -> int:
    """Append one report to the ledger, after checking it with the whole file; the file is never damaged."""
    from .calibration.reports import NoSuchLedger, append_report

    fields = {name.replace("-", "_"): getattr(args, name.replace("-", "_")) for name, _, _ in REPORT_OPTIONS}
    try:
        report = append_report(args.file, create=args.create,
                               **{key: value for key, value in fields.items() if value is not None})
    except NoSuchLedger:
        raise InputError(f"--file: {args.file}: no such ledger; give --create to start a new one there") from None
    print(f"added report {report.id} to {args.file}")
    return 0


def _load_all_reports(paths: list[str]) -> list:
    """Reports from one or more ledgers; an id given twice across files is an error."""
    from .calibration.reports import load_reports

    reports, seen = [], {}
    for path in paths:
        for report in load_reports(path):
            if report.id in seen:
                raise InputError(f"{path}: report id {report.id!r} is already in {seen[report.id]}")
            seen[report.id] = path
            reports.append(report)
    if not reports:
        raise InputError(f"{', '.join(paths)}: no reports to calibrate against")
    return reports


def _calibrate(args: argparse.Namespace) -> int:
    """ABC-SMC on the reports; writes the posterior, then the fit at full scale."""
    from tqdm import tqdm

    from .calibration.calibrate import Calibration
    from .calibration.fit import print_outlets, print_table
    from .calibration.identifiability import format_identifiability
    from .calibration.priors import load_priors

    calibration = Calibration(_load_all_reports(args.reports), load_priors(args.priors), args.out,
                              database=args.database, population=args.population, generations=args.generations,
                              jobs=args.jobs, scheduler=args.scheduler, resume=args.resume, scale=args.scale,
                              max_simulations=args.max_simulations, max_minutes=args.max_minutes,
                              draws=args.draws, seed=args.seed, inputs=[*args.reports, args.priors],
                              force=args.force)
    database = calibration.database
    quiet = args.quiet or not sys.stderr.isatty()
    print(f"calibrating {len(calibration.priors)} parameters against {len(calibration.reports)} reports "
          f"({', '.join(args.reports)}); {describe_scale(args.scale)}; database {database}",
          file=sys.stderr)
    bars = [tqdm(total=args.generations, desc="generations", unit="gen", disable=quiet)]

    def on_generation(t: int, epsilon: float, simulations: int) -> None:
        bars[-1].n = t + 1
        bars[-1].set_postfix(epsilon=f"{epsilon:.3g}", simulations=simulations)
        bars[-1].refresh()
        if quiet:
            print(f"generation {t + 1}/{args.generations}: epsilon {epsilon:.3g}, {simulations} simulations",
                  file=sys.stderr)
        raise_if_interrupted()

    def on_posterior(result, posterior) -> None:
        bars[-1].close()
        reason = {"generations": "all generations done", "simulations": "simulation budget spent",
                  "time": "time budget reached",
                  "collapse": f"the particles collapsed onto too few points; a --population above "
                              f"{args.population} keeps them spread"}[result.stopped_by]
        earlier = f" ({result.simulations} with the resumed generations)" if result.earlier_simulations else ""
        print(f"{result.generations} generations ({reason}), {result.new_simulations} simulations{earlier} in "
              f"{result.seconds:.0f} s ({result.new_simulations / max(result.seconds, 1e-9):.1f} per second); "
              f"final epsilon {result.epsilon:.3g}")
        print(f"posterior written to {calibration.posterior_path}:")
        print(posterior.summary().to_string(index=False), flush=True)
        bars.append(tqdm(total=2 * args.draws, desc="fit at full scale (posterior, then priors)", unit="run",
                         disable=quiet))
        raise_if_interrupted()

    try:
        with terminate_as_interrupt():
            outcome = calibration.run(on_generation, on_posterior, lambda done: bars[-1].update(done))
            raise_if_interrupted()
    except KeyboardInterrupt as interruption:
        bars[-1].close()
        word = "terminated" if isinstance(interruption, Terminated) else "interrupted"
        if len(bars) > 1:
            print(f"labor-stocks: {word}; the posterior is written to {calibration.posterior_path}, the fit is not "
                  f"(labor-stocks fit --posterior {calibration.posterior_path} makes it)", file=sys.stderr)
        else:
            print(f"labor-stocks: {word}; finished generations are kept in {database}: continue with --resume",
                  file=sys.stderr)
        return 143 if isinstance(interruption, Terminated) else 130
    bars[-1].close()
    table = outcome.fit
    print(print_table(table))
    informative = table[table.informative == True]  # noqa: E712 (a column of True, False or None)
    print(f"fit written to {outcome.fit_path} and {outcome.plot_path}; "
          f"{int(table.inside.sum())} of {len(table)} reports inside the model's 90% interval; "
          f"{len(informative)} informative, of which {int(informative.inside.sum())} inside")
    print("\nwhat the reports taught (posterior 90% interval as a share of the prior's; reports that move each "
          "parameter most):")
    print(format_identifiability(outcome.identifiability))
    print(f"written to {outcome.identifiability_path}")
    print("\nwhat each outlet's figures are worth (bias as a factor on the truth, accuracy as a multiple of the "
          "confidence's sigma):")
    print(print_outlets(outcome.outlets))
    print(f"written to {outcome.outlets_path}")
    result = outcome.result
    earlier = f"; {result.simulations} with the resumed generations" if result.earlier_simulations else ""
    print(f"calibrated at {describe_scale(args.scale)}: {result.new_simulations} simulations in "
          f"{result.seconds:.0f} s{earlier}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    """Each report beside what the (calibrated) model says: a table, a CSV and a plot.

    The table (`--out`, a .csv) and the PNG beside it are checked before any simulation:
    either is replaced only when it is the fit's own (the table by its header line, the
    figure by its mark or, beside a fit table, by being a PNG; `--force` for any other
    file), never a ledger or posterior given as an input, never a folder.
    """
    from tqdm import tqdm

    from .calibration.fit import (check_fit_outputs, fit_table, outlet_table, plot_fit, print_outlets, print_table,
                                  write_fit)
    from .calibration.identifiability import prior_predictive
    from .calibration.priors import load_priors
    from .outputs.run import choose_posterior

    def outputs() -> tuple[Path, Path, Path]:
        out = Path(args.out)
        if out.is_dir():
            raise InputError(f"--out: {out} is a folder; give the table's file name, e.g. {out / 'fit.csv'}")
        if out.suffix.lower() != ".csv":
            raise InputError(f"--out: {out}: give a .csv file name (the figure is written beside it, as .png)")
        if not out.parent.is_dir():
            raise InputError(f"--out: no such folder: {out.parent}")
        inputs = [*args.reports, "calibration/posterior.csv",
                  *([args.posterior] if args.posterior and args.posterior.lower() != "none" else [])]
        return check_fit_outputs(out, "fit", inputs, args.force)

    out, png, outlets_file = outputs()
    reports = _load_all_reports(args.reports)
    priors = load_priors(args.priors) if args.prior_draws else None
    if args.scheduler:
        from .ensemble.cluster import check_address

        check_address(args.scheduler)
    posterior, posterior_name = choose_posterior(args.posterior)
    print(f"posterior: {posterior_name}", file=sys.stderr)
    quiet = args.quiet or not sys.stderr.isatty()
    bar = tqdm(total=args.draws + args.prior_draws, desc="fit (posterior, then priors)", unit="run", disable=quiet)
    values = None
    if priors is not None:
        _, values = prior_predictive(reports, priors, draws=args.prior_draws, seed=args.seed, jobs=args.jobs,
                                     scheduler=args.scheduler, progress=bar.update)
    table = fit_table(reports, posterior, draws=args.draws, seed=args.seed, jobs=args.jobs, progress=bar.update,
                      scheduler=args.scheduler, prior_values=values)
    bar.close()
    outputs()  # again: the simulations took a while
    outlets = outlet_table(reports, posterior)
    try:
        write_fit(table, out)
        plot_fit(table, png)
        write_fit(outlets, outlets_file)
    except OSError as error:
        raise InputError(f"--out: cannot write {error.filename or out} ({error.strerror or error})") from None
    print(print_table(table))
    print(f"{int(table.inside.sum())} of {len(table)} reports inside the model's 90% interval; "
          f"written to {out} and {png}")
    print("\nwhat each outlet's figures are worth (z above uses them; bias as a factor on the truth, accuracy as a "
          "multiple of the confidence's sigma):")
    print(print_outlets(outlets))
    print(f"written to {outlets_file}")
    return 0


def _add_calibration_commands(commands) -> None:
    from .calibration.abc import MAX_GENERATIONS, MAX_POPULATION

    calibrate = commands.add_parser("calibrate", help="fit the priors to the reports with ABC-SMC (pyabc)")
    calibrate.add_argument("--reports", nargs="+", default=["calibration/reports.csv"], metavar="FILE",
                           help="report ledgers (default calibration/reports.csv)")
    calibrate.add_argument("--priors", default="calibration/priors.toml", help="priors (default calibration/priors.toml)")
    calibrate.add_argument("--population", type=_count(2, MAX_POPULATION), default=DEFAULT_POPULATION,
                           help=f"particles per generation (default {DEFAULT_POPULATION})")
    calibrate.add_argument("--generations", type=_count(1, MAX_GENERATIONS), default=DEFAULT_GENERATIONS,
                           help=f"generations in all, resumed ones included (default {DEFAULT_GENERATIONS})")
    calibrate.add_argument("--jobs", type=_count(1), default=2, help="local processes (default 2)")
    calibrate.add_argument("--scheduler", metavar="ADDRESS", help="a Dask distributed scheduler, e.g. tcp://host:8786")
    calibrate.add_argument("--resume", action="store_true", help="continue the newest run in the database")
    calibrate.add_argument("--database", help="pyabc SQLite history (default OUT/calibration.db)")
    calibrate.add_argument("--out", default="calibration", help="folder for posterior.csv, fit.csv, fit.png, identifiability.csv, outlets.csv")
    calibrate.add_argument("--max-simulations", type=_count(1), default=DEFAULT_MAX_SIMULATIONS,
                           help=f"stop starting generations after this many simulations (default {DEFAULT_MAX_SIMULATIONS})")
    calibrate.add_argument("--max-minutes", type=float, default=DEFAULT_MAX_MINUTES,
                           help=f"do not start a generation that would end after this (default {DEFAULT_MAX_MINUTES})")
    calibrate.add_argument("--scale", type=_count(1), default=CALIBRATION_SCALE,
                           help=f"workers per agent while calibrating (default {CALIBRATION_SCALE}: every worker an agent; "
                                "a larger K is faster on a coarser model; the fit is always at 1)")
    calibrate.add_argument("--draws", type=_count(1, MAX_REPLICATES), default=40,
                           help="posterior draws for the fit (default 40)")
    calibrate.add_argument("--seed", type=_count(0), default=0, help="seed of the fit's draws (default 0)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress bar")
    calibrate.add_argument("--force", action="store_true",
                           help="replace files in --out with the calibration's names that it did not write "
                                "(never a ledger or the priors file)")
    calibrate.set_defaults(handler=_calibrate)

    fit = commands.add_parser("fit", help="each report beside what the model says")
    fit.add_argument("--reports", nargs="+", default=["calibration/reports.csv"], metavar="FILE")
    fit.add_argument("--posterior", help="parameter sets, or none (default calibration/posterior.csv when it exists)")
    fit.add_argument("--out", default="calibration/fit.csv", help="the table, a .csv (a PNG is written beside it)")
    fit.add_argument("--draws", type=_count(1, MAX_REPLICATES), default=40, help="posterior draws (default 40)")
    fit.add_argument("--prior-draws", type=_count(0, MAX_REPLICATES), default=40,
                     help="runs from the priors that say which reports are informative (default 40; 0: skip)")
    fit.add_argument("--priors", default="calibration/priors.toml",
                     help="the priors of those runs (default calibration/priors.toml)")
    fit.add_argument("--jobs", type=_count(1), default=2, help="local processes (default 2)")
    fit.add_argument("--scheduler", metavar="ADDRESS", help="a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    fit.add_argument("--seed", type=_count(0), default=0, help="seed of the draws (default 0)")
    fit.add_argument("--quiet", action="store_true")
    fit.add_argument("--force", action="store_true", help="replace files at --out that the fit did not write")
    fit.set_defaults(handler=_fit)


def _day(text: str):
    """An argparse type: a date YYYY-MM-DD, with a one-line message otherwise."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _compare(args: argparse.Namespace) -> int:
    """Scenarios side by side: the figure (PNG, SVG) and the table (CSV, and printed)."""
    from .outputs.compare import RunOptions, compare
    from .outputs.comparison_table import format_table

    if args.scheduler and args.jobs is not None:
        raise InputError("--jobs and --scheduler: give one of them (the scheduler's workers do the work)")
    talk = not args.quiet
    options = RunOptions(replicates=args.replicates, seed=args.seed,
                         jobs=args.jobs if args.jobs is not None else max(1, min(os.cpu_count() or 1, 4)),
                         scheduler=args.scheduler, posterior=args.posterior, progress=talk and sys.stderr.isatty(),
                         command=["labor-stocks", *(args.argv or [])], force=args.force)

    def on_run(scenario, folder, posterior_name: str) -> None:
        if talk:
            print(f"running {scenario.path} into {folder}/ (posterior: {posterior_name})", file=sys.stderr)

    with terminate_as_interrupt():
        result = compare(args.runs, args.out, quantity=args.quantity, places=args.places, at=args.at,
                         since=args.since, relative_to=args.relative_to, reports=args.reports, options=options,
                         on_run=on_run)
    for warning in result.warnings:
        print(f"labor-stocks: warning: {warning}", file=sys.stderr)
    print(format_table(result.table))
    print(f"wrote {result.png}, {result.svg} and {result.csv}")
    return 0


def _add_compare_command(commands) -> None:
    from .outputs.compare import DEFAULT_OUT, DEFAULT_PLACES

    compare = commands.add_parser(
        "compare", help="scenarios side by side: a figure (PNG, SVG) and a table (CSV)",
        description="Compare finished run folders (from labor-stocks run) or scenario files (run first into "
                    "outputs/<name>/): one panel per place, one colour per scenario, medians with 50% and 90% "
                    "bands, the reported figures on top; and each scenario's median and 90% interval at "
                    "chosen dates.")
    compare.add_argument("runs", nargs="+", metavar="RUN_DIR_OR_SCENARIO",
                         help="run folders (outputs/baseline) or scenario files (scenarios/baseline.toml)")
    compare.add_argument("--out", metavar="FILE", default=str(DEFAULT_OUT),
                         help=f"the PNG (default {DEFAULT_OUT}); the .svg and .csv are written beside it")
    compare.add_argument("--quantity", default="stock", help="stock, inflow, outflow or defections (default stock)")
    compare.add_argument("--places", nargs="+", metavar="PLACE", default=list(DEFAULT_PLACES),
                         help=f"panels and table rows (default {' '.join(DEFAULT_PLACES)})")
    compare.add_argument("--at", nargs="+", metavar="DATE", type=_day,
                         help="dates of the table (default: today, one year out, the end)")
    compare.add_argument("--since", metavar="DATE", type=_day, help="first date of the figure's time axis")
    compare.add_argument("--relative-to", metavar="NAME",
                         help="show each scenario's difference from this one, replicate by replicate")
    compare.add_argument("--reports", metavar="FILE", default="calibration/reports.csv",
                         help="reported figures to draw (default calibration/reports.csv)")
    _add_ensemble_options(compare, "for scenario files: ")
    compare.add_argument("--quiet", action="store_true", help="no progress bar and no messages")
    compare.add_argument("--force", action="store_true",
                         help="replace files at --out (and in the scenarios' run folders) that compare did not write; "
                              "inputs and other files are never replaced")
    compare.set_defaults(handler=_compare)


def _add_ensemble_options(parser: argparse.ArgumentParser, context: str = "") -> None:
    """The options of an ensemble run, shared by `run` and `compare` (which runs scenario files)."""
    parser.add_argument("--replicates", metavar="N", type=_count(1, MAX_REPLICATES),
                        help=f"{context}replicates (default: the scenario's)")
    parser.add_argument("--seed", metavar="S", type=_count(0), help=f"{context}seed of the ensemble (default: the scenario's)")
    parser.add_argument("--jobs", metavar="N", type=_count(1),
                        help=f"{context}local processes (default: the number of CPUs, at most 4); same results for any N")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"{context}a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--posterior", metavar="FILE",
                        help=f"{context}parameter sets to draw from (default calibration/posterior.csv if it exists; "
                             "'none' for the default parameters)")


def _explain(args: argparse.Namespace) -> int:
    """Which assumption and which report drive each place's projection: sensitivity.csv, influence.csv, explain.png."""
    from .calibration.priors import load_priors
    from .ensemble.cluster import check_address
    from .outputs.explain import default_out, explain
    from .outputs.run import choose_posterior
    from .scenarios.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.scheduler and args.jobs is not None:
        raise InputError("--jobs and --scheduler: give one of them (the scheduler's workers do the work)")
    if args.scheduler:
        check_address(args.scheduler)
    posterior, posterior_name = choose_posterior(args.posterior, scenario.path)
    priors = load_priors(args.priors) if args.prior else None
    told = f"scenario: {scenario.name} ({scenario.path}); posterior: {posterior_name}; parameters drawn from " \
           f"{'the priors ' + args.priors if priors else 'the posterior'}"
    with terminate_as_interrupt():
        result = explain(scenario, Path(args.out) if args.out else default_out(scenario), at=args.at,
                         places=args.places, samples=args.samples, posterior=posterior, posterior_name=posterior_name,
                         priors=priors, priors_name=args.priors,
                         reports=_load_all_reports(args.reports) if posterior is not None else [],
                         particles=args.particles, scale=args.scale, seed=args.seed,
                         jobs=args.jobs or max(1, min(os.cpu_count() or 1, 4)), scheduler=args.scheduler,
                         progress=not args.quiet and sys.stderr.isatty(), force=args.force,
                         command=["labor-stocks", *(args.argv or [])], checkpoint=raise_if_interrupted,
                         on_start=lambda plan: print(f"{told}\n{plan}", file=sys.stderr))
    for warning in result.warnings:
        print(f"labor-stocks: warning: {warning}", file=sys.stderr)
    runs, seconds = result.record["runs"], result.record["timings"]["total_seconds"]
    print(f"{result.summary()}\nwrote {result.out}/ (sensitivity.csv, influence.csv, explain.png, ...): "
          f"{runs['sensitivity']} runs for the sensitivity ({len(result.record['inputs'])} inputs), "
          f"{runs['influence']} for the influence, {describe_scale(args.scale)}, {seconds:.0f} s")
    return 0


def _add_explain_command(commands) -> None:
    from .outputs.explain import DEFAULT_PLACES, EXPLAIN_SCALE as SCALE
    from .outputs.influence import DEFAULT_PARTICLES
    from .outputs.sensitivity import DEFAULT_SAMPLES, MAX_SAMPLES

    explain = commands.add_parser("explain", help="which assumption and which report drive each place's projection")
    explain.add_argument("scenario", help="the scenario file, e.g. scenarios/baseline.toml")
    explain.add_argument("--at", nargs="+", metavar="DATE", type=_day,
                         help="dates explained (default: today, one year out, the end); each stands for its period")
    explain.add_argument("--places", nargs="+", metavar="PLACE", default=list(DEFAULT_PLACES),
                         help=f"places explained (default {' '.join(DEFAULT_PLACES)}; cities too)")
    explain.add_argument("--samples", metavar="N", type=_count(1, MAX_SAMPLES), default=DEFAULT_SAMPLES,
                         help=f"base samples of the Sobol design: N x (inputs + 2) runs (default {DEFAULT_SAMPLES})")
    explain.add_argument("--prior", action="store_true", help="draw the calibrated parameters from the priors")
    explain.add_argument("--priors", default="calibration/priors.toml", metavar="FILE", help="the priors of --prior")
    explain.add_argument("--posterior", metavar="FILE", help="parameter sets (default calibration/posterior.csv)")
    explain.add_argument("--reports", nargs="+", default=["calibration/reports.csv"], metavar="FILE")
    explain.add_argument("--particles", metavar="N", type=_count(1, MAX_REPLICATES), default=DEFAULT_PARTICLES,
                         help=f"posterior particles run for the influence (default {DEFAULT_PARTICLES})")
    explain.add_argument("--scale", metavar="K", type=_count(1), default=SCALE,
                         help=f"workers per agent (default {SCALE}: minutes for the design's runs; 1 for every worker an agent)")
    explain.add_argument("--seed", metavar="S", type=_count(0), help="seed (default the scenario's)")
    explain.add_argument("--jobs", metavar="N", type=_count(1), help="local processes (default: the CPUs, at most 4)")
    explain.add_argument("--scheduler", metavar="ADDRESS", help="a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    explain.add_argument("--out", metavar="DIR", help="output folder (default outputs/<name>/explain/)")
    explain.add_argument("--quiet", action="store_true", help="no progress bar")
    explain.add_argument("--force", action="store_true", help="replace files in DIR with explain's names only")
    explain.set_defaults(handler=_explain)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labor-stocks", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    simulate = commands.add_parser("simulate", help="one replicate of the shared history, stocks per year")
    simulate.add_argument("--seed", type=_count(0), default=0, help="random seed (default 0)")
    simulate.add_argument("--end", default="2030-12-31", help="last day, YYYY-MM-DD (default 2030-12-31)")
    simulate.set_defaults(handler=_simulate)

    run = commands.add_parser(
        "run", help="run a scenario file: projection.csv, run.json and projection.png",
        description="Run a scenario's ensemble and write projection.csv, run.json and projection.png "
                    "into a folder that appears all at once.")
    run.add_argument("scenario", help="the scenario file, e.g. scenarios/baseline.toml")
    run.add_argument("--out", metavar="DIR", help="output folder (default outputs/<name>/)")
    _add_ensemble_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar and no messages but the last line")
    run.add_argument("--force", action="store_true",
                     help="replace files in DIR that carry a run's names but not a run's content; "
                          "a folder holding other files is never replaced")
    run.set_defaults(handler=_run)

    reports = commands.add_parser("reports", help="check or add reported figures (calibration/reports.csv)")
    actions = reports.add_subparsers(dest="action", required=True, parser_class=_Parser)
    check = actions.add_parser("check", help="validate a reports ledger")
    check.add_argument("file", nargs="?", default="calibration/reports.csv",
                       help="the ledger (default calibration/reports.csv)")
    check.set_defaults(handler=_reports_check)
    add = actions.add_parser("add", help="append one report, checked with the whole ledger")
    add.add_argument("--file", default="calibration/reports.csv", help="the ledger (default calibration/reports.csv)")
    add.add_argument("--create", action="store_true", help="start a new ledger if --file does not exist")
    for name, required, text in REPORT_OPTIONS:
        add.add_argument(f"--{name}", required=required, help=text)
    add.set_defaults(handler=_reports_add)
    _add_calibration_commands(commands)
    _add_compare_command(commands)
    _add_explain_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `labor-stocks` and `python -m model`; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
        args.argv = arguments
        return int(args.handler(args) or 0)
    except InputError as error:
        message = str(error)
        for prog in ("labor-stocks: ", "labor-stocks "):  # argparse's errors name the program; said once
            message = message.removeprefix(prog)
        print(f"labor-stocks: error: {message}", file=sys.stderr)
        return 2
    except Terminated:
        print("labor-stocks: terminated; nothing was written", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("labor-stocks: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
