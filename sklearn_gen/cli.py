"""The ``sklearn-gen`` command line.

``sklearn-gen run <study>`` runs one of the papers' studies and writes
``results.csv``, one PNG per figure and ``summary.md``; ``sklearn-gen list`` names them.
``sklearn-gen --version`` prints the package version and ``sklearn-gen info`` describes the
environment the studies would run in: library versions, the torch device that
``device="auto"`` picks, thread pools and free memory. Each subcommand is one entry of
``_COMMANDS``: a function adding its arguments to a subparser and a function running it.

Examples
--------
>>> from sklearn_gen.cli import main
>>> main(["--version"])
sklearn-gen ...
0
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path

from sklearn_gen._validation import MAX_NUMPY_SEED
from sklearn_gen._version import __version__

PROG = "sklearn-gen"
#: The largest ``--seed``: the range numpy's (and so scikit-learn's) integer seeds take.
MAX_SEED = MAX_NUMPY_SEED

# (label, import name, distribution name) of the libraries `info` reports.
_LIBRARIES = (
    ("numpy", "numpy", "numpy"),
    ("scipy", "scipy", "scipy"),
    ("scikit-learn", "sklearn", "scikit-learn"),
    ("skorch", "skorch", "skorch"),
    ("torch", "torch", "torch"),
    ("pandas", "pandas", "pandas"),
)


@dataclass(frozen=True)
class _Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _library_version(import_name: str, dist_name: str) -> str:
    """Installed version of a library, without importing it where metadata suffices."""
    try:
        return metadata.version(dist_name)
    except metadata.PackageNotFoundError:
        pass
    try:
        module = import_module(import_name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def _info_lines() -> list[tuple[str, str]]:
    """The ``(key, value)`` rows printed by ``sklearn-gen info``."""
    rows = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("sklearn_gen", __version__),
    ]
    rows += [(label, _library_version(imp, dist)) for label, imp, dist in _LIBRARIES]

    import torch

    from sklearn_gen._device import available_memory, format_bytes, resolve_device

    device = resolve_device("auto")
    rows.append(('device ("auto")', str(device)))
    if device.type == "cuda":
        rows.append(("cuda version", str(torch.version.cuda)))
        rows.append(("cuda device count", str(torch.cuda.device_count())))
        rows.append(("cuda device name", torch.cuda.get_device_name(device)))
    rows.append((f"available memory ({device.type})", format_bytes(available_memory(device))))

    rows.append(("cpu count", str(os.cpu_count())))
    if hasattr(os, "sched_getaffinity"):
        rows.append(("usable cpus", str(len(os.sched_getaffinity(0)))))
    rows.append(("torch threads", str(torch.get_num_threads())))
    rows.append(("torch interop threads", str(torch.get_num_interop_threads())))

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        rows.append(("thread pools", "threadpoolctl not installed"))
    else:
        pools = threadpool_info()
        if not pools:
            rows.append(("thread pools", "none loaded"))
        for pool in pools:
            library = pool.get("internal_api", "unknown")
            details = " ".join(
                str(pool[key]) for key in ("prefix", "version") if pool.get(key) is not None
            )
            value = f"{library}, {pool.get('num_threads')} threads"
            rows.append(("thread pool", value + (f" ({details})" if details else "")))
    return rows


def _add_info_arguments(parser: argparse.ArgumentParser) -> None:
    """``info`` takes no arguments."""


def _run_info(args: argparse.Namespace) -> int:
    rows = _info_lines()
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key + ':':<{width + 1}} {value}")
    return 0


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    """``list`` takes no arguments."""


def _run_list(args: argparse.Namespace) -> int:
    from sklearn_gen.studies._runs import RUNS

    width = max(len(name) for name in RUNS)
    for name, run in RUNS.items():
        print(f"{name:<{width}}  {run.paper}: {run.description} (data: {run.default_data})")
    return 0


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "study",
        help="study name (see 'sklearn-gen list'), or 'all': every study and one report",
    )
    parser.add_argument(
        "--data",
        default=None,
        help=(
            "digits | mnist[:PATH] | fashion-mnist[:PATH] | cifar10[:PATH] | cifar100:PATH | "
            "cifar100-coarse:PATH | hyperspheres (default: the study's own); without "
            "PATH the OpenML copy is fetched into scikit-learn's data home"
        ),
    )
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="training rows to draw (seeded; from the official training set when the data has one)",
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=None,
        help="test rows to draw (seeded; from the official test set when the data has one)",
    )
    parser.add_argument("--quick", action="store_true", help="small settings (a minute or so)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel configurations")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=(
            "torch/BLAS threads per configuration (default: the CPU cores divided among "
            "the --n-jobs workers)"
        ),
    )
    parser.add_argument(
        "--pack-size",
        type=int,
        default=None,
        help="train up to this many networks of one architecture at once (1: one at a "
        "time; default: every network that can share a pack)",
    )
    parser.add_argument(
        "--preset",
        choices=("default", "nagarajan2019", "liao2018", "jiang2020"),
        default="default",
        help="settings: the package's defaults; 'nagarajan2019', the authors' own "
        "(bounds-vs-sample-size, hypersphere-projection); 'liao2018', Liao et al.'s "
        "pretraining protocol at MNIST scale (normalized-loss-study); 'jiang2020', Jiang et "
        "al.'s NiN zoo, 3 values per axis (measure-ranking; for a GPU or a Dask cluster)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help=f"random seed, 0 to {MAX_SEED} (default: 0)"
    )
    parser.add_argument("--out", default=None, help="output folder (default: results/<name>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="ignore OUT/.cache: compute every configuration and keep no cache",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the configurations on the Dask cluster at ADDRESS (needs the 'dask' extra)",
    )


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _check_out(out: Path) -> str | None:
    """Why ``out`` cannot be the output folder, or None when it can.

    The folder may be missing (it is created), but then its nearest existing parent must
    be a folder this process can create files in; an existing ``out`` must be a folder
    it can write in.
    """
    if out.exists() and not out.is_dir():
        return f"--out {str(out)!r} is an existing file; give a folder (created if missing)."
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"--out {str(out)!r} is inside {str(existing)!r}, which is a file, not a folder."
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return f"--out {str(out)!r}: cannot write in {str(existing)!r} ({reason})."
    return None


def _dask_client(address: str):
    """A ``distributed.Client`` connected to ``address``; a clear error without Dask."""
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            "--scheduler needs Dask: pip install 'sklearn-gen[dask]' (dask and distributed)."
        ) from None
    try:
        return Client(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise OSError(f"cannot connect to the Dask scheduler at {address!r}: {exc}") from None


def _check_run_arguments(args: argparse.Namespace) -> str | None:
    """Why the command line cannot run, before any work (None when it can)."""
    if args.n_jobs is not None and args.n_jobs == 0:
        return "--n-jobs must not be 0."
    for flag, value in (("--n-train", args.n_train), ("--n-test", args.n_test)):
        if value is not None and value < 1:
            return f"{flag} must be a positive number of rows, got {value}."
    if not 0 <= args.seed <= MAX_SEED:
        return f"--seed must be an integer from 0 to {MAX_SEED}, got {args.seed}."
    if args.pack_size is not None and args.pack_size < 1:
        return f"--pack-size must be a positive number of networks, got {args.pack_size}."
    if args.threads is not None and args.threads < 1:
        return f"--threads must be a positive number of threads, got {args.threads}."
    return _check_jiang2020(args)


def _check_jiang2020(args: argparse.Namespace) -> str | None:
    """``--preset jiang2020`` is the paper's scale (1,458 NiNs): it needs the images it was
    meant for, and ``--quick`` cannot shrink it."""
    if args.preset != "jiang2020":
        return None
    if args.quick:
        return (
            "--preset jiang2020 is Jiang et al.'s full NiN zoo (1,458 networks) and has no "
            "quick form; drop --quick, or drop --preset for the quick default zoo."
        )
    if args.data is None:
        return (
            "--preset jiang2020 needs --data (e.g. --data cifar10:PATH, the paper's); "
            "without it the 1,458 NiNs would train on 8x8 digits."
        )
    return None


def _settings(args: argparse.Namespace, out: Path, preset: str):
    from sklearn_gen.studies._runs import Settings

    return Settings(
        quick=args.quick,
        device=args.device,
        n_jobs=args.n_jobs,
        seed=args.seed,
        progress=not args.quiet,
        cache_dir=None if args.no_resume else str(out / ".cache"),
        n_train=args.n_train,
        n_test=args.n_test,
        threads=args.threads,
        preset=preset,
    )


class _SchedulerError(Exception):
    """The Dask scheduler of ``--scheduler`` cannot be reached (or Dask is missing)."""


def _compute(run, data, settings, args: argparse.Namespace):
    """The run's frame, on this machine's workers or on the Dask cluster."""
    from sklearn_gen.studies._common import configuration_threads
    from sklearn_gen.studies._study import configuration_packs

    if args.scheduler is None:
        with configuration_threads(args.threads), configuration_packs(args.pack_size):
            return run.compute(data, settings)
    try:
        client = _dask_client(args.scheduler)
    except (ImportError, OSError, TimeoutError, ValueError) as exc:
        raise _SchedulerError(str(exc)) from None
    import joblib

    with (
        client,
        joblib.parallel_backend("dask"),
        configuration_threads(args.threads),
        configuration_packs(args.pack_size),
    ):
        return run.compute(data, settings)


def _run_study(args: argparse.Namespace) -> int:
    from sklearn_gen._device import resolve_device
    from sklearn_gen.datasets._registry import DATA_NAMES, load_dataset
    from sklearn_gen.studies._report import write_report
    from sklearn_gen.studies._runs import RUNS

    problem = _check_run_arguments(args)
    if problem is not None:
        return _fail(problem)
    if args.study == ALL:
        return _run_all(args)
    run = RUNS.get(args.study)
    if run is None:
        return _fail(f"unknown study {args.study!r}; choose one of: {', '.join(RUNS)}, or {ALL!r}.")
    if args.preset not in run.presets:
        return _fail(
            f"{run.name} has no preset {args.preset!r}; it takes: {', '.join(run.presets)}."
        )
    out = Path(args.out) if args.out else Path("results") / run.name
    problem = _check_out(out)
    if problem is not None:
        return _fail(problem)
    try:
        resolve_device(args.device)
        spec = args.data or run.default_data
        if spec.partition(":")[0] in DATA_NAMES and spec.partition(":")[0] not in run.data_kinds:
            return _fail(
                f"{run.name} does not run on {spec!r}; it takes: {', '.join(run.data_kinds)}."
            )
        data = run.prepare(load_dataset(spec, random_state=args.seed))
    except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
        return _fail(str(exc))
    settings = _settings(args, out, args.preset)
    try:
        frame = _compute(run, data, settings, args)
    except _SchedulerError as exc:
        return _fail(str(exc))
    paths = write_report(run, frame, data, settings, out)
    if not args.quiet:
        for path in paths:
            print(path)
    return 0


#: The study name that runs every study into one report.
ALL = "all"


def _run_all(args: argparse.Namespace) -> int:
    """Every study, each into OUT/<study> (resumable like one), then OUT/report.md and
    OUT/report.html with the claims ledger first. ``--data`` goes to the studies that take
    it (the others run on their own data); ``--preset`` to the studies that have it."""
    import time

    from sklearn_gen._device import resolve_device
    from sklearn_gen.datasets._registry import DATA_NAMES, load_dataset
    from sklearn_gen.studies._report import Finished, write_ledger_report, write_report
    from sklearn_gen.studies._runs import RUNS

    if args.preset != "default" and not any(args.preset in r.presets for r in RUNS.values()):
        return _fail(f"no study has the preset {args.preset!r}.")
    out = Path(args.out) if args.out else Path("results") / ALL
    problem = _check_out(out)
    if problem is not None:
        return _fail(problem)
    try:
        resolve_device(args.device)
    except (ValueError, TypeError) as exc:
        return _fail(str(exc))
    loaded: dict[str, object] = {}
    finished = []
    for run in RUNS.values():
        kind = (args.data or "").partition(":")[0]
        spec = args.data if args.data and kind in run.data_kinds else run.default_data
        if kind and kind not in DATA_NAMES:
            return _fail(f"unknown --data {args.data!r}.")
        preset = args.preset if args.preset in run.presets else "default"
        try:
            if spec not in loaded:
                loaded[spec] = load_dataset(spec, random_state=args.seed)
            data = run.prepare(loaded[spec])
        except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
            return _fail(f"{run.name}: {exc}")
        folder = out / run.name
        settings = _settings(args, folder, preset)
        start = time.perf_counter()
        try:
            frame = _compute(run, data, settings, args)
        except _SchedulerError as exc:
            return _fail(str(exc))
        verdicts = run.verdicts(frame)  # once: the summary and the ledger both state them
        paths = write_report(run, frame, data, settings, folder, verdicts)
        seconds = time.perf_counter() - start
        finished.append(Finished(run, frame, paths, spec, preset, seconds, verdicts))
        if not args.quiet:
            print(f"{run.name}: {seconds:.0f} s -> {folder}")
    for path in write_ledger_report(finished, out, quick=args.quick, seed=args.seed):
        if not args.quiet:
            print(path)
    return 0


_COMMANDS: tuple[_Command, ...] = (
    _Command(
        name="run",
        help="run a study (or all): results.csv, figures (PNG) and summary.md",
        add_arguments=_add_run_arguments,
        run=_run_study,
    ),
    _Command(
        name="list",
        help="list the studies",
        add_arguments=_add_list_arguments,
        run=_run_list,
    ),
    _Command(
        name="info",
        help="show versions, the torch device, threads and free memory",
        add_arguments=_add_info_arguments,
        run=_run_info,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sklearn-gen`` with one subparser per command.

    Examples
    --------
    >>> from sklearn_gen.cli import build_parser
    >>> build_parser().parse_args(["info"]).command
    'info'
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Experiments on why deep networks generalize, as scikit-learn objects. "
            "Run a subcommand; see 'sklearn-gen <command> --help'."
        ),
    )
    # Handled in `main` rather than by argparse's "version" action, which would exit.
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for command in _COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sklearn-gen`` with the arguments ``argv`` and return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; 2 on a usage error, including a missing subcommand (the help is
        then printed to stderr). Argparse's own exits (``--help``, a bad argument) are
        turned into the returned status rather than raised.

    Examples
    --------
    >>> from sklearn_gen.cli import main
    >>> main(["--version"])
    sklearn-gen ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return _exit_status(exc.code)
    if args.version:
        print(f"{PROG} {__version__}")
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return int(handler(args))


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1
