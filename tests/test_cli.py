"""Tests of the ``sklearn-gen`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sklearn_gen._version import __version__
from sklearn_gen.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_version(capsys):
    assert main(["--version"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"sklearn-gen {__version__}\n"
    assert captured.err == ""


def test_version_wins_over_command(capsys):
    assert main(["--version", "info"]) == 0
    assert capsys.readouterr().out == f"sklearn-gen {__version__}\n"


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for label in (
        "python:",
        "sklearn_gen:",
        "numpy:",
        "scipy:",
        "scikit-learn:",
        "skorch:",
        "torch:",
        "pandas:",
        'device ("auto"):',
        "available memory",
        "cpu count:",
        "torch threads:",
        "torch interop threads:",
    ):
        assert label in out, label
    assert __version__ in out
    import torch

    assert f"torch threads: {torch.get_num_threads()}" in " ".join(out.split())
    if torch.cuda.is_available():
        assert "cuda device name" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "usage: sklearn-gen" in captured.err
    assert "info" in captured.err


def test_help_returns_zero(capsys):
    assert main(["--help"]) == 0
    assert "usage: sklearn-gen" in capsys.readouterr().out


def test_unknown_command_returns_two(capsys):
    assert main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.skipif(not (REPO_ROOT / "sklearn_gen").is_dir(), reason="not run from a checkout")
def test_python_dash_m():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_gen", "--version"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sklearn-gen {__version__}"


# ----------------------------------------------------------------------------- run / list
def test_list_names_every_experiment(capsys):
    from sklearn_gen.studies._runs import RUNS

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in RUNS:
        assert name in out


def test_run_writes_csv_figures_and_summary(tmp_path, capsys):
    import stat

    import pandas as pd

    out = tmp_path / "expressivity"
    argv = ["run", "expressivity", "--quick", "--quiet", "--out", str(out), "--threads", "1"]
    previous = os.umask(0o022)
    try:
        assert main([*argv, "--seed", str(2**32 - 1)]) == 0  # the largest seed is fine
    finally:
        os.umask(previous)
    for name in ("results.csv", "expressivity.png", "summary.md"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name  # follows the umask
    frame = pd.read_csv(out / "results.csv")
    assert (frame["train_accuracy"] == 1.0).all()
    assert (out / "expressivity.png").stat().st_size > 10_000
    summary = (out / "summary.md").read_text()
    assert "Theorem 1" in summary and "| supported, at the paper's level |" in summary
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files
    assert "threads per configuration 1" in summary
    columns = summary.split("## Columns of results.csv")[1]
    for column in frame.columns:  # every column listed with its meaning
        assert f"| `{column}` |" in columns, column
    assert "docstring" not in columns


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores modes: then /sys)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        try:
            (candidate / "probe").touch()
        except OSError:
            return candidate
        (candidate / "probe").unlink()
    pytest.skip("no read-only folder available")


@pytest.mark.parametrize(
    "experiment", ["expressivity", "hypersphere-projection", "kernel-interpolation"]
)
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", "-1"], "--seed must be an integer from 0 to 4294967295, got -1."),
        (["--seed", str(2**32)], "--seed must be an integer from 0 to 4294967295"),
        (["--threads", "0"], "--threads must be a positive number of threads, got 0."),
    ],
)
def test_bad_seed_and_threads_are_one_line_errors(experiment, flags, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", experiment, "--quiet", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-gen: error:") and message in err and err.count("\n") == 1
    assert not out.exists()  # refused before any work


def test_out_an_existing_file_is_a_one_line_error(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert main(["run", "expressivity", "--quick", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-gen: error: --out") and err.count("\n") == 1
    assert "is an existing file" in err
    assert target.read_text() == "keep me"
    assert main(["run", "expressivity", "--quick", "--out", str(target / "sub")]) == 2
    assert "which is a file, not a folder" in capsys.readouterr().err


def test_out_in_a_read_only_folder_is_a_one_line_error(tmp_path, capsys):
    folder = _read_only_folder(tmp_path)
    for out in (folder, folder / "new" / "deeper"):
        assert main(["run", "expressivity", "--quick", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"sklearn-gen: error: --out {str(out)!r}: cannot write in")
        assert err.count("\n") == 1
    assert not (folder / "new").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope"], "unknown study 'nope'"),
        (["run", "kernel-interpolation", "--data", "mnist:/does/not/exist"], "does not exist"),
        (["run", "kernel-interpolation", "--data", "mnist"], "mnist:PATH"),
        (["run", "kernel-interpolation", "--data", "cifar"], "unknown data 'cifar'"),
        (["run", "kernel-interpolation", "--device", "tpu"], "device='tpu'"),
    ],
)
def test_run_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("sklearn-gen: error:")


def test_liao_preset_quick_trains_every_level_to_the_common_loss(tmp_path):
    # --preset liao2018 --quick: 1,000 digits (500 to train), 1x64 bias-free net, 60 epochs
    # of pretraining, levels 0 / 0.5 / 1, one repeat (about 15 s on one core). At this
    # scale the test asserts the protocol, not the effect: every network ends at the
    # common training loss (p = 0 stops where the rule is first met, before 60 epochs),
    # the summary judges both claims, and the full preset's settings are documented
    out = tmp_path / "liao"
    arguments = ["run", "normalized-loss-study", "--preset", "liao2018", "--quick", "--quiet"]
    assert main([*arguments, "--out", str(out)]) == 0
    frame = pd.read_csv(out / "results.csv")
    assert sorted(frame["level"]) == [0.0, 0.5, 1.0] and frame["converged"].all()
    assert (frame["train_loss"] <= 0.01 * 1.001).all()
    by_level = frame.set_index("level")
    assert by_level.loc[0.0, "n_epochs"] < 60 < by_level.loc[1.0, "n_epochs"]
    summary = (out / "summary.md").read_text()
    assert "a surprising linear relationship emerges" in summary  # the paper's words
    assert "the generalization performance of the resultant model gets worse" in summary


def test_run_all_writes_every_study_and_one_ledger(tmp_path, monkeypatch):
    # two of the registered studies (the cheapest), each into its folder, then the ledger
    from sklearn_gen.studies import _runs

    chosen = {name: _runs.RUNS[name] for name in ("expressivity", "linear-example")}
    monkeypatch.setattr(_runs, "RUNS", chosen)
    out = tmp_path / "all"
    assert main(["run", "all", "--quick", "--quiet", "--out", str(out), "--threads", "1"]) == 0
    for name in chosen:
        assert (out / name / "summary.md").is_file() and (out / name / "results.csv").is_file()
    report = (out / "report.md").read_text()
    ledger = report[report.index("## Claims ledger") : report.index("## The studies")]
    rows = [line for line in ledger.splitlines() if line.startswith("| ") and "---" not in line]
    header, claims = rows[0], rows[1:]
    assert header.startswith(
        "| paper | claim | the paper's number | this run | verdict | rule | study"
    )
    expected = sum(
        len(run.verdicts(pd.read_csv(out / n / "results.csv"))) for n, run in chosen.items()
    )
    assert len(claims) == expected >= 3
    assert {c.rsplit("|", 2)[-2].strip() for c in claims} == set(chosen)
    # the machine-readable ledger (one row per claim, with its key and outcome) and the
    # list-table the docs include
    table = pd.read_csv(out / "ledger.csv")
    assert len(table) == expected and table["key"].is_unique
    assert set(table["status"]) <= {"supported", "not supported", "inconclusive at this scale"}
    assert (out / "ledger.rst").read_text().count("   * - ") == expected + 1
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(list(out.glob("*/*.png"))) >= 2
    # resumable: a second run reads the cached configurations and writes the same ledger
    assert main(["run", "all", "--quick", "--quiet", "--out", str(out), "--threads", "1"]) == 0
    again = (out / "report.md").read_text()
    assert again[again.index("## Claims ledger") : again.index("## The studies")] == ledger


def test_run_all_refuses_bad_arguments_before_any_work(tmp_path, capsys):
    assert main(["run", "all", "--n-jobs", "0", "--out", str(tmp_path)]) == 2
    assert "--n-jobs must not be 0" in capsys.readouterr().err
    assert main(["run", "all", "--preset", "nosuch", "--out", str(tmp_path)]) == 2
    assert not list(tmp_path.iterdir())  # nothing was run


def test_every_study_states_the_papers_scale_with_a_command_that_parses():
    from sklearn_gen.cli import build_parser
    from sklearn_gen.studies._runs import PAPER_SCALE, RUNS

    assert set(PAPER_SCALE) == set(RUNS)
    parser = build_parser()
    for name, (scale, command) in PAPER_SCALE.items():
        assert scale and command.startswith(f"sklearn-gen run {name}")
        args = parser.parse_args(command.split()[1:])
        assert args.preset in RUNS[name].presets
        assert args.data is None or args.data.partition(":")[0] in RUNS[name].data_kinds
