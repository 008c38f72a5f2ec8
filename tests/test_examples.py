"""Every Python example of README.md and docs/*.rst runs as written.

What counts as a Python example:

* README.md: every fenced block opened with ```` ```python ````;
* docs/*.rst: every ``.. code-block:: python`` (or ``pycon``) block, every
  ``.. doctest::`` block and every literal block introduced by ``::`` at the end of a
  paragraph, except shell transcripts (first line starting with ``$``).

Blocks with ``>>>`` prompts run as doctests (output compared, ``...`` and
whitespace-insensitive); the others run as scripts.  The blocks of one file share one
namespace, in order, as a reader would type them; each file runs in an empty
temporary folder with the Agg matplotlib backend.

A block that is not meant to run (it needs a cluster address, a user's file or hours)
says so on its first line with the marker ``# not run: <reason>`` (for a doctest
block: a first example ``>>> # not run: <reason>``).  Such blocks are listed in
:data:`SKIPPED` below, so a new skip is a deliberate change of this file.
"""

import doctest
import re
import textwrap
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
FILES = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.rst"))
MARKER = re.compile(r"^(?:>>>\s*)?#\s*not run:\s*(.+)$")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: (file, reason) of every block marked ``# not run:`` -- the skips are listed here
SKIPPED = [
    ("docs/parallel.rst", "1M paths per class pair on two processes, hours"),
    ("docs/parallel.rst", "needs the address of a running Dask scheduler"),
]


def _markdown_blocks(text):
    for m in re.finditer(r"^```python[ \t]*\n(.*?)^```", text, re.S | re.M):
        yield text.count("\n", 0, m.start()) + 2, m.group(1)


def _rst_blocks(text):
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        directive = re.match(r"\.\.\s+(code-block|code|sourcecode)::\s*(\S*)", stripped)
        if directive:
            start = directive.group(2).lower() in ("python", "pycon", "py", "python3")
        elif stripped == ".. doctest::":
            start = True
        elif stripped.endswith("::") and not stripped.startswith(".."):
            start = True  # a literal block after a paragraph
        else:
            start = False
        i += 1
        if not start:
            continue
        # directive options (":caption: ...") and blank lines before the body
        while i < len(lines) and (not lines[i].strip() or (
                lines[i].strip().startswith(":") and directive is not None
                and len(lines[i]) - len(lines[i].lstrip()) > indent)):
            i += 1
        first = i
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        block = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        if block.strip() and not block.lstrip().startswith("$"):
            yield first + 1, block


def examples(name):
    """``(line, code)`` of every Python example of the file ``name`` (relative to the root)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return list(_markdown_blocks(text) if name.endswith(".md") else _rst_blocks(text))


def _skip_reason(code):
    first = code.lstrip().splitlines()[0].strip()
    m = MARKER.match(first)
    return m.group(1).strip() if m else None


def _needs_missing_torch(code):
    """PyTorch is optional: a block that imports it is skipped where it is missing."""
    import importlib.util

    return re.search(r"^\s*(>>>\s*)?import torch\b", code, re.M) is not None and \
        importlib.util.find_spec("torch") is None


def test_examples_are_found():
    found = {name: len(examples(name)) for name in FILES}
    assert found["README.md"] >= 1
    assert found["docs/getting_started.rst"] >= 3 and found["docs/injectivity.rst"] >= 6
    assert sum(found.values()) >= 30, found


def test_skipped_blocks_are_listed():
    skipped = [(name, _skip_reason(code)) for name in FILES for _, code in examples(name)
               if _skip_reason(code)]
    assert skipped == SKIPPED


def test_the_extractor_on_a_small_page():
    page = textwrap.dedent("""\
        Title
        =====

        Some code::

           x = 1

        .. code-block:: python
           :caption: a caption

           >>> x + 1
           2

        .. code-block:: bash

           polyfold demo

        A transcript::

           $ polyfold --help
        """)
    assert [code for _, code in _rst_blocks(page)] == ["x = 1\n", ">>> x + 1\n2\n"]
    md = "text\n```python\nprint(1)\n```\n```bash\nls\n```\n"
    assert list(_markdown_blocks(md)) == [(3, "print(1)\n")]


@pytest.mark.parametrize("name", FILES)
def test_examples_run(name, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = examples(name)
    if not blocks:
        pytest.skip(f"{name} has no Python examples")
    globs = {"__name__": "__main__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures = []
    try:
        for line, code in blocks:
            if _skip_reason(code) or _needs_missing_torch(code):
                continue
            where = f"{name}:{line}"
            if ">>>" in code:
                test = parser.get_doctest(code, globs, where, str(ROOT / name), line - 1)
                runner.run(test, out=failures.append, clear_globs=False)
                globs.update(test.globs)  # DocTest copies the namespace it is given
            else:
                try:
                    exec(compile(code, where, "exec"), globs)
                except Exception as err:  # report with the block's place
                    raise AssertionError(f"example at {where} raised "
                                         f"{type(err).__name__}: {err}\n{code}") from err
    finally:
        plt.close("all")
    assert runner.failures == 0, "".join(failures)
