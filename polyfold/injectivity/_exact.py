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
from ..exceptions import DegenerateInputError
from ..tolerance import get_tol, sign3


_UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


# ---------------------------------------------------------------------------
# exact kernels: signs, ranks, null vectors
# ---------------------------------------------------------------------------
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
                sv = np.linalg.svd(self.W[idx], compute_uv=False)
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
            sv = np.linalg.svd(self.W[idx], compute_uv=False)
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
    ``x' = x + t d`` with ``|t d| = step``.  Returns ``(x' float, verified)`` where
    ``verified`` says that the rational point ``x + t d`` has exactly the same
    output as ``x`` (the float ``x'`` is its nearest float64).
    """
    n = W.shape[1]
    d = _exact_null_vector(W[active], n)
    dn = math.sqrt(sum(float(v) ** 2 for v in d))
    t = arith.to_fmpq(step / dn)
    xq = [arith.to_fmpq(v) for v in x.tolist()]
    x2 = [a + t * b for a, b in zip(xq, d)]
    verified = _relu_exact(W, alpha, xq) == _relu_exact(W, alpha, x2)
    return np.array([float(v) for v in x2]), bool(verified)
