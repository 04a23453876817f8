"""Write the ledger pages that ``docs/reproduced.rst`` includes, from two ``run all``s.

Usage::

    sklearn-gen run all --seed 0 --out results/s0
    sklearn-gen run all --seed 1 --out results/s1
    python docs/_ledger/update.py results/s0 results/s1

Writes ``run.txt`` (the seed-0 ledger, as ``run all`` wrote it in ``ledger.rst``, with
its report's header), ``seeds.txt`` (every claim's outcome at both seeds, the pairs
that differ, each run's wall time) and ``changes.txt`` (the ledger before issue 29,
``before.csv``, beside the new one) in this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
SHORT = {
    "supported": "supported",
    "not supported": "NOT supported",
    "inconclusive at this scale": "inconclusive",
}


def _table(frame: pd.DataFrame, widths: str) -> str:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [list(frame.columns), *frame.astype(str).to_numpy().tolist()]:
        for j, cell in enumerate(row):
            text = " ".join(str(cell).split()).replace("*", "\\*")
            lines.append(f"   {'* -' if j == 0 else '  -'} {text}")
    return "\n".join(lines) + "\n"


def _header(folder: Path) -> tuple[str, str]:
    """The report's settings line (without its wall time: a resumed run's would be the
    resume's, not the fresh run's) and its count of outcomes."""
    report = (folder / "report.md").read_text().splitlines()
    return report[2].split("; ")[0], report[4]


def main(first: str, second: str) -> None:
    first_dir, second_dir = Path(first), Path(second)
    a = pd.read_csv(first_dir / "ledger.csv")
    b = pd.read_csv(second_dir / "ledger.csv")
    (head_a, counts_a), (head_b, counts_b) = _header(first_dir), _header(second_dir)
    run = (
        f"The claims ledger of ``sklearn-gen run all --seed 0`` at its defaults: *{head_a}* "
        f"{counts_a}.\n\n" + (first_dir / "ledger.rst").read_text()
    )
    (HERE / "run.txt").write_text(run)
    both = a[["key", "study", "status"]].merge(
        b[["key", "status"]], on="key", how="outer", suffixes=(" seed 0", " seed 1")
    )
    both = both.fillna("(not judged)")
    flips = both[
        both["status seed 0"].isin(["supported", "not supported"])
        & both["status seed 1"].isin(["supported", "not supported"])
        & (both["status seed 0"] != both["status seed 1"])
    ]
    splits = both[both["status seed 0"] != both["status seed 1"]]
    lines = [
        f"Seed 0: *{head_a}* {counts_a}.",
        "",
        f"Seed 1: *{head_b}* {counts_b}.",
        "",
        f"Claims judged supported at one seed and not supported at the other: {len(flips)}"
        + (" (" + ", ".join(flips["key"]) + ")" if len(flips) else "")
        + f". Claims whose outcome differs between the seeds: {len(splits)}.",
        "",
    ]
    table = both.rename(columns={"key": "claim"})
    for column in ("status seed 0", "status seed 1"):
        table[column] = table[column].map(lambda s: SHORT.get(s, s))
    lines.append(_table(table[["claim", "study", "status seed 0", "status seed 1"]], "40 25 15 15"))
    (HERE / "seeds.txt").write_text("\n".join(lines))
    before = pd.read_csv(HERE / "before.csv").rename(columns={"verdict": "old"})
    changes = a[["key", "verdict"]].merge(before[["key", "old"]], on="key", how="left")
    changes = changes.merge(b[["key", "status"]], on="key", how="left").fillna({"old": "-"})
    out = pd.DataFrame(
        {
            "claim": changes["key"],
            "old verdict (docs before issue 29)": changes["old"],
            "new verdict (seed 0)": changes["verdict"],
            "seed 1": changes["status"].map(lambda s: SHORT.get(s, s)),
        }
    )
    (HERE / "changes.txt").write_text(_table(out, "22 30 33 15"))


if __name__ == "__main__":
    main(*sys.argv[1:3])
