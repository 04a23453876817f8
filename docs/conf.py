"""Sphinx configuration for the sklearn_gen documentation."""

import os
import sys
import warnings

import sklearn_gen

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.abspath(".."))

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
numpydoc_validation_checks: set[str] = set()

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
    "image_scrapers": ("matplotlib",),
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
