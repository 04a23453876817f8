"""Resumable studies: ``run_configurations(cache_dir=...)`` and ``sklearn-gen run --out``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from sklearn_gen.cli import main
from sklearn_gen.studies import expressivity, run_configurations


def _logged_row(*, a: int, b: float, log: str) -> list[dict]:
    """Two rows per configuration; appends ``a`` to ``log`` to count the calls."""
    with open(log, "a") as handle:
        handle.write(f"{a}\n")
    return [{"a": a, "b": b, "part": 0, "value": a * b}, {"a": a, "b": b, "part": 1}]


def _calls(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def _configurations(log: Path, b: float = 0.5, changed: int | None = None) -> list[dict]:
    return [{"a": a, "b": (b + 1.0) if a == changed else b, "log": str(log)} for a in range(5)]


def test_rerun_skips_finished_configurations(tmp_path):
    log, cache = tmp_path / "calls.txt", tmp_path / "cache"
    first = run_configurations(_logged_row, _configurations(log), cache_dir=cache)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4]
    assert len(_stored(cache)) == 5
    second = run_configurations(_logged_row, _configurations(log), cache_dir=cache)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4]  # nothing recomputed
    pd.testing.assert_frame_equal(first, second)
    uncached = run_configurations(_logged_row, _configurations(tmp_path / "other.txt"))
    pd.testing.assert_frame_equal(first, uncached)


def test_partial_cache_computes_only_the_rest(tmp_path):
    log, cache = tmp_path / "calls.txt", tmp_path / "cache"
    run_configurations(_logged_row, _configurations(log)[:2], cache_dir=cache)
    frame = run_configurations(_logged_row, _configurations(log), cache_dir=cache)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4]
    assert frame["a"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # configuration order


def test_changed_parameter_recomputes_only_affected(tmp_path):
    log, cache = tmp_path / "calls.txt", tmp_path / "cache"
    run_configurations(_logged_row, _configurations(log), cache_dir=cache)
    log.unlink()
    frame = run_configurations(_logged_row, _configurations(log, changed=3), cache_dir=cache)
    assert _calls(log) == [3]
    assert frame.loc[frame["a"] == 3, "b"].tolist() == [1.5, 1.5]
    log.unlink()
    run_configurations(_logged_row, _configurations(log, b=0.25), cache_dir=cache)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4]  # a shared parameter: all of them


def _stored(cache: Path) -> list[Path]:
    """The stored results of a joblib.Memory cache, one ``output.pkl`` per configuration."""
    return sorted(cache.rglob("output.pkl"))


def _stored_for(cache: Path, a: int) -> Path:
    """The stored result of the configuration with ``a``."""
    (path,) = [p for p in _stored(cache) if joblib.load(p)[0]["a"] == a]
    return path


@pytest.mark.parametrize("damage", ["truncate", "flip_last_byte", "garbage", "empty"])
def test_damaged_stored_result_is_recomputed_with_warning(tmp_path, damage, caplog):
    log, cache = tmp_path / "calls.txt", tmp_path / "cache"
    configurations = _configurations(log)
    first = run_configurations(_logged_row, configurations, cache_dir=cache)
    path = _stored_for(cache, 2)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip_last_byte":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    elif damage == "garbage":
        path.write_bytes(b"not a pickle at all")
    else:
        path.write_bytes(b"")
    log.unlink()
    frame = run_configurations(_logged_row, configurations, cache_dir=cache)
    # joblib.Memory logs the failed load (a warning on the logging system) and recomputes
    assert "Exception while loading results" in caplog.text
    assert _calls(log) == [2]
    pd.testing.assert_frame_equal(frame, first)
    log.unlink()
    run_configurations(_logged_row, configurations, cache_dir=cache)  # repaired
    assert not log.exists()


def test_cache_key_is_sensitive_to_data_and_estimator(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    estimator = LogisticRegression(C=2.0)
    cached = joblib.Memory(tmp_path, verbose=0).cache(_echo)
    cached(X=X, estimator=estimator, p=0.5)
    assert cached.check_call_in_cache(p=0.5, estimator=clone(estimator), X=X.copy())
    assert not cached.check_call_in_cache(X=X + 1e-12, estimator=estimator, p=0.5)
    assert not cached.check_call_in_cache(X=X, estimator=LogisticRegression(C=3.0), p=0.5)


def _echo(**kwargs):
    return [{"n": len(kwargs)}]


def test_experiment_passes_cache_dir_through(tmp_path):
    # two processes: the workers write the cache files
    first = expressivity(n_values=[20, 30], d=3, cache_dir=tmp_path, n_jobs=2)
    assert len(_stored(tmp_path)) == 2
    second = expressivity(n_values=[20, 30], d=3, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, second)  # lossless, timings included


def _arguments(out: Path) -> list[str]:
    return ["run", "expressivity", "--quick", "--quiet", "--out", str(out)]


def _environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", **extra}


def test_killed_cli_study_resumes_to_identical_results(tmp_path):
    reference_out, out = tmp_path / "reference", tmp_path / "resumed"
    assert main(_arguments(reference_out)) == 0
    reference = pd.read_csv(reference_out / "results.csv")
    n_configurations = len(_stored(reference_out / ".cache"))
    assert n_configurations == len(reference) >= 3

    # slow every configuration down (test hook) so that the kill lands midway
    slow = _environment(_SKLEARN_GEN_CONFIG_DELAY="3")
    command = [sys.executable, "-m", "sklearn_gen", *_arguments(out)]
    process = subprocess.Popen(command, env=slow)
    cache = out / ".cache"
    deadline = time.monotonic() + 90
    try:
        while not _stored(cache):
            assert process.poll() is None, "the study ended before any configuration"
            assert time.monotonic() < deadline, "no cache file appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    done = _stored(cache)
    assert 1 <= len(done) < n_configurations
    assert not (out / "results.csv").exists()

    assert main(_arguments(out)) == 0
    resumed = pd.read_csv(out / "results.csv")
    timing = ["fit_seconds"]
    pd.testing.assert_frame_equal(resumed.drop(columns=timing), reference.drop(columns=timing))
    assert not resumed.duplicated(subset=["n", "repeat"]).any()
    assert not resumed.isna().any().any()
    # the configuration finished before the kill was read back, not recomputed
    for path in done:
        assert path.exists()
    assert all(isinstance(joblib.load(path), list) for path in _stored(cache))


def test_no_resume_ignores_the_cache(tmp_path):
    out = tmp_path / "out"
    assert main([*_arguments(out), "--no-resume"]) == 0
    assert (out / "results.csv").exists()
    assert not (out / ".cache").exists()


def test_scheduler_without_dask_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    arguments = ["run", "expressivity", "--quick", "--quiet", "--out", str(tmp_path)]
    assert main([*arguments, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "sklearn-gen[dask]" in capsys.readouterr().err
