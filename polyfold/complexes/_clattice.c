/* Compiled loops of the cell complexes (optional): the face lattice's tables
 * (polyfold/complexes/_lattice.py) and the new vertex rows of a split
 * (polyfold/complexes/_engine.py).  Both modules have numpy code for every function
 * and use it when this module is not built.
 *
 * Arrays are passed through the buffer protocol (contiguous numpy arrays of the
 * dtypes named below); sizes are checked against the buffers, entries are trusted
 * (ids in range: the lattice's own tables).  Every function gives the same result
 * as its numpy counterpart, entry for entry and bit for bit (floats: the same IEEE
 * operations in the same order, built with -ffp-contract=off -fno-fast-math).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

typedef struct {
    Py_buffer b;
    int ok;
} buf_t;

static int get_buf(PyObject *o, buf_t *out, Py_ssize_t itemsize, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    out->ok = 0;
    if (PyObject_GetBuffer(o, &out->b, flags) < 0)
        return -1;
    out->ok = 1;
    if (out->b.itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of %zd bytes, got %zd", name,
                     itemsize, out->b.itemsize);
        return -1;
    }
    return 0;
}

static void rel(buf_t *b) {
    if (b->ok)
        PyBuffer_Release(&b->b);
    b->ok = 0;
}

#define N_OF(bt) ((bt).b.len / (bt).b.itemsize)

/* sides(start, cnt, data, prev, out): out[r] = OR of prev[e] over the entries e of
 * row r (its cnt[r] items of data from start[r]), for every row r < len(out).
 * uint8 codes: 1 = a vertex on the positive side, 2 = on the negative side. */
static PyObject *py_sides(PyObject *self, PyObject *args) {
    PyObject *os, *oc, *od, *op, *out;
    buf_t bs = {0}, bc = {0}, bd = {0}, bp = {0}, bz = {0};
    if (!PyArg_ParseTuple(args, "OOOOO", &os, &oc, &od, &op, &out))
        return NULL;
    if (get_buf(os, &bs, 8, 0, "start") || get_buf(oc, &bc, 8, 0, "cnt") ||
        get_buf(od, &bd, 8, 0, "data") || get_buf(op, &bp, 1, 0, "prev") ||
        get_buf(out, &bz, 1, 1, "out"))
        goto fail;
    if (N_OF(bz) > N_OF(bs) || N_OF(bz) > N_OF(bc)) {
        PyErr_SetString(PyExc_ValueError, "sides: more rows than the tables hold");
        goto fail;
    }
    {
        const int64_t *st = (const int64_t *)bs.b.buf, *cn = (const int64_t *)bc.b.buf;
        const int64_t *dat = (const int64_t *)bd.b.buf;
        const uint8_t *prev = (const uint8_t *)bp.b.buf;
        uint8_t *z = (uint8_t *)bz.b.buf;
        Py_ssize_t n = N_OF(bz);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t r = 0; r < n; r++) {
            const int64_t *e = dat + st[r];
            int64_t c = cn[r];
            uint8_t acc = 0;
            for (int64_t j = 0; j < c; j++)
                acc |= prev[e[j]];
            z[r] = acc;
        }
        Py_END_ALLOW_THREADS
    }
    rel(&bs); rel(&bc); rel(&bd); rel(&bp); rel(&bz);
    Py_RETURN_NONE;
fail:
    rel(&bs); rel(&bc); rel(&bd); rel(&bp); rel(&bz);
    return NULL;
}

/* gather(start, cnt, data, rows, seg, vals): the entries of ``rows`` in order,
 * ``seg`` their position in ``rows``; seg and vals hold sum(cnt[rows]) items. */
static PyObject *py_gather(PyObject *self, PyObject *args) {
    PyObject *os, *oc, *od, *orr, *oseg, *ov;
    buf_t bs = {0}, bc = {0}, bd = {0}, br = {0}, bg = {0}, bv = {0};
    if (!PyArg_ParseTuple(args, "OOOOOO", &os, &oc, &od, &orr, &oseg, &ov))
        return NULL;
    if (get_buf(os, &bs, 8, 0, "start") || get_buf(oc, &bc, 8, 0, "cnt") ||
        get_buf(od, &bd, 8, 0, "data") || get_buf(orr, &br, 8, 0, "rows") ||
        get_buf(oseg, &bg, 8, 1, "seg") || get_buf(ov, &bv, 8, 1, "vals"))
        goto fail;
    {
        const int64_t *st = (const int64_t *)bs.b.buf, *cn = (const int64_t *)bc.b.buf;
        const int64_t *dat = (const int64_t *)bd.b.buf, *rows = (const int64_t *)br.b.buf;
        int64_t *seg = (int64_t *)bg.b.buf, *vals = (int64_t *)bv.b.buf;
        Py_ssize_t nr = N_OF(br), cap = N_OF(bg) < N_OF(bv) ? N_OF(bg) : N_OF(bv), p = 0;
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < nr && !bad; i++) {
            int64_t r = rows[i], s = st[r], c = cn[r];
            if (p + c > cap) {
                bad = 1;
                break;
            }
            for (int64_t j = 0; j < c; j++) {
                seg[p] = i;
                vals[p++] = dat[s + j];
            }
        }
        Py_END_ALLOW_THREADS
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "gather: output too small");
            goto fail;
        }
    }
    rel(&bs); rel(&bc); rel(&bd); rel(&br); rel(&bg); rel(&bv);
    Py_RETURN_NONE;
fail:
    rel(&bs); rel(&bc); rel(&bd); rel(&br); rel(&bg); rel(&bv);
    return NULL;
}

/* set_rows(data, start, cnt, used, rows, values, counts) -> (used, garbage): row
 * ``rows[i]`` gets the next ``counts[i]`` items of ``values``; in place when they fit
 * in its old entries (the rest of them become garbage), else appended at ``used``
 * (the old entries become garbage).  The caller reserves room for all of ``values``
 * after ``used``.  The compiled loops read rows through start/cnt only: garbage
 * needs no mark. */
static PyObject *py_set_rows(PyObject *self, PyObject *args) {
    PyObject *od, *os, *oc, *orr, *ov, *ok;
    Py_ssize_t used;
    buf_t bd = {0}, bs = {0}, bc = {0}, br = {0}, bv = {0}, bk = {0};
    if (!PyArg_ParseTuple(args, "OOOnOOO", &od, &os, &oc, &used, &orr, &ov, &ok))
        return NULL;
    if (get_buf(od, &bd, 8, 1, "data") || get_buf(os, &bs, 8, 1, "start") ||
        get_buf(oc, &bc, 8, 1, "cnt") || get_buf(orr, &br, 8, 0, "rows") ||
        get_buf(ov, &bv, 8, 0, "values") || get_buf(ok, &bk, 8, 0, "counts"))
        goto fail;
    if (N_OF(br) != N_OF(bk) || used < 0 || used + N_OF(bv) > N_OF(bd) || N_OF(bs) != N_OF(bc)) {
        PyErr_SetString(PyExc_ValueError, "set_rows: sizes do not match");
        goto fail;
    }
    {
        int64_t *dat = (int64_t *)bd.b.buf;
        int64_t *st = (int64_t *)bs.b.buf, *cn = (int64_t *)bc.b.buf;
        const int64_t *rows = (const int64_t *)br.b.buf, *val = (const int64_t *)bv.b.buf;
        const int64_t *cnew = (const int64_t *)bk.b.buf;
        Py_ssize_t nr = N_OF(br), nv = N_OF(bv), q = 0, nrow = N_OF(bs);
        int64_t u = used, garbage = 0;
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < nr; i++) {
            int64_t r = rows[i], c = cnew[i];
            if (r < 0 || r >= nrow || c < 0 || q + c > nv) {
                bad = 1;
                break;
            }
            int64_t s = st[r], c0 = cn[r];
            if (c <= c0) {
                memcpy(dat + s, val + q, (size_t)c * sizeof(int64_t));
                garbage += c0 - c;
            } else {
                garbage += c0;
                memcpy(dat + u, val + q, (size_t)c * sizeof(int64_t));
                st[r] = u;
                u += c;
            }
            cn[r] = c;
            q += c;
        }
        Py_END_ALLOW_THREADS
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "set_rows: bad row or counts exceed the values");
            goto fail;
        }
        rel(&bd); rel(&bs); rel(&bc); rel(&br); rel(&bv); rel(&bk);
        return Py_BuildValue("LL", (long long)u, (long long)garbage);
    }
fail:
    rel(&bd); rel(&bs); rel(&bc); rel(&br); rel(&bv); rel(&bk);
    return NULL;
}

/* split_rows(seg, G, gcode, rank, zero, minus, zseg, zval, f0, nc,
 *            vals0, cnt0, pvals, pcnt, mvals, mcnt) -> (n0, np, nm):
 * the lists of F0, F+ and F- of the crossed k-cells (k >= 2), whose facets are
 * ``G`` grouped by ``seg`` (ascending, cell ``i`` of ``nc``).  ``gcode`` of the
 * (k-1)-cells: 1 = positive vertex, 2 = negative vertex, 4 = crossed; ``rank`` their
 * position among the crossed ones, ``zero``/``minus`` by rank the ids of their G0
 * and G-; ``(zseg, zval)`` the zero (k-2)-faces of the cells (ascending seg); the
 * F0 of cell ``i`` is ``f0 + i``.
 *   F0: the G0 of its crossed facets, then its zero faces;
 *   F+: its facets crossed or positive (in order), then F0;
 *   F-: G- of its crossed facets or its negative facets (in order), then F0.
 * The outputs hold len(G) + len(zseg) (vals0) and len(G) + nc (pvals, mvals) items. */
static PyObject *py_split_rows(PyObject *self, PyObject *args) {
    PyObject *o[14];
    Py_ssize_t nc;
    long long f0;
    buf_t b[14];
    memset(b, 0, sizeof b);
    if (!PyArg_ParseTuple(args, "OOOOOOOOLnOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &f0, &nc, &o[8], &o[9], &o[10], &o[11], &o[12], &o[13]))
        return NULL;
    static const char *names[14] = {"seg", "G", "gcode", "rank", "zero", "minus", "zseg", "zval",
                                    "vals0", "cnt0", "pvals", "pcnt", "mvals", "mcnt"};
    for (int i = 0; i < 14; i++) {
        if (get_buf(o[i], &b[i], i == 2 ? 1 : 8, i >= 8, names[i]))
            goto fail;
    }
    {
        Py_ssize_t m = N_OF(b[1]), nz = N_OF(b[6]);
        if (N_OF(b[0]) != m || N_OF(b[7]) != nz || N_OF(b[8]) < m + nz || N_OF(b[9]) < nc ||
            N_OF(b[10]) < m + nc || N_OF(b[11]) < nc || N_OF(b[12]) < m + nc || N_OF(b[13]) < nc) {
            PyErr_SetString(PyExc_ValueError, "split_rows: sizes do not match");
            goto fail;
        }
        const int64_t *seg = (const int64_t *)b[0].b.buf, *G = (const int64_t *)b[1].b.buf;
        const uint8_t *gc = (const uint8_t *)b[2].b.buf;
        const int64_t *rank = (const int64_t *)b[3].b.buf, *zero = (const int64_t *)b[4].b.buf;
        const int64_t *minus = (const int64_t *)b[5].b.buf, *zseg = (const int64_t *)b[6].b.buf;
        const int64_t *zval = (const int64_t *)b[7].b.buf;
        int64_t *v0 = (int64_t *)b[8].b.buf, *c0 = (int64_t *)b[9].b.buf;
        int64_t *pv = (int64_t *)b[10].b.buf, *pc = (int64_t *)b[11].b.buf;
        int64_t *mv = (int64_t *)b[12].b.buf, *mc = (int64_t *)b[13].b.buf;
        int64_t n0 = 0, npl = 0, nm = 0;
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t j = 0, z = 0;
        for (Py_ssize_t i = 0; i < nc; i++) {
            int64_t a0 = n0, ap = npl, am = nm;
            for (; j < m && seg[j] == i; j++) {
                int64_t g = G[j];
                uint8_t c = gc[g];
                if (c & 4) {
                    int64_t r = rank[g];
                    v0[n0++] = zero[r];
                    pv[npl++] = g;
                    mv[nm++] = minus[r];
                } else {
                    if (c & 1)
                        pv[npl++] = g;
                    if (c & 2)
                        mv[nm++] = g;
                }
            }
            for (; z < nz && zseg[z] == i; z++)
                v0[n0++] = zval[z];
            pv[npl++] = f0 + i;
            mv[nm++] = f0 + i;
            c0[i] = n0 - a0;
            pc[i] = npl - ap;
            mc[i] = nm - am;
        }
        if (j != m || z != nz)
            bad = 1;
        Py_END_ALLOW_THREADS
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "split_rows: seg not ascending in 0..nc-1");
            goto fail;
        }
        for (int i = 0; i < 14; i++)
            rel(&b[i]);
        return Py_BuildValue("LLL", (long long)n0, (long long)npl, (long long)nm);
    }
fail:
    for (int i = 0; i < 14; i++)
        rel(&b[i]);
    return NULL;
}

/* append(data, start, cnt, used, n, values, counts) -> used: rows ``n``, ``n + 1``,
 * ... get the lists of ``counts`` items of ``values``, written at ``used`` (the
 * caller reserves room in the pool and the row arrays). */
static PyObject *py_append(PyObject *self, PyObject *args) {
    PyObject *od, *os, *oc, *ov, *ok;
    Py_ssize_t used, n;
    buf_t bd = {0}, bs = {0}, bc = {0}, bv = {0}, bk = {0};
    if (!PyArg_ParseTuple(args, "OOOnnOO", &od, &os, &oc, &used, &n, &ov, &ok))
        return NULL;
    if (get_buf(od, &bd, 8, 1, "data") || get_buf(os, &bs, 8, 1, "start") ||
        get_buf(oc, &bc, 8, 1, "cnt") || get_buf(ov, &bv, 8, 0, "values") ||
        get_buf(ok, &bk, 8, 0, "counts"))
        goto fail;
    if (used < 0 || n < 0 || used + N_OF(bv) > N_OF(bd) || n + N_OF(bk) > N_OF(bs) ||
        N_OF(bs) != N_OF(bc)) {
        PyErr_SetString(PyExc_ValueError, "append: sizes do not match");
        goto fail;
    }
    {
        int64_t *dat = (int64_t *)bd.b.buf;
        int64_t *st = (int64_t *)bs.b.buf, *cn = (int64_t *)bc.b.buf;
        const int64_t *val = (const int64_t *)bv.b.buf, *cnew = (const int64_t *)bk.b.buf;
        Py_ssize_t nr = N_OF(bk), nv = N_OF(bv);
        int64_t u = used;
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < nr; i++) {
            int64_t c = cnew[i];
            if (c < 0 || u - used + c > nv) {
                bad = 1;
                break;
            }
            st[n + i] = u;
            cn[n + i] = c;
            u += c;
        }
        if (!bad)
            memcpy(dat + used, val, (size_t)(u - used) * sizeof(int64_t));
        Py_END_ALLOW_THREADS
        if (bad || u - used != nv) {
            PyErr_SetString(PyExc_ValueError, "append: counts do not add up to the values");
            goto fail;
        }
        rel(&bd); rel(&bs); rel(&bc); rel(&bv); rel(&bk);
        return PyLong_FromLongLong((long long)u);
    }
fail:
    rel(&bd); rel(&bs); rel(&bc); rel(&bv); rel(&bk);
    return NULL;
}

/* cofaces(start, cnt, data, count, first, second): for the rows r = 0, 1, ... of a
 * table (len(start) of them) and every entry g of row r: count[g] += 1, and r is
 * recorded as first[g] (count 1) or second[g] (count 2).  The caller zeroes count;
 * the entries are < len(count). */
static PyObject *py_cofaces(PyObject *self, PyObject *args) {
    PyObject *os, *oc, *od, *on, *o1, *o2;
    buf_t bs = {0}, bc = {0}, bd = {0}, bn = {0}, b1 = {0}, b2 = {0};
    if (!PyArg_ParseTuple(args, "OOOOOO", &os, &oc, &od, &on, &o1, &o2))
        return NULL;
    if (get_buf(os, &bs, 8, 0, "start") || get_buf(oc, &bc, 8, 0, "cnt") ||
        get_buf(od, &bd, 8, 0, "data") || get_buf(on, &bn, 8, 1, "count") ||
        get_buf(o1, &b1, 8, 1, "first") || get_buf(o2, &b2, 8, 1, "second"))
        goto fail;
    if (N_OF(bs) != N_OF(bc) || N_OF(b1) != N_OF(bn) || N_OF(b2) != N_OF(bn)) {
        PyErr_SetString(PyExc_ValueError, "cofaces: sizes do not match");
        goto fail;
    }
    {
        const int64_t *st = (const int64_t *)bs.b.buf, *cn = (const int64_t *)bc.b.buf;
        const int64_t *dat = (const int64_t *)bd.b.buf;
        int64_t *count = (int64_t *)bn.b.buf, *first = (int64_t *)b1.b.buf, *second = (int64_t *)b2.b.buf;
        Py_ssize_t n = N_OF(bs);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t r = 0; r < n; r++) {
            const int64_t *e = dat + st[r];
            for (int64_t j = 0; j < cn[r]; j++) {
                int64_t g = e[j], c = ++count[g];
                if (c == 1)
                    first[g] = r;
                else if (c == 2)
                    second[g] = r;
            }
        }
        Py_END_ALLOW_THREADS
    }
    rel(&bs); rel(&bc); rel(&bd); rel(&bn); rel(&b1); rel(&b2);
    Py_RETURN_NONE;
fail:
    rel(&bs); rel(&bc); rel(&bd); rel(&bn); rel(&b1); rel(&b2);
    return NULL;
}

/* interp(V, E, p, n, t, et, W, EW, cols, r2, tiny): new vertex rows on the edges
 * ``(p[i], n[i])`` (rows of ``cols`` doubles), ``W[i] = V[p] + t[i] (V[n] - V[p])``;
 * with error bounds (``E``, ``et``, ``EW`` not None) the same operations as the
 * engine's numpy pairs ``_sub``, ``_mul``, ``_add`` (``r2 = 2 u``, ``tiny``), in the
 * same order: the results are those of numpy, bit for bit. */
static PyObject *py_interp(PyObject *self, PyObject *args) {
    PyObject *oV, *oE, *op, *on, *ot, *oet, *oW, *oEW;
    Py_ssize_t cols;
    double r2, tiny;
    buf_t bV = {0}, bE = {0}, bp = {0}, bn = {0}, bt = {0}, bet = {0}, bW = {0}, bEW = {0};
    if (!PyArg_ParseTuple(args, "OOOOOOOOndd", &oV, &oE, &op, &on, &ot, &oet, &oW, &oEW, &cols, &r2, &tiny))
        return NULL;
    int cert = oE != Py_None;
    if (get_buf(oV, &bV, 8, 0, "V") || get_buf(op, &bp, 8, 0, "p") || get_buf(on, &bn, 8, 0, "n") ||
        get_buf(ot, &bt, 8, 0, "t") || get_buf(oW, &bW, 8, 1, "W"))
        goto fail;
    if (cert && (get_buf(oE, &bE, 8, 0, "E") || get_buf(oet, &bet, 8, 0, "et") ||
                 get_buf(oEW, &bEW, 8, 1, "EW")))
        goto fail;
    {
        Py_ssize_t m = N_OF(bp);
        if (cols <= 0 || N_OF(bn) != m || N_OF(bt) != m || N_OF(bW) != m * cols || N_OF(bV) % cols ||
            (cert && (N_OF(bE) != N_OF(bV) || N_OF(bet) != m || N_OF(bEW) != m * cols))) {
            PyErr_SetString(PyExc_ValueError, "interp: sizes do not match");
            goto fail;
        }
        Py_ssize_t nrow = N_OF(bV) / cols;
        const int64_t *P = (const int64_t *)bp.b.buf, *N = (const int64_t *)bn.b.buf;
        for (Py_ssize_t i = 0; i < m; i++) {
            if (P[i] < 0 || P[i] >= nrow || N[i] < 0 || N[i] >= nrow) {
                PyErr_SetString(PyExc_ValueError, "interp: vertex out of range");
                goto fail;
            }
        }
        const double *V = (const double *)bV.b.buf, *T = (const double *)bt.b.buf;
        double *W = (double *)bW.b.buf;
        const double *E = cert ? (const double *)bE.b.buf : NULL;
        const double *ET = cert ? (const double *)bet.b.buf : NULL;
        double *EW = cert ? (double *)bEW.b.buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < m; i++) {
            const double *vp = V + P[i] * cols, *vn = V + N[i] * cols;
            double t = T[i], *w = W + i * cols;
            if (!cert) {
                for (Py_ssize_t c = 0; c < cols; c++)
                    w[c] = vp[c] + t * (vn[c] - vp[c]);
                continue;
            }
            const double *ep = E + P[i] * cols, *en = E + N[i] * cols;
            double et = ET[i], at = fabs(t), *ew = EW + i * cols;
            for (Py_ssize_t c = 0; c < cols; c++) {
                /* D, eD = _sub(V[n], E[n], V[p], E[p]) */
                double D = vn[c] - vp[c];
                double eD = en[c] + ep[c] + r2 * fabs(D);
                /* tD, etD = _mul(t, et, D, eD) */
                double tD = t * D;
                double etD = at * eD + fabs(D) * et + et * eD + r2 * fabs(tD) + (t != 0 && D != 0 ? tiny : 0.0);
                /* W, EW = _add(V[p], E[p], tD, etD) */
                double r = vp[c] + tD;
                w[c] = r;
                ew[c] = ep[c] + etD + r2 * fabs(r);
            }
        }
        Py_END_ALLOW_THREADS
    }
    rel(&bV); rel(&bE); rel(&bp); rel(&bn); rel(&bt); rel(&bet); rel(&bW); rel(&bEW);
    Py_RETURN_NONE;
fail:
    rel(&bV); rel(&bE); rel(&bp); rel(&bn); rel(&bt); rel(&bet); rel(&bW); rel(&bEW);
    return NULL;
}

static PyMethodDef methods[] = {
    {"sides", py_sides, METH_VARARGS, "Per row: OR of the codes of its entries."},
    {"gather", py_gather, METH_VARARGS, "Entries of some rows, with their position."},
    {"set_rows", py_set_rows, METH_VARARGS, "Replace rows in place where they fit."},
    {"append", py_append, METH_VARARGS, "Append rows to the pool."},
    {"split_rows", py_split_rows, METH_VARARGS, "Lists of F0, F+ and F- of crossed cells."},
    {"cofaces", py_cofaces, METH_VARARGS, "The first two rows listing every entry."},
    {"interp", py_interp, METH_VARARGS, "New vertex rows on crossed edges."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_clattice", "Compiled loops of the cell complexes (optional).", -1, methods,
};

PyMODINIT_FUNC PyInit__clattice(void) { return PyModule_Create(&module); }
