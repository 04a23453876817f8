"""The gallery's image scraper and its check: every example page shows its own figure.

The plotting functions of :mod:`sklearn_gen` build :class:`matplotlib.figure.Figure`
objects outside pyplot (a library keeps off pyplot's global state), so sphinx-gallery's
matplotlib scraper, which reads pyplot's figure list, finds none. :func:`figure_scraper`
saves every Figure that a code block leaves in the example's globals (and pyplot's own
figures are left to the matplotlib scraper); :func:`check_example_images` fails the build
when an example page has no image of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from sphinx.errors import ExtensionError
from sphinx_gallery.scrapers import figure_rst

#: Figures already saved, per example file (a later block that keeps ``fig`` adds nothing).
_SAVED: dict[str, set[int]] = {}


def _figures(namespace: dict[str, Any]) -> list[Figure]:
    """The library Figures in ``namespace`` (values, and values of dicts), in order."""
    found: list[Figure] = []
    for value in namespace.values():
        candidates = value.values() if isinstance(value, dict) else [value]
        for candidate in candidates:
            is_library_figure = isinstance(candidate, Figure) and candidate.canvas.manager is None
            if is_library_figure and all(candidate is not f for f in found):
                found.append(candidate)
    return found


def figure_scraper(block: Any, block_vars: dict[str, Any], gallery_conf: dict, **kwargs) -> str:
    """Save the new library Figures a code block left in the example's globals."""
    saved = _SAVED.setdefault(str(block_vars["src_file"]), set())
    paths = []
    for figure, path in zip(
        (f for f in _figures(block_vars["example_globals"]) if id(f) not in saved),
        block_vars["image_path_iterator"],
        strict=False,
    ):
        figure.savefig(path, dpi=100)
        saved.add(id(figure))
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"]) if paths else ""


def check_example_images(app: Any, exception: Exception | None) -> None:
    """After the build: every executed example has at least one image of its own."""
    if exception is not None:
        return
    gallery = Path(app.srcdir) / "auto_examples"
    examples = sorted(Path(app.srcdir, "..", "examples").resolve().glob("plot_*.py"))
    missing = [
        example.stem
        for example in examples
        if not list((gallery / "images").glob(f"sphx_glr_{example.stem}_*.png"))
    ]
    if missing:
        raise ExtensionError(
            f"gallery examples without a figure of their own: {', '.join(missing)}; draw the "
            "figure into a variable (a library Figure) or with pyplot."
        )
