"""Write what a run produced: ``results.csv``, one PNG per figure, ``summary.md``.

Files are written by :func:`~sklearn_gen.studies._files.atomic_write`, so a reader
never sees a half-written file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from sklearn_gen._version import __version__
from sklearn_gen.studies._columns import column_lines
from sklearn_gen.studies._files import atomic_write

if TYPE_CHECKING:
    from sklearn_gen.datasets._registry import Dataset
    from sklearn_gen.studies._runs import Run, Settings

__all__ = ["Finished", "ledger_rows", "ledger_rst", "write_ledger_report", "write_report"]


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


def _summary(
    run: Run, frame: pd.DataFrame, data: Dataset, settings: Settings, verdicts: list
) -> str:
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
    run: Run,
    frame: pd.DataFrame,
    data: Dataset,
    settings: Settings,
    out: Path,
    verdicts: list | None = None,
) -> list[Path]:
    """Write the run's CSV, figures and summary into ``out``; return the paths.

    ``verdicts``: the run's verdicts when the caller has them (``run all`` also puts them
    in its ledger); None computes them."""
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
    if verdicts is None:
        verdicts = run.verdicts(frame)
    text = _summary(run, frame, data, settings, verdicts)
    paths.append(atomic_write(out / "summary.md", lambda p: p.write_text(text)))
    return paths


# ------------------------------------------------------------------ the report of `run all`
class Finished(NamedTuple):
    """One study that ``run all`` ran: what its ledger rows and report section need."""

    run: Run
    frame: pd.DataFrame
    paths: list[Path]
    data: str
    preset: str
    seconds: float
    verdicts: list


def ledger_rows(finished: list[Finished]) -> list[dict[str, str]]:
    """One row per claim of every finished run: paper, claim, the paper's number, this run,
    the verdict, the study.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_gen.studies._runs import RUNS
    >>> frame = pd.DataFrame({"n": [10, 10], "d": [2, 2], "n_params": [22, 22],
    ...                       "repeat": [0, 1], "train_accuracy": [1.0, 1.0]})
    >>> run = RUNS["expressivity"]
    >>> row, = ledger_rows([Finished(run, frame, [], "digits", "default", 1.0,
    ...                              run.verdicts(frame))])
    >>> row["status"], row["study"]
    ('supported', 'expressivity')
    """
    rows = []
    for run, verdicts in ((item.run, item.verdicts) for item in finished):
        for verdict in verdicts:
            rows.append(
                {
                    "paper": run.paper,
                    "claim": verdict.claim,
                    "the paper's number": verdict.paper or "-",
                    "this run": verdict.evidence,
                    "verdict": verdict.outcome_text
                    + (f" ({verdict.reason})" if verdict.reason and not verdict.supported else ""),
                    "rule": verdict.rule or "-",
                    "study": run.name,
                    "key": verdict.key,
                    "status": verdict.status,
                }
            )
    return rows


#: The ledger's columns in report.md and ledger.rst (ledger.csv has every field).
LEDGER_COLUMNS = ("paper", "claim", "the paper's number", "this run", "verdict", "rule", "study")


def _markdown_ledger(rows: list[dict[str, str]]) -> list[str]:
    columns = LEDGER_COLUMNS
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [row[c].replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _counts(rows: list[dict[str, str]]) -> str:
    from sklearn_gen.studies._verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

    n = {
        key: sum(r["status"] == key for r in rows)
        for key in (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
    }
    return (
        f"{len(rows)} claims: {n[SUPPORTED]} supported, {n[NOT_SUPPORTED]} not supported, "
        f"{n[INCONCLUSIVE]} inconclusive at this scale"
    )


def write_ledger_report(
    finished: list[Finished], out: Path, *, quick: bool = False, seed: int = 0
) -> list[Path]:
    """``report.md`` and ``report.html`` of ``sklearn-gen run all`` in ``out``.

    The first table is the claims ledger (every claim of every study: paper | claim | the
    paper's number | this run (statistic [interval]) | verdict | study), then each study's
    data, wall time and figures; the HTML page holds the figures inline (base64 PNG), so it
    is one self-contained file.

    Parameters
    ----------
    finished : list of Finished
        One per finished study.
    out : path-like
        The folder of the report (the studies' folders are inside it).
    quick, seed : bool, int
        The command line's settings, stated in the report.

    Returns
    -------
    list of Path
        The two files written.
    """
    import base64
    import datetime
    import html

    from sklearn_gen.studies._verdicts import INCONCLUSIVE

    out = Path(out)
    rows = ledger_rows(finished)
    total = sum(item.seconds for item in finished)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"sklearn_gen {__version__}, {'quick' if quick else 'default'} settings, seed {seed}, "
        f"{when}; {len(finished)} studies in {total / 60:.1f} min of wall time."
    )
    md = ["# What of the three papers holds here: every claim, judged", "", head, ""]
    md += [_counts(rows), "", "## Claims ledger", "", *_markdown_ledger(rows), ""]
    page = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>sklearn_gen report</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-"
        "collapse:collapse}td,th{border:1px solid #ccc;padding:4px;vertical-align:top;"
        "font-size:90%}img{max-width:100%}</style></head><body>",
        "<h1>What of the three papers holds here: every claim, judged</h1>",
        f"<p>{html.escape(head)}</p><p>{html.escape(_counts(rows))}</p>",
        "<h2>Claims ledger</h2><table><tr>"
        + "".join(f"<th>{html.escape(c)}</th>" for c in LEDGER_COLUMNS)
        + "</tr>"
        if rows
        else "<h2>Claims ledger</h2><table>",
    ]
    for row in rows:
        cells = "".join(f"<td>{html.escape(row[c])}</td>" for c in LEDGER_COLUMNS)
        page.append(f"<tr>{cells}</tr>")
    page.append("</table>")
    inconclusive = [r for r in rows if r["verdict"].startswith(INCONCLUSIVE)]
    if inconclusive:
        from sklearn_gen.studies._runs import PAPER_SCALE

        md += ["## Inconclusive at this scale: the paper's scale, and the command for it", ""]
        page.append("<h2>Inconclusive at this scale: the paper's scale, and the command</h2><ul>")
        for row in inconclusive:
            scale, command = PAPER_SCALE.get(row["study"], ("", ""))
            md.append(f"- {row['claim']} The paper: {scale}. Run: `{command}`")
            page.append(
                f"<li>{html.escape(row['claim'])} The paper: {html.escape(scale)}. Run: "
                f"<code>{html.escape(command)}</code></li>"
            )
        md.append("")
        page.append("</ul>")
    md.append("## The studies")
    for run, frame, paths, data, preset, seconds, _ in finished:
        folder = Path(paths[0]).parent
        title = f"{run.name} ({run.paper})"
        line = (
            f"{run.description}; data {data}, preset {preset}, {len(frame)} rows, "
            f"{seconds:.0f} s; [summary]({folder.name}/summary.md)"
        )
        md += ["", f"### {title}", "", line, ""]
        page.append(f"<h3>{html.escape(title)}</h3><p>{html.escape(line)}</p>")
        for path in paths:
            path = Path(path)
            if path.suffix == ".png":
                md.append(f"![{path.stem}]({folder.name}/{path.name})")
                encoded = base64.b64encode(path.read_bytes()).decode("ascii")
                page.append(f"<img alt='{path.stem}' src='data:image/png;base64,{encoded}'>")
    page.append("</body></html>")
    text, markup = "\n".join(md) + "\n", "\n".join(page) + "\n"
    table = pd.DataFrame(rows, columns=[*LEDGER_COLUMNS, "key", "status"])
    return [
        atomic_write(out / "report.md", lambda p: p.write_text(text)),
        atomic_write(out / "report.html", lambda p: p.write_text(markup)),
        atomic_write(out / "ledger.csv", lambda p: table.to_csv(p, index=False)),
        atomic_write(out / "ledger.rst", lambda p: p.write_text(ledger_rst(rows))),
    ]


def ledger_rst(rows: list[dict[str, str]]) -> str:
    """The claims ledger as a reStructuredText list-table (``docs/reproduced.rst``
    includes the one a default ``run all`` writes).

    Examples
    --------
    >>> row = dict.fromkeys(LEDGER_COLUMNS, "x")
    >>> print(ledger_rst([row]).splitlines()[0])
    .. list-table::
    """
    widths = "8 24 14 24 14 10 6"
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [dict(zip(LEDGER_COLUMNS, LEDGER_COLUMNS, strict=True)), *rows]:
        for j, column in enumerate(LEDGER_COLUMNS):
            cell = " ".join(str(row[column]).split()).replace("*", "\\*").replace("|", "\\|")
            lines.append(f"   {'* -' if j == 0 else '  -'} {cell}")
    return "\n".join(lines) + "\n"
