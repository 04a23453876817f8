"""The README's tour runs as a script, prints what it computes, and raises no warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour() -> str:
    text = README.read_text()
    section = text[text.index("## A short tour") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's tour has no python block"
    return match.group(1)


def test_readme_tour_runs_without_warnings(tmp_path):
    script = tmp_path / "tour.py"
    script.write_text(_tour())
    environment = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "error"}
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    # every step prints: random labels fitted exactly, CV scores, the search, bounds, kernel
    assert len(lines) == 6
    assert re.match(r"random labels fitted in \d+ epochs; training accuracy 1\.0$", lines[0])
    chance = float(lines[1].rsplit(" ", 1)[1])
    assert chance < 0.3  # 10 classes: near 0.1 on new digits
    assert lines[3] in ("best learning rate: 0.05", "best learning rate: 0.1")
    bounds = [float(v) for v in re.findall(r"[\d.]+", lines[4].split(":", 1)[1])]
    assert len(bounds) == 3 and all(v > 0 for v in bounds)
    assert float(lines[5].rsplit(" ", 1)[1]) > 0.9  # the interpolant generalizes
