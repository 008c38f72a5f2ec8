"""Progress bars (tqdm) shared by every long-running function (private).

One convention everywhere: ``progress=None`` shows a bar only when standard error is
a terminal, ``True`` always, ``False`` never.  Bars go to standard error and (except
a sweep's) vanish when done, so results on standard output (``polyfold ... --json``)
are never mixed with them.
"""

import sys

from .exceptions import ValidationError


def stderr_is_terminal():
    """Whether standard error is attached to a terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def progress_enabled(progress, *, auto=True):
    """Resolve a ``progress`` keyword: ``None`` -> a terminal on stderr (and ``auto``).

    Parameters
    ----------
    progress : bool or None
    auto : bool
        For ``progress=None``: whether the job is big enough to deserve a bar.

    Raises
    ------
    ValidationError
        ``progress`` is not True, False or None.

    Examples
    --------
    >>> progress_enabled(True), progress_enabled(False)
    (True, False)
    """
    if progress is None:
        return auto and stderr_is_terminal()
    if not isinstance(progress, bool):
        raise ValidationError(f"progress must be True, False or None (auto), got {progress!r}.")
    return progress


def progress_bar(iterable=None, *, total=None, desc=None, progress=None, unit="it", initial=0,
                 auto=True, leave=False):
    """A tqdm bar on standard error (a pass-through object when disabled).

    The object has tqdm's interface either way (iteration, ``update``, ``close``,
    ``with``), so callers need no branches.  ``leave=True`` keeps the finished bar on
    screen (sweeps do, as a record of the run).

    Examples
    --------
    >>> with progress_bar(total=3, progress=False) as bar:
    ...     bar.update(3)
    >>> list(progress_bar(range(3), progress=False))
    [0, 1, 2]
    """
    from tqdm.auto import tqdm

    show = progress_enabled(progress, auto=auto)
    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                file=sys.stderr, disable=not show)


def chunk_ranges(m, chunk_size, *, progress=None, auto=True, desc=None, unit="item"):
    """``(a, b)`` bounds of the chunks of ``range(m)``, with a bar over the items.

    Examples
    --------
    >>> list(chunk_ranges(5, 2, progress=False))
    [(0, 2), (2, 4), (4, 5)]
    """
    bar = progress_bar(total=m, desc=desc, unit=unit, progress=progress, auto=auto)
    try:
        for a in range(0, m, chunk_size):
            b = min(a + chunk_size, m)
            yield a, b
            bar.update(b - a)
    finally:
        bar.close()
