"""Sphinx configuration of the polyfold documentation.

Build (no network needed)::

    python -m sphinx -W -b html docs docs/_build/html

Two small directives are defined here:

``.. polyfold-api::``
    The API reference: one section per polyfold module, ``automodule`` for the
    modules that no other page documents, a link to the topic page otherwise (so
    no object is described twice).
``.. polyfold-figure:: script.py``
    Runs a gallery script (matplotlib, Agg), saves its ``fig`` to
    ``gallery/_generated/<script>.png`` and shows it with the script's docstring
    and source.  A figure is rebuilt when it is missing or older than its script
    or than a module of ``polyfold/plotting/``; ``POLYFOLD_GALLERY_REBUILD=1`` forces it.
"""

import importlib
import os
import importlib.util
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import polyfold  # noqa: E402

project = "polyfold"
author = "the polyfold developers"
copyright = "the polyfold developers, BSD-3-Clause"
version = release = polyfold.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# PyTorch is optional: without it the API pages of polyfold.regularization are built
# from a stand-in module (autodoc's mock), so the docs build needs no torch
autodoc_mock_imports = [] if importlib.util.find_spec("torch") else ["torch"]

exclude_patterns = ["_build", "gallery/_generated", "**/.ipynb_checkpoints"]
templates_path = []
html_theme = "alabaster"
html_static_path = []
html_title = f"polyfold {release}"

# autodoc / numpydoc: documented objects come from the docstrings
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# numpydoc turns each docstring's "References" into citations; a module docstring
# that lists its papers without citing them in the text is fine
suppress_warnings = ["ref.citation"]

# sphinx.ext.doctest (``sphinx-build -b doctest``) runs the ``.. doctest::`` examples
# of the pages; docstring examples run under pytest (tests/test_doctests.py), in
# their module's namespace
doctest_test_doctest_blocks = ""
doctest_global_setup = """
import numpy as np
import polyfold
"""

# ---------------------------------------------------------------------------
# API reference
# ---------------------------------------------------------------------------
#: modules in the order of the design's layers (imports go downwards)
API_MODULES = [
    ("Errors, tolerances, input checks", ["exceptions", "tolerance"]),
    ("Exact arithmetic", ["arith"]),
    ("Network model and converters", ["network", "graph", "convert"]),
    ("Segment crossings", ["crossings"]),
    ("Regions, slices and adjacency", ["regions", "slices", "adjacency"]),
    ("Cell complexes in d dimensions", ["complexes"]),
    ("Measures and certificates", ["folding", "experiments", "injectivity", "statistics"]),
    ("Adversarial paths and the folding regulariser", ["attacks", "regularization"]),
    ("Sampling baselines", ["sampling"]),
    ("Ground truth, data, training, loading models", ["zoo", "datasets", "training", "io"]),
    ("Figures, scale-out, command line", ["plotting", "parallel", "cli", "demo"]),
]

_AUTOMODULE = re.compile(r"^\.\. automodule::\s*(polyfold(?:\.\w+)?)\s*$", re.M)


def documented_elsewhere(exclude="api.rst"):
    """{module: page} for modules that another page documents with automodule."""
    found = {}
    for rst in sorted(DOCS.rglob("*.rst")):
        if rst.name == exclude or "_build" in rst.parts:
            continue
        for mod in _AUTOMODULE.findall(rst.read_text(encoding="utf-8")):
            found.setdefault(mod, rst.relative_to(DOCS).with_suffix("").as_posix())
    return found


def _first_line(doc):
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def api_rst():
    """reStructuredText of the API reference (see the module docstring)."""
    elsewhere = documented_elsewhere()
    out = []
    for title, mods in API_MODULES:
        out += [title, "-" * len(title), ""]
        for name in mods:
            full = f"polyfold.{name}"
            try:
                mod = importlib.import_module(full)
            except ImportError as err:
                out += [f"``{full}``: not available in this build ({type(err).__name__}).", ""]
                continue
            if full in elsewhere:
                out += [f"``{full}`` -- {_first_line(mod.__doc__)}",
                        f"Documented in :doc:`/{elsewhere[full]}`.", ""]
                continue
            sub = f"``{full}``"
            out += [sub, "~" * len(sub), "", f".. automodule:: {full}", "   :members:"]
            foreign = sorted(
                n for n in getattr(mod, "__all__", ())
                if not str(getattr(getattr(mod, n, None), "__module__", "polyfold") or "polyfold")
                .startswith("polyfold")
            )
            if foreign:  # re-exported from other packages (e.g. flint.fmpq)
                out.append("   :exclude-members: " + ", ".join(foreign))
            out.append("")
    return out


def exports_rst():
    """A table of the names importable from the top level ``polyfold``."""
    rows = []
    for name, module in sorted(polyfold._EXPORTS.items(), key=lambda kv: (kv[1], kv[0])):
        rows.append((f"``polyfold.{name}``", f"``polyfold.{module}``"))
    w1 = max(len(a) for a, _ in rows)
    w2 = max(len(b) for _, b in rows)
    line = "=" * w1 + "  " + "=" * w2
    out = [line, "name".ljust(w1) + "  " + "defined in", line]
    out += [a.ljust(w1) + "  " + b for a, b in rows]
    out += [line, ""]
    return out


# ---------------------------------------------------------------------------
# gallery
# ---------------------------------------------------------------------------
GALLERY = DOCS / "gallery"
GENERATED = GALLERY / "_generated"


def _placeholder(script):
    """A small stand-in image (``POLYFOLD_GALLERY=placeholder``, for quick builds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    GENERATED.mkdir(parents=True, exist_ok=True)
    png = GENERATED / (Path(script).stem + ".placeholder.png")
    fig, ax = plt.subplots(figsize=(4, 1))
    ax.text(0.5, 0.5, f"figure not built: run docs/gallery/{Path(script).name}",
            ha="center", va="center")
    ax.set_axis_off()
    fig.savefig(png, dpi=60)
    plt.close(fig)
    return png


def build_gallery_figure(script, *, force=False):
    """Run ``script`` (a path) and save its ``fig``; returns the PNG path.

    ``POLYFOLD_GALLERY=placeholder`` skips running scripts whose figure is missing or
    stale and shows a placeholder instead (used by the quick docs test).
    """
    import runpy

    png = GENERATED / (Path(script).stem + ".png")
    deps = [Path(script), *sorted((ROOT / "polyfold" / "plotting").glob("*.py"))]
    fresh = png.exists() and all(png.stat().st_mtime >= d.stat().st_mtime for d in deps)
    if fresh and not force and os.environ.get("POLYFOLD_GALLERY_REBUILD", "") in ("", "0"):
        return png
    if os.environ.get("POLYFOLD_GALLERY", "") == "placeholder":
        return _placeholder(script)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    GENERATED.mkdir(parents=True, exist_ok=True)
    ns = runpy.run_path(str(script), run_name="__gallery__")
    fig = ns.get("fig")
    if fig is None:
        raise RuntimeError(f"gallery script {script} must define a matplotlib figure named 'fig'")
    fig.savefig(png, dpi=150, bbox_inches="tight")
    plt.close("all")
    return png


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from docutils.statemachine import StringList
    from sphinx.util.nodes import nested_parse_with_titles

    def emit(directive, lines):
        node = nodes.section()
        node.document = directive.state.document
        nested_parse_with_titles(directive.state, StringList(lines, source="<polyfold>"), node)
        return node.children

    class ApiDirective(Directive):
        has_content = False

        def run(self):
            return emit(self, api_rst())

    class ExportsDirective(Directive):
        has_content = False

        def run(self):
            return emit(self, exports_rst())

    class FigureDirective(Directive):
        required_arguments = 1
        has_content = False

        def run(self):
            env = self.state.document.settings.env
            src_dir = Path(env.doc2path(env.docname)).parent
            script = (src_dir / self.arguments[0]).resolve()
            if not script.exists():
                raise self.error(f"gallery script {self.arguments[0]!r} not found")
            env.note_dependency(str(script))
            try:
                png = build_gallery_figure(script)
            except Exception as err:  # report as a build error (fails -W builds)
                raise self.error(f"gallery script {script.name} failed: {type(err).__name__}: {err}")
            ns_doc = _script_doc(script)
            rel = os.path.relpath(png, src_dir).replace(os.sep, "/")
            lines = [f".. image:: {rel}", f"   :alt: {script.stem}", "   :width: 100%", ""]
            lines += ns_doc + [""]
            lines += [f"Rebuild it with ``python docs/gallery/{script.name}`` "
                      "(writes PNG and PDF to ``docs/gallery/_generated``).", ""]
            lines += [".. literalinclude:: " + script.name, "   :language: python",
                      "   :lines: " + _body_lines(script), ""]
            return emit(self, lines)

    app.add_directive("polyfold-api", ApiDirective)
    app.add_directive("polyfold-exports", ExportsDirective)
    app.add_directive("polyfold-figure", FigureDirective)
    return {"parallel_read_safe": True}


def _script_doc(script):
    import ast

    doc = ast.get_docstring(ast.parse(Path(script).read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[2:] if doc.count("\n") >= 2 else []


def _body_lines(script):
    """Line range of a script after its docstring."""
    import ast

    text = Path(script).read_text(encoding="utf-8")
    tree = ast.parse(text)
    start = 1
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(
        getattr(tree.body[0], "value", None), ast.Constant
    ):
        start = tree.body[0].end_lineno + 1
    n = len(text.splitlines())
    while start < n and not text.splitlines()[start - 1].strip():
        start += 1
    return f"{start}-{n}"
