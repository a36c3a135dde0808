"""Sphinx configuration of pyconvx's documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` from the
repository root (``docs/check.py`` builds and checks the result).
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import api_listing

# The installed pyconvx; when it is not installed, the source tree built in
# place (python setup.py build_ext --inplace).
pyconvx = api_listing.import_package("pyconvx")

# Every process that renders examples draws the same pictures, on any display.
os.environ.setdefault("MPLBACKEND", "Agg")

project = "pyconvx"
author = "the pyconvx developers"
copyright = "the pyconvx developers, BSD-3-Clause"
version = release = pyconvx.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "pyconvx_docs",
]

templates_path = ["_templates"]
# examples/ holds the gallery's sources; sphinx-gallery writes auto_examples/.
exclude_patterns = ["_build", "_templates", "_data", "examples"]
root_doc = "index"

# The API reference lists pyconvx.__all__, regenerated on every build.
api_listing.write(pyconvx, DOCS / "api" / "index.rst")

# -- autodoc, autosummary, numpydoc -------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- sphinx-gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # The sections of the gallery, in this order.  "learning" is the place for
    # examples that learn a kernel from data (by gradient descent): create
    # examples/learning/ with a GALLERY_HEADER.rst and plot_*.py files.
    "subsection_order": [
        "examples/worked",
        "examples/filtering",
        "examples/learning",
        "examples/performance",
    ],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("pyconvx",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"pyconvx": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- matplotlib's plot directive (the user guide's pictures) ------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.dpi": 110, "savefig.bbox": "tight"}
plot_apply_rcparams = True

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"pyconvx {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": []}
html_show_sourcelink = False
