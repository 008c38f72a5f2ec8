"""Exact kernels of the injectivity checks (private).

Three-valued signs of the preactivations ``<x, phi_i> - alpha_i`` (float with an
error bound, or exact), a cache of exact ranks of row subsets of ``W``, exact null
vectors over the rationals and the exact construction of a colliding pair of
points.  Nothing here is public; the layer, verdict and reconstruction modules of
:mod:`polyfold.injectivity` build on it.
"""

import math

import numpy as np

from .. import arith
from .._lp import row_exponents
from ..exceptions import DegenerateInputError
from ..tolerance import get_tol, sign3


_UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


# ---------------------------------------------------------------------------
# exact kernels: signs, ranks, null vectors
# ---------------------------------------------------------------------------
def _power_of_two_rows(Wm, a=None, *, with_alpha=False):
    """``(W', alpha', e)``: row ``i`` of ``W`` (and ``alpha_i``) times ``2^-e_i``, the
    power of two that brings the row's largest entry into [1/2, 1) (``e_i = 0`` for a
    zero row).

    Exact in float64 (only entries more than ~1000 binades below their row's largest
    one lose bits), so anything invariant under positive row scaling (active sets,
    ranks, cells, unit rows) is computed from ``W'`` as from ``W``, while rows near
    1e300 or 1e-300 no longer overflow or underflow in squared norms and products.
    ``alpha`` (optional) is scaled with its row; it takes part in choosing the
    exponent only when ``with_alpha`` (then ``max(|W_i|, |alpha_i|)`` is brought into
    [1/2, 1)).
    """
    if Wm.dtype == object or Wm.size == 0:
        return Wm, a, np.zeros(Wm.shape[0], dtype=np.int64)
    e = row_exponents(Wm, a if with_alpha else None)
    return np.ldexp(Wm, -e[:, None]), (None if a is None else np.ldexp(a, -e)), e


def _preact_signs(W, alpha, X, *, exact, tol=None):
    """Signs (-1, 0, +1) of ``<x, phi_i> - alpha_i``: (k, m) int8.

    ``exact=True``: float evaluation with a forward error bound; entries the bound
    cannot decide are recomputed in rationals (so the signs are exact for the
    points and weights read as exact binary rationals).
    """
    Z = X @ W.T - alpha
    if not exact:
        return np.sign(Z).astype(np.int8)
    tol = get_tol(tol)
    n = W.shape[1]
    gamma = (n + 2) * _UNIT_ROUNDOFF / (1 - (n + 2) * _UNIT_ROUNDOFF)
    band = tol.safety * gamma * (np.abs(X) @ np.abs(W).T + np.abs(alpha))
    s = sign3(Z, band)
    amb = np.argwhere(s == 0)
    if len(amb):
        Wq = {}
        for k, i in amb:
            if i not in Wq:
                Wq[i] = [arith.to_fmpq(v) for v in W[i].tolist()]
            xq = [arith.to_fmpq(v) for v in X[k].tolist()]
            z = sum((a * b for a, b in zip(Wq[i], xq)), arith.ZERO) - arith.to_fmpq(alpha[i])
            s[k, i] = 1 if z > 0 else (-1 if z < 0 else 0)
    return s


class _RankCache:
    """Rank of row subsets of one matrix, float (SVD) or exact (flint), memoised."""

    def __init__(self, W, *, exact, tol=None):
        self.W = W
        self.exact = exact
        self.tol = get_tol(tol)
        self.cache = {}
        self._rows = None
        # float SVDs on rows scaled by powers of two (exact, the rank is the same): rows
        # near 1e300 or 1e-300 neither overflow nor vanish next to the others
        self._Wf = None if exact else _power_of_two_rows(np.asarray(W, dtype=np.float64))[0]

    def _exact_rank(self, idx):
        import flint

        if self._rows is None:  # rows scaled to integers: same rank, fast fmpz kernel
            self._rows = _integer_rows(self.W)
        n = self.W.shape[1]
        flat = [v for i in idx for v in self._rows[i]]
        # rank mod a prime is a lower bound of the rational rank; when it already equals
        # min(k, n) it is the exact rank, otherwise fall back to fraction-free elimination
        p = 2305843009213693951  # 2^61 - 1
        if int(flint.nmod_mat(len(idx), n, [v % p for v in flat], p).rank()) == min(len(idx), n):
            return min(len(idx), n)
        return int(flint.fmpz_mat(len(idx), n, flat).rank())

    def rank(self, mask):
        idx = np.flatnonzero(mask)
        key = idx.tobytes()
        r = self.cache.get(key)
        if r is None:
            n = self.W.shape[1]
            if len(idx) == 0:
                r = 0
            elif self.exact:
                r = self._exact_rank(idx)
            else:
                sv = np.linalg.svd(self._Wf[idx], compute_uv=False)
                r = int(np.sum(sv > self.tol.rank * max(sv[0], 1e-300))) if sv.size else 0
            r = min(r, n)
            self.cache[key] = r
        return r

    def ranks(self, masks):
        masks = np.asarray(masks, dtype=bool)
        if self.exact or len(masks) == 0:
            return np.array([self.rank(mk) for mk in masks], dtype=np.int64)
        # float: one batched SVD per active-set size
        out = np.zeros(len(masks), dtype=np.int64)
        counts = masks.sum(axis=1)
        for k in np.unique(counts):
            if k == 0:
                continue
            sel = np.flatnonzero(counts == k)
            idx = np.nonzero(masks[sel])[1].reshape(len(sel), k)
            sv = np.linalg.svd(self._Wf[idx], compute_uv=False)
            cut = self.tol.rank * np.maximum(sv[:, :1], 1e-300)
            out[sel] = np.minimum(np.sum(sv > cut, axis=1), self.W.shape[1])
        return out


def _integer_rows(M):
    """Rows of a float matrix scaled to integers (exactly), as python ints."""
    out = []
    for row in np.asarray(M, dtype=np.float64).tolist():
        qs = [arith.to_fmpq(v) for v in row]
        den = 1
        for q in qs:
            den = den * int(q.q) // math.gcd(den, int(q.q))
        out.append([int(q.p) * (den // int(q.q)) for q in qs])
    return out


def _exact_null_vector(M, n):
    """A nonzero rational vector d with ``M d = 0`` (exactly), as a list of fmpq.

    ``M`` is a float (k, n) matrix of rank < n read as exact rationals.
    """
    import flint

    if M.shape[0] == 0:
        return [arith.ONE] + [arith.ZERO] * (n - 1)
    rows = _integer_rows(M)
    mat = flint.fmpz_mat(len(rows), n, [v for r in rows for v in r])
    basis, nullity = mat.nullspace()
    if nullity == 0:  # pragma: no cover - callers check the rank first
        raise DegenerateInputError("internal: the rows span R^n, no null vector exists.")
    return _scaled([int(basis[j, 0]) for j in range(n)])


def _scaled(ints):
    """Integer vector divided by its largest magnitude (exact fmpq, floats in [-1, 1])."""
    top = max(abs(v) for v in ints)
    return [arith.fmpq(v, top) for v in ints]


def _relu_exact(W, alpha, x):
    """Exact output ``ReLU(W x - alpha)`` for a list of fmpq ``x``: list of fmpq."""
    out = []
    for i in range(W.shape[0]):
        z = sum(
            (arith.to_fmpq(w) * xv for w, xv in zip(W[i].tolist(), x)), arith.ZERO
        ) - arith.to_fmpq(alpha[i])
        out.append(z if z > 0 else arith.ZERO)
    return out


def _collision_pair(W, alpha, x, active, step):
    """A second point with the same output as ``x``.

    ``active`` are the rows whose value must be kept (the active set at ``x``,
    rank < n); the kernel direction ``d`` of those rows is computed exactly, and
    ``x' = x + t d`` with ``|t d| = step``.  Returns ``(x' float, verified, x'
    exact)`` where ``verified`` says that the rational point ``x + t d`` (the
    third item, a list of fmpq) has exactly the same output as ``x``; the float
    ``x'`` is its nearest float64.
    """
    n = W.shape[1]
    d = _exact_null_vector(W[active], n)
    dn = math.sqrt(sum(float(v) ** 2 for v in d))
    t = arith.to_fmpq(step / dn)
    xq = [arith.to_fmpq(v) for v in x.tolist()]
    x2 = [a + t * b for a, b in zip(xq, d)]
    verified = _relu_exact(W, alpha, xq) == _relu_exact(W, alpha, x2)
    return np.array([float(v) for v in x2]), bool(verified), x2


# ---------------------------------------------------------------------------
# float witnesses that collide exactly: dyadic steps along short null vectors
# ---------------------------------------------------------------------------
def _integer_null_vectors(rows, n):
    """Short integer vectors spanning the kernel of integer rows (LLL-reduced).

    ``rows`` is a list of integer lists (possibly empty: every direction is in
    the kernel).  Returns a list of integer vectors, shortest (max norm) first.
    """
    import flint

    if not rows:
        vecs = [[int(i == j) for i in range(n)] for j in range(n)]
    else:
        mat = flint.fmpz_mat(len(rows), n, [v for r in rows for v in r])
        basis, k = mat.nullspace()
        if k == 0:
            return []
        vecs = [[int(basis[i, j]) for i in range(n)] for j in range(k)]
        red = flint.fmpz_mat(len(vecs), n, [v for r in vecs for v in r]).lll()
        vecs = [[int(red[i, j]) for j in range(n)] for i in range(red.nrows())]
    out = []
    for v in vecs:
        g = 0
        for c in v:
            g = math.gcd(g, c)
        if g:
            out.append([c // g for c in v])
    out.sort(key=lambda v: max(abs(c) for c in v))
    return out


def _rows_integer(Q):
    """Rows of a flint fmpq_mat scaled to integers (same kernel)."""
    out = []
    for i in range(Q.nrows()):
        qs = [Q[i, j] for j in range(Q.ncols())]
        den = 1
        for q in qs:
            den = den * int(q.q) // math.gcd(den, int(q.q))
        out.append([int(q.p) * (den // int(q.q)) for q in qs])
    return out


_MANTISSA = 2 ** 53


def _dyadic_pairs(x, vecs, step, *, fixed=False, max_tries=8):
    """Candidate float pairs ``(x~, x~ + 2^-k delta)`` that are exact binary rationals.

    For each short integer kernel vector ``delta`` the power of two ``2^-k`` makes
    the step at most ``step`` (max norm); ``x~`` is ``x`` rounded to the grid
    ``2^-k`` (``x`` itself when ``fixed``: it must then lie on that grid), so both
    points are integers below ``2^53`` times ``2^-k``: exactly representable.
    Yields ``(x~, x2~)`` as float arrays; the caller verifies them exactly.
    """
    x = np.asarray(x, dtype=np.float64)
    # grid on which a fixed x lies: 2^-kx with kx the largest denominator exponent
    kx = max([(int(v.as_integer_ratio()[1]).bit_length() - 1) for v in x.tolist()] + [0])
    for delta in vecs[:max_tries]:
        big = max(abs(c) for c in delta)
        if big == 0 or big >= _MANTISSA or not step > 0:
            continue  # a point and its step must both fit in 53 bits
        k = math.ceil(math.log2(big) - math.log2(step))
        if fixed:
            k = max(k, kx)
        for sign in (1, -1):
            for kk in (k, k + 1, k + 2):
                if fixed:
                    N = [int(v * 2 ** kx) * 2 ** (kk - kx) for v in x.tolist()] if kk >= kx else None
                    if N is None:
                        continue
                else:
                    N = [int(round(math.ldexp(v, kk))) for v in x.tolist()]
                M = [a + sign * b for a, b in zip(N, delta)]
                if max(abs(v) for v in N + M) >= _MANTISSA:
                    continue
                xa = np.array([math.ldexp(v, -kk) for v in N])
                xb = np.array([math.ldexp(v, -kk) for v in M])
                yield xa, xb


def _exact_tuple(v):
    """Tuple of ``fractions.Fraction`` from floats or fmpq."""
    return tuple(arith.to_fraction(arith.to_fmpq(c)) for c in v)
