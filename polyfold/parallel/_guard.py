"""The ``if __name__ == "__main__":`` check before worker processes start (private).

Worker processes started with the *spawn* (or *forkserver*) method re-import the
main script.  A script that starts a sweep at module level, without the guard, then
starts it again in every worker: Python refuses to start processes during that
bootstrap, and Dask's nannies log one traceback per worker and retry, flooding the
terminal.  :func:`check_main_guard` detects it before anything starts and raises one
:class:`~polyfold.exceptions.MainGuardError` that shows the fix:

* in the parent: the innermost frame of the main script's module-level code is not
  inside an ``if __name__ == "__main__":`` block (read from the script's source);
* in a worker that re-imports the main script (``__mp_main__``, or a process still
  bootstrapping): any request for worker processes.
"""

import ast
import multiprocessing
import sys

from ..exceptions import MainGuardError

_FIX = (
    "put the code that starts it under `if __name__ == \"__main__\":` (worker processes "
    "are started with the {method} method, which re-imports the main script in every "
    "worker, so each worker would start the sweep again), or use {serial}."
)


def check_main_guard(what, method="spawn", serial="executor='serial'"):
    """Raise :class:`MainGuardError` when ``what`` would start workers unguarded.

    Parameters
    ----------
    what : str
        What starts the workers, for the message (e.g. ``"executor='dask'"``).
    method : str
        The multiprocessing start method of the workers; ``"fork"`` re-imports
        nothing, so it is never refused.
    serial : str
        The option that runs without workers, for the message.
    """
    if method == "fork":
        return
    main = sys.modules.get("__main__")
    if getattr(main, "__name__", None) == "__mp_main__" or getattr(
            multiprocessing.current_process(), "_inheriting", False):
        raise MainGuardError(
            f"{what} was asked to start worker processes from inside a worker that is "
            "re-importing the main script: the script starts the sweep at module level; "
            + _FIX.format(method=method, serial=serial)
        )
    where = _unguarded_main_line(main)
    if where is not None:
        path, line = where
        raise MainGuardError(
            f"{what} was called at the top level of the script {path!r} (line {line}), "
            "outside `if __name__ == \"__main__\":`; " + _FIX.format(method=method, serial=serial)
        )


def _unguarded_main_line(main):
    """``(path, line)`` of the main script's module-level call outside the guard."""
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None  # interactive session, notebook, python -c: nothing is re-imported
    frame = sys._getframe(1)
    line = None
    while frame is not None:
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    return None if _guarded(tree, line) else (str(path), line)


def _is_main_test(test):
    """``__name__ == "__main__"`` (either order)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def _guarded(tree, line):
    """Whether ``line`` lies in the body of an ``if __name__ == "__main__":`` block."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test) and node.body:
            start = node.body[0].lineno
            end = max(getattr(n, "end_lineno", n.lineno) for n in node.body)
            if start <= line <= end:
                return True
    return False
