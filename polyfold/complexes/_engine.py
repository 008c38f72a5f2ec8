"""The d-dimensional splitting engine behind the cell complexes (private).

The complex is a face lattice (:class:`._lattice.Lattice`) whose vertices carry a
*row*: the network's state before the current unit group (``net.stages()``),
followed by the vertex's coordinates.  On every cell of the current partition the
state is affine, so a unit's threshold (or, for max units, the difference of two
candidates) is an affine function on the cell, known at its vertices; a crossed
edge gets a new vertex by interpolation of the two end rows, and the lattice is
split by the vertex signs alone.  Unit after unit, group after group; at the end of
a group every vertex row moves to the next group's state with the codes of any cell
containing the vertex (the network is continuous, so all give the same value).

Arithmetic (one keyword, as everywhere in polyfold):

* ``"float"``: float64, signs with a band of ``tol.zero`` times the values' magnitude,
  doubts (inside the band, not an exact zero) decided exactly as below;
* ``"certified"``: float64 rows with rigorous error bounds (each operation's
  rounding and the propagated input errors); a sign the bound cannot decide is
  decided in exact rationals: the vertex's exact row is rebuilt from its genealogy
  (the two vertices and the split that created it, down to the domain's corners)
  and the sign is taken exactly.  The combinatorics are then exact;
* ``"exact"``: python-flint rationals throughout.

The whole input space is the box ``[-M, M]^d`` with ``M`` a formal infinitely
large number: every value is a pair ``a + b M`` compared lexicographically
(``b`` first).  See :mod:`polyfold.complexes` for why this gives the complex of
``R^d``.
"""

import numpy as np

from .. import arith
from ..tolerance import UNIT_ROUNDOFF
from . import _lattice
from ._lattice import box_lattice

U = UNIT_ROUNDOFF
TINY = np.finfo(np.float64).tiny


# ---------------------------------------------------------------------------
# float values with error bounds: (x, e) pairs, |x - exact| <= e
# ---------------------------------------------------------------------------
def _rnd(r):
    """Bound on the rounding error of a float result ``r`` (no underflow)."""
    return 2 * U * np.abs(r)


# a sum or difference that underflows is exact; products and quotients of non-zero
# numbers may underflow, hence the ``TINY`` term there.  Exact zeros stay exact zeros
# with a zero bound (the zeros of dead units, the M parts of finite vertices).
# A result beyond float64 is inf (or NaN, from inf - inf) with an inf (NaN) bound,
# which decides nothing: such values are recomputed exactly, so the callers run these
# under _QUIET (one context per batch of operations, not one per operation).
_QUIET = {"over": "ignore", "invalid": "ignore"}


def _add(x, ex, y, ey):
    r = x + y
    return r, ex + ey + _rnd(r)


def _sub(x, ex, y, ey):
    r = x - y
    return r, ex + ey + _rnd(r)


def _mul(x, ex, y, ey):
    r = x * y
    return r, np.abs(x) * ey + np.abs(y) * ex + ex * ey + _rnd(r) + TINY * ((x != 0) & (y != 0))


def _div(x, ex, y, ey):
    """``x / y``; the bound is infinite unless ``|y| > ey``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x / y
        den = np.abs(y) - ey
        e = (ex + np.abs(r) * ey) / den
    e = np.where(den > 0, e, np.inf)
    return r, e + _rnd(r) + TINY * (x != 0)


# ---------------------------------------------------------------------------
# stage adapter: the state at the next group with fixed codes
# ---------------------------------------------------------------------------
class _Stages:
    """Fixed-code stage steps on top of ``net.stages()`` (``Stages.advance_fixed``)."""

    def __init__(self, net):
        self.st = net.stages()
        self.G = self.st.n_groups
        self.units = self.st.units
        self.net = net
        self.offsets = np.asarray(net.layer_offsets, np.int64)

    def width(self, g):
        if g == self.G:
            return self.net.output_dim
        return self.st.width(g)

    def start(self, X, exact):
        return self.st.start(X, exact=exact)

    def start_bound(self, X, EX=None):
        return self.st.start_bound(X, np.zeros_like(X) if EX is None else EX, safety=1.0)

    def start_linear(self, D, exact):
        return self.st.start_linear(D, exact=exact)

    def start_linear_bound(self, D):
        """Directions through the first affine maps, with a bound: the bound of the
        affine step (which contains the linear step's rounding) plus that of the
        offsets alone."""
        out = self.st.start_linear(D)
        _, e1 = self.st.start_bound(D, np.zeros_like(D), safety=1.0)
        _, e0 = self.st.start_bound(np.zeros_like(D[:1]), np.zeros_like(D[:1]), safety=1.0)
        return out, e1 + e0 + _rnd(out)

    def advance(self, g, S, codes, exact, linear=False):
        """State before group ``g + 1`` (``linear``: the linear part only)."""
        out = self.st.advance_fixed(g, S, codes, exact=exact, linear=linear)
        if linear and not exact:
            out[~(S != 0).any(axis=1)] = 0.0
        return out

    def advance_bound(self, g, S, E, codes, linear=False):
        if not linear:
            return self.st.advance_fixed(g, S, codes, E=E, safety=1.0)
        out = self.st.advance_fixed(g, S, codes, linear=True)
        _, e1 = self.st.advance_fixed(g, S, codes, E=E, safety=1.0)
        _, e0 = self.st.advance_fixed(g, np.zeros_like(S[:1]), codes[:1], E=np.zeros_like(E[:1]), safety=1.0)
        eo = e1 + e0 + _rnd(out)
        # the linear part of an exactly zero row is exactly zero
        nil = ~(S != 0).any(axis=1) & ~(E != 0).any(axis=1)
        out[nil] = 0.0
        eo[nil] = 0.0
        return out, eo


# ---------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------
class Engine:
    """Builds the complex of one net on one domain (see the module notes).

    Attributes after :meth:`run`: ``lat`` (the face lattice), ``V`` (nv, w + d) rows
    at the last stage (logits and coordinates), ``VB`` (space: the ``M``
    coefficients), ``E``/``EB`` (certified bounds), ``codes`` (f_d, n_hidden) int8,
    ``deg`` (f_d,) bool, ``n_exact`` (vertices decided exactly in certified mode).
    """

    def __init__(self, net, mode, tol):
        self.net = net
        self._tick = None  # progress callback while run() is on
        self.mode = mode
        self.exact = mode == "exact"
        self.certified = mode == "certified"
        self.tol = tol
        self.safety = float(tol.safety)
        self.stg = _Stages(net)
        self.d = net.input_dim
        self.n_hidden = net.n_hidden
        self.space = False
        self.n_exact = 0
        self.m0 = 0.0  # largest |a / b| of a decision taken on the M part (space)
        # genealogy: per vertex the split that created it and its two parents
        self.gen_p = []
        self.gen_n = []
        self.gen_split = []
        self.splits = []  # (fa, fb, theta (exact), stage)
        self.snap = []  # per finished group: vertex codes (nv_g, n_units) int8
        self.memo = {}  # (vertex, stage) -> (exact row A, exact row B or None)
        self.stage = 0
        self.X0 = None
        self.extra = None
        self._spare = {}  # per vertex or cell array: (buffer with spare rows, the view in use)

    # ------------------------------------------------------------- set-up
    def init_box(self, lower, upper):
        lat, corners = box_lattice(self.d)
        X = np.where(corners > 0, upper[None, :], lower[None, :])
        self._init(lat, X, None)

    def init_space(self):
        lat, corners = box_lattice(self.d)
        self.space = True
        self._init(lat, np.zeros_like(corners), corners)

    def init_polytope(self, lower, upper, A, c):
        """A bounding box whose rows also carry the values of the polytope's rows."""
        self.extra = (np.asarray(A, np.float64), np.asarray(c, np.float64))
        self.init_box(lower, upper)

    def _init(self, lat, X, XB):
        self.lat = lat
        nv = len(X)
        self.X0 = (X, XB)
        self.gen_p = np.full(nv, -1, np.int64)
        self.gen_n = np.full(nv, -1, np.int64)
        self.gen_split = np.arange(nv, dtype=np.int64)  # initial: index of the corner
        d = self.d
        if self.exact:
            Xq = arith.fmpq_array(X)
            S = self.stg.start(Xq, True)
            self.V = np.concatenate([S, Xq] + self._extra_exact(Xq), axis=1)
            self.E = None
            if self.space:
                XBq = arith.fmpq_array(XB)
                SB = self.stg.start_linear(XBq, True)
                self.VB = np.concatenate([SB, XBq], axis=1)
            else:
                self.VB = None
            self.EB = None
        else:
            if self.certified:
                S, ES = self.stg.start_bound(X)
                self.E = np.concatenate([ES, np.zeros((nv, d))], axis=1)
            else:
                S = self.stg.start(X, False)
                self.E = None
            self.V = np.concatenate([S, X], axis=1)
            if self.extra is not None:
                A, c = self.extra
                val = X @ A.T + c
                self.V = np.concatenate([self.V, val], axis=1)
                if self.certified:
                    ev = 2 * (d + 2) * U * (np.abs(X) @ np.abs(A).T + np.abs(c)) + TINY
                    self.E = np.concatenate([self.E, ev], axis=1)
            if self.space:
                if self.certified:
                    SB, EB = self.stg.start_linear_bound(XB)
                    self.EB = np.concatenate([EB, np.zeros((nv, d))], axis=1)
                else:
                    SB = self.stg.start_linear(XB, False)
                    self.EB = None
                self.VB = np.concatenate([SB, XB.astype(np.float64)], axis=1)
            else:
                self.VB = self.EB = None
        self.codes = np.zeros((1, self.n_hidden), np.int8)
        self.codes = np.zeros((lat.f(d), self.n_hidden), np.int8)
        self.deg = np.zeros(lat.f(d), bool)

    # ------------------------------------------------------------- signs
    def _values(self, fa, fb, theta):
        """Per vertex ``(value, error, M part, M error)`` of ``row[fa] - row[fb] - theta``."""
        V = self.V
        if self.exact:
            dv = V[:, fa] - (V[:, fb] if fb >= 0 else 0) - theta
            dB = None
            if self.space:
                dB = self.VB[:, fa] - (self.VB[:, fb] if fb >= 0 else 0)
            return dv, None, dB, None
        th = float(theta)
        if fb >= 0:
            x = V[:, fa] - V[:, fb]
        else:
            x = V[:, fa]
        dv = x - th
        e = None
        if self.certified:
            e = self.E[:, fa] + (self.E[:, fb] if fb >= 0 else 0.0)
            e = e + _rnd(x) + _rnd(dv) if (fb >= 0 or th != 0.0) else e
        dB = eB = None
        if self.space:
            dB = self.VB[:, fa] - (self.VB[:, fb] if fb >= 0 else 0.0)
            if self.certified:
                eB = self.EB[:, fa] + (self.EB[:, fb] + _rnd(dB) if fb >= 0 else 0.0)
        return dv, e, dB, eB

    def signs(self, fa, fb, theta):
        """Signs (nv,) int8 of the functional at every vertex (certain in
        certified and exact mode), and the values used for interpolation."""
        dv, e, dB, eB = self._values(fa, fb, theta)
        if self.exact:
            s = np.asarray(dv > 0, np.int8) - np.asarray(dv < 0, np.int8)
            if self.space:
                sb = np.asarray(dB > 0, np.int8) - np.asarray(dB < 0, np.int8)
                big = np.flatnonzero(sb != 0)
                if len(big):
                    # the decision holds for M beyond |a / b| (as in the float modes)
                    r = max(abs(dv[i]) / abs(dB[i]) for i in big.tolist())
                    self.m0 = max(self.m0, float(r))
                s = np.where(sb != 0, sb, s).astype(np.int8)
            return s, (dv, e, dB, eB)
        if not self.certified:
            return self._float_signs(dv, dB, fa, fb, theta)
        k = self.safety
        s = np.sign(dv).astype(np.int8)
        amb = np.abs(dv) <= k * e
        if self.space:
            sb = np.sign(dB).astype(np.int8)
            bsure = np.abs(dB) > k * eB
            bzero = (dB == 0) & (eB == 0)
            if bsure.any():
                r = (np.abs(dv[bsure]) + e[bsure]) / (np.abs(dB[bsure]) - eB[bsure])
                self.m0 = max(self.m0, float(r.max()))
            s = np.where(bsure, sb, s).astype(np.int8)
            amb = (~bsure & ~bzero) | (bzero & amb)
        idx = np.flatnonzero(amb)
        if len(idx):
            s[idx] = self._exact_signs(idx, fa, fb, theta)
            dv, e, dB, eB = self._values(fa, fb, theta)  # rows were refreshed
        return s, (dv, e, dB, eB)

    def _float_signs(self, dv, dB, fa, fb, theta):
        """Float mode: signs with a band of ``tol.zero`` times the magnitude of the
        compared entries (not of their differences, which may all be rounding noise:
        an ``M`` part that cancels everywhere); a value inside the band that is not an
        exact float zero is a doubt and is decided exactly from the vertex's genealogy,
        as in certified mode (counted in ``n_exact``)."""
        V = self.V
        th = float(theta)

        def mag(X):
            if not len(X):
                return 0.0
            m = float(np.abs(X[:, fa]).max())
            return max(m, float(np.abs(X[:, fb]).max())) if fb >= 0 else m

        band = self.tol.zero * max(mag(V), abs(th), TINY)
        s = np.zeros(len(dv), np.int8)
        s[dv > band] = 1
        s[dv < -band] = -1
        amb = (np.abs(dv) <= band) & (dv != 0)
        if self.space:
            bb = self.tol.zero * max(mag(self.VB), TINY)
            sure = np.abs(dB) > bb
            if sure.any():
                self.m0 = max(self.m0, float(np.max(np.abs(dv[sure]) / np.abs(dB[sure]))))
            s = np.where(sure, np.sign(dB), s).astype(np.int8)
            # an M part in the band is a doubt; an exact zero leaves the decision to a
            amb = (~sure & (dB != 0)) | ((dB == 0) & amb)
            dB = np.where(sure, dB, 0.0)  # M parts inside the band count as zero
        idx = np.flatnonzero(amb)
        if len(idx):
            ok = self._float_exact_signs(idx, fa, fb, theta, s)
            if ok.any():
                dv2, _, dB2, _ = self._values(fa, fb, theta)  # rows were refreshed
                done = np.zeros(len(dv), bool)
                done[idx[ok]] = True
                dv = np.where(done, dv2, dv)
                if self.space:
                    dB = np.where(done, dB2, dB)
        return s, (dv, None, dB, None)

    def _float_exact_signs(self, idx, fa, fb, theta, s):
        """Exact signs (written into ``s``) of the float-mode doubts ``idx``; returns
        which were decided.  A float complex whose earlier decisions were wrong can have
        a genealogy with no exact meaning (an edge whose ends have equal exact values):
        those vertices keep their float sign."""
        ok = np.zeros(len(idx), bool)
        th = arith.to_fmpq(theta)
        for i, v in enumerate(idx.tolist()):
            try:
                s[v] = self._exact_sign(v, fa, fb, th)
            except ZeroDivisionError:
                continue
            ok[i] = True
        return ok

    # ------------------------------------------------------------- exact fallback
    def _exact_signs(self, idx, fa, fb, theta):
        th = arith.to_fmpq(theta)
        out = np.zeros(len(idx), np.int8)
        for i, v in enumerate(idx.tolist()):
            out[i] = self._exact_sign(v, fa, fb, th)
        return out

    def _exact_sign(self, v, fa, fb, th):
        """Exact sign of ``z_fa - z_fb - th`` (``fb < 0``: no ``z_fb``; ``th`` an fmpq)
        at vertex ``v``, its M part first; the float row becomes the rounded exact row."""
        A, B = self._exact_row(v, self.stage)
        a = A[fa] - (A[fb] if fb >= 0 else 0) - th
        sgn = (a > 0) - (a < 0)
        if B is not None:
            b = B[fa] - (B[fb] if fb >= 0 else 0)
            if b != 0:
                sgn = 1 if b > 0 else -1
                self.m0 = max(self.m0, float(abs(a) / abs(b)))
        self._set_exact(v)
        return sgn

    def _exact_row(self, v, stage):
        """Exact ``(row, M row or None)`` of vertex ``v`` at ``stage``."""
        key = (v, stage)
        if key in self.memo:
            return self.memo[key]
        todo = [(v, stage)]
        while todo:
            w, g = todo[-1]
            if (w, g) in self.memo:
                todo.pop()
                continue
            p = int(self.gen_p[w])
            if p < 0:  # a corner of the domain
                g0 = 0
                if g == g0:
                    self.memo[(w, g)] = self._exact_corner(int(self.gen_split[w]))
                    todo.pop()
                    continue
            else:
                g0 = self.splits[int(self.gen_split[w])][3]
            if g > g0:
                if (w, g - 1) in self.memo:
                    self.memo[(w, g)] = self._exact_advance(w, g - 1, self.memo[(w, g - 1)])
                    todo.pop()
                else:
                    todo.append((w, g - 1))
                continue
            n = int(self.gen_n[w])
            need = [(q, g) for q in (p, n) if (q, g) not in self.memo]
            if need:
                todo.extend(need)
                continue
            fa, fb, th, _ = self.splits[int(self.gen_split[w])]
            self.memo[(w, g)] = _interp_exact(self.memo[(p, g)], self.memo[(n, g)], fa, fb, th)
            todo.pop()
        return self.memo[key]

    def _exact_corner(self, i):
        X, XB = self.X0
        if getattr(self, "_corner_cache", None) is None:
            Xq = arith.fmpq_array(X)
            S = self.stg.start(Xq, True)
            A = np.concatenate([S, Xq] + self._extra_exact(Xq), axis=1)
            B = None
            if XB is not None:
                XBq = arith.fmpq_array(XB)
                B = np.concatenate([self.stg.start_linear(XBq, True), XBq], axis=1)
            self._corner_cache = (A, B)
        A, B = self._corner_cache
        return A[i], (None if B is None else B[i])

    def _exact_advance(self, w, g, rows):
        A, B = rows
        W = self.stg.width(g)
        if self.snap[g] is None:  # elementwise group: continuous, no codes needed
            An = self.stg.st.advance(g, A[None, :W], exact=True)[0]
            return np.concatenate([An, A[W:]]), None
        codes = self.snap[g][w][None, :]
        An = self.stg.advance(g, A[None, :W], codes, True)[0]
        An = np.concatenate([An, A[W:]])
        Bn = None
        if B is not None:
            Bn = self.stg.advance(g, B[None, :W], codes, True, linear=True)[0]
            Bn = np.concatenate([Bn, B[W:]])
        return An, Bn

    def _extra_exact(self, Xq):
        """Exact clip columns ``A_dom x + c_dom`` (polytope domains, before clipping)."""
        if self.extra is None:
            return []
        A, c = self.extra
        return [Xq @ arith.fmpq_array(A).T + arith.fmpq_array(c)]

    # ------------------------------------------------------------- one split
    def split(self, fa, fb, theta, label, eligible=None):
        """Split the complex by ``row[fa] - row[fb] = theta`` (``fb = -1``: no
        second column).  Returns the lattice's split record and the vertex signs."""
        s, vals = self.signs(fa, fb, theta)
        res = self.lat.split(s, label, eligible)
        edges = res["edges"]
        if len(edges):
            self._new_vertices(edges, vals, fa, fb, theta)
        res["s"] = s
        return res

    def _new_vertices(self, edges, vals, fa, fb, theta):
        p, n = edges[:, 0], edges[:, 1]
        dv, e, dB, eB = vals
        thq = theta if isinstance(theta, type(arith.fmpq(0))) else arith.to_fmpq(theta)
        self.splits.append((fa, fb, thq, self.stage))
        sid = len(self.splits) - 1
        nv0 = len(self.V)
        self._grow("gen_p", p)
        self._grow("gen_n", n)
        self._grow("gen_split", np.full(len(p), sid, np.int64))
        V, E, VB, EB = self.V, self.E, self.VB, self.EB
        if self.exact:
            if not self.space:
                t = dv[p] / (dv[p] - dv[n])
                Wn = V[p] + t[:, None] * (V[n] - V[p])
                self._grow("V", Wn)
                return
            A, B = _interp_space_exact(V[p], VB[p], V[n], VB[n], dv[p], dB[p], dv[n], dB[n])
            self._grow("V", A)
            self._grow("VB", B)
            return
        th = float(theta)
        if not self.space:
            a, b = dv[p], dv[n]
            if self.certified:
                with np.errstate(**_QUIET):
                    den, eden = _sub(a, e[p], b, e[n])
                    t, et = _div(a, e[p], den, eden)
            else:
                t = a / (a - b)
            C = _lattice._clattice if V.dtype == np.float64 else None
            if C is not None:
                # the same operations by the compiled loop, written in place
                m, cols = len(p), V.shape[1]
                Wn = self._room("V", m)
                EW = self._room("E", m) if self.certified else None
                C.interp(np.ascontiguousarray(V), None if E is None else np.ascontiguousarray(E),
                         np.ascontiguousarray(p), np.ascontiguousarray(n), t,
                         et if self.certified else None, Wn, EW, cols, 2 * U, TINY)
            elif self.certified:
                with np.errstate(**_QUIET):
                    D, eD = _sub(V[n], E[n], V[p], E[p])
                    tD, etD = _mul(t[:, None], et[:, None], D, eD)
                    Wn, EW = _add(V[p], E[p], tD, etD)
            else:
                Wn = V[p] + t[:, None] * (V[n] - V[p])
            if fb < 0:
                Wn[:, fa] = th
                if self.certified:
                    EW[:, fa] = 0.0
            if C is None:  # the compiled loop wrote its rows in place
                self._grow("V", Wn)
                if self.certified:
                    self._grow("E", EW)
        else:
            cert = self.certified
            with np.errstate(**(_QUIET if cert else {})):
                A, EA, B, EBn = _interp_space_float(
                    V[p], E[p] if cert else None, VB[p], EB[p] if cert else None,
                    V[n], E[n] if cert else None, VB[n], EB[n] if cert else None,
                    dv[p], e[p] if cert else None, dB[p], eB[p] if cert else None,
                    dv[n], e[n] if cert else None, dB[n], eB[n] if cert else None)
            if fb < 0:
                A[:, fa] = th
                B[:, fa] = 0.0
                if cert:
                    EA[:, fa] = 0.0
                    EBn[:, fa] = 0.0
            self._grow("V", A)
            self._grow("VB", B)
            if cert:
                self._grow("E", EA)
                self._grow("EB", EBn)
        if self.space:
            # a new vertex off the boundary of the box at infinity is a finite point:
            # its M part is exactly zero
            fin = ~self.lat.onb[0][nv0:]
            self.VB[nv0:][fin] = arith.fmpq(0) if self.exact else 0.0
            if self.certified:
                self.EB[nv0:][fin] = 0.0
        if self.certified:
            bad = ~np.isfinite(self.E[nv0:]).all(axis=1)
            if self.space:
                bad |= ~np.isfinite(self.EB[nv0:]).all(axis=1)
            for i in np.flatnonzero(bad).tolist():
                self._set_exact(nv0 + i)

    def _room(self, name, m, dtype=None):
        """Add ``m`` rows (not yet written, returned) to the array ``name`` (``V``,
        ``E``, ``gen_p``, ``codes``...): the array is a view of a buffer with spare rows,
        grown by doubling (no copy of the whole array at every split)."""
        cur = getattr(self, name)
        n = len(cur)
        dtype = cur.dtype if dtype is None else dtype
        buf, view = self._spare.get(name, (None, None))
        if view is not cur or n + m > len(buf) or dtype != cur.dtype:
            buf = np.empty((max(2 * (n + m), 64),) + cur.shape[1:], dtype)
            buf[:n] = cur
        view = buf[: n + m]
        self._spare[name] = (buf, view)
        setattr(self, name, view)
        return view[n:]

    def _trim(self):
        """Drop the spare rows (end_group made new vertex arrays; cell arrays are copied
        to their size)."""
        for name, (buf, view) in self._spare.items():
            if getattr(self, name) is view and len(view) < len(buf):
                setattr(self, name, view.copy())
        self._spare = {}

    def _grow(self, name, new):
        """Append the rows ``new`` to the array ``name`` (what ``np.concatenate`` gives)."""
        self._room(name, len(new), np.result_type(getattr(self, name), new))[...] = new

    def _set_exact(self, v):
        """Replace a vertex's float row by its rounded exact row."""
        self.n_exact += 1
        A, B = self._exact_row(v, self.stage)
        Af = arith.to_float_array(A)
        self.V[v] = Af
        if self.E is not None:
            self.E[v] = _rnd(Af) * (A != 0)
        if B is not None:
            Bf = arith.to_float_array(B)
            self.VB[v] = Bf
            if self.EB is not None:
                self.EB[v] = _rnd(Bf) * (B != 0)

    # ------------------------------------------------------------- cells
    def _apply_cell_split(self, res):
        """Copy per-cell arrays to the ``-`` parts of the crossed cells."""
        cells, minus = res["cells"], res["minus"]
        if len(cells):
            self._grow("codes", self.codes[cells])
            self._grow("deg", self.deg[cells])
        return cells, minus

    def run_threshold_group(self, g):
        u = self.stg.units[g]
        off = int(self.stg.offsets[g])
        thresholds = [arith.to_fmpq(t) for t in u.thresholds] if self.exact else list(u.thresholds)
        for j in range(u.n_units):
            unit = off + j
            for th in thresholds:
                res = self.split(j, -1, th, unit)
                n_old = len(res["pos"])
                cells, minus = self._apply_cell_split(res)
                up = np.zeros(len(self.codes), bool)
                up[:n_old] = res["pos"] & ~res["neg"]
                up[cells] = True
                self.codes[up, unit] += 1
                flat = ~res["pos"] & ~res["neg"]
                self.deg[:n_old] |= flat
            if self._tick is not None:
                self._tick(1)

    def run_max_group(self, g):
        u = self.stg.units[g]
        off = int(self.stg.offsets[g])
        cand = u.cand
        k = cand.shape[1]
        for j in range(u.n_units):
            unit = off + j
            if self._tick is not None:
                self._tick(1)
            valid = cand[j] >= 0
            win = np.broadcast_to(valid, (self.lat.f(self.d), k)).copy()
            for a in range(k):
                if not valid[a]:
                    continue
                for b in range(a + 1, k):
                    if not valid[b]:
                        continue
                    elig = win[:, a] & win[:, b]
                    if not elig.any():
                        continue
                    res = self.split(int(cand[j, a]), int(cand[j, b]), 0, unit, eligible=elig)
                    n_old = len(res["pos"])
                    cells, minus = self._apply_cell_split(res)
                    win = np.concatenate([win, win[cells]])
                    pos = np.zeros(len(win), bool)
                    neg = np.zeros(len(win), bool)
                    pos[:n_old] = res["pos"]
                    neg[:n_old] = res["neg"]
                    pos[cells], neg[cells] = True, False
                    pos[minus], neg[minus] = False, True
                    e2 = np.concatenate([elig, elig[cells]])
                    # a wins (or ties, lowest index) where a >= b on the cell
                    lose_b = e2 & ~neg
                    lose_a = e2 & neg
                    win[lose_b, b] = False
                    win[lose_a, a] = False
            self.codes[:, unit] = np.argmax(win, axis=1).astype(np.int8)

    def end_group(self, g):
        """Vertex rows of group ``g + 1`` from those of group ``g``.

        Elementwise units are continuous, so their stage step needs no codes (the
        stage's own bound covers values near a threshold); max units and the ``M``
        parts of the box at infinity take the codes of a cell containing the vertex.
        """
        u = self.stg.units[g]
        if u.kind != "max" and not self.space:
            self.snap.append(None)
            W = self.stg.width(g)
            S, X = self.V[:, :W], self.V[:, W:]
            st = self.stg.st
            if self.certified:
                Sn, En = st.advance_bound(g, S, self.E[:, :W], safety=1.0)
                self.E = np.concatenate([En, self.E[:, W:]], axis=1)
            else:
                Sn = st.advance(g, S, exact=self.exact)
            self.V = np.concatenate([Sn, X], axis=1)
            self.stage = g + 1
            return
        off = int(self.stg.offsets[g])
        rep = self.lat.representative_cell()
        vcodes = self.codes[rep, off : off + u.n_units]
        self.snap.append(vcodes)
        d = self.d
        W = self.stg.width(g)
        S, X = self.V[:, :W], self.V[:, W:]
        if self.exact:
            Sn = self.stg.advance(g, S, vcodes, True)
            self.V = np.concatenate([Sn, X], axis=1)
            if self.space:
                SBn = self.stg.advance(g, self.VB[:, :W], vcodes, True, linear=True)
                self.VB = np.concatenate([SBn, self.VB[:, W:]], axis=1)
        elif self.certified:
            Sn, En = self.stg.advance_bound(g, S, self.E[:, :W], vcodes)
            self.V = np.concatenate([Sn, X], axis=1)
            self.E = np.concatenate([En, self.E[:, W:]], axis=1)
            if self.space:
                SBn, EBn = self.stg.advance_bound(g, self.VB[:, :W], self.EB[:, :W], vcodes, linear=True)
                self.VB = np.concatenate([SBn, self.VB[:, W:]], axis=1)
                self.EB = np.concatenate([EBn, self.EB[:, W:]], axis=1)
        else:
            Sn = self.stg.advance(g, S, vcodes, False)
            self.V = np.concatenate([Sn, X], axis=1)
            if self.space:
                SBn = self.stg.advance(g, self.VB[:, :W], vcodes, False, linear=True)
                self.VB = np.concatenate([SBn, self.VB[:, W:]], axis=1)
        self.stage = g + 1
        del d

    def run(self, progress=None):
        """Split by every unit, group by group; ``progress`` (None: a bar on a terminal
        for nets of 64 units and more) shows units done."""
        from .._progress import progress_bar

        with progress_bar(total=self.n_hidden, desc="complex", unit="unit", progress=progress,
                          auto=self.n_hidden >= 64) as bar:
            self._tick = bar.update
            for g in range(self.stg.G):
                if self.stg.units[g].kind == "max":
                    self.run_max_group(g)
                else:
                    self.run_threshold_group(g)
                self.end_group(g)
        self._tick = None
        self._trim()
        return self

    # ------------------------------------------------------------- domain clipping
    def clip_all(self, labels):
        """Keep the part of the bounding box where every polytope row is >= 0.

        The box is split by every row (both sides kept, so vertex ids and their
        genealogy stay valid), then restricted to the inside cells; the kept
        vertices become the roots of the genealogy at their exact coordinates.
        """
        d = self.d
        W = self.stg.width(0)
        m = len(self.extra[1])
        inside = np.ones(len(self.codes), bool)
        for r in range(m):
            res = self.split(W + d + r, -1, 0, int(labels[r]))
            n_old = len(res["pos"])
            cells, minus = self._apply_cell_split(res)
            inside = np.concatenate([inside, inside[cells]])
            out = np.zeros(len(inside), bool)
            out[:n_old] = res["neg"] & ~res["pos"]
            out[minus] = True
            inside &= ~out
        vmap, _, _ = self.lat.keep(inside)
        self.lat.boundary_from_facets()
        sel = np.flatnonzero(vmap >= 0)
        nv = len(sel)
        if self.certified:
            Xq = np.empty((nv, d), dtype=object)
            for i, v in enumerate(sel.tolist()):
                A, _ = self._exact_row(v, 0)
                Xq[i, :] = A[W : W + d]
            Xf = arith.to_float_array(Xq)
            EX = _rnd(Xf) * (Xq != 0)  # the vertices of the polytope are rounded
            S, ES = self.stg.start_bound(Xf, EX)
            self.V = np.concatenate([S, Xf], axis=1)
            self.E = np.concatenate([ES, EX], axis=1)
            self.X0 = (Xq, None)
        else:
            self.V = self.V[sel, : W + d]
            self.X0 = (self.V[:, W:].copy(), None)
        self.codes = self.codes[inside]
        self.deg = self.deg[inside]
        self.extra = None
        self._corner_cache = None
        self.memo = {}
        self.splits = []
        self.gen_p = np.full(nv, -1, np.int64)
        self.gen_n = np.full(nv, -1, np.int64)
        self.gen_split = np.arange(nv, dtype=np.int64)


def _interp_exact(rp, rn, fa, fb, th):
    A1, B1 = rp
    A2, B2 = rn
    a = A1[fa] - (A1[fb] if fb >= 0 else 0) - th
    b = A2[fa] - (A2[fb] if fb >= 0 else 0) - th
    if B1 is None:
        t = a / (a - b)
        return A1 + t * (A2 - A1), None
    ba = B1[fa] - (B1[fb] if fb >= 0 else 0)
    bb = B2[fa] - (B2[fb] if fb >= 0 else 0)
    A, B = _interp_space_exact(A1[None], B1[None], A2[None], B2[None],
                               np.array([a], dtype=object), np.array([ba], dtype=object),
                               np.array([b], dtype=object), np.array([bb], dtype=object))
    return A[0], B[0]


def _interp_space_exact(Ap, Bp, An, Bn, ap, bp, an, bn):
    """Vertex where ``(a + b M)`` vanishes on the edge between two rows ``A + B M``.

    With ``d0 = an - ap``, ``d1 = bn - bp``: if ``d1 == 0`` (then ``bp = bn = 0``)
    the point is the usual interpolation ``t = ap / (ap - an)`` of both parts;
    otherwise, for ``M`` infinitely large, ``t = t1 + tau / M`` with
    ``t1 = -bp / d1`` and ``tau = (bp d0 - ap d1) / d1^2``, and the new row is
    ``A = Ap + t1 (An - Ap) + tau (Bn - Bp)``, ``B = Bp + t1 (Bn - Bp)`` (exact:
    the vertex of the box complex is affine in ``M``).
    """
    m = len(ap)
    A = np.empty_like(Ap)
    B = np.empty_like(Bp)
    for i in range(m):
        d0 = an[i] - ap[i]
        d1 = bn[i] - bp[i]
        if d1 == 0:
            t = ap[i] / (ap[i] - an[i])
            A[i] = Ap[i] + t * (An[i] - Ap[i])
            B[i] = Bp[i] + t * (Bn[i] - Bp[i])
        else:
            t1 = -bp[i] / d1
            tau = (bp[i] * d0 - ap[i] * d1) / (d1 * d1)
            A[i] = Ap[i] + t1 * (An[i] - Ap[i]) + tau * (Bn[i] - Bp[i])
            B[i] = Bp[i] + t1 * (Bn[i] - Bp[i])
    return A, B


def _interp_space_float(Ap, EAp, Bp, EBp, An, EAn, Bn, EBn, ap, eap, bp, ebp, an, ean, bn, ebn):
    """Float (and certified) version of :func:`_interp_space_exact`."""
    cert = EAp is not None
    m = len(ap)
    A = np.empty_like(Ap)
    B = np.empty_like(Bp)
    EA = np.zeros_like(Ap) if cert else None
    EB = np.zeros_like(Bp) if cert else None
    if cert:
        # d1 == 0 exactly when both M parts are exactly zero
        fin = (bp == 0) & (bn == 0) & (ebp == 0) & (ebn == 0)
    else:
        fin = (bp == 0) & (bn == 0)
    f = np.flatnonzero(fin)
    if len(f):
        if cert:
            den, eden = _sub(ap[f], eap[f], an[f], ean[f])
            t, et = _div(ap[f], eap[f], den, eden)
            for (X, EX, Y, EY, out, eout) in ((Ap, EAp, An, EAn, A, EA), (Bp, EBp, Bn, EBn, B, EB)):
                D, eD = _sub(Y[f], EY[f], X[f], EX[f])
                tD, etD = _mul(t[:, None], et[:, None], D, eD)
                r, er = _add(X[f], EX[f], tD, etD)
                out[f], eout[f] = r, er
        else:
            t = ap[f] / (ap[f] - an[f])
            A[f] = Ap[f] + t[:, None] * (An[f] - Ap[f])
            B[f] = Bp[f] + t[:, None] * (Bn[f] - Bp[f])
    h = np.flatnonzero(~fin)
    if len(h):
        if cert:
            d0, ed0 = _sub(an[h], ean[h], ap[h], eap[h])
            d1, ed1 = _sub(bn[h], ebn[h], bp[h], ebp[h])
            t1, et1 = _div(-bp[h], ebp[h], d1, ed1)
            n1, en1 = _mul(bp[h], ebp[h], d0, ed0)
            n2, en2 = _mul(ap[h], eap[h], d1, ed1)
            num, enum = _sub(n1, en1, n2, en2)
            dd, edd = _mul(d1, ed1, d1, ed1)
            tau, etau = _div(num, enum, dd, edd)
            DA, eDA = _sub(An[h], EAn[h], Ap[h], EAp[h])
            DB, eDB = _sub(Bn[h], EBn[h], Bp[h], EBp[h])
            x1, ex1 = _mul(t1[:, None], et1[:, None], DA, eDA)
            x2, ex2 = _mul(tau[:, None], etau[:, None], DB, eDB)
            r, er = _add(Ap[h], EAp[h], x1, ex1)
            r, er = _add(r, er, x2, ex2)
            A[h], EA[h] = r, er
            y1, ey1 = _mul(t1[:, None], et1[:, None], DB, eDB)
            r, er = _add(Bp[h], EBp[h], y1, ey1)
            B[h], EB[h] = r, er
        else:
            d0 = an[h] - ap[h]
            d1 = bn[h] - bp[h]
            t1 = -bp[h] / d1
            tau = (bp[h] * d0 - ap[h] * d1) / (d1 * d1)
            A[h] = Ap[h] + t1[:, None] * (An[h] - Ap[h]) + tau[:, None] * (Bn[h] - Bp[h])
            B[h] = Bp[h] + t1[:, None] * (Bn[h] - Bp[h])
    return A, EA, B, EB




def _refine_by_class(self):
    """A copy of the finished engine split once more by the predicted class.

    Returns ``(engine, cls)`` with ``cls`` (f_d,) the class of every refined cell:
    for one output 1 where the logit is > 0 and 0 where it is <= 0; otherwise the
    argmax (lowest index on ties), by the same pairwise splits as max units.
    """
    import copy

    e = copy.copy(self)
    e._spare = {}  # the copy grows its own vertex arrays
    e.lat = self.lat.copy()
    e.codes = self.codes.copy()
    e.deg = self.deg.copy()
    e.memo = dict(self.memo)
    e.splits = list(self.splits)
    C = self.net.output_dim
    label = self.n_hidden
    if C == 1:
        res = e.split(0, -1, 0, label)
        n_old = len(res["pos"])
        cells, minus = e._apply_cell_split(res)
        # the logit's sign at every vertex (new vertices lie on logit = 0)
        e.logit_sign = np.zeros(e.lat.nv, np.int8)
        e.logit_sign[: len(res["s"])] = res["s"]
        cls = np.zeros(len(e.codes), np.int64)
        cls[:n_old] = res["pos"] & ~res["neg"]
        cls[cells] = 1
        e._trim()
        return e, cls
    win = np.ones((e.lat.f(e.d), C), bool)
    for a in range(C):
        for b in range(a + 1, C):
            elig = win[:, a] & win[:, b]
            if not elig.any():
                continue
            res = e.split(a, b, 0, label, eligible=elig)
            n_old = len(res["pos"])
            cells, minus = e._apply_cell_split(res)
            win = np.concatenate([win, win[cells]])
            neg = np.zeros(len(win), bool)
            neg[:n_old] = res["neg"]
            neg[cells] = False
            neg[minus] = True
            e2 = np.concatenate([elig, elig[cells]])
            win[e2 & ~neg, b] = False
            win[e2 & neg, a] = False
    e._trim()
    return e, np.argmax(win, axis=1).astype(np.int64)


Engine.refine_by_class = _refine_by_class
