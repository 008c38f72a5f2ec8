"""The documentation: Sphinx builds without warnings, every gallery script draws its
figure (the pages' examples run in test_examples.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GALLERY = sorted((DOCS / "gallery").glob("plot_*.py"))

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")


def sphinx_build(out, *, builder="html", env_extra=None, timeout=600):
    env = dict(os.environ, MPLBACKEND="Agg", **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", builder,
         str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def test_sphinx_html_without_warnings(tmp_path):
    # gallery figures that are not built yet appear as placeholders here (fast);
    # test_sphinx_html_with_gallery below builds them for real
    proc = sphinx_build(tmp_path / "html", env_extra={"POLYFOLD_GALLERY": "placeholder"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = tmp_path / "html"
    for page in ("index", "getting_started", "concepts", "crossings", "api", "gallery/index"):
        assert (html / f"{page}.html").exists(), page
    api = (html / "api.html").read_text(encoding="utf-8")
    # modules documented on the API page or linked to their topic page
    for name in ("polyfold.crossings", "polyfold.network", "polyfold.plotting", "polyfold.cli"):
        assert name in api
    assert "segment_crossings" in api
    gallery = (html / "gallery" / "index.html").read_text(encoding="utf-8")
    assert gallery.count("<img") >= len(GALLERY)


@pytest.mark.slow
def test_sphinx_html_with_gallery(tmp_path):
    proc = sphinx_build(tmp_path / "html", env_extra={"POLYFOLD_GALLERY_REBUILD": "1"},
                        timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    images = list((tmp_path / "html" / "_images").glob("plot_*.png"))
    assert len([p for p in images if "placeholder" not in p.name]) == len(GALLERY)


def test_every_page_is_in_the_toctree():
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    for rst in DOCS.glob("*.rst"):
        if rst.stem != "index":
            assert f"   {rst.stem}\n" in index, f"{rst.name} is not in index.rst's toctree"
    assert "   gallery/index\n" in index


def test_every_gallery_script_is_shown():
    page = (DOCS / "gallery" / "index.rst").read_text(encoding="utf-8")
    assert GALLERY, "no gallery scripts"
    for script in GALLERY:
        assert f".. polyfold-figure:: {script.name}" in page, script.name
        text = script.read_text(encoding="utf-8")
        assert text.startswith('"""') and "fig" in text and "paper_style" in text


@pytest.mark.slow
@pytest.mark.parametrize("script", GALLERY, ids=lambda p: p.stem)
def test_gallery_script_draws(script):
    import runpy

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ns = runpy.run_path(str(script), run_name="__gallery__")
    fig = ns["fig"]
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    assert np.mean(np.any(rgba[..., :3] < 245, axis=-1)) > 0.02  # not blank
    plt.close("all")
