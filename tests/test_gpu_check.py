"""The GPU check script runs end to end (on the CPU, at its ``--smoke`` sizes).

The figures the script prints are for a machine with a GPU; this only keeps the script from
rotting on machines without one: every section must run and the pickle check must pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_gpu_check_smoke_on_cpu():
    # -u: on a timeout the lines printed so far (each measure prints its own time) say where
    try:
        done = subprocess.run(
            [sys.executable, "-u", str(SCRIPT), "--device", "cpu", "--smoke"],
            capture_output=True,
            text=True,
            timeout=420,
        )
    except subprocess.TimeoutExpired as exc:
        printed = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"gpu_check --smoke ran past 420 s; it printed:\n{printed}")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for section in ("(a) SmallInception", "(b) KernelInterpolator", "(c) measures", "(d) pickle"):
        assert section in out
    assert "identical predictions 100.00%: PASS" in out
    assert "neg_distance_from_init" in out and "margin_quantile" in out


def test_gpu_check_refuses_cuda_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "no CUDA device is visible" in done.stdout
