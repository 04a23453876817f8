"""Tests of the ``sklearn-gen`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    from sklearn_gen.experiments._runs import RUNS

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in RUNS:
        assert name in out


def test_run_writes_csv_figures_and_summary(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "expressivity"
    assert main(["run", "expressivity", "--quick", "--quiet", "--out", str(out)]) == 0
    frame = pd.read_csv(out / "results.csv")
    assert (frame["train_accuracy"] == 1.0).all()
    assert (out / "expressivity.png").stat().st_size > 10_000
    summary = (out / "summary.md").read_text()
    assert "Theorem 1" in summary and "| supported |" in summary
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope"], "unknown experiment 'nope'"),
        (["run", "kernel", "--data", "mnist:/does/not/exist"], "does not exist"),
        (["run", "kernel", "--data", "mnist"], "mnist:PATH"),
        (["run", "kernel", "--data", "cifar"], "unknown data 'cifar'"),
        (["run", "kernel", "--device", "tpu"], "device='tpu'"),
    ],
)
def test_run_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("sklearn-gen: error:")
