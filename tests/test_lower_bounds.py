"""The constraints the CI's lower-bound step installs are written from pyproject.toml."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lower_bounds():
    spec = importlib.util.spec_from_file_location("lower_bounds", ROOT / ".ci" / "lower_bounds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_runtime_dependency_has_a_lower_bound(lower_bounds):
    if sys.version_info < (3, 11):
        pytest.importorskip("tomli")
    bounds = lower_bounds.lower_bounds(ROOT / "pyproject.toml")
    assert {"scikit-learn", "skorch", "torch", "numpy", "scipy"} <= set(bounds)
    assert all(version[0].isdigit() for version in bounds.values())


def test_pins_replace_a_bound_and_are_said(lower_bounds, capsys, tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["torch>=2.5", "numpy>=1.24"]\n')
    assert lower_bounds.main(["--pyproject", str(pyproject), "--pin", "torch==2.13.0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["# torch: declared >=2.5, tested at 2.13.0", "torch==2.13.0", "numpy==1.24"]
    pyproject.write_text('[project]\ndependencies = ["torch"]\n')
    with pytest.raises(SystemExit, match="must be written 'name>=X'"):
        lower_bounds.main(["--pyproject", str(pyproject)])
