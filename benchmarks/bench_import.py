"""Import time of ``sklearn_gen`` against the libraries it builds on.

Times, in fresh child processes, the wall time of

* ``python -c "import torch, sklearn, skorch"`` (the baseline: what an estimator needs),
* ``python -c "import sklearn_gen"``,
* ``python -c "from sklearn_gen import *"`` (every public object, so every lazy import runs),

interleaved (one of each per round, so a change in machine load hits all three alike) for
``--repeats`` rounds, and keeps the fastest run of each. Prints each time, its ratio to the
baseline and a PASS/FAIL line per target (ratio <= ``--target``, default 1.2). Exits 0
whatever the verdicts (a report, like the other benchmarks), or 1 on a FAIL with
``--strict``.

    python benchmarks/bench_import.py              # 5 rounds
    python benchmarks/bench_import.py --repeats 9 --strict
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench_common import REPO_ROOT, OtherLoad, code_version

COMMANDS = {
    "import torch, sklearn, skorch": "import torch, sklearn, skorch",
    "import sklearn_gen": "import sklearn_gen",
    "from sklearn_gen import *": "from sklearn_gen import *",
}
BASELINE = "import torch, sklearn, skorch"


def time_command(code: str) -> float:
    """Wall seconds of ``python -c code`` in a fresh interpreter (startup included)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True, timeout=300)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--target", type=float, default=1.2, help="largest ratio (default 1.2)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a FAIL")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if not args.target > 0:
        parser.error(f"--target must be positive, got {args.target}")

    print(f"sklearn_gen import time -- code {code_version()}; python {sys.version.split()[0]}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for code in COMMANDS.values():  # warm the file cache once, untimed
        time_command(code)
    meter = OtherLoad()
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(args.repeats):
        for label, code in COMMANDS.items():
            times[label].append(time_command(code))
    print(f"other work during the runs: {meter.note()}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    best = {label: min(values) for label, values in times.items()}
    print(f"\nbest of {args.repeats} interleaved runs (wall time of `python -c ...`):")
    for label, seconds in best.items():
        ratio = seconds / best[BASELINE]
        print(f"  {label:<32} {seconds:7.3f} s  ({ratio:.2f}x baseline)")
    failed = False
    print()
    for label in COMMANDS:
        if label == BASELINE:
            continue
        ratio = best[label] / best[BASELINE]
        ok = ratio <= args.target
        failed |= not ok
        verdict = "PASS" if ok else "FAIL"
        print(f"{verdict}: `{label}` {ratio:.2f}x `{BASELINE}` (target <= {args.target:g}x)")
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
