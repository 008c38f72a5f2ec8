"""``to_pandas()`` of the result objects: one helper that builds a DataFrame from a dict
of equally long columns (private; pandas is optional).

Every result with per-path, per-region, per-pair or per-sample rows has a
``to_pandas()`` method whose docstring lists its columns; the rows then go straight
to CSV or parquet (``df.to_csv(...)``, ``df.to_parquet(...)``).
"""

import numpy as np

from .exceptions import DependencyError


def to_dataframe(columns, owner):
    """A ``pandas.DataFrame`` of ``columns`` (name -> sequence, all the same length).

    Parameters
    ----------
    columns : dict of str -> array-like
        In column order.
    owner : str
        The class whose ``to_pandas`` is calling (named in the error).

    Raises
    ------
    DependencyError
        pandas is not installed.

    Examples
    --------
    >>> to_dataframe({"a": [1, 2], "b": [0.5, 1.5]}, "Example").shape
    (2, 2)
    """
    try:
        import pandas as pd
    except ImportError as err:
        raise DependencyError(
            f"{owner}.to_pandas() needs pandas: pip install pandas "
            "(or pip install 'polyfold[pandas]')."
        ) from err
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:  # pragma: no cover - a bug in a caller
        raise AssertionError(f"columns of different lengths: {lengths}")
    data = {}
    for k, v in columns.items():
        if isinstance(v, np.ndarray) and v.ndim == 1:
            data[k] = v
            continue
        arr = np.empty(len(v), dtype=object)  # Fractions, tuples, lists: one object each
        for i, x in enumerate(v):
            arr[i] = x
        numeric = all(isinstance(x, (bool, int, float, np.number, np.bool_)) for x in arr)
        data[k] = np.asarray(arr.tolist()) if numeric and len(arr) else arr
    return pd.DataFrame(data)


def segment_crossings_columns(sc):
    """The per-piece columns of a :class:`polyfold.SegmentCrossings` (see its
    ``to_pandas``)."""
    m = sc.n_segments
    n = sc.n_pieces
    seg = np.repeat(np.arange(m, dtype=np.int64), n)
    piece = np.arange(len(seg), dtype=np.int64) - np.repeat(sc.piece_offsets[:-1], n)
    # t of each piece's ends: 0, the segment's breakpoints, 1
    t_start = np.zeros(len(seg))
    t_end = np.ones(len(seg))
    not_first = piece > 0
    not_last = piece < np.repeat(n - 1, n)
    t_start[not_first] = sc.t
    t_end[not_last] = sc.t
    codes = np.asarray(sc.codes)
    n_switches = np.zeros(len(seg), np.int64)
    if len(seg) > 1:
        changed = np.count_nonzero(codes[1:] != codes[:-1], axis=1)
        n_switches[1:] = np.where(not_first[1:], changed, 0)
    cols = {
        "segment": seg,
        "piece": piece,
        "t_start": t_start,
        "t_end": t_end,
        "length": t_end - t_start,
        "n_switches": n_switches,
        "n_active": np.count_nonzero(sc.patterns, axis=1).astype(np.int64),
    }
    if sc.t_exact is not None:
        from fractions import Fraction

        te = list(sc.t_exact)
        ts = [Fraction(0)] * len(seg)
        tt = [Fraction(1)] * len(seg)
        for k, i in enumerate(np.flatnonzero(not_first)):
            ts[i] = te[k]
        for k, i in enumerate(np.flatnonzero(not_last)):
            tt[i] = te[k]
        cols["t_start_exact"], cols["t_end_exact"] = ts, tt
    flags = {"exact": sc.exact_segments, "degenerate": sc.degenerate}
    for name, f in flags.items():
        cols[name] = (np.zeros(len(seg), bool) if f is None
                      else np.repeat(np.asarray(f, bool), n))
    return cols
