"""Output files follow the umask; ``import sklearn_gen`` stays light."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from sklearn_gen.experiments import run_configurations
from sklearn_gen.experiments._report import atomic_write

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _double(a: int) -> dict:
    return {"a": a, "b": 2 * a}


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_write_follows_the_umask(tmp_path, mask, expected):
    with umask(mask):
        path = atomic_write(tmp_path / "a.txt", lambda p: p.write_text("hi"))
    assert path.read_text() == "hi"
    assert _mode(path) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary left


def test_cache_files_follow_the_umask(tmp_path):
    with umask(0o022):
        frame = run_configurations(_double, [{"a": 1}, {"a": 2}], cache_dir=tmp_path)
    assert frame["b"].tolist() == [2, 4]
    files = list(tmp_path.glob("*.pkl"))
    assert len(files) == 2
    assert {_mode(p) for p in files} == {0o644}
