"""Write what a run produced: ``results.csv``, one PNG per figure, ``summary.md``.

Files are written by :func:`~sklearn_gen.studies._files.atomic_write`, so a reader
never sees a half-written file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sklearn_gen._version import __version__
from sklearn_gen.studies._columns import column_lines
from sklearn_gen.studies._files import atomic_write

if TYPE_CHECKING:
    from sklearn_gen.datasets._registry import Dataset
    from sklearn_gen.studies._runs import Run, Settings

__all__ = ["write_report"]


def _used_rows(frame: pd.DataFrame) -> list[str]:
    """The training / test sizes the run's rows record, when they record them."""
    if not {"n_train", "n_test"} <= set(frame.columns):
        return []
    sizes = frame[["n_train", "n_test"]].drop_duplicates().astype(int)
    pairs = ", ".join(f"{r.n_train} / {r.n_test}" for r in sizes.itertuples())
    return [f"- rows used (training / test): {pairs}"]


def _verdict_table(verdicts: list) -> str:
    """The claims as a markdown table: claim, the paper's number, this run, the verdict."""
    lines = [
        "| claim | the paper | this run (mean [95% CI] over repeats) | verdict |",
        "|---|---|---|---|",
    ]
    for verdict in verdicts:
        mark = verdict.outcome_text if verdict.supported else f"**{verdict.status}**"
        reason = f" ({verdict.reason})" if verdict.reason and not verdict.supported else ""
        lines.append(
            f"| {verdict.claim} | {verdict.paper or '-'} | {verdict.evidence} | {mark}{reason} |"
        )
    if not verdicts:
        lines.append("| (no claim checked) | | | |")
    return "\n".join(lines)


def _summary(run: Run, frame: pd.DataFrame, data: Dataset, settings: Settings) -> str:
    verdicts = run.verdicts(frame)
    lines = [
        f"# {run.name}: {run.paper}",
        "",
        f"{run.description}.",
        "",
        f"- data: {data.describe() if run.data_line is None else run.data_line(frame)}",
        *_used_rows(frame),
        f"- settings: {'quick' if settings.quick else 'full'}"
        f"{'' if settings.preset == 'default' else ', preset ' + settings.preset}, "
        f"device {settings.device}, "
        f"seed {settings.seed}, n_jobs {settings.n_jobs}, threads per configuration "
        f"{'default' if settings.threads is None else settings.threads}",
        f"- sklearn_gen {__version__}; {len(frame)} rows in results.csv",
        "",
        _verdict_table(verdicts),
    ]
    if run.tables is not None:
        lines += ["", run.tables(frame)]
    lines += ["", "## Columns of results.csv", "", *column_lines(frame.columns)]
    return "\n".join(lines) + "\n"


def write_report(
    run: Run, frame: pd.DataFrame, data: Dataset, settings: Settings, out: Path
) -> list[Path]:
    """Write the run's CSV, figures and summary into ``out``; return the paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    out = Path(out)
    paths = [atomic_write(out / "results.csv", lambda p: frame.to_csv(p, index=False))]
    for stem, figure in run.figures(frame).items():
        paths.append(
            atomic_write(
                out / f"{stem}.png",
                lambda p, fig=figure: fig.savefig(p, format="png", dpi=120, bbox_inches="tight"),
            )
        )
    text = _summary(run, frame, data, settings)
    paths.append(atomic_write(out / "summary.md", lambda p: p.write_text(text)))
    return paths
