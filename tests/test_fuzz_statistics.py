"""Fuzz tests of the region statistics against independent references.

Small random ReLU nets in 2 and 3 input dimensions (dyadic weights, so that float
arithmetic at dyadic points is exact, and Gaussian float nets), with duplicate,
scaled, opposite and zero rows, evaluated at points inside regions, near neuron
hyperplanes and on them.  Every expected value comes from code in this file that
does not use polyfold:

* the region's H-representation and affine map, recomputed from the activation
  pattern with :class:`fractions.Fraction` (a neuron with ``z == 0`` is inactive,
  as :func:`polyfold.region_of` documents);
* its insphere, one ``scipy.optimize.linprog`` LP in ``(x, r)``;
* its facets, one ``linprog`` per hyperplane (the largest ball inside the
  hyperplane's intersection with the other rows), cross-checked against exact
  vertex enumeration;
* decision-boundary crossings (the exact minimum of the margin over the vertices)
  and distances (the nearest point of ``R`` on the boundary, from the exact
  projections onto every face of ``R`` within the boundary hyperplane);
* neighbours: exact forward passes at the stepped points and along the segment to
  the facet, and in 2D dense sampling just outside every facet (a lower bound of the
  neighbours).
"""

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy.optimize import linprog

from polyfold import PLNet, insphere, inspheres, region_statistics

DYADIC = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
BIAS = [-1.0, -0.5, 0.0, 0.5, 1.0]


# ---------------------------------------------------------------------------
# exact references (Fractions; no polyfold code)
# ---------------------------------------------------------------------------
def exact_layers(layers):
    return [([[F(float(w)) for w in row] for row in W], [F(float(v)) for v in b]) for W, b in layers]


def exact_forward(layers_f, x):
    """Preactivations of every hidden layer and the logits, in Fractions."""
    h = [F(v) if isinstance(v, F) else F(float(v)) for v in x]
    zs = []
    for l, (W, b) in enumerate(layers_f):
        z = [sum((w * v for w, v in zip(row, h)), F(0)) + bb for row, bb in zip(W, b)]
        if l == len(layers_f) - 1:
            return zs, z
        zs.append(z)
        h = [v if v > 0 else F(0) for v in z]


def exact_pattern(layers_f, x):
    zs, _ = exact_forward(layers_f, x)
    return [bool(v > 0) for z in zs for v in z]


def exact_region(layers_f, x, lo, hi):
    """Rows ``(a, c, unit)`` of ``{y : a y + c >= 0}`` and the logit map ``V y + u``
    of the region of ``x``, from its pattern (``z > 0`` active), then the box rows."""
    d = len(x)
    zs, _ = exact_forward(layers_f, x)
    Wh = [[F(int(i == k)) for k in range(d)] for i in range(d)]
    bh = [F(0)] * d
    rows = []
    for l, (W, b) in enumerate(layers_f):
        Z = [[sum((W[j][m] * Wh[m][k] for m in range(len(Wh))), F(0)) for k in range(d)]
             for j in range(len(W))]
        zb = [sum((W[j][m] * bh[m] for m in range(len(bh))), F(0)) + b[j] for j in range(len(W))]
        if l == len(layers_f) - 1:
            V, u = Z, zb
            break
        act = [zs[l][j] > 0 for j in range(len(W))]
        for j in range(len(W)):
            s = 1 if act[j] else -1
            rows.append((tuple(s * v for v in Z[j]), s * zb[j], (l, j)))
        Wh = [Z[j] if act[j] else [F(0)] * d for j in range(len(W))]
        bh = [zb[j] if act[j] else F(0) for j in range(len(W))]
    for k in range(d):
        e = tuple(F(int(i == k)) for i in range(d))
        rows.append((e, -F(lo), ("domain", k)))
    for k in range(d):
        e = tuple(F(-int(i == k)) for i in range(d))
        rows.append((e, F(hi), ("domain", d + k)))
    return rows, V, u


def key(a, c):
    """The oriented hyperplane ``a y + c >= 0`` up to a positive factor (None: zero row)."""
    nz = [abs(v) for v in a if v != 0]
    if not nz:
        return None
    s = max(nz)
    return tuple(v / s for v in a) + (c / s,)


def fnorm(a):
    return math.sqrt(sum(float(v) ** 2 for v in a))


def solve(M, v):
    """Exact solution of the square system ``M y = v`` (None if singular)."""
    n = len(M)
    A = [list(M[i]) + [v[i]] for i in range(n)]
    for col in range(n):
        piv = next((r for r in range(col, n) if A[r][col] != 0), None)
        if piv is None:
            return None
        A[col], A[piv] = A[piv], A[col]
        for r in range(n):
            if r != col and A[r][col] != 0:
                f = A[r][col] / A[col][col]
                A[r] = [x - f * y for x, y in zip(A[r], A[col])]
    return [A[i][n] / A[i][i] for i in range(n)]


def vertices(rows, d):
    """Exact vertices of the bounded polytope ``{a y + c >= 0}``."""
    nzr = [(a, c) for a, c, _ in rows if any(a)]
    out = set()
    for T in itertools.combinations(range(len(nzr)), d):
        y = solve([nzr[t][0] for t in T], [-nzr[t][1] for t in T])
        if y is None:
            continue
        if all(sum((ai * yi for ai, yi in zip(a, y)), F(0)) + c >= 0 for a, c in nzr):
            out.add(tuple(y))
    return sorted(out)


def affine_rank(points):
    if len(points) <= 1:
        return 0
    p0 = np.array([[float(v) for v in p] for p in points])
    return int(np.linalg.matrix_rank(p0[1:] - p0[0], tol=1e-12))


def vertex_facets(rows, verts, d):
    """Keys of the facet-defining hyperplanes: ``d`` affinely independent vertices on them."""
    keys = set()
    for a, c, _ in rows:
        k = key(a, c)
        if k is None or k in keys:
            continue
        on = [v for v in verts if sum((ai * vi for ai, vi in zip(a, v)), F(0)) + c == 0]
        if affine_rank(on) == d - 1:
            keys.add(k)
    return keys


def dist2_to_boundary(rows, x, g, h, d):
    """Exact squared distance from ``x`` to ``{y in R : g y + h = 0}`` (None if empty).

    The nearest point is the projection of ``x`` onto the affine hull of the face of
    ``R`` (within the hyperplane) that contains it in its relative interior, so the
    minimum over every face's projection that lies in ``R`` is exact.
    """
    nzr = [(a, c) for a, c, _ in rows if any(a)]
    best = None
    for k in range(d):
        for T in itertools.combinations(range(len(nzr)), k):
            E = [list(g)] + [list(nzr[t][0]) for t in T]
            f = [-h] + [-nzr[t][1] for t in T]
            G = [[sum((p * q for p, q in zip(ei, ej)), F(0)) for ej in E] for ei in E]
            r = [sum((p * q for p, q in zip(ei, x)), F(0)) - fi for ei, fi in zip(E, f)]
            lam = solve(G, r)
            if lam is None:
                continue
            y = [x[m] - sum((lam[i] * E[i][m] for i in range(len(E))), F(0)) for m in range(d)]
            if all(sum((ai * yi for ai, yi in zip(a, y)), F(0)) + c >= 0 for a, c in nzr):
                d2 = sum(((p - q) ** 2 for p, q in zip(y, x)), F(0))
                best = d2 if best is None or d2 < best else best
    return best


# ---------------------------------------------------------------------------
# scipy references
# ---------------------------------------------------------------------------
def unit_rows(rows):
    """Float unit rows ``(An, cn)``; zero rows dropped (they hold at the point)."""
    A, c = [], []
    for a, cc, _ in rows:
        n = fnorm(a)
        if n == 0:
            assert cc >= 0
            continue
        A.append([float(v) / n for v in a])
        c.append(float(cc) / n)
    return np.array(A), np.array(c)


def chebyshev_ref(A, c):
    """Largest ball in ``{A y + c >= 0}`` (unit rows): ``linprog`` in ``(y, r)``."""
    m, d = A.shape
    cost = np.zeros(d + 1)
    cost[-1] = -1.0
    res = linprog(cost, A_ub=np.hstack([-A, np.ones((m, 1))]), b_ub=c,
                  bounds=[(None, None)] * d + [(0, None)], method="highs")
    assert res.status == 0, res.message
    return res.x[:d], res.x[d]


def facet_margin_ref(rows, i):
    """Largest ``t`` with a point on hyperplane ``i`` at distance >= ``t`` from every
    other hyperplane of the region (``t > 0`` iff row ``i`` defines a facet)."""
    a_i, c_i, _ = rows[i]
    ki = key(a_i, c_i)
    d = len(a_i)
    A, b = [], []
    for a, c, _ in rows:
        if key(a, c) in (None, ki):
            continue
        n = fnorm(a)
        A.append([-float(v) / n for v in a] + [1.0])
        b.append(float(c) / n)
    n_i = fnorm(a_i)
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.array(A), b_ub=np.array(b),
                  A_eq=np.array([[float(v) / n_i for v in a_i] + [0.0]]),
                  b_eq=np.array([-float(c_i) / n_i]),
                  bounds=[(None, None)] * d + [(None, 1.0)], method="highs")
    if res.status == 2:
        return -np.inf
    assert res.status == 0, res.message
    return res.x[d]


# ---------------------------------------------------------------------------
# random nets and points
# ---------------------------------------------------------------------------
def to_net(layers):
    return PLNet.from_arrays([(np.array(W, float), np.array(b, float)) for W, b in layers])


@st.composite
def dyadic_nets(draw, dims=(2, 3)):
    """Small dyadic ReLU nets, with special rows injected into the first layer."""
    d = draw(st.sampled_from(dims))
    depth = draw(st.integers(1, 2))
    widths = [draw(st.integers(1, 4)) for _ in range(depth)]
    n_out = draw(st.integers(1, 3))
    w = st.sampled_from(DYADIC)
    layers = []
    prev = d
    for width in widths + [n_out]:
        W = [[draw(w) for _ in range(prev)] for _ in range(width)]
        b = [draw(st.sampled_from(BIAS)) for _ in range(width)]
        layers.append((W, b))
        prev = width
    W0, b0 = layers[0]
    for op in draw(st.lists(st.sampled_from(["dup", "scaled", "opposite", "zero", "dead"]),
                            max_size=2)):
        j = draw(st.integers(0, len(W0) - 1))
        if op == "dup":
            W0.append(list(W0[j])), b0.append(b0[j])
        elif op == "scaled":
            W0.append([2 * v for v in W0[j]]), b0.append(2 * b0[j])
        elif op == "opposite":
            W0.append([-v for v in W0[j]]), b0.append(-b0[j])
        elif op == "zero":  # a constant unit: always on
            W0.append([0.0] * d), b0.append(1.0)
        else:  # a dead unit
            W0.append([0.0] * d), b0.append(-1.0)
    if len(layers) > 1:  # the next layer reads the added units too
        W1, _ = layers[1]
        for row in W1:
            row.extend(draw(w) for _ in range(len(W0) - len(row)))
    return layers


@st.composite
def points_for(draw, layers, lo, hi):
    """A dyadic point of the box: anywhere, on a first-layer hyperplane, or 2^-20 off one."""
    d = len(layers[0][0][0])
    x = [draw(st.integers(int(16 * lo), int(16 * hi))) / 16 for _ in range(d)]
    kind = draw(st.sampled_from(["inside", "on", "near"]))
    if kind == "inside":
        return x, kind
    W0, b0 = layers[0]
    j = draw(st.integers(0, len(W0) - 1))
    w = W0[j]
    k = int(np.argmax(np.abs(w)))
    if w[k] == 0:
        return x, "inside"
    y = list(x)
    y[k] = 0.0
    y[k] = -(b0[j] + sum(a * v for a, v in zip(w, y))) / w[k]
    if kind == "near":
        y[k] += draw(st.sampled_from([-1, 1])) * 2.0**-20
    if not lo <= y[k] <= hi:
        return x, "inside"
    return y, kind


# ---------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------
def check_sample(layers, x, lo, hi, st_, i=0, *, brute=False, exact_float=True, log=None):
    """Compare sample ``i`` of ``st_`` with the references; returns a small dict of
    what was seen (for the sweep's counts)."""
    seen = {"flat": False, "multi_neighbour_facets": 0, "facets": 0, "boundaries": 0,
            "neighbours": 0}
    Lf = exact_layers(layers)
    d = len(x)
    xf = [F(float(v)) for v in x]
    pattern = exact_pattern(Lf, xf)
    if not exact_float and st_.patterns[i].tolist() != pattern:
        zs, _ = exact_forward(Lf, xf)
        assert min(abs(float(v)) for z in zs for v in z) < 1e-9  # only rounding at a hyperplane
        return seen
    assert st_.patterns[i].tolist() == pattern
    rows, V, u = exact_region(Lf, xf, lo, hi)
    A, c = unit_rows(rows)
    neuron = [r for r in rows if r[2][0] != "domain"]
    # insphere
    centre_ref, r_ref = chebyshev_ref(A, c)
    assert st_.radius[i] == pytest.approx(r_ref, abs=1e-7)
    cen = st_.centre[i]
    assert np.all(A @ cen + c >= st_.radius[i] - 1e-7)
    if r_ref < 1e-9:
        # a region without interior (a point on two opposite hyperplanes): no
        # neighbours, no facet geometry to compare
        seen["flat"] = True
        assert st_.n_neighbours[i] == 0
        return seen
    # facets: one LP per hyperplane, and exact vertex enumeration
    verts = vertices(rows, d)
    vkeys = vertex_facets(rows, verts, d)
    lkeys = set()
    for t, (a, cc, _) in enumerate(rows):
        k = key(a, cc)
        if k is None or k in lkeys:
            continue
        m = facet_margin_ref(rows, t)
        if m > 1e-7:
            lkeys.add(k)
        else:
            assert m < 1e-9, "facet LP margin in the ambiguous band"
    assert lkeys == vkeys  # the two references agree
    neuron_keys = {key(a, cc) for a, cc, _ in neuron} - {None}
    unit_key = {r[2]: key(r[0], r[1]) for r in neuron}
    got = [unit_key[tuple(u_)] for u_ in st_.facet_units[i]]
    assert len(got) == len(set(got)) == st_.n_facets[i]  # one facet per hyperplane
    assert set(got) == lkeys & neuron_keys
    assert st_.n_domain_facets[i] == len(lkeys - neuron_keys)
    seen["facets"] = len(got)
    # orthogonality: |cos| between the facet normals
    normals = [np.array([float(v) for v in k[:-1]]) for k in got]
    normals = [n / np.linalg.norm(n) for n in normals]
    cos = sorted(abs(float(p @ q)) for p, q in itertools.combinations(normals, 2))
    np.testing.assert_allclose(np.sort(st_.pair_cosines[i]), cos, atol=1e-12)
    if len(cos) >= 2:
        assert st_.cos_median[i] == pytest.approx(float(np.median(cos)), abs=1e-12)
    # depth: the nearest neuron hyperplane among the rows
    dep = [float(sum((ai * vi for ai, vi in zip(a, xf)), F(0)) + cc) / fnorm(a)
           for a, cc, _ in neuron if any(a)]
    assert st_.depth[i] == pytest.approx(min(dep) if dep else np.inf, abs=1e-12)
    # decision boundaries
    f = [sum((vi * xi for vi, xi in zip(row, xf)), F(0)) + ui for row, ui in zip(V, u)]
    if len(f) == 1:
        cls = int(f[0] > 0)
        s = 1 if cls == 1 else -1
        rivals = {1 - cls: ([s * v for v in V[0]], s * u[0])}
    else:
        cls = max(range(len(f)), key=lambda j: (f[j], -j))
        rivals = {j: ([p - q for p, q in zip(V[cls], V[j])], u[cls] - u[j])
                  for j in range(len(f)) if j != cls}
    assert st_.predicted[i] == cls
    free, crossing, ambiguous = [], {}, False
    for j, (g, h) in rivals.items():
        gn = fnorm(g)
        if gn == 0:
            continue
        e = sum((gi * xi for gi, xi in zip(g, xf)), F(0)) + h
        free.append(abs(float(e)) / gn)
        low = min(sum((gi * vi for gi, vi in zip(g, v)), F(0)) + h for v in verts)
        if -1e-7 < float(low) / gn < 0:
            ambiguous = True  # within the LP tolerance of touching: either answer is fine
        elif low < 0:
            d2 = dist2_to_boundary(rows, xf, g, h, d)
            assert d2 is not None
            crossing[j] = math.sqrt(float(d2))
    assert st_.free_boundary_distance[i] == pytest.approx(min(free) if free else np.inf,
                                                          abs=1e-12)
    got_b = dict(zip(st_.boundary_classes[i].tolist(), st_.boundary_distances[i].tolist()))
    if ambiguous:
        crossing = {j: v for j, v in crossing.items() if j in got_b}
        got_b = {j: v for j, v in got_b.items() if j in crossing}
    assert set(got_b) == set(crossing)
    for j, dist in crossing.items():
        assert got_b[j] == pytest.approx(dist, abs=1e-7)
    seen["boundaries"] = len(crossing)
    if crossing and not ambiguous:
        assert st_.boundary_distance[i] == pytest.approx(min(crossing.values()), abs=1e-7)
        assert crossing[int(st_.boundary_class[i])] == pytest.approx(min(crossing.values()),
                                                                      abs=1e-7)
    elif not ambiguous:
        assert st_.boundary_distance[i] == np.inf and st_.boundary_class[i] == -1
    # neighbours: one per neuron facet
    assert st_.n_neighbours[i] == len(got)
    dom_keys = {key(a, cc) for a, cc, un in rows if un[0] == "domain"}
    Vc = np.array([float(v) for v in (V[cls] if len(f) > 1 else V[0])])
    if len(f) == 1 and cls == 0:
        Vc = -Vc
    for t, (k, units, pt, ok, cosv, lab) in enumerate(zip(
            got, st_.neighbour_units[i], st_.neighbour_points[i], st_.neighbour_verified[i],
            st_.neighbour_cosines[i], st_.neighbour_labels[i])):
        if k in dom_keys:  # the facet lies on the domain box: nothing to step into
            assert not ok and lab == -1 and np.isnan(cosv)
            continue
        assert ok, f"neighbour {t} not confirmed"
        assert st_.facet_units[i][t] in units
        ptf = [F(float(v)) for v in pt]
        assert all(lo <= v <= hi for v in ptf)
        pat2 = exact_pattern(Lf, ptf)
        flipped = {u_ for u_, (p, q) in zip(
            [(l, j) for l, (W, _) in enumerate(Lf[:-1]) for j in range(len(W))],
            zip(pattern, pat2)) if p != q}
        assert flipped == set(units)
        # the foot of the stepped point on the facet's hyperplane lies in the facet
        # and the open segment from it to the point in the neighbour
        a_k = np.array([float(v) for v in k[:-1]])
        nrm = np.linalg.norm(a_k)
        e = (a_k @ pt + float(k[-1])) / nrm
        assert e < 0
        foot = pt - e * a_k / nrm
        sl = A @ foot + c
        assert np.all(sl > -1e-9)
        on_f = np.isclose(np.abs(A @ (a_k / nrm)), 1.0) & (np.abs(sl) < 1e-9)
        assert np.all(sl[~on_f] > 1e-12)
        for w in (1e-3, 0.5):
            mid = [F(float(v)) for v in foot + w * (pt - foot)]
            assert exact_pattern(Lf, mid) == pat2
        # gradient cosine and label from the exact map at the stepped point
        _, V2 = exact_region(Lf, ptf, lo, hi)[:2]
        f2 = [float(v) for v in exact_forward(Lf, ptf)[1]]
        lab_ref = int(f2[0] > 0) if len(f2) == 1 else int(np.argmax(f2))
        gap = abs(f2[0]) if len(f2) == 1 else np.diff(np.sort(f2)[-2:])[0]
        if gap > 1e-9:  # (a stepped point on a decision boundary may go either way)
            assert lab == lab_ref
        g2 = np.array([float(v) for v in V2[cls if len(f2) > 1 else 0]])
        if len(f2) == 1 and cls == 0:
            g2 = -g2
        den = np.linalg.norm(Vc) * np.linalg.norm(g2)
        if den > 0:
            assert cosv == pytest.approx(float(Vc @ g2) / den, abs=1e-9)
        else:
            assert np.isnan(cosv)
        seen["neighbours"] += 1
    if brute and d == 2:
        seen["multi_neighbour_facets"] = brute_neighbours(Lf, rows, verts, got, pattern, st_, i,
                                                          dom_keys)
    return seen


def brute_neighbours(Lf, rows, verts, got, pattern, st_, i, dom_keys, n=400):
    """2D: patterns just outside each neuron facet, sampled densely along it.

    Each reported neighbour must be among the sampled patterns of its facet, so the
    sampled distinct patterns bound the neighbours from below.  Returns the number
    of facets across which sampling finds several regions (polyfold reports one).
    """
    multi = 0
    found_all = set()
    for t, k in enumerate(got):
        if k in dom_keys:
            continue
        a = k[:-1]
        on = [v for v in verts if sum((ai * vi for ai, vi in zip(a, v)), F(0)) + k[-1] == 0]
        p0 = np.array([float(v) for v in on[0]])
        p1 = np.array([float(v) for v in on[-1]])
        nrm = np.array([float(v) for v in a])
        nrm /= np.linalg.norm(nrm)
        eps = 1e-7 * max(1.0, np.linalg.norm(p1 - p0))
        s = (np.arange(n) + 0.5) / n
        pts = p0 + s[:, None] * (p1 - p0) - eps * nrm
        pats = {tuple(exact_pattern(Lf, [F(float(v)) for v in p])) for p in pts}
        pats.discard(tuple(pattern))
        pt = st_.neighbour_points[i][t]
        mine = tuple(exact_pattern(Lf, [F(float(v)) for v in pt]))
        assert mine in pats
        multi += len(pats) > 1
        found_all |= pats
    assert len(found_all) >= int(st_.n_neighbours[i]) - sum(k in dom_keys for k in got)
    return multi


# ---------------------------------------------------------------------------
# the fuzz tests
# ---------------------------------------------------------------------------
BOXES = [(-2.0, 2.0), (-1.0, 1.0)]


def _fuzz_one(data, brute):
    layers = data.draw(dyadic_nets())
    lo, hi = data.draw(st.sampled_from(BOXES))
    x, kind = data.draw(points_for(layers, lo, hi))
    net = to_net(layers)
    facet_point = data.draw(st.sampled_from(["nearest", "chebyshev"]))
    st_ = region_statistics(net, [x], domain=(lo, hi), facet_point=facet_point, progress=False)
    return check_sample(layers, x, lo, hi, st_, brute=brute)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_dyadic_nets_against_exact_references(data):
    _fuzz_one(data, brute=True)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_dyadic_nets_against_exact_references_sweep(data):
    _fuzz_one(data, brute=True)


@pytest.mark.parametrize("seed", range(6))
def test_float_nets_against_references(seed):
    # Gaussian weights, uniform points: the references use the exact values of the
    # float weights and points (Fraction(float) is exact)
    rng = np.random.default_rng(seed)
    d = 2 + seed % 2
    widths = [4, 3] if seed % 3 else [5]
    dims = [d] + widths + [1 + seed % 3]
    layers = [(rng.standard_normal((b, a)).tolist(), (0.3 * rng.standard_normal(b)).tolist())
              for a, b in zip(dims[:-1], dims[1:])]
    X = rng.uniform(-1, 1, (6, d))
    st_ = region_statistics(to_net(layers), X, domain=(-1, 1), progress=False)
    for i, x in enumerate(X):
        check_sample(layers, x.tolist(), -1.0, 1.0, st_, i, brute=(d == 2), exact_float=False)


# ---------------------------------------------------------------------------
# hand-checkable values (docs/statistics.rst, shared spec section 3)
# ---------------------------------------------------------------------------
def test_spec_triangle_and_box():
    tri = insphere([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [0.0, 0.0, 1.0])
    assert tri.radius == pytest.approx((2 - math.sqrt(2)) / 2, abs=1e-12)
    np.testing.assert_allclose(tri.centre, [tri.radius] * 2, atol=1e-12)
    assert insphere(np.zeros((0, 2)), np.zeros(0), domain=(0, 1)).radius == pytest.approx(0.5)
    layers = [([[1, 0], [0, 1], [1, 1]], [0, 0, -1]), ([[1, 0, 0], [0, 1, 0]], [0, 0])]
    st_ = region_statistics(to_net(layers), [[0.25, 0.25]], domain=(-2, 2), progress=False)
    assert st_.patterns[0].tolist() == [True, True, False]
    check_sample(layers, [0.25, 0.25], -2.0, 2.0, st_)


def test_touching_unit_of_a_later_layer_does_not_switch():
    # z = relu(x) + relu(-x) = |x| touches zero on the facet x = 0 of the first layer
    # and stays active on both sides: the neighbour across x = 0 flips the two
    # first-layer units only.  By hand at (0.5, 0.5): class 1 (logits x, x + y -
    # 1/4); across x = 0 the logits are (-x, y - 1/4), so the stepped point's label is
    # 0 and the class-1 gradient goes from (1, 1) to (0, 1), cosine 1/sqrt 2.
    layers = [([[1, 0], [-1, 0], [0, 1]], [0, 0, 0]), ([[1, 1, 0], [1, 0, 1]], [0, -0.25]),
              ([[1, 0], [0, 1]], [0, 0])]
    st_ = region_statistics(to_net(layers), [[0.5, 0.5]], domain=(-1, 1), progress=False)
    nb = dict(zip(st_.facet_units[0], range(3)))[(0, 0)]
    assert st_.neighbour_units[0][nb] == ((0, 0), (0, 1))
    assert st_.neighbour_verified[0][nb]
    assert st_.neighbour_labels[0][nb] == 0
    assert st_.neighbour_cosines[0][nb] == pytest.approx(2**-0.5, abs=1e-12)
    check_sample(layers, [0.5, 0.5], -1.0, 1.0, st_)


def test_point_on_a_hyperplane_takes_the_inactive_side():
    # x = (0.5, 0.5) lies on x - y = 0: that unit counts as inactive (z == 0), so the
    # region is {x + y >= 0, x - y <= 0} in the box, depth 0
    layers = [([[1, 1], [1, -1]], [0, 0]), ([[1, 1], [1, -1]], [0, 0])]
    st_ = region_statistics(to_net(layers), [[0.5, 0.5]], domain=(-1, 1), progress=False)
    assert st_.patterns[0].tolist() == [True, False]
    assert st_.depth[0] == 0.0
    check_sample(layers, [0.5, 0.5], -1.0, 1.0, st_)


def test_flat_region_on_two_opposite_hyperplanes():
    # z1 = x, z2 = -x: at x = 0 both are inactive, the region is the segment x = 0
    layers = [([[1, 0], [-1, 0]], [0, 0]), ([[1, 1]], [0])]
    st_ = region_statistics(to_net(layers), [[0.0, 0.3]], domain=(-1, 1), progress=False)
    assert st_.radius[0] == 0.0
    assert st_.n_neighbours[0] == 0


# ---------------------------------------------------------------------------
# inspheres of random polytopes
# ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(d=st.integers(2, 3), data=st.data())
def test_insphere_of_random_polytopes_against_linprog(d, data):
    m = data.draw(st.integers(1, 7))
    A = np.array([[data.draw(st.integers(-3, 3)) for _ in range(d)] for _ in range(m)], float)
    c = np.array([data.draw(st.integers(0, 4)) for _ in range(m)], float)  # 0 is inside
    extra = data.draw(st.sampled_from(["none", "dup", "scaled", "zero"]))
    if extra == "dup":
        A, c = np.vstack([A, A[:1]]), np.r_[c, c[:1]]
    elif extra == "scaled":
        A, c = np.vstack([A, 8 * A[:1]]), np.r_[c, 8 * c[:1]]
    elif extra == "zero":
        A, c = np.vstack([A, np.zeros((1, d))]), np.r_[c, 0.5]
    ball = insphere(A, c, domain=(-2, 2))
    rows = [(tuple(F(v) for v in a), F(cc), ("row",)) for a, cc in zip(A, c)]
    rows += [(tuple(F(int(i == k)) for i in range(d)), F(2), ("domain",)) for k in range(d)]
    rows += [(tuple(F(-int(i == k)) for i in range(d)), F(2), ("domain",)) for k in range(d)]
    An, cn = unit_rows(rows)
    _, r_ref = chebyshev_ref(An, cn)
    assert ball.radius == pytest.approx(r_ref, abs=1e-9)
    assert np.all(An @ ball.centre + cn >= ball.radius - 1e-9)
    np.testing.assert_allclose(ball.slack, A @ ball.centre + c, atol=1e-12)
    assert ball.status == ("optimal" if r_ref > 1e-9 else "flat")
    batch = inspheres([A, A], [c, c], domain=(-2, 2))
    np.testing.assert_allclose(batch.radii, [ball.radius] * 2, atol=1e-12)


@pytest.mark.parametrize("w2, moves", [(-2.0, False), (2.0, True)])
def test_unit_held_at_zero_on_the_region_across_a_facet(w2, moves):
    # z1 = -2x - 2y - 1 is inactive at 0, so z2 = w2 relu(z1) is 0 on the whole
    # region (a zero row at its threshold).  Across z1 = 0, z2 = w2 z1: it stays
    # inactive for w2 < 0 and turns active for w2 > 0, by hand
    layers = [([[-2, -2]], [-1]), ([[w2]], [0]), ([[-2]], [-1])]
    st_ = region_statistics(to_net(layers), [[0.0, 0.0]], domain=(-2, 2), progress=False)
    assert st_.facet_units[0] == ((0, 0),)
    assert st_.neighbour_verified[0].tolist() == [True]
    assert st_.neighbour_units[0][0] == (((0, 0), (1, 0)) if moves else ((0, 0),))
    pt = st_.neighbour_points[0]
    assert exact_pattern(exact_layers(layers), pt[0].tolist()) == [True, moves]
    check_sample(layers, [0.0, 0.0], -2.0, 2.0, st_)


def test_unconfirmed_neighbours_keep_nan_and_minus_one(monkeypatch):
    # documented: a neighbour whose step is not confirmed by a forward pass keeps
    # NaN / -1 (its map may belong to codes that do not occur there).  Force every
    # forward-pass check to fail on the spec's tiny net.
    from polyfold.statistics import _neighbours

    real = _neighbours._step_across
    real_block = _neighbours._simple_block

    def unconfirmed(*args, **kw):
        rec = real(*args, **kw)
        if rec is not None:
            rec["verified"] = False
        return rec

    def unconfirmed_block(*args, **kw):  # the batched steps
        recs = real_block(*args, **kw)
        for rec in recs.values():
            if rec is not None:
                rec["verified"] = False
        return recs

    monkeypatch.setattr(_neighbours, "_step_across", unconfirmed)
    monkeypatch.setattr(_neighbours, "_simple_block", unconfirmed_block)
    layers = [([[1, 0], [0, 1], [1, 1]], [0, 0, -1]), ([[1, 0, 0], [0, 1, 2]], [0, 0])]
    st_ = region_statistics(to_net(layers), [[0.25, 0.25]], domain=(-2, 2), progress=False)
    assert st_.n_neighbours[0] == 3
    assert not st_.neighbour_verified[0].any()
    assert np.isnan(st_.neighbour_cosines[0]).all()
    assert st_.neighbour_labels[0].tolist() == [-1, -1, -1]
    assert np.isnan(st_.neighbour_cos_mean[0]) and np.isnan(st_.neighbour_label_change[0])


def _confirmed_by_forward_passes(activation, seeds):
    from polyfold import zoo

    n = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        d = 2 + seed % 2
        net = zoo.random_mlp((3, 3, 2)[: 1 + seed % 3], d, 1 + seed % 3, seed=seed,
                             integer=True, activation=activation)
        X = rng.integers(-8, 9, (4, d)) / 4  # on hyperplanes often (integer weights)
        st_ = region_statistics(net, X, domain=(-2, 2), progress=False)
        for i in range(len(X)):
            for ok, pt in zip(st_.neighbour_verified[i], st_.neighbour_points[i]):
                if np.isnan(pt).any():  # a facet on the domain box
                    continue
                assert ok
                n += 1
    return n


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "hardtanh"])
def test_neighbours_of_integer_nets_are_confirmed(activation):
    # every neighbour inside the domain is confirmed by a forward pass at its point
    # (before the fix of units held at a threshold, 18 of about 2000 were not)
    assert _confirmed_by_forward_passes(activation, range(12)) > 50


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "hardtanh"])
def test_neighbours_of_integer_nets_are_confirmed_sweep(activation):
    assert _confirmed_by_forward_passes(activation, range(12, 300)) > 1000


def test_a_tiny_constant_unit_is_not_held_at_its_threshold():
    # v = relu(u) + 1e-18 with u = -x0 - x1 - 10 < 0 on the box: v's row is zero on
    # every region and its value 1e-18 > 0, so v is active everywhere and never switches
    # (only a value exactly at the threshold is held there); every neighbour across the
    # facets of the first layer keeps v active and is confirmed by the forward pass
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    b1 = np.array([-0.5, -0.5, -10.0])
    W2 = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    b2 = np.array([1e-18, 0.0])
    net = PLNet.from_arrays([(W1, b1), (W2, b2), (np.array([[1.0, -1.0], [-1.0, 1.0]]), np.zeros(2))])
    x = np.array([[0.3, 0.2]])
    st = region_statistics(net, x, domain=(0.0, 1.0), progress=False)
    assert st.n_neighbours[0] == 2  # across x0 = 0.5 and x1 = 0.5 (the others are box faces)
    assert np.all(st.neighbour_verified[0])


def _statistics_fields_equal(a, b):
    """Every column and list of two results equal; neighbour points to rounding."""
    for name in ("predicted", "radius", "n_facets", "cos_mean", "boundary_distance",
                 "n_neighbours", "neighbour_cos_mean", "neighbour_label_change",
                 "neighbours_verified", "patterns"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.neighbour_units == b.neighbour_units
    for name in ("neighbour_cosines", "neighbour_labels", "neighbour_verified"):
        for p, q in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_array_equal(p, q, err_msg=name)
    for p, q in zip(a.neighbour_points, b.neighbour_points):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "hardtanh"])
def test_batched_neighbour_steps_equal_the_step_by_step_path(activation, monkeypatch):
    # the neighbours of most facets are formed in batches (_simple_steps); with the
    # batches switched off every facet takes the general step: the same records.
    # Integer nets and points on hyperplanes exercise the cases the batch must
    # leave to the general step (several rows through the facet point)
    from polyfold import zoo
    from polyfold.statistics import _neighbours

    calls = []
    real = _neighbours._simple_block

    def counted(*args, **kw):
        out = real(*args, **kw)
        calls.append(len(out))
        return out

    monkeypatch.setattr(_neighbours, "_simple_block", counted)
    cases = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        net = zoo.random_mlp((6, 5, 4)[: 2 + seed % 2], 3, 3, seed=seed, integer=seed % 2 == 1,
                             activation=activation)
        X = np.vstack([rng.uniform(-1, 1, (4, 3)), rng.integers(-4, 5, (3, 3)) / 4])
        cases.append((net, X))
    batched = [region_statistics(net, X, domain=(-1.5, 1.5), progress=False) for net, X in cases]
    assert sum(calls) > 50  # the batches did take most facets
    monkeypatch.setattr(_neighbours, "_simple_steps", lambda *args, **kw: {})
    for (net, X), got in zip(cases, batched):
        _statistics_fields_equal(got, region_statistics(net, X, domain=(-1.5, 1.5), progress=False))


def test_batched_neighbour_steps_on_a_digits_net(monkeypatch):
    from polyfold import zoo
    from polyfold.datasets import load_digits_split
    from polyfold.statistics import _neighbours

    net = zoo.digits_mlp("2x30")
    X = load_digits_split()[2][:3]
    got = region_statistics(net, X, progress=False)
    assert np.all(got.neighbours_verified > 0.9)
    monkeypatch.setattr(_neighbours, "_simple_steps", lambda *args, **kw: {})
    _statistics_fields_equal(got, region_statistics(net, X, progress=False))
