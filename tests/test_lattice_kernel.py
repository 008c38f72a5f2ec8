"""The compiled loops of the complexes (face lattice, new vertex rows) against the
numpy code.

Both give the same tables entry for entry (the pool layouts differ, the rows do
not) and the same vertex rows and error bounds bit for bit, hence identical
complexes: f-vectors, vertices, cells, adjacency and the engine's tables.  Splits
through vertices of the lattice (zero faces) are checked against a hand count and
the Euler characteristic.  The comparisons are skipped when the extension is not
built; the other tests run with both.
"""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from polyfold import PLNet, zoo
from polyfold.complexes import _lattice, box_complex, polytope_complex, space_complex
from polyfold.complexes._lattice import Rows, box_lattice

compiled = pytest.mark.skipif(_lattice._clattice is None, reason="polyfold.complexes._clattice not built")


@pytest.fixture(params=["compiled", "numpy"])
def loops(request, monkeypatch):
    """Run a test with the compiled loops and with the numpy code."""
    if request.param == "compiled":
        if _lattice._clattice is None:
            pytest.skip("polyfold.complexes._clattice not built")
    else:
        monkeypatch.setattr(_lattice, "_clattice", None)
    return request.param


def _tables(cx):
    """Everything a complex is made of, as comparable values."""
    e = cx._engine
    lat = e.lat
    out = {"f_vector": cx.f_vector, "label": lat.label.tolist(), "codes": e.codes.tobytes(),
           "deg": e.deg.tobytes(), "adjacency": (np.asarray(cx.adjacency[0]).tobytes(), str(cx.adjacency[1:]))}
    for k in range(1, lat.d + 1):
        off, v = lat.rows[k].csr()
        out[f"rows{k}"] = (off.tobytes(), v.tobytes())
        out[f"cells{k}"] = tuple(a.tobytes() for a in cx.cells(k))
    out["onb"] = [o.tobytes() for o in lat.onb]
    out["vertices"] = np.asarray(cx.vertices).tobytes()
    for name in ("V", "E", "VB", "EB"):
        a = getattr(e, name)
        out[name] = None if a is None else (a.tobytes() if a.dtype != object else a.tolist())
    out["gen"] = (e.gen_p.tobytes(), e.gen_n.tobytes(), e.gen_split.tobytes())
    return out


def _grid_net(d, seed):
    """Hyperplanes with coefficients in {-1, 0, 1}: through vertices and edges of the
    box and of each other (zero faces in most splits)."""
    rng = np.random.default_rng(seed)
    layers, a = [], d
    for w in (5, 4):
        W = rng.integers(-1, 2, size=(w, a)).astype(float)
        W[np.all(W == 0, axis=1), 0] = 1.0
        layers.append((W, rng.integers(-1, 2, size=w).astype(float)))
        a = w
    layers.append((np.ones((1, a)), np.zeros(1)))
    return PLNet.from_arrays(layers)


def _max_net(d, seed):
    from polyfold.graph import GraphBuilder

    rng = np.random.default_rng(seed)
    b = GraphBuilder((d,))
    z = b.dense(b.input, rng.integers(-2, 3, size=(4, d)).astype(float), rng.integers(-1, 2, size=4).astype(float))
    m = b.maximum(*[b.reshape(b.dense(z, np.eye(4)[i : i + 1], np.zeros(1)), (1,)) for i in range(4)])
    return b.build(b.dense(m, np.ones((1, 1)), np.zeros(1)))


CASES = [
    ("gauss", lambda: zoo.random_mlp([6, 5], 3, seed=1)),
    ("integer", lambda: zoo.random_mlp([5, 4], 4, seed=2, integer=True)),
    ("grid3", lambda: _grid_net(3, 3)),
    ("grid4", lambda: _grid_net(4, 4)),
    ("arrangement5", lambda: zoo.arrangement(7, 5, seed=5)),
    ("max3", lambda: _max_net(3, 6)),
]


@compiled
@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_compiled_and_numpy_give_the_same_complex(name, make, mode, monkeypatch):
    net = make()
    d = net.input_dim
    builds = [lambda: box_complex(net, -1, 1, mode=mode), lambda: space_complex(net, mode=mode)]
    A = np.vstack([np.eye(d), -np.ones((1, d))])
    builds.append(lambda: polytope_complex(net, A, np.r_[np.ones(d), 1.0], mode=mode))
    for build in builds:
        a = _tables(build())
        with monkeypatch.context() as m:
            m.setattr(_lattice, "_clattice", None)
            b = _tables(build())
        assert a == b


@compiled
def test_numpy_queries_on_a_lattice_built_by_the_compiled_loops(monkeypatch):
    # the compiled loops drop the owner array; a numpy query rebuilds it
    cx = box_complex(zoo.random_mlp([6, 6], 3, seed=3), -1, 1)
    lat = cx._engine.lat
    rng = np.random.default_rng(0)
    want = []
    for k in range(1, lat.d + 1):
        code = rng.integers(0, 4, lat.f(k - 1)).astype(np.uint8)
        flags = rng.random(lat.f(k - 1)) < 0.3
        want.append((code, flags, lat.rows[k].sides(code), lat.rows[k].any_of(flags)))
    monkeypatch.setattr(_lattice, "_clattice", None)
    for k, (code, flags, sides, any_) in enumerate(want, start=1):
        r = lat.rows[k]
        assert np.array_equal(r.sides(code), sides)
        assert np.array_equal(r.any_of(flags), any_)
        assert np.array_equal(r.count_of(flags.astype(float)) > 0, any_)


def test_rows_edits(loops):
    rng = np.random.default_rng(1)
    lists = [list(rng.integers(0, 50, rng.integers(0, 6))) for _ in range(20)]
    r = Rows(np.array([x for li in lists for x in li], np.int64), np.array([len(li) for li in lists]))
    for step in range(200):
        if rng.random() < 0.3:
            new = [list(rng.integers(0, 50, rng.integers(0, 7))) for _ in range(int(rng.integers(1, 5)))]
            ids = r.add_rows(np.array([x for li in new for x in li], np.int64), np.array([len(li) for li in new]))
            assert ids.tolist() == list(range(len(lists), len(lists) + len(new)))
            lists += new
        else:
            rows = rng.choice(len(lists), size=int(rng.integers(1, 6)), replace=False)
            new = [list(rng.integers(0, 50, rng.integers(0, 9))) for _ in rows]
            r.set_rows(rows, np.array([x for li in new for x in li], np.int64), np.array([len(li) for li in new]))
            for i, li in zip(rows, new):
                lists[i] = li
        if step % 20 == 0:
            off, v = r.csr()
            assert [v[off[i] : off[i + 1]].tolist() for i in range(r.n)] == lists
            seg, g = r.gather(np.array([3, 0, 3]))
            assert g.tolist() == lists[3] + lists[0] + lists[3]
            assert seg.tolist() == [0] * len(lists[3]) + [1] * len(lists[0]) + [2] * len(lists[3])
            code = rng.integers(0, 4, 50).astype(np.uint8)
            want = [int(np.bitwise_or.reduce(code[li])) if li else 0 for li in lists]
            assert r.sides(code).tolist() == want
    c = r.copy()
    r.compact()
    assert r.n_garbage == 0
    assert [a.tobytes() for a in r.csr()] == [a.tobytes() for a in c.csr()]


def _cube_signs(corners, w, b):
    return np.sign(corners @ np.asarray(w, float) + b).astype(np.int8)


def test_split_through_vertices_finds_zero_faces(loops):
    # x1 + x2 = 0 cuts the cube [-1, 1]^3 through 4 of its corners and 2 of its edges:
    # no new vertex; the section is a rectangle whose facets are the 2 diagonals of the
    # squares x3 = +-1 (crossed) and the 2 cube edges lying in the plane (zero faces)
    lat, corners = box_lattice(3)
    s = _cube_signs(corners, [1, 1, 0], 0.0)
    assert (s == 0).sum() == 4
    res = lat.split(s, 0)
    assert len(res["edges"]) == 0
    assert lat.f_vector() == (8, 14, 9, 2)
    section = np.flatnonzero(lat.label == 0)
    assert len(section) == 1
    seg, edges = lat.rows[2].gather(section)
    assert len(edges) == 4
    _, ends = lat.rows[1].gather(edges)
    assert sorted(set(ends.tolist())) == sorted(np.flatnonzero(s == 0).tolist())


@pytest.mark.parametrize("d", [3, 4])
def test_splits_through_vertices_keep_a_ball(loops, d):
    # hyperplanes with coefficients in {-1, 0, 1} through corners, edges and faces of
    # the cube, one after the other: every complex is a ball (Euler characteristic 1)
    # and every d-cell's boundary is a sphere (each (d-1)-cell in 1 or 2 d-cells)
    lat, corners = box_lattice(d)
    X = np.array([[Fraction(int(v)) for v in row] for row in corners], dtype=object)
    planes = itertools.islice(itertools.product((-1, 0, 1), repeat=d), 1, None, 5)
    for w, c in zip(planes, itertools.cycle((0, 1, -1, Fraction(1, 2)))):
        if not any(w):
            continue
        val = X @ np.array([Fraction(v) for v in w], dtype=object) + c
        s = np.array([(v > 0) - (v < 0) for v in val], np.int8)
        res = lat.split(s, 0)
        e = res["edges"]
        if len(e):  # the new vertices, exactly on the plane
            t = val[e[:, 0]] / (val[e[:, 0]] - val[e[:, 1]])
            X = np.concatenate([X, X[e[:, 0]] + t[:, None] * (X[e[:, 1]] - X[e[:, 0]])])
        fv = lat.f_vector()
        assert sum((-1) ** k * f for k, f in enumerate(fv)) == 1
        (two, _, _), (one, _) = lat.facet_cofaces()
        assert len(two) + len(one) == lat.f(d - 1)


def test_zero_face_pass_is_skipped_without_zero_signs(monkeypatch):
    # no vertex on the plane: no face can lie in it, and the (k-2)-faces of the
    # crossed cells are not looked at (gather is called once per dimension)
    lat, corners = box_lattice(4)
    s = _cube_signs(corners, [1, 2, 3, 4], 0.5)
    assert not (s == 0).any()
    calls = []
    gather = Rows.gather

    def counting(self, rows):
        calls.append(len(rows))
        return gather(self, rows)

    monkeypatch.setattr(Rows, "gather", counting)
    lat.split(s, 0)
    assert len(calls) == 4
    lat2, _ = box_lattice(4)
    calls.clear()
    s2 = _cube_signs(corners, [1, 1, 0, 0], 0.0)
    lat2.split(s2, 0)
    assert len(calls) == 4 + 3  # with zero signs: the facets of the facets too
