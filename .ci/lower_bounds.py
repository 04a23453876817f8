"""Print pip constraints that pin every runtime dependency at its declared lower bound.

Reads ``[project] dependencies`` of ``pyproject.toml``: each must be written ``name>=X``
(the range the package promises), and is printed as ``name==X``. ``--pin name==Y`` replaces
a bound that cannot be installed here (torch: its CPU wheel), and the replacement is
printed as a comment too, so the log says what was not tested.

Run ``python .ci/lower_bounds.py --pin torch==2.13.0 > lower.txt``, then
``pip install -c lower.txt ...`` (the ``lower-bounds`` step of ``.ci/run``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_BOUND = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9A-Za-z.]*)")


def lower_bounds(pyproject: Path) -> dict[str, str]:
    """``{name: lowest version}`` from the runtime dependencies of ``pyproject``."""
    with pyproject.open("rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    bounds = {}
    for dependency in dependencies:
        match = _BOUND.fullmatch(dependency.strip())
        if match is None:
            raise SystemExit(
                f"{pyproject}: the dependency {dependency!r} must be written 'name>=X' "
                "(a tested lower bound)."
            )
        bounds[match.group(1).lower()] = match.group(2)
    return bounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument(
        "--pin", action="append", default=[], help="name==version replacing a lower bound"
    )
    args = parser.parse_args(argv)
    bounds = lower_bounds(args.pyproject)
    for pin in args.pin:
        name, _, version = pin.partition("==")
        if name.lower() not in bounds or not version:
            raise SystemExit(f"--pin {pin!r}: expected name==version for a runtime dependency.")
        print(f"# {name}: declared >={bounds[name.lower()]}, tested at {version}")
        bounds[name.lower()] = version
    for name, version in bounds.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
