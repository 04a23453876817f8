"""Sphinx configuration for the sklearn_gen documentation."""

import os
import sys
import warnings

import sklearn_gen

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # _gallery

project = "sklearn_gen"
author = "sklearn_gen developers"
copyright = "sklearn_gen developers"
release = sklearn_gen.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
templates_path = ["_templates"]

# -- API reference ---------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# numpydoc's validation of the public API (a failure is a warning, so -W fails the build):
# missing docstrings, the order and names of the documented parameters, capitalized
# summaries and descriptions, a Yields section for generators, the layout rules (GL0x;
# not GL02, the closing quotes' line, which ``#:`` attribute comments cannot follow).
numpydoc_validation_checks = {
    "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    "PR02", "PR03", "PR05", "PR06", "PR08", "PR10",
    "RT04", "SA03", "SS02", "SS06", "YD01",
}  # fmt: skip

# -- Markdown (docs/design.md, docs/kernels.md) ----------------------------------------
myst_heading_anchors = 3

# -- Gallery ---------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"kernel_interpolation_mnist\.py",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "reference_url": {"sklearn_gen": None},
    "backreferences_dir": None,
    # the package's plots are library Figures (off pyplot): _gallery saves them
    "image_scrapers": ("matplotlib", "_gallery.figure_scraper"),
    "show_memory": False,
}

# Silence library chatter inside the executed examples.
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-GUI backend.*")

# -- Links -----------------------------------------------------------------------------
intersphinx_mapping = {}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_gen {release}"
html_static_path: list[str] = []
html_theme_options = {"navigation_with_keys": False}

# Attributes as ``.. attribute::`` entries: keeps shapes such as ``(n_features_in_,)`` in
# their types from being read as reST link targets.
numpydoc_attributes_as_param_list = False


def setup(app):
    """The docs check: every gallery example shows a figure of its own."""
    from _gallery import check_example_images

    app.connect("build-finished", check_example_images)
