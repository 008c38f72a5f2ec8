/*
 * polyfold._ckernel -- optional compiled segment-crossing kernel.
 *
 * A minimal CPython extension (no numpy headers): it reads float64 / int64 buffers
 * through the buffer protocol and hands its results to Python as Buf objects
 * (buffer-protocol owners of malloc'd memory, wrapped by numpy.frombuffer without a
 * copy).  polyfold._fast is its Python face.
 *
 * It computes what polyfold.crossings._partition computes in float and certified
 * mode, one segment at a time (all of a segment's points stay in cache through all
 * layers):
 *
 *   for every hidden layer l:
 *     values of layer l at the segment's points: one register-tiled product (AVX-512
 *       or AVX2 fused multiply-adds when the processor has them, chosen at import)
 *       over all points of the segment, blocked over the inputs;
 *     certified: error bounds E = (cH |H| + cE E_prev) |W|^T + cB |b| (wide nets:
 *       from the maxima of the bracket over blocks of eb consecutive points, one
 *       product per block);
 *     three-valued signs of z - theta for every threshold theta as bit masks (band:
 *       certified E, float tol.zero * max |z| of the neuron over the batch);
 *     endpoint and (certified) ambiguity flags;
 *     a breakpoint at every strict sign change inside a piece, ordered by
 *       (s, threshold, neuron), with the interpolated values (own neuron set to theta)
 *       and, certified, the bounds of crossings.breakpoint_bounds on every value and
 *       on t;
 *     float: consecutive points closer than tol.merge merged into the first;
 *     the codes of layer l on every piece, written bit-packed (each unit's code in
 *       ceil(log2(#codes)) bits, little-endian bit order, rows of 64-bit words);
 *       degenerate pieces flagged;
 *   float: breakpoints where no code changes are dropped.
 *
 * The float band needs the largest |z| of each neuron over all points of the chunk
 * at that layer, which a per-segment sweep only knows at the end.  The kernel decides
 * with a provisional band (the running maximum over the segments before this one on
 * the same thread, never larger than the final one), records for every segment the
 * smallest margin |z - theta| of the values it decided as nonzero, and afterwards
 * recomputes (with the final band) the few segments with a margin within the final
 * band.  Every decision then equals the one made with the chunk's band.
 *
 * Threads: a chunk's segments are split into contiguous ranges, one per thread
 * (pthreads; the GIL is released), and the results are appended in order to a
 * Builder, which grows one set of result arrays over all chunks of a call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_DISPATCH 1
#include <immintrin.h>
#endif
#if !defined(_WIN32)
#define HAVE_PTHREADS 1
#include <pthread.h>
#endif

enum { ACT_RELU = 0, ACT_LEAKY = 1, ACT_HARDTANH = 2, ACT_IDENTITY = 3 };
enum { F_DEG = 1, F_EP0 = 2, F_EP1 = 4, F_AMB = 8, F_TINY = 16 };
/* certified: a segment with a nonzero term cH |h_k| + cE e_k of a layer's bound (the
   block maxima that multiply |W|) below this (2^-450) is computed exactly (F_TINY |
   F_AMB).  Above it, with the weights at or above 2^-500 (crossings.py checks), the
   bound of every value exceeds 2^-950, far above the absolute rounding errors of
   products in the subnormal range (2^-1075 each), which relative bounds do not cover;
   an input h_k may be tiny then, its product's error is inside the bound */
#define TINY_BOUND 0x1p-450

#define UROUND (DBL_EPSILON / 2) /* unit roundoff of float64 */
#define MAX_THREADS 64

#define SWAP(T, a, b) \
    do {              \
        T tmp_ = (a); \
        (a) = (b);    \
        (b) = tmp_;   \
    } while (0)

static inline int popcount64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(x);
#else
    int c = 0;
    while (x) {
        x &= x - 1;
        c++;
    }
    return c;
#endif
}

static inline int ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int c = 0;
    while (!(x & 1)) {
        x >>= 1;
        c++;
    }
    return c;
#endif
}

/* ---------------------------------------------------------------------------- */
/* the network, prepared once                                                    */
/* ---------------------------------------------------------------------------- */
typedef struct {
    int L;          /* hidden layers */
    int nh;         /* hidden units */
    int nwc;        /* 64-bit code words per piece */
    int zs;         /* row stride of values: max width rounded up to 8 */
    int wmax, tmax; /* max mask words per threshold, max thresholds */
    int ms;         /* mask words per row: tmax * wmax */
    int certified;
    int eb; /* points per certified bound product */
    double zero, merge;
    int *n, *npad, *T, *nw, *nb, *act;
    int64_t *off, *boff; /* unit offsets, bit offsets of every layer */
    uint64_t *valid;     /* (L, wmax): lanes j < n */
    double *slope, *lo, *hi, *cH, *cE, *cI, *thrmax;
    double **thr;
    double **WTp, **bp, **aWTp, **cb; /* layer l >= 1: packed panels, bias (zero padded) */
} Net;

typedef struct {
    double s;
    int w, j;
} Cross;

/* work space of one thread (rows never move; see run_segment) */
typedef struct {
    int64_t cap;
    double *t, *tn, *r, *rn, *tr, *trn; /* certified: position radius, t rounding */
    double *Z, *Zn, *E, *En;
    uint64_t *pm, *nm; /* rows of ms words: [threshold][word] */
    uint64_t *cw, *cwn;
    int64_t *ord, *ord2, *pairs;
    double *Hb, *Gb, *Eb;
    double *band, *mmbuf, *smbuf;
    double *Sb, *rho, *amax, *Ka, *Kb; /* certified: slope bounds */
    int64_t *xj;                       /* float: the unit a new point lies on (its threshold in xth) */
    double *xth;
    Cross *cr;
} Work;

/* growable output of one thread */
typedef struct {
    double *t, *te;
    uint64_t *codes;
    int64_t nt, capt, nc, capc;
    int with_te;
} Out;

static int grow(void **p, size_t bytes)
{
    void *q = realloc(*p, bytes ? bytes : 1);
    if (!q) return -1;
    *p = q;
    return 0;
}

static int reserve_rows(Work *w, int64_t need, const Net *net)
{
    if (need <= w->cap) return 0;
    int64_t cap = w->cap ? w->cap : 256;
    while (cap < need) cap *= 2;
    const size_t zb = (size_t)((cap + 4) * net->zs) * sizeof(double);
    const size_t tb = (size_t)cap * sizeof(double), ib = (size_t)cap * sizeof(int64_t);
    const size_t mb = (size_t)(cap * net->ms) * sizeof(uint64_t);
    const size_t cb = (size_t)(cap * net->nwc) * sizeof(uint64_t);
    int64_t ncr = 1;
    for (int l = 0; l < net->L; l++)
        if ((int64_t)net->n[l] * net->T[l] > ncr) ncr = (int64_t)net->n[l] * net->T[l];
    if (grow((void **)&w->t, tb) || grow((void **)&w->tn, tb) || grow((void **)&w->Z, zb) ||
        grow((void **)&w->Zn, zb) || grow((void **)&w->Hb, zb) || grow((void **)&w->pm, mb) ||
        grow((void **)&w->nm, mb) || grow((void **)&w->cw, cb) || grow((void **)&w->cwn, cb) ||
        grow((void **)&w->ord, ib) || grow((void **)&w->ord2, ib) || grow((void **)&w->pairs, ib) ||
        grow((void **)&w->band, (size_t)net->zs * sizeof(double)) ||
        grow((void **)&w->mmbuf, (size_t)net->zs * sizeof(double)) ||
        grow((void **)&w->smbuf, (size_t)net->zs * sizeof(double)) ||
        grow((void **)&w->cr, (size_t)ncr * sizeof(Cross)) || grow((void **)&w->xj, ib) ||
        grow((void **)&w->xth, tb))
        return -1;
    if (net->certified) {
        const size_t gb = (size_t)((cap / net->eb + 8) * net->zs) * sizeof(double);
        const size_t vb = (size_t)net->zs * sizeof(double);
        if (grow((void **)&w->E, zb) || grow((void **)&w->En, zb) || grow((void **)&w->r, tb) ||
            grow((void **)&w->rn, tb) || grow((void **)&w->tr, tb) || grow((void **)&w->trn, tb) ||
            grow((void **)&w->Gb, gb) || grow((void **)&w->Eb, gb) || grow((void **)&w->Sb, zb) ||
            grow((void **)&w->rho, tb) || grow((void **)&w->amax, vb) ||
            grow((void **)&w->Ka, vb) || grow((void **)&w->Kb, vb))
            return -1;
    }
    w->cap = cap;
    return 0;
}

static void work_free(Work *w)
{
    free(w->t), free(w->tn), free(w->r), free(w->rn), free(w->tr), free(w->trn);
    free(w->Sb), free(w->rho), free(w->amax), free(w->Ka), free(w->Kb), free(w->xj), free(w->xth);
    free(w->Z), free(w->Zn), free(w->E), free(w->En);
    free(w->pm), free(w->nm), free(w->cw), free(w->cwn);
    free(w->ord), free(w->ord2), free(w->pairs), free(w->Hb), free(w->Gb), free(w->Eb);
    free(w->band), free(w->mmbuf), free(w->smbuf), free(w->cr);
    memset(w, 0, sizeof(*w));
}

static int out_reserve(Out *o, int64_t npts, int64_t nwords)
{
    if (o->nt + npts > o->capt) {
        int64_t cap = o->capt ? o->capt : 1024;
        while (cap < o->nt + npts) cap *= 2;
        if (grow((void **)&o->t, (size_t)cap * sizeof(double))) return -1;
        if (o->with_te && grow((void **)&o->te, (size_t)cap * sizeof(double))) return -1;
        o->capt = cap;
    }
    if (o->nc + nwords > o->capc) {
        int64_t cap = o->capc ? o->capc : 1024;
        while (cap < o->nc + nwords) cap *= 2;
        if (grow((void **)&o->codes, (size_t)cap * sizeof(uint64_t))) return -1;
        o->capc = cap;
    }
    return 0;
}

static void out_free(Out *o)
{
    free(o->t), free(o->te), free(o->codes);
    memset(o, 0, sizeof(*o));
}

static inline void copy_words(uint64_t *restrict d, const uint64_t *restrict s, int n)
{
    for (int i = 0; i < n; i++) d[i] = s[i];
}

static inline double act_apply(int kind, double z, double slope, double lo, double hi)
{
    switch (kind) {
    case ACT_RELU:
        return z > 0.0 ? z : 0.0;
    case ACT_LEAKY:
        return z > 0.0 ? z : slope * z;
    case ACT_HARDTANH: {
        double v = z < lo ? lo : z; /* numpy.clip: min(max(z, lo), hi) */
        return v > hi ? hi : v;
    }
    default:
        return z;
    }
}

static inline void act_row(int kind, const double *restrict z, double *restrict h, int n, double slope, double lo,
                    double hi)
{
    switch (kind) {
    case ACT_RELU:
        for (int i = 0; i < n; i++) h[i] = z[i] > 0.0 ? z[i] : 0.0;
        break;
    case ACT_LEAKY:
        for (int i = 0; i < n; i++) h[i] = z[i] > 0.0 ? z[i] : slope * z[i];
        break;
    case ACT_HARDTANH:
        for (int i = 0; i < n; i++) h[i] = act_apply(ACT_HARDTANH, z[i], slope, lo, hi);
        break;
    default:
        for (int i = 0; i < n; i++) h[i] = z[i];
    }
}

/* ---------------------------------------------------------------------------- */
/* the kernel, once per instruction set                                          */
/* ---------------------------------------------------------------------------- */
typedef int (*segment_fn)(const Net *, Work *, const double *, const double *, const double *, const double *,
                          int, const double *, double *, double *, double *, Out *, int64_t *);

#define ISA_GENERIC 1
#define FN(name) name##_generic
#include "_ckbody.h"
#undef FN
#undef ISA_GENERIC

#ifdef HAVE_X86_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define ISA_AVX2 1
#define FN(name) name##_avx2
#include "_ckbody.h"
#undef FN
#undef ISA_AVX2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#define ISA_AVX512 1
#define FN(name) name##_avx512
#include "_ckbody.h"
#undef FN
#undef ISA_AVX512
#pragma GCC pop_options
#endif

static segment_fn run_segment = run_segment_generic;
static const char *isa_name = "generic";

static void choose_isa(void)
{
#ifdef HAVE_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        run_segment = run_segment_avx512;
        isa_name = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        run_segment = run_segment_avx2;
        isa_name = "avx2";
    }
#endif
    const char *force = getenv("POLYFOLD_KERNEL_ISA");
    if (force && strcmp(force, "generic") == 0) {
        run_segment = run_segment_generic;
        isa_name = "generic";
    }
#ifdef HAVE_X86_DISPATCH
    if (force && strcmp(force, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        run_segment = run_segment_avx2;
        isa_name = "avx2";
    }
#endif
}

/* ---------------------------------------------------------------------------- */
/* Buf: a buffer-protocol owner of malloc'd memory                              */
/* ---------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD void *data;
    Py_ssize_t len;
} Buf;

static void buf_dealloc(Buf *self)
{
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int buf_getbuffer(Buf *self, Py_buffer *view, int flags)
{
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data ? self->data : (void *)"", self->len, 0, flags);
}

static PyBufferProcs buf_as_buffer = {(getbufferproc)buf_getbuffer, NULL};

static PyTypeObject BufType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "polyfold._ckernel.Buf",
    .tp_basicsize = sizeof(Buf),
    .tp_dealloc = (destructor)buf_dealloc,
    .tp_as_buffer = &buf_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory owned by the compiled kernel (wrap with numpy.frombuffer).",
};

/* a Buf taking ownership of data (len bytes); frees data on failure */
static PyObject *buf_take(void *data, Py_ssize_t len)
{
    Buf *b = PyObject_New(Buf, &BufType);
    if (!b) {
        free(data);
        return NULL;
    }
    b->data = data;
    b->len = len;
    return (PyObject *)b;
}

/* ---------------------------------------------------------------------------- */
/* Builder: the result arrays of one call, grown chunk by chunk                  */
/* ---------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD int nwc, with_te;
    int64_t nseg, capseg, nbp, capbp, npc, cappc; /* segments, breakpoints, pieces */
    int64_t *npieces;
    uint8_t *flags;
    double *t, *te;
    uint64_t *codes;
    int64_t chunk_seg, chunk_bp, chunk_pc; /* where the last appended chunk starts */
} Builder;

static int builder_reserve(Builder *b, int64_t nseg, int64_t nbp, int64_t npc)
{
    if (b->nseg + nseg > b->capseg) {
        int64_t cap = b->capseg ? b->capseg : 1024;
        while (cap < b->nseg + nseg) cap *= 2;
        if (grow((void **)&b->npieces, (size_t)cap * 8) || grow((void **)&b->flags, (size_t)cap)) return -1;
        b->capseg = cap;
    }
    if (b->nbp + nbp > b->capbp) {
        int64_t cap = b->capbp ? b->capbp : 4096;
        while (cap < b->nbp + nbp) cap *= 2;
        if (grow((void **)&b->t, (size_t)cap * 8)) return -1;
        if (b->with_te && grow((void **)&b->te, (size_t)cap * 8)) return -1;
        b->capbp = cap;
    }
    if (b->npc + npc > b->cappc) {
        int64_t cap = b->cappc ? b->cappc : 4096;
        while (cap < b->npc + npc) cap *= 2;
        if (grow((void **)&b->codes, (size_t)(cap * b->nwc) * 8)) return -1;
        b->cappc = cap;
    }
    return 0;
}

static void builder_clear(Builder *b)
{
    free(b->npieces), free(b->flags), free(b->t), free(b->te), free(b->codes);
    b->npieces = NULL, b->flags = NULL, b->t = NULL, b->te = NULL, b->codes = NULL;
    b->nseg = b->capseg = b->nbp = b->capbp = b->npc = b->cappc = 0;
    b->chunk_seg = b->chunk_bp = b->chunk_pc = 0;
}

static void builder_dealloc(Builder *self)
{
    builder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int builder_init(Builder *self, PyObject *args, PyObject *kwds)
{
    int nwc, with_te;
    (void)kwds;
    if (!PyArg_ParseTuple(args, "ip", &nwc, &with_te)) return -1;
    if (nwc < 1) {
        PyErr_SetString(PyExc_ValueError, "Builder: need >= 1 code word per piece");
        return -1;
    }
    builder_clear(self);
    self->nwc = nwc;
    self->with_te = with_te;
    return 0;
}

static void release_all(Py_buffer **views, int n)
{
    for (int i = 0; i < n; i++)
        if (views[i]->obj) PyBuffer_Release(views[i]);
}

static int get_buf(PyObject *obj, Py_buffer *view, const char *name, Py_ssize_t need_bytes)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len < need_bytes) {
        PyErr_Format(PyExc_ValueError, "%s: buffer of %zd bytes, need %zd", name, view->len, need_bytes);
        PyBuffer_Release(view);
        view->obj = NULL;
        return -1;
    }
    return 0;
}

/* append(npieces, flags, t, te, codes): segments computed elsewhere (numpy, exact) */
static PyObject *builder_append(Builder *self, PyObject *args)
{
    PyObject *on, *of, *ot, *ote, *oc;
    if (!PyArg_ParseTuple(args, "OOOOO", &on, &of, &ot, &ote, &oc)) return NULL;
    Py_buffer bn = {0}, bf = {0}, bt = {0}, bte = {0}, bc = {0};
    PyObject *res = NULL;
    if (get_buf(on, &bn, "npieces", 0) < 0) goto done;
    const int64_t m = bn.len / 8;
    const int64_t *np_ = (const int64_t *)bn.buf;
    int64_t npc = 0;
    for (int64_t i = 0; i < m; i++) npc += np_[i];
    const int64_t nbp = npc - m;
    if (get_buf(of, &bf, "flags", m) < 0 || get_buf(ot, &bt, "t", nbp * 8) < 0 ||
        get_buf(oc, &bc, "codes", npc * self->nwc * 8) < 0)
        goto done;
    if (self->with_te && get_buf(ote, &bte, "te", nbp * 8) < 0) goto done;
    if (builder_reserve(self, m, nbp, npc)) {
        PyErr_NoMemory();
        goto done;
    }
    self->chunk_seg = self->nseg, self->chunk_bp = self->nbp, self->chunk_pc = self->npc;
    memcpy(self->npieces + self->nseg, np_, (size_t)m * 8);
    memcpy(self->flags + self->nseg, bf.buf, (size_t)m);
    if (nbp) memcpy(self->t + self->nbp, bt.buf, (size_t)nbp * 8);
    if (nbp && self->with_te) memcpy(self->te + self->nbp, bte.buf, (size_t)nbp * 8);
    if (npc) memcpy(self->codes + self->npc * self->nwc, bc.buf, (size_t)(npc * self->nwc) * 8);
    self->nseg += m, self->nbp += nbp, self->npc += npc;
    Py_INCREF(Py_None);
    res = Py_None;
done:
    release_all((Py_buffer *[]){&bn, &bf, &bt, &bte, &bc}, 5);
    return res;
}

/*
 * splice(ids, npieces, flags, t, te, codes): replace the segments ids (sorted,
 * absolute, all in the last appended chunk) by the given ones (same order).  Only the
 * last chunk's rows move.
 */
static PyObject *builder_splice(Builder *self, PyObject *args)
{
    PyObject *oi, *on, *of, *ot, *ote, *oc;
    if (!PyArg_ParseTuple(args, "OOOOOO", &oi, &on, &of, &ot, &ote, &oc)) return NULL;
    Py_buffer bi = {0}, bn = {0}, bf = {0}, bt = {0}, bte = {0}, bc = {0};
    PyObject *res = NULL;
    double *nt = NULL, *nte = NULL;
    uint64_t *ncodes = NULL;
    const int nwc = self->nwc;
    if (get_buf(oi, &bi, "ids", 0) < 0 || get_buf(on, &bn, "npieces", bi.len) < 0) goto done;
    const int64_t k = bi.len / 8;
    const int64_t *ids = (const int64_t *)bi.buf, *rn = (const int64_t *)bn.buf;
    int64_t rpc = 0;
    for (int64_t i = 0; i < k; i++) {
        if (ids[i] < self->chunk_seg || ids[i] >= self->nseg || (i && ids[i] <= ids[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "splice: ids must be sorted and in the last chunk");
            goto done;
        }
        rpc += rn[i];
    }
    if (get_buf(of, &bf, "flags", k) < 0 || get_buf(ot, &bt, "t", (rpc - k) * 8) < 0 ||
        get_buf(oc, &bc, "codes", rpc * nwc * 8) < 0)
        goto done;
    if (self->with_te && get_buf(ote, &bte, "te", (rpc - k) * 8) < 0) goto done;
    /* new tail of the chunk */
    int64_t tbp = 0, tpc = 0;
    {
        int64_t r = 0;
        for (int64_t s = self->chunk_seg; s < self->nseg; s++) {
            const int64_t np_ = (r < k && ids[r] == s) ? rn[r++] : self->npieces[s];
            tpc += np_;
            tbp += np_ - 1;
        }
    }
    nt = (double *)malloc((size_t)(tbp + 1) * 8);
    nte = self->with_te ? (double *)malloc((size_t)(tbp + 1) * 8) : NULL;
    ncodes = (uint64_t *)malloc((size_t)(tpc * nwc + 1) * 8);
    if (!nt || !ncodes || (self->with_te && !nte)) {
        PyErr_NoMemory();
        goto done;
    }
    {
        int64_t r = 0, obp = self->chunk_bp, opc = self->chunk_pc, rbp = 0, rpcc = 0, qbp = 0, qpc = 0;
        const double *rt = (const double *)bt.buf, *rte = self->with_te ? (const double *)bte.buf : NULL;
        const uint64_t *rc = (const uint64_t *)bc.buf;
        for (int64_t s = self->chunk_seg; s < self->nseg; s++) {
            const int64_t onp = self->npieces[s];
            if (r < k && ids[r] == s) {
                const int64_t np_ = rn[r];
                memcpy(nt + qbp, rt + rbp, (size_t)(np_ - 1) * 8);
                if (nte) memcpy(nte + qbp, rte + rbp, (size_t)(np_ - 1) * 8);
                memcpy(ncodes + qpc * nwc, rc + rpcc * nwc, (size_t)(np_ * nwc) * 8);
                self->npieces[s] = np_;
                self->flags[s] = ((const uint8_t *)bf.buf)[r];
                rbp += np_ - 1, rpcc += np_, qbp += np_ - 1, qpc += np_;
                r++;
            } else {
                memcpy(nt + qbp, self->t + obp, (size_t)(onp - 1) * 8);
                if (nte) memcpy(nte + qbp, self->te + obp, (size_t)(onp - 1) * 8);
                memcpy(ncodes + qpc * nwc, self->codes + opc * nwc, (size_t)(onp * nwc) * 8);
                qbp += onp - 1, qpc += onp;
            }
            obp += onp - 1, opc += onp;
        }
    }
    self->nbp = self->chunk_bp, self->npc = self->chunk_pc;
    if (builder_reserve(self, 0, tbp, tpc)) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(self->t + self->nbp, nt, (size_t)tbp * 8);
    if (nte) memcpy(self->te + self->nbp, nte, (size_t)tbp * 8);
    memcpy(self->codes + self->npc * nwc, ncodes, (size_t)(tpc * nwc) * 8);
    self->nbp += tbp, self->npc += tpc;
    Py_INCREF(Py_None);
    res = Py_None;
done:
    free(nt), free(nte), free(ncodes);
    release_all((Py_buffer *[]){&bi, &bn, &bf, &bt, &bte, &bc}, 6);
    return res;
}

/* finish() -> (npieces, flags, t, te, codes) as Bufs (te empty without bounds); resets */
static PyObject *builder_finish(Builder *self, PyObject *noargs)
{
    (void)noargs;
    /* shrink to size (realloc of large blocks remaps, it does not copy) */
    grow((void **)&self->npieces, (size_t)self->nseg * 8);
    grow((void **)&self->flags, (size_t)self->nseg);
    grow((void **)&self->t, (size_t)self->nbp * 8);
    if (self->with_te) grow((void **)&self->te, (size_t)self->nbp * 8);
    grow((void **)&self->codes, (size_t)(self->npc * self->nwc) * 8);
    PyObject *a = buf_take(self->npieces, (Py_ssize_t)self->nseg * 8);
    self->npieces = NULL;
    PyObject *b = buf_take(self->flags, (Py_ssize_t)self->nseg);
    self->flags = NULL;
    PyObject *c = buf_take(self->t, (Py_ssize_t)self->nbp * 8);
    self->t = NULL;
    PyObject *d = buf_take(self->te, self->with_te ? (Py_ssize_t)self->nbp * 8 : 0);
    self->te = NULL;
    PyObject *e = buf_take(self->codes, (Py_ssize_t)(self->npc * self->nwc) * 8);
    self->codes = NULL;
    builder_clear(self);
    if (!a || !b || !c || !d || !e) {
        Py_XDECREF(a), Py_XDECREF(b), Py_XDECREF(c), Py_XDECREF(d), Py_XDECREF(e);
        return NULL;
    }
    return Py_BuildValue("(NNNNN)", a, b, c, d, e);
}

static PyObject *builder_get_nseg(Builder *self, void *closure)
{
    (void)closure;
    return PyLong_FromLongLong((long long)self->nseg);
}

static PyMethodDef builder_methods[] = {
    {"append", (PyCFunction)builder_append, METH_VARARGS,
     "append(npieces, flags, t, te, codes): segments computed elsewhere."},
    {"splice", (PyCFunction)builder_splice, METH_VARARGS,
     "splice(ids, npieces, flags, t, te, codes): replace segments of the last chunk."},
    {"finish", (PyCFunction)builder_finish, METH_NOARGS,
     "finish() -> (npieces, flags, t, te, codes) buffers; empties the builder."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef builder_getset[] = {
    {"n_segments", (getter)builder_get_nseg, NULL, "segments appended so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "polyfold._ckernel.Builder",
    .tp_basicsize = sizeof(Builder),
    .tp_dealloc = (destructor)builder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Builder(code_words, with_bounds): result arrays of one crossing call.",
    .tp_methods = builder_methods,
    .tp_getset = builder_getset,
    .tp_init = (initproc)builder_init,
    .tp_new = PyType_GenericNew,
};

/* ---------------------------------------------------------------------------- */
/* KNet: a prepared network                                                      */
/* ---------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD Net net;
} KNet;

static void net_free(Net *net)
{
    for (int l = 0; l < net->L; l++) {
        if (net->WTp) free(net->WTp[l]);
        if (net->bp) free(net->bp[l]);
        if (net->aWTp) free(net->aWTp[l]);
        if (net->cb) free(net->cb[l]);
        if (net->thr) free(net->thr[l]);
    }
    free(net->n), free(net->npad), free(net->T), free(net->nw), free(net->nb), free(net->act);
    free(net->off), free(net->boff), free(net->valid);
    free(net->slope), free(net->lo), free(net->hi), free(net->cH), free(net->cE), free(net->cI), free(net->thrmax);
    free(net->thr), free(net->WTp), free(net->bp), free(net->aWTp), free(net->cb);
    memset(net, 0, sizeof(*net));
}

static void knet_dealloc(KNet *self)
{
    net_free(&self->net);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* packed panels of 8 output columns (k-major within a panel), zero padded */
static double *pack_panels(const double *WT, int nin, int n, int npad, int absolute)
{
    double *p = (double *)calloc((size_t)nin * npad + 8, sizeof(double));
    if (!p) return NULL;
    for (int j = 0; j < npad / 8; j++)
        for (int k = 0; k < nin; k++)
            for (int c = 0; c < 8; c++) {
                const int o = 8 * j + c;
                const double v = o < n ? WT[(int64_t)k * n + o] : 0.0;
                p[((int64_t)j * nin + k) * 8 + c] = absolute ? fabs(v) : v;
            }
    return p;
}

/*
 * KNet(widths, params, acts, actpar, nthr, thr, certpar, bits, zero, merge, certified, eb):
 * widths (L,) int64; params: for l >= 1 W_l^T (width[l-1], width[l]) then b_l;
 * acts (L,) int64; actpar (L, 3) slope, lo, hi; nthr (L,) int64; thr: the thresholds;
 * certpar (L, 4): cH, cE, cB, cI; bits (L,) int64 bits per code.
 */
static int knet_init(KNet *self, PyObject *args, PyObject *kwds)
{
    PyObject *ow, *op, *oa, *oap, *ont, *oth, *ocp, *obits;
    double zero, merge;
    int certified, eb;
    (void)kwds;
    if (!PyArg_ParseTuple(args, "OOOOOOOOddpi", &ow, &op, &oa, &oap, &ont, &oth, &ocp, &obits, &zero, &merge,
                          &certified, &eb))
        return -1;
    Py_buffer bw = {0}, bp = {0}, ba = {0}, bap = {0}, bnt = {0}, bth = {0}, bcp = {0}, bbits = {0};
    int ret = -1;
    Net *net = &self->net;
    net_free(net);
    if (get_buf(ow, &bw, "widths", 8) < 0) goto done;
    const int L = (int)(bw.len / 8);
    const int64_t *width = (const int64_t *)bw.buf;
    net->L = L;
    net->certified = certified;
    net->eb = eb < 1 ? 1 : eb;
    net->zero = zero;
    net->merge = merge;
#define ALLOC(field, count) \
    if (!(net->field = calloc((size_t)(count), sizeof(*net->field)))) goto oom
    ALLOC(n, L);
    ALLOC(npad, L);
    ALLOC(T, L);
    ALLOC(nw, L);
    ALLOC(nb, L);
    ALLOC(act, L);
    ALLOC(off, L + 1);
    ALLOC(boff, L + 1);
    ALLOC(slope, L);
    ALLOC(lo, L);
    ALLOC(hi, L);
    ALLOC(cH, L);
    ALLOC(cE, L);
    ALLOC(cI, L);
    ALLOC(thrmax, L);
    ALLOC(thr, L);
    ALLOC(WTp, L);
    ALLOC(bp, L);
    ALLOC(aWTp, L);
    ALLOC(cb, L);
    net->zs = 8;
    net->wmax = 1;
    for (int l = 0; l < L; l++) {
        if (width[l] < 1 || width[l] > (1 << 20)) {
            PyErr_SetString(PyExc_ValueError, "widths: each width must be in 1..2**20");
            goto done;
        }
        net->n[l] = (int)width[l];
        net->npad[l] = (int)((width[l] + 7) / 8 * 8);
        net->nw[l] = (int)((width[l] + 63) / 64);
        net->off[l + 1] = net->off[l] + width[l];
        if (net->npad[l] > net->zs) net->zs = net->npad[l];
        if (net->nw[l] > net->wmax) net->wmax = net->nw[l];
    }
    net->nh = (int)net->off[L];
    Py_ssize_t npar = 0;
    for (int l = 1; l < L; l++) npar += width[l - 1] * width[l] + width[l];
    if (get_buf(op, &bp, "params", npar * 8) < 0 || get_buf(oa, &ba, "acts", L * 8) < 0 ||
        get_buf(oap, &bap, "actpar", L * 24) < 0 || get_buf(ont, &bnt, "nthr", L * 8) < 0 ||
        get_buf(ocp, &bcp, "certpar", L * 32) < 0 || get_buf(obits, &bbits, "bits", L * 8) < 0)
        goto done;
    {
        const int64_t *nt = (const int64_t *)bnt.buf, *bits = (const int64_t *)bbits.buf;
        Py_ssize_t tot = 0;
        net->tmax = 1;
        for (int l = 0; l < L; l++) {
            if (nt[l] < 1 || nt[l] > 64 || bits[l] < 1 || bits[l] > 7) {
                PyErr_SetString(PyExc_ValueError, "nthr: 1..64 thresholds per layer, 1..7 bits per code");
                goto done;
            }
            net->T[l] = (int)nt[l];
            net->nb[l] = (int)bits[l];
            if (nt[l] > net->tmax) net->tmax = (int)nt[l];
            tot += nt[l];
            net->boff[l + 1] = net->boff[l] + width[l] * bits[l];
        }
        net->nwc = (int)((net->boff[L] + 63) / 64);
        if (get_buf(oth, &bth, "thr", tot * 8) < 0) goto done;
        const double *thr = (const double *)bth.buf;
        for (int l = 0; l < L; l++) {
            ALLOC(thr[l], nt[l]);
            double mx = 0.0;
            for (int wi = 0; wi < nt[l]; wi++) {
                net->thr[l][wi] = thr[wi];
                if (fabs(thr[wi]) > mx) mx = fabs(thr[wi]);
            }
            net->thrmax[l] = mx;
            thr += nt[l];
        }
    }
    net->ms = net->tmax * net->wmax;
    ALLOC(valid, L * net->wmax);
    for (int l = 0; l < L; l++)
        for (int q = 0; q < net->nw[l]; q++) {
            const int rem = net->n[l] - 64 * q;
            net->valid[l * net->wmax + q] = rem >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << rem) - 1);
        }
    {
        const int64_t *acts = (const int64_t *)ba.buf;
        const double *ap = (const double *)bap.buf, *cp = (const double *)bcp.buf;
        for (int l = 0; l < L; l++) {
            if (acts[l] < 0 || acts[l] > 3) {
                PyErr_SetString(PyExc_ValueError, "acts: unknown activation kind");
                goto done;
            }
            net->act[l] = (int)acts[l];
            net->slope[l] = ap[3 * l], net->lo[l] = ap[3 * l + 1], net->hi[l] = ap[3 * l + 2];
            net->cH[l] = cp[4 * l], net->cE[l] = cp[4 * l + 1], net->cI[l] = cp[4 * l + 3];
        }
        const double *par = (const double *)bp.buf;
        for (int l = 1; l < L; l++) {
            const int nin = net->n[l - 1], n = net->n[l], np = net->npad[l];
            const double *WT = par, *b = par + (int64_t)nin * n;
            par = b + n;
            if (!(net->WTp[l] = pack_panels(WT, nin, n, np, 0))) goto oom;
            ALLOC(bp[l], np + 8);
            for (int o = 0; o < n; o++) net->bp[l][o] = b[o];
            if (certified) {
                if (!(net->aWTp[l] = pack_panels(WT, nin, n, np, 1))) goto oom;
                ALLOC(cb[l], np + 8);
                for (int o = 0; o < n; o++) net->cb[l][o] = cp[4 * l + 2] * fabs(b[o]);
            }
        }
    }
#undef ALLOC
    ret = 0;
    goto done;
oom:
    PyErr_NoMemory();
done:
    if (ret) net_free(net);
    release_all((Py_buffer *[]){&bw, &bp, &ba, &bap, &bnt, &bth, &bcp, &bbits}, 8);
    return ret;
}

static PyObject *knet_get(KNet *self, void *closure)
{
    const Net *n = &self->net;
    switch ((intptr_t)closure) {
    case 0:
        return PyLong_FromLong(n->nwc);
    case 1:
        return PyBool_FromLong(n->certified);
    default:
        return PyLong_FromLong(n->nh);
    }
}

static PyGetSetDef knet_getset[] = {
    {"code_words", (getter)knet_get, NULL, "64-bit words per piece code", (void *)0},
    {"certified", (getter)knet_get, NULL, "prepared for certified mode", (void *)1},
    {"n_hidden", (getter)knet_get, NULL, "hidden units", (void *)2},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject KNetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "polyfold._ckernel.KNet",
    .tp_basicsize = sizeof(KNet),
    .tp_dealloc = (destructor)knet_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A network prepared for the compiled kernel (see polyfold._fast).",
    .tp_getset = knet_getset,
    .tp_init = (initproc)knet_init,
    .tp_new = PyType_GenericNew,
};

/* ---------------------------------------------------------------------------- */
/* partition: one chunk of segments on several threads                           */
/* ---------------------------------------------------------------------------- */
typedef struct {
    const Net *net;
    const double *ZA, *ZB, *EA, *EB;
    const int64_t *ia, *ib;
    int64_t s0, s1; /* segment range of this thread */
    int band_mode;
    const double *fixband;
    double *runmax;           /* (L, zs) own */
    double *segmax, *minmarg; /* (m, nh) shared, own rows */
    const int64_t *list;      /* band_mode 2: the segments to recompute (s0..s1 index it) */
    int64_t *npieces;         /* (m,) shared */
    uint8_t *flags;           /* (m,) shared */
    Out out;
    Work w;
    int oom;
} Task;

static void *task_run(void *arg)
{
    Task *tk = (Task *)arg;
    const Net *net = tk->net;
    const int n0 = net->n[0];
    for (int64_t i = tk->s0; i < tk->s1; i++) {
        const int64_t s = tk->list ? tk->list[i] : i;
        const int64_t a = tk->ia ? tk->ia[s] : s, b = tk->ib ? tk->ib[s] : s;
        int64_t np_ = 0;
        const int f = run_segment(net, &tk->w, tk->ZA + a * n0, tk->ZB + b * n0, tk->EA ? tk->EA + a * n0 : NULL,
                                  tk->EB ? tk->EB + b * n0 : NULL, tk->band_mode, tk->fixband, tk->runmax,
                                  tk->segmax ? tk->segmax + s * net->nh : NULL,
                                  tk->minmarg ? tk->minmarg + s * net->nh : NULL, &tk->out, &np_);
        if (f < 0) {
            tk->oom = 1;
            break;
        }
        tk->flags[s] = (uint8_t)f;
        tk->npieces[s] = np_;
    }
    return NULL;
}

/* fn(items + i size) for i < nt, on threads when nt > 1 (in this thread when a thread
   cannot be started) */
static void run_threads(void *(*fn)(void *), void *items, size_t size, int nt)
{
    char *it = (char *)items;
#ifdef HAVE_PTHREADS
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < nt; i++) started[i] = pthread_create(&th[i], NULL, fn, it + (size_t)i * size) == 0;
    fn(it);
    for (int i = 1; i < nt; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else fn(it + (size_t)i * size);
    }
#else
    for (int i = 0; i < nt; i++) fn(it + (size_t)i * size);
#endif
}

/* run tasks[0..nt) (threads when nt > 1) */
static void run_tasks(Task *tasks, int nt) { run_threads(task_run, tasks, sizeof(Task), nt); }

/* fn(ctx, s0, s1, part) on the nt slices [m part / nt, m (part + 1) / nt) of [0, m), on threads */
typedef void (*range_fn)(void *ctx, int64_t s0, int64_t s1, int part);
typedef struct {
    range_fn fn;
    void *ctx;
    int64_t s0, s1;
    int part;
} RangeJob;

static void *range_run(void *arg)
{
    RangeJob *j = (RangeJob *)arg;
    j->fn(j->ctx, j->s0, j->s1, j->part);
    return NULL;
}

static void parallel_ranges(range_fn fn, void *ctx, int64_t m, int nt)
{
    RangeJob jobs[MAX_THREADS];
    for (int i = 0; i < nt; i++) jobs[i] = (RangeJob){fn, ctx, m * i / nt, m * (i + 1) / nt, i};
    run_threads(range_run, jobs, sizeof(RangeJob), nt);
}

/* float mode's final bands: per-thread maxima of the segments' maxima, then the check */
typedef struct {
    const Net *net;
    const double *segmax, *minmarg;
    double *bandmax; /* (threads, nh) */
    const double *fixband;
    uint8_t *bad;
} BandJob;

static void band_max(void *ctx, int64_t s0, int64_t s1, int part)
{
    const BandJob *bj = (const BandJob *)ctx;
    const int nh = bj->net->nh;
    double *mx = bj->bandmax + (int64_t)part * nh;
    for (int64_t s = s0; s < s1; s++) {
        const double *v = bj->segmax + s * nh;
        for (int u = 0; u < nh; u++)
            if (v[u] > mx[u]) mx[u] = v[u];
    }
}

static void band_check(void *ctx, int64_t s0, int64_t s1, int part)
{
    const BandJob *bj = (const BandJob *)ctx;
    const Net *net = bj->net;
    (void)part;
    for (int64_t s = s0; s < s1; s++) {
        const double *mg = bj->minmarg + s * net->nh;
        int bad = 0;
        for (int l = 1; l < net->L && !bad; l++) {
            const double *fb = bj->fixband + (int64_t)l * net->zs;
            for (int j = 0; j < net->n[l]; j++)
                if (mg[net->off[l] + j] <= fb[j]) {
                    bad = 1;
                    break;
                }
        }
        bj->bad[s] = (uint8_t)bad;
    }
}

/* where a task's first segment goes (builder) and comes from (redo output) */
typedef struct {
    int64_t bp, pc, r, rbp, rpc;
} AppendAt;

typedef struct {
    const Net *net;
    Builder *bld;
    const Task *tasks, *redo_task;
    const int64_t *npieces, *np1;
    const uint8_t *flags;
    const int64_t *redo;
    int64_t n_redo;
    int cert;
    AppendAt at[MAX_THREADS];
} AppendJob;

static void append_part(void *ctx, int64_t s0, int64_t s1, int part)
{
    const AppendJob *aj = (const AppendJob *)ctx;
    const Task *tk = &aj->tasks[part]; /* whose slice is [s0, s1) */
    Builder *bld = aj->bld;
    const int nwc = aj->net->nwc;
    AppendAt at = aj->at[part];
    int64_t obp = 0, opc = 0, seg = bld->nseg + s0;
    for (int64_t s = s0; s < s1; s++, seg++) {
        const double *src_t, *src_te = NULL;
        const uint64_t *src_c;
        const int64_t np_ = aj->npieces[s], onp = aj->np1 ? aj->np1[s] : np_;
        if (at.r < aj->n_redo && aj->redo[at.r] == s) {
            src_t = aj->redo_task->out.t + at.rbp, src_c = aj->redo_task->out.codes + at.rpc * nwc;
            at.rbp += np_ - 1, at.rpc += np_;
            at.r++;
        } else {
            src_t = tk->out.t + obp, src_te = aj->cert ? tk->out.te + obp : NULL;
            src_c = tk->out.codes + opc * nwc;
        }
        if (np_ > 1) memcpy(bld->t + at.bp, src_t, (size_t)(np_ - 1) * 8);
        if (src_te && np_ > 1) memcpy(bld->te + at.bp, src_te, (size_t)(np_ - 1) * 8);
        memcpy(bld->codes + at.pc * nwc, src_c, (size_t)(np_ * nwc) * 8);
        bld->npieces[seg] = np_;
        bld->flags[seg] = aj->flags[s];
        at.bp += np_ - 1, at.pc += np_;
        obp += onp - 1, opc += onp;
    }
}


PyDoc_STRVAR(partition_doc,
"partition(knet, builder, ZA, ZB, ia, ib, EA, EB, m, threads)\n"
"\n"
"The crossings of m segments (one chunk): segment i runs from row ia[i] of ZA to\n"
"row ib[i] of ZB (first-layer values; ia / ib None: row i), with bounds EA / EB in\n"
"certified mode.  Appends the results to builder.  Returns (n_redo, ambiguous, tiny):\n"
"the number of segments recomputed with the final float band, a Buf of the\n"
"int64 chunk-local ids of the segments certified mode could not decide, and a Buf\n"
"of those among them with magnitudes near the subnormal range (exact only).");

static PyObject *py_partition(PyObject *self, PyObject *args)
{
    PyObject *okn, *obld, *oZA, *oZB, *oia, *oib, *oEA, *oEB;
    Py_ssize_t m;
    int nthreads;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOni", &okn, &obld, &oZA, &oZB, &oia, &oib, &oEA, &oEB, &m, &nthreads))
        return NULL;
    if (!PyObject_TypeCheck(okn, &KNetType) || !PyObject_TypeCheck(obld, &BuilderType)) {
        PyErr_SetString(PyExc_TypeError, "partition: need a KNet and a Builder");
        return NULL;
    }
    const Net *net = &((KNet *)okn)->net;
    Builder *bld = (Builder *)obld;
    if (m < 0 || net->L < 1 || bld->nwc != net->nwc || bld->with_te != net->certified) {
        PyErr_SetString(PyExc_ValueError, "partition: m >= 0 and a builder matching the net");
        return NULL;
    }
    const int cert = net->certified, L = net->L, zs = net->zs, nh = net->nh, n0 = net->n[0];
    Py_buffer bZA = {0}, bZB = {0}, bia = {0}, bib = {0}, bEA = {0}, bEB = {0};
    PyObject *result = NULL;
    Task *tasks = NULL, redo_task;
    memset(&redo_task, 0, sizeof(redo_task));
    int64_t *npieces = NULL, *redo = NULL, *amb = NULL, *np1 = NULL;
    uint8_t *flags = NULL, *bad = NULL;
    double *fixband = NULL, *segmax = NULL, *minmarg = NULL, *bandmax = NULL;
    int64_t n_redo = 0, n_amb = 0;
    int oom = 0;
    if (get_buf(oZA, &bZA, "ZA", n0 * 8) < 0 || get_buf(oZB, &bZB, "ZB", n0 * 8) < 0) goto done;
    const int64_t rA = bZA.len / (n0 * 8), rB = bZB.len / (n0 * 8);
    const int64_t *ia = NULL, *ib = NULL;
    if (oia != Py_None) {
        if (get_buf(oia, &bia, "ia", m * 8) < 0) goto done;
        ia = (const int64_t *)bia.buf;
    }
    if (oib != Py_None) {
        if (get_buf(oib, &bib, "ib", m * 8) < 0) goto done;
        ib = (const int64_t *)bib.buf;
    }
    for (int64_t i = 0; i < m; i++) {
        const int64_t a = ia ? ia[i] : i, b = ib ? ib[i] : i;
        if (a < 0 || a >= rA || b < 0 || b >= rB) {
            PyErr_SetString(PyExc_ValueError, "partition: segment ends outside ZA / ZB");
            goto done;
        }
    }
    if (cert) {
        if (get_buf(oEA, &bEA, "EA", rA * n0 * 8) < 0 || get_buf(oEB, &bEB, "EB", rB * n0 * 8) < 0) goto done;
    }
    if (nthreads < 1) nthreads = 1;
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    if (nthreads > m) nthreads = m > 0 ? (int)m : 1;

    tasks = (Task *)calloc((size_t)nthreads, sizeof(Task));
    npieces = (int64_t *)calloc((size_t)m + 1, sizeof(int64_t));
    flags = (uint8_t *)calloc((size_t)m + 1, 1);
    fixband = (double *)calloc((size_t)L * zs, sizeof(double));
    if (!tasks || !npieces || !flags || !fixband) {
        PyErr_NoMemory();
        goto done;
    }
    if (!cert) {
        segmax = (double *)calloc((size_t)m * nh + 1, sizeof(double));
        minmarg = (double *)malloc(((size_t)m * nh + 1) * sizeof(double));
        if (!segmax || !minmarg) {
            PyErr_NoMemory();
            goto done;
        }
        for (int64_t i = 0; i < m * nh; i++) minmarg[i] = HUGE_VAL;
    }

    Py_BEGIN_ALLOW_THREADS;
    do {
        const double *ZA = (const double *)bZA.buf, *ZB = (const double *)bZB.buf;
        if (!cert) { /* layer 0: the chunk's band is known up front */
            for (int64_t i = 0; i < m; i++) {
                const double *za = ZA + (ia ? ia[i] : i) * n0, *zb = ZB + (ib ? ib[i] : i) * n0;
                for (int j = 0; j < n0; j++) {
                    const double a = fabs(za[j]), b = fabs(zb[j]);
                    if (a > fixband[j]) fixband[j] = a;
                    if (b > fixband[j]) fixband[j] = b;
                }
            }
            for (int j = 0; j < n0; j++) fixband[j] *= net->zero;
        }
        for (int i = 0; i < nthreads; i++) {
            Task *tk = &tasks[i];
            tk->net = net;
            tk->ZA = ZA, tk->ZB = ZB;
            tk->EA = cert ? (const double *)bEA.buf : NULL;
            tk->EB = cert ? (const double *)bEB.buf : NULL;
            tk->ia = ia, tk->ib = ib;
            tk->s0 = m * i / nthreads, tk->s1 = m * (i + 1) / nthreads;
            tk->band_mode = cert ? 0 : 1;
            tk->fixband = fixband;
            tk->segmax = segmax, tk->minmarg = minmarg;
            tk->npieces = npieces, tk->flags = flags;
            tk->out.with_te = cert;
            if (!cert && !(tk->runmax = (double *)calloc((size_t)L * zs, sizeof(double)))) oom = 1;
        }
        if (oom) break;
        run_tasks(tasks, nthreads);
        for (int i = 0; i < nthreads; i++) oom |= tasks[i].oom;
        if (oom) break;
        if (!cert && L > 1) {
            /* final float bands of layers >= 1 (maxima over the chunk, per thread and then
               combined), and the segments decided too close to them */
            if (!(redo = (int64_t *)malloc(((size_t)m + 1) * sizeof(int64_t))) ||
                !(bandmax = (double *)calloc((size_t)nthreads * nh + 1, sizeof(double))) ||
                !(bad = (uint8_t *)calloc((size_t)m + 1, 1))) {
                oom = 1;
                break;
            }
            BandJob bj = {net, segmax, minmarg, bandmax, fixband, bad};
            parallel_ranges(band_max, &bj, m, nthreads);
            for (int l = 1; l < L; l++)
                for (int j = 0; j < net->n[l]; j++) {
                    double mx = 0.0;
                    for (int i = 0; i < nthreads; i++) {
                        const double v = bandmax[(int64_t)i * nh + net->off[l] + j];
                        if (v > mx) mx = v;
                    }
                    fixband[(int64_t)l * zs + j] = net->zero * mx;
                }
            parallel_ranges(band_check, &bj, m, nthreads);
            for (int64_t s = 0; s < m; s++)
                if (bad[s]) redo[n_redo++] = s;
            if (n_redo) {
                if (!(np1 = (int64_t *)malloc(((size_t)m + 1) * sizeof(int64_t)))) {
                    oom = 1;
                    break;
                }
                memcpy(np1, npieces, (size_t)m * sizeof(int64_t)); /* first-sweep sizes */
                redo_task = tasks[0];
                memset(&redo_task.out, 0, sizeof(Out));
                memset(&redo_task.w, 0, sizeof(Work));
                redo_task.out.with_te = cert;
                redo_task.band_mode = 2;
                redo_task.list = redo;
                redo_task.s0 = 0, redo_task.s1 = n_redo;
                redo_task.segmax = redo_task.minmarg = NULL;
                redo_task.runmax = NULL;
                redo_task.oom = 0;
                task_run(&redo_task);
                if (redo_task.oom) {
                    oom = 1;
                    break;
                }
            }
        }
        /* append in segment order: the offsets of every task's first segment in one
           serial pass, then the copies on the tasks' threads */
        int64_t tbp = 0, tpc = 0;
        for (int64_t s = 0; s < m; s++) tpc += npieces[s], tbp += npieces[s] - 1;
        if (builder_reserve(bld, m, tbp, tpc)) {
            oom = 1;
            break;
        }
        bld->chunk_seg = bld->nseg, bld->chunk_bp = bld->nbp, bld->chunk_pc = bld->npc;
        AppendJob aj = {net, bld, tasks, &redo_task, npieces, np1, flags, redo, n_redo, cert, {{0}}};
        {
            AppendAt at = {bld->nbp, bld->npc, 0, 0, 0};
            for (int i = 0; i < nthreads; i++) {
                aj.at[i] = at;
                for (int64_t s = tasks[i].s0; s < tasks[i].s1; s++) {
                    at.bp += npieces[s] - 1, at.pc += npieces[s];
                    if (at.r < n_redo && redo[at.r] == s) at.rbp += npieces[s] - 1, at.rpc += npieces[s], at.r++;
                }
            }
        }
        parallel_ranges(append_part, &aj, m, nthreads); /* the tasks' slices: s0 = m i / nthreads */
        bld->nseg += m, bld->nbp += tbp, bld->npc += tpc;
    } while (0);
    Py_END_ALLOW_THREADS;
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(amb = (int64_t *)malloc(((size_t)m + 1) * sizeof(int64_t)))) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t s = 0; s < m; s++)
        if (flags[s] & F_AMB) amb[n_amb++] = s;
    {
        /* the ambiguous segments flagged F_TINY (a second list, in place after amb's) */
        int64_t n_tiny = 0;
        for (int64_t i = 0; i < n_amb; i++)
            if (flags[amb[i]] & F_TINY) n_tiny++;
        int64_t *tiny = (int64_t *)malloc(((size_t)n_tiny + 1) * sizeof(int64_t));
        if (!tiny) {
            PyErr_NoMemory();
            goto done;
        }
        for (int64_t i = 0, k = 0; i < n_amb; i++)
            if (flags[amb[i]] & F_TINY) tiny[k++] = amb[i];
        PyObject *a = buf_take(amb, (Py_ssize_t)n_amb * 8);
        amb = NULL;
        PyObject *b = buf_take(tiny, (Py_ssize_t)n_tiny * 8);
        if (a && b) result = Py_BuildValue("(LNN)", (long long)n_redo, a, b);
        else Py_XDECREF(a), Py_XDECREF(b);
    }
done:
    if (tasks) {
        for (int i = 0; i < nthreads; i++) {
            out_free(&tasks[i].out);
            work_free(&tasks[i].w);
            free(tasks[i].runmax);
        }
    }
    out_free(&redo_task.out);
    work_free(&redo_task.w);
    free(tasks), free(npieces), free(np1), free(redo), free(amb), free(flags), free(fixband), free(segmax), free(minmarg);
    free(bandmax), free(bad);
    release_all((Py_buffer *[]){&bZA, &bZB, &bia, &bib, &bEA, &bEB}, 6);
    return result;
}

static PyMethodDef methods[] = {
    {"partition", py_partition, METH_VARARGS, partition_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_ckernel", "Optional compiled segment-crossing kernel of polyfold.", -1, methods,
};

PyMODINIT_FUNC PyInit__ckernel(void)
{
    choose_isa();
    if (PyType_Ready(&BufType) < 0 || PyType_Ready(&BuilderType) < 0 || PyType_Ready(&KNetType) < 0) return NULL;
    PyObject *mod = PyModule_Create(&moddef);
    if (!mod) return NULL;
    PyModule_AddIntConstant(mod, "ABI_VERSION", 2);
    PyModule_AddStringConstant(mod, "ISA", isa_name);
#ifdef HAVE_PTHREADS
    PyModule_AddIntConstant(mod, "THREADS", 1);
#else
    PyModule_AddIntConstant(mod, "THREADS", 0);
#endif
    Py_INCREF(&BuilderType);
    PyModule_AddObject(mod, "Builder", (PyObject *)&BuilderType);
    Py_INCREF(&KNetType);
    PyModule_AddObject(mod, "KNet", (PyObject *)&KNetType);
    return mod;
}
