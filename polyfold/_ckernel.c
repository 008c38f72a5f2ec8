/*
 * polyfold._ckernel -- optional compiled segment-crossing kernel.
 *
 * A minimal CPython extension (no numpy headers): it reads float64 / int64 buffers
 * through the buffer protocol and returns its results as bytearrays, which
 * polyfold._fast wraps with numpy.frombuffer.
 *
 * It computes exactly what polyfold.crossings._partition computes in float and
 * certified mode, one segment at a time (all of a segment's points stay in cache
 * through all layers):
 *
 *   for every hidden layer l:
 *     values of layer l at the segment's points (and, certified, their error bounds
 *       E = (cH |H| + cE E_prev) |W|^T + cB |b|, coefficients from polyfold._fast);
 *     three-valued signs of z - theta for every threshold theta (band: certified E,
 *       float tol.zero * max |z| of the neuron over the batch);
 *     endpoint and (certified) ambiguity flags;
 *     a breakpoint at every strict sign change inside a piece, ordered by
 *       (s, threshold, neuron), with the interpolated values (own neuron set to theta)
 *       and, certified, the bounds of crossings.breakpoint_bounds: the error of every
 *       value against the exact value at the exact crossing, and of t;
 *     float: consecutive points closer than tol.merge merged into the first
 *       (a merged sign is +-1 only when all members agree);
 *     codes of layer l on every piece, degenerate pieces flagged;
 *   float: breakpoints where no code changes are dropped (as
 *     crossings._drop_silent_breakpoints does).
 *
 * A segment's points live in rows that never move: at each layer the rows are
 * gathered into sequence order together with the activation (feeding a
 * register-tiled affine product), and the new breakpoints are appended as rows with an
 * order array giving the new sequence.
 *
 * The float band needs the largest |z| of each neuron over all points of the
 * batch at that layer, which a per-segment sweep only knows at the end.  The kernel
 * therefore decides with a provisional band (the running maximum over the segments
 * before this one, never larger than the final one), records for every segment the
 * smallest margin |z - theta| of the values it decided as nonzero, and afterwards
 * recomputes (with the final band) the few segments with a margin within the final
 * band.  Every decision then equals the one made with the batch band.  (The batch
 * maximum at a layer is the maximum over the whole segments, whatever the
 * breakpoints, so the first sweep's maxima are the batch maxima up to rounding.)
 *
 * Single-threaded; the GIL is released while it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ACT_RELU = 0, ACT_LEAKY = 1, ACT_HARDTANH = 2, ACT_IDENTITY = 3 };

#define UROUND (DBL_EPSILON / 2) /* unit roundoff of float64 */

#define MAX_LAYERS 4096

typedef struct {
    int L;               /* hidden layers */
    int nmax, tmax, nh;  /* max width rounded up to 4 (the row stride), max thresholds, hidden units */
    int npad[MAX_LAYERS];           /* width rounded up to a multiple of 4 */
    double *WTp[MAX_LAYERS];        /* layer l >= 1: (width[l-1], npad[l]) zero-padded W^T */
    double *bp[MAX_LAYERS];         /* (npad[l],) zero-padded b */
    const int64_t *width;
    int64_t off[MAX_LAYERS + 1];
    const double *WT[MAX_LAYERS];   /* layer l >= 1: (width[l-1], width[l]) row-major */
    const double *b[MAX_LAYERS];
    double *absWT[MAX_LAYERS];      /* certified only */
    double *gabsb[MAX_LAYERS];      /* certified only: cB_l * |b| */
    int act[MAX_LAYERS];
    double slope[MAX_LAYERS], lo[MAX_LAYERS], hi[MAX_LAYERS];
    int nthr[MAX_LAYERS];
    const double *thr[MAX_LAYERS];
    double cH[MAX_LAYERS], cE[MAX_LAYERS], cI[MAX_LAYERS], thrmax[MAX_LAYERS];
    double zero, merge;
    int certified;
} Net;

typedef struct {
    double s;
    int w, j;
} Cross;

/*
 * Work space of one segment.  Points live in rows; at the start of every layer the
 * rows are gathered into sequence order (row i = point i), and the breakpoints of the
 * layer are appended as new rows with ord[] giving the new sequence, so no point is
 * ever moved.  Code rows (codes of all layers for the piece starting at a point) are
 * append-only; crow[r] names the code row of row r.
 */
typedef struct {
    int64_t cap;               /* rows */
    double *t, *Z, *E;         /* rows: t, values of the current layer, certified bounds */
    double *tn, *Zn, *En;      /* gather targets (swapped with the above) */
    double *te, *ten;          /* certified: bounds on |t - t*| */
    int8_t *sg;                /* rows: three-valued signs, [threshold][neuron] */
    int64_t *crow, *crn;       /* code row of every row */
    int64_t *ord, *ord2;       /* sequence of rows */
    int32_t *pc;               /* crossings between point p - 1 and p */
    double *Hb, *Gb;           /* activations / certified bound inputs, in sequence order */
    int64_t ccap, ncode;       /* code rows */
    int8_t *code;
    double *band;              /* nmax */
    Cross *cr;                 /* nmax * tmax */
    int64_t crcap;
} Work;

/* growable output */
typedef struct {
    double *t, *te; /* te: certified only */
    int8_t *codes;
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
    int64_t cap = w->cap ? w->cap : 64;
    while (cap < need) cap *= 2;
    const size_t zb = (size_t)(cap * net->nmax) * sizeof(double);
    const size_t tb = (size_t)cap * sizeof(double), ib = (size_t)cap * sizeof(int64_t);
    if (grow((void **)&w->t, tb) || grow((void **)&w->tn, tb) || grow((void **)&w->Z, zb) ||
        grow((void **)&w->Zn, zb) || grow((void **)&w->Hb, zb) ||
        grow((void **)&w->sg, (size_t)(cap * net->nmax * net->tmax)) || grow((void **)&w->crow, ib) ||
        grow((void **)&w->crn, ib) || grow((void **)&w->ord, ib) || grow((void **)&w->ord2, ib) ||
        grow((void **)&w->pc, (size_t)cap * sizeof(int32_t)))
        return -1;
    if (net->certified &&
        (grow((void **)&w->E, zb) || grow((void **)&w->En, zb) || grow((void **)&w->Gb, zb) ||
         grow((void **)&w->te, tb) || grow((void **)&w->ten, tb)))
        return -1;
    w->cap = cap;
    return 0;
}

static int reserve_codes(Work *w, int64_t need, const Net *net)
{
    if (need <= w->ccap) return 0;
    int64_t cap = w->ccap ? w->ccap : 64;
    while (cap < need) cap *= 2;
    if (grow((void **)&w->code, (size_t)(cap * net->nh))) return -1;
    w->ccap = cap;
    return 0;
}

static void work_free(Work *w)
{
    free(w->t);
    free(w->tn);
    free(w->te);
    free(w->ten);
    free(w->Z);
    free(w->Zn);
    free(w->E);
    free(w->En);
    free(w->sg);
    free(w->crow);
    free(w->crn);
    free(w->ord);
    free(w->ord2);
    free(w->pc);
    free(w->Hb);
    free(w->Gb);
    free(w->code);
    free(w->band);
    free(w->cr);
    memset(w, 0, sizeof(*w));
}

static int out_reserve(Out *o, int64_t npts, int64_t nbytes)
{
    if (o->nt + npts > o->capt) {
        int64_t cap = o->capt ? o->capt : 1024;
        while (cap < o->nt + npts) cap *= 2;
        if (grow((void **)&o->t, (size_t)cap * sizeof(double))) return -1;
        if (o->with_te && grow((void **)&o->te, (size_t)cap * sizeof(double))) return -1;
        o->capt = cap;
    }
    if (o->nc + nbytes > o->capc) {
        int64_t cap = o->capc ? o->capc : 4096;
        while (cap < o->nc + nbytes) cap *= 2;
        if (grow((void **)&o->codes, (size_t)cap)) return -1;
        o->capc = cap;
    }
    return 0;
}

static int out_push(Out *o, const double *t, int64_t P, const int8_t *codes, int64_t nrows, int64_t nh)
{
    if (out_reserve(o, P, nrows * nh)) return -1;
    memcpy(o->t + o->nt, t, (size_t)P * sizeof(double));
    o->nt += P;
    if (nrows) memcpy(o->codes + o->nc, codes, (size_t)(nrows * nh));
    o->nc += nrows * nh;
    return 0;
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

static void act_row(int kind, const double *restrict z, double *restrict h, int n, double slope,
                    double lo, double hi)
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

typedef double v2d __attribute__((vector_size(16)));

static inline v2d ld2(const double *p)
{
    v2d v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void st2(double *p, v2d v)
{
    memcpy(p, &v, sizeof(v));
}

/*
 * out[p, 0:npad] = sum_i in[p, i] WT[i, 0:npad] + b  (i = 0 .. nin-1 in order, then b),
 * rows of stride zs >= npad, npad a multiple of 4; tiles of two points x eight (then four)
 * outputs: independent accumulator chains in SSE2 registers.
 */
static void affine_rows(const double *in, int64_t P, int zs, int nin, const double *WT, int npad,
                        const double *b, double *out)
{
    int64_t p = 0;
    for (; p + 1 < P; p += 2) {
        const double *h0 = in + p * zs, *h1 = h0 + zs;
        double *o0 = out + p * zs, *o1 = o0 + zs;
        int oc = 0;
        for (; oc + 8 <= npad; oc += 8) {
            v2d a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            const double *row = WT + oc;
            for (int i = 0; i < nin; i++, row += npad) {
                const v2d r0 = ld2(row), r1 = ld2(row + 2), r2 = ld2(row + 4), r3 = ld2(row + 6);
                const double x = h0[i], y = h1[i];
                const v2d xv = {x, x}, yv = {y, y};
                a0 += xv * r0;
                a1 += xv * r1;
                a2 += xv * r2;
                a3 += xv * r3;
                c0 += yv * r0;
                c1 += yv * r1;
                c2 += yv * r2;
                c3 += yv * r3;
            }
            const v2d b0 = ld2(b + oc), b1 = ld2(b + oc + 2), b2 = ld2(b + oc + 4), b3 = ld2(b + oc + 6);
            st2(o0 + oc, a0 + b0);
            st2(o0 + oc + 2, a1 + b1);
            st2(o0 + oc + 4, a2 + b2);
            st2(o0 + oc + 6, a3 + b3);
            st2(o1 + oc, c0 + b0);
            st2(o1 + oc + 2, c1 + b1);
            st2(o1 + oc + 4, c2 + b2);
            st2(o1 + oc + 6, c3 + b3);
        }
        if (oc < npad) { /* four outputs left */
            v2d a0 = {0, 0}, a1 = a0, c0 = a0, c1 = a0;
            const double *row = WT + oc;
            for (int i = 0; i < nin; i++, row += npad) {
                const v2d r0 = ld2(row), r1 = ld2(row + 2);
                const double x = h0[i], y = h1[i];
                const v2d xv = {x, x}, yv = {y, y};
                a0 += xv * r0;
                a1 += xv * r1;
                c0 += yv * r0;
                c1 += yv * r1;
            }
            const v2d b0 = ld2(b + oc), b1 = ld2(b + oc + 2);
            st2(o0 + oc, a0 + b0);
            st2(o0 + oc + 2, a1 + b1);
            st2(o1 + oc, c0 + b0);
            st2(o1 + oc + 2, c1 + b1);
        }
    }
    if (p < P) {
        const double *h0 = in + p * zs;
        double *o0 = out + p * zs;
        for (int oc = 0; oc < npad; oc += 4) {
            v2d a0 = {0, 0}, a1 = a0;
            const double *row = WT + oc;
            for (int i = 0; i < nin; i++, row += npad) {
                const double x = h0[i];
                const v2d xv = {x, x};
                a0 += xv * ld2(row);
                a1 += xv * ld2(row + 2);
            }
            st2(o0 + oc, a0 + ld2(b + oc));
            st2(o0 + oc + 2, a1 + ld2(b + oc + 2));
        }
    }
}

/* per-segment flags */
enum { F_DEG = 1, F_EP0 = 2, F_EP1 = 4, F_AMB = 8 };

#define SWAP(T, a, b) \
    do {              \
        T tmp_ = (a); \
        (a) = (b);    \
        (b) = tmp_;   \
    } while (0)

/*
 * One segment.  band_mode: 0 certified; 1 float provisional (running maxima in
 * runmax, per-segment maxima / margins recorded in segmax / minmarg); 2 float with
 * fixed bands (fixband, (L, nmax)).  Layer 0's float band is always fixband[0].
 * Appends the points' t and the pieces' codes to out (float: without breakpoints
 * where no code changes) and stores their number in *P_out.  Returns the flags
 * (>= 0) or -1 on allocation failure.
 */
static int run_segment(const Net *net, Work *w, const double *Za, const double *Zb, const double *Ea,
                       const double *Eb, int band_mode, const double *fixband, double *runmax,
                       double *segmax, double *minmarg, Out *out, int64_t *P_out)
{
    const int zs = net->nmax, ss = net->nmax * net->tmax, nh = net->nh;
    const int cert = net->certified;
    int flags = 0;
    int64_t P = 2;
    if (reserve_rows(w, 2, net) || reserve_codes(w, 2, net)) return -1;
    const int n0 = (int)net->width[0];
    w->t[0] = 0.0;
    w->t[1] = 1.0;
    if (cert) w->te[0] = w->te[1] = 0.0;
    memcpy(w->Z, Za, (size_t)n0 * sizeof(double));
    memcpy(w->Z + zs, Zb, (size_t)n0 * sizeof(double));
    if (cert) {
        memcpy(w->E, Ea, (size_t)n0 * sizeof(double));
        memcpy(w->E + zs, Eb, (size_t)n0 * sizeof(double));
    }
    memset(w->code, 0, (size_t)(2 * nh));
    w->ncode = 2;
    w->crow[0] = 0;
    w->crow[1] = 1;
    w->ord[0] = 0;
    w->ord[1] = 1;

    for (int l = 0; l < net->L; l++) {
        const int n = (int)net->width[l];
        const int T = net->nthr[l];
        const double *th = net->thr[l];
        const int64_t off = net->off[l];

        /* gather the points into sequence order; values of layer l */
        if (l > 0) {
            const int nin = (int)net->width[l - 1];
            const int ak = net->act[l - 1];
            const double sl = net->slope[l - 1], lo = net->lo[l - 1], hi = net->hi[l - 1];
            const int64_t *ord = w->ord;
            for (int64_t i = 0; i < P; i++) {
                const int64_t r = ord[i];
                act_row(ak, w->Z + r * zs, w->Hb + i * zs, nin, sl, lo, hi);
                w->tn[i] = w->t[r];
                if (cert) w->ten[i] = w->te[r];
                w->crn[i] = w->crow[r];
            }
            affine_rows(w->Hb, P, zs, nin, net->WTp[l], net->npad[l], net->bp[l], w->Zn);
            if (cert) {
                const double cH = net->cH[l], cE = net->cE[l];
                for (int64_t i = 0; i < P; i++) {
                    const double *hp = w->Hb + i * zs, *ep = w->E + ord[i] * zs;
                    double *gp = w->Gb + i * zs;
                    for (int k = 0; k < nin; k++) gp[k] = cH * fabs(hp[k]) + cE * ep[k];
                }
                affine_rows(w->Gb, P, zs, nin, net->absWT[l], net->npad[l], net->gabsb[l], w->En);
                SWAP(double *, w->E, w->En);
            }
            SWAP(double *, w->Z, w->Zn);
            SWAP(double *, w->t, w->tn);
            if (cert) SWAP(double *, w->te, w->ten);
            SWAP(int64_t *, w->crow, w->crn);
        }
        /* from here row i is point i */

        /* float band: fixed (layer 0, or the final band of a recomputation), or the
           running maximum over the segments before this one (never above the final) */
        double *band = w->band;
        double *mm = NULL, *sm = NULL;
        if (!cert) {
            if (l == 0 || band_mode == 2) {
                memcpy(band, fixband + (int64_t)l * zs, (size_t)n * sizeof(double));
            } else {
                const double *rm = runmax + (int64_t)l * zs;
                sm = segmax + off;
                mm = minmarg + off;
                for (int j = 0; j < n; j++) {
                    band[j] = net->zero * rm[j];
                    sm[j] = 0.0;
                }
            }
        }

        /* signs at the points, endpoint and ambiguity flags, crossings per pair */
        int64_t ncross = 0;
        int32_t *pc = w->pc;
        for (int64_t p = 0; p < P; p++) {
            const double *zp = w->Z + p * zs;
            const double *bd = cert ? w->E + p * zs : band;
            int8_t *sp = w->sg + p * ss;
            int nzero = 0, nc = 0;
            for (int wi = 0; wi < T; wi++) {
                const double q = th[wi];
                int8_t *sw = sp + wi * zs;
                const int8_t *sv = p > 0 ? sw - ss : sw;
                if (mm) {
                    for (int j = 0; j < n; j++) {
                        const double d = zp[j] - q;
                        const int gt = d > bd[j], lt = d < -bd[j];
                        const int s = gt - lt;
                        sw[j] = (int8_t)s;
                        nzero += !(gt | lt);
                        nc += (s * sv[j]) < 0;
                        const double a = fabs(d), az = fabs(zp[j]);
                        mm[j] = (s != 0 && a < mm[j]) ? a : mm[j];
                        sm[j] = az > sm[j] ? az : sm[j];
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        const double d = zp[j] - q;
                        const int gt = d > bd[j], lt = d < -bd[j];
                        const int s = gt - lt;
                        sw[j] = (int8_t)s;
                        nzero += !(gt | lt);
                        nc += (s * sv[j]) < 0;
                    }
                }
            }
            pc[p] = nc;
            ncross += nc;
            if (nzero) {
                if (p == 0) flags |= F_EP0;
                if (p == P - 1) flags |= F_EP1;
                if (cert) flags |= F_AMB;
            }
        }
        if (sm) {
            double *rm = runmax + (int64_t)l * zs;
            for (int j = 0; j < n; j++) rm[j] = sm[j] > rm[j] ? sm[j] : rm[j];
        }

        /* breakpoints of layer l: appended as new rows, ord2 the new sequence */
        if (ncross > 0) {
            if (reserve_rows(w, P + ncross, net) || reserve_codes(w, w->ncode + ncross, net)) return -1;
            if ((int64_t)n * T > w->crcap) return -1; /* cannot happen: sized at setup */
            pc = w->pc; /* (moved by the reservation) */
            int64_t *ord2 = w->ord2;
            int64_t q = 0, R = P;
            for (int64_t k = 0; k < P; k++) {
                ord2[q++] = k;
                if (k == P - 1) break;
                if (!pc[k + 1]) continue;
                const int8_t *s0 = w->sg + k * ss, *s1 = s0 + ss;
                const double *za = w->Z + k * zs, *zb = za + zs;
                int nc = 0;
                for (int wi = 0; wi < T; wi++) {
                    const int8_t *a0 = s0 + wi * zs, *a1 = s1 + wi * zs;
                    for (int j = 0; j < n; j++) {
                        if (a0[j] * a1[j] < 0) {
                            const double A = za[j] - th[wi], B = zb[j] - th[wi];
                            Cross c;
                            c.s = A / (A - B);
                            c.w = wi;
                            c.j = j;
                            /* stable insertion by s: ties keep (threshold, neuron) order */
                            int pos = nc;
                            while (pos > 0 && w->cr[pos - 1].s > c.s) {
                                w->cr[pos] = w->cr[pos - 1];
                                pos--;
                            }
                            w->cr[pos] = c;
                            nc++;
                        }
                    }
                }
                if (!nc) continue;
                const double ta = w->t[k], dt = w->t[k + 1] - w->t[k];
                const double *ea = cert ? w->E + k * zs : NULL, *eb = cert ? ea + zs : NULL;
                for (int c = 0; c < nc; c++) {
                    const double s = w->cr[c].s;
                    const int wc = w->cr[c].w, jc = w->cr[c].j;
                    double *zn = w->Z + R * zs;
                    w->t[R] = ta + s * dt;
                    for (int j = 0; j < n; j++) zn[j] = za[j] + s * (zb[j] - za[j]);
                    zn[jc] = th[wc];
                    const double *bd = band;
                    if (cert) {
                        /* crossings.breakpoint_bounds, operation for operation */
                        const double u = UROUND, grow = 1.0 + 16.0 * UROUND, cI = net->cI[l];
                        const double A = za[jc] - th[wc], B = zb[jc] - th[wc];
                        const double x = fabs(A), y = fabs(B);
                        const double ex = ea[jc] + u * x, ey = eb[jc] + u * y;
                        const double den = (x + y) - (ex + ey);
                        const double delta =
                            (den > 0 ? ((1.0 - s) * ex + s * ey + 4.0 * u * (ex + ey)) / den * grow : HUGE_VAL) +
                            cI * s;
                        double *en = w->E + R * zs;
                        for (int j = 0; j < n; j++)
                            en[j] = ((1.0 - s) * ea[j] + s * eb[j] + delta * ((fabs(zb[j] - za[j]) + ea[j]) + eb[j])) *
                                        grow +
                                    cI * ((fabs(za[j]) + fabs(zb[j])) + net->thrmax[l]);
                        en[jc] = 0.0;
                        const double tea = w->te[k], teb = w->te[k + 1];
                        w->te[R] = ((1.0 - s) * tea + s * teb + delta * ((dt + tea) + teb)) * grow + cI * w->t[k + 1];
                        bd = en;
                    }
                    int8_t *sp = w->sg + R * ss;
                    int undecided = 0;
                    for (int wi = 0; wi < T; wi++) {
                        const double qq = th[wi];
                        int8_t *sw = sp + wi * zs;
                        for (int j = 0; j < n; j++) {
                            const double d = zn[j] - qq;
                            const int gt = d > bd[j], lt = d < -bd[j];
                            int sgn = gt - lt;
                            if (wi == wc && j == jc) {
                                sgn = 0;
                            } else {
                                undecided |= (sgn == 0);
                                if (mm && sgn != 0 && fabs(d) < mm[j]) mm[j] = fabs(d);
                            }
                            sw[j] = (int8_t)sgn;
                        }
                    }
                    if (cert && undecided) flags |= F_AMB;
                    w->crow[R] = w->ncode;
                    memcpy(w->code + w->ncode * nh, w->code + w->crow[k] * nh, (size_t)nh);
                    w->ncode++;
                    ord2[q++] = R++;
                }
            }
            /* float: merge consecutive points closer than tol.merge into the first */
            if (!cert) {
                int64_t nq = 1;
                for (int64_t i = 1; i < q; i++) {
                    const int64_t ri = ord2[i];
                    if (w->t[ri] - w->t[ord2[i - 1]] <= net->merge) {
                        int8_t *sk = w->sg + ord2[nq - 1] * ss;
                        const int8_t *si = w->sg + ri * ss;
                        for (int wi = 0; wi < T; wi++)
                            for (int j = 0; j < n; j++)
                                if (sk[wi * zs + j] != si[wi * zs + j]) sk[wi * zs + j] = 0;
                    } else {
                        ord2[nq++] = ri;
                    }
                }
                q = nq;
            }
            SWAP(int64_t *, w->ord, w->ord2);
            P = q;
        } else {
            for (int64_t i = 0; i < P; i++) w->ord[i] = i;
        }

        /* codes of layer l on every piece; degenerate pieces */
        const int64_t *ord = w->ord;
        for (int64_t i = 0; i + 1 < P; i++) {
            const int8_t *s0 = w->sg + ord[i] * ss, *s1 = w->sg + ord[i + 1] * ss;
            int8_t *cp = w->code + w->crow[ord[i]] * nh + off;
            int dg = 0;
            if (T == 1) {
                for (int j = 0; j < n; j++) {
                    cp[j] = (int8_t)((s0[j] > 0) | (s1[j] > 0));
                    dg |= (s0[j] == 0) & (s1[j] == 0);
                }
            } else {
                for (int j = 0; j < n; j++) cp[j] = 0;
                for (int wi = 0; wi < T; wi++) {
                    const int8_t *a0 = s0 + wi * zs, *a1 = s1 + wi * zs;
                    for (int j = 0; j < n; j++) {
                        cp[j] += (a0[j] > 0) | (a1[j] > 0);
                        dg |= (a0[j] == 0) & (a1[j] == 0);
                    }
                }
            }
            if (dg) flags |= cert ? (F_DEG | F_AMB) : F_DEG;
        }
    }

    /* output in sequence order; float: drop breakpoints where no code changes */
    if (out_reserve(out, P, (P - 1) * nh)) return -1;
    const int64_t *ord = w->ord;
    double *ot = out->t + out->nt;
    int8_t *oc = out->codes + out->nc;
    int64_t np = 0;
    const int8_t *last = NULL;
    ot[np++] = w->t[ord[0]];
    for (int64_t i = 0; i + 1 < P; i++) {
        const int8_t *ci = w->code + w->crow[ord[i]] * nh;
        if (i > 0) {
            if (!cert && memcmp(ci, last, (size_t)nh) == 0) continue; /* silent breakpoint */
            ot[np++] = w->t[ord[i]];
        }
        memcpy(oc + (np - 1) * nh, ci, (size_t)nh);
        last = ci;
    }
    ot[np++] = w->t[ord[P - 1]];
    if (cert) { /* no silent breakpoints are dropped: point i is row ord[i] */
        double *ote = out->te + out->nt;
        for (int64_t i = 0; i < P; i++) ote[i] = w->te[ord[i]];
    }
    out->nt += np;
    out->nc += (np - 1) * nh;
    *P_out = np;
    return flags;
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

static PyObject *bytearray_of(const void *data, Py_ssize_t n)
{
    return PyByteArray_FromStringAndSize(n ? (const char *)data : "", n);
}

PyDoc_STRVAR(partition_doc,
"partition(Z0, E0, m, widths, params, acts, actpar, nthr, thr, certpar, zero, merge, certified)\n"
"\n"
"The segment-crossing kernel (see polyfold._fast.partition).  Returns\n"
"(counts, t, codes, flags, n_redo, t_error): bytearrays of int64 (m,), float64\n"
"(sum counts,), int8 (sum(counts - 1), n_hidden), uint8 (m,) flags (1 degenerate,\n"
"2 start on a boundary, 4 end on a boundary, 8 ambiguous), the number of segments\n"
"recomputed with the final float band, and float64 (sum counts,) bounds on the\n"
"error of t (certified; empty in float mode).");

static PyObject *py_partition(PyObject *self, PyObject *args)
{
    PyObject *oZ0, *oE0, *owidth, *oparams, *oacts, *oactpar, *onthr, *othr, *ogamma;
    Py_ssize_t m;
    double zero, merge;
    int certified;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOnOOOOOOOddp", &oZ0, &oE0, &m, &owidth, &oparams, &oacts, &oactpar,
                          &onthr, &othr, &ogamma, &zero, &merge, &certified))
        return NULL;
    if (m < 0) {
        PyErr_SetString(PyExc_ValueError, "m must be >= 0");
        return NULL;
    }
    Py_buffer bw = {0}, bZ0 = {0}, bE0 = {0}, bpar = {0}, bacts = {0}, bap = {0}, bnt = {0}, bthr = {0},
              bg = {0};
    PyObject *result = NULL;
    Net *net = NULL;
    Work w;
    memset(&w, 0, sizeof(w));
    Out o1, o2;
    memset(&o1, 0, sizeof(o1));
    memset(&o2, 0, sizeof(o2));
    o1.with_te = certified;
    int64_t *counts = NULL, *counts2 = NULL, *pt_off = NULL, *cd_off = NULL;
    uint8_t *flags = NULL;
    double *runmax = NULL, *segmax = NULL, *minmarg = NULL, *fixband = NULL;
    int64_t *redo = NULL;
    int64_t n_redo = 0;
    int oom = 0;

    if (PyObject_GetBuffer(owidth, &bw, PyBUF_C_CONTIGUOUS) < 0) goto done;
    int L = (int)(bw.len / 8);
    if (L < 1 || L > MAX_LAYERS) {
        PyErr_SetString(PyExc_ValueError, "widths: need 1..4096 hidden layers");
        goto done;
    }
    net = (Net *)calloc(1, sizeof(Net));
    if (!net) {
        PyErr_NoMemory();
        goto done;
    }
    net->L = L;
    net->width = (const int64_t *)bw.buf;
    net->off[0] = 0;
    net->nmax = 0;
    for (int l = 0; l < L; l++) {
        if (net->width[l] < 1 || net->width[l] > (1 << 20)) {
            PyErr_SetString(PyExc_ValueError, "widths: each width must be in 1..2**20");
            goto done;
        }
        net->off[l + 1] = net->off[l] + net->width[l];
        net->npad[l] = (int)((net->width[l] + 3) / 4 * 4);
        if (net->npad[l] > net->nmax) net->nmax = net->npad[l];
    }
    net->nh = (int)net->off[L];
    int n0 = (int)net->width[0];
    if (get_buf(oZ0, &bZ0, "Z0", (Py_ssize_t)(2 * m * n0 * 8)) < 0) goto done;
    net->certified = certified;
    if (certified) {
        if (oE0 == Py_None) {
            PyErr_SetString(PyExc_ValueError, "E0 is required in certified mode");
            goto done;
        }
        if (get_buf(oE0, &bE0, "E0", (Py_ssize_t)(2 * m * n0 * 8)) < 0) goto done;
    }
    Py_ssize_t npar = 0;
    for (int l = 1; l < L; l++) npar += net->width[l - 1] * net->width[l] + net->width[l];
    if (get_buf(oparams, &bpar, "params", npar * 8) < 0) goto done;
    if (get_buf(oacts, &bacts, "acts", (Py_ssize_t)L * 8) < 0) goto done;
    if (get_buf(oactpar, &bap, "actpar", (Py_ssize_t)L * 3 * 8) < 0) goto done;
    if (get_buf(onthr, &bnt, "nthr", (Py_ssize_t)L * 8) < 0) goto done;
    if (get_buf(ogamma, &bg, "certpar", (Py_ssize_t)L * 4 * 8) < 0) goto done;
    {
        const int64_t *nt = (const int64_t *)bnt.buf;
        Py_ssize_t tot = 0;
        net->tmax = 1;
        for (int l = 0; l < L; l++) {
            if (nt[l] < 1 || nt[l] > 64) {
                PyErr_SetString(PyExc_ValueError, "nthr: 1..64 thresholds per layer");
                goto done;
            }
            net->nthr[l] = (int)nt[l];
            if (nt[l] > net->tmax) net->tmax = (int)nt[l];
            tot += nt[l];
        }
        if (get_buf(othr, &bthr, "thr", tot * 8) < 0) goto done;
        const double *thr = (const double *)bthr.buf;
        for (int l = 0; l < L; l++) {
            net->thr[l] = thr;
            thr += nt[l];
        }
    }
    {
        const double *par = (const double *)bpar.buf;
        for (int l = 1; l < L; l++) {
            net->WT[l] = par;
            par += net->width[l - 1] * net->width[l];
            net->b[l] = par;
            par += net->width[l];
        }
        const int64_t *acts = (const int64_t *)bacts.buf;
        const double *ap = (const double *)bap.buf;
        for (int l = 0; l < L; l++) {
            if (acts[l] < 0 || acts[l] > 3) {
                PyErr_SetString(PyExc_ValueError, "acts: unknown activation kind");
                goto done;
            }
            net->act[l] = (int)acts[l];
            net->slope[l] = ap[3 * l];
            net->lo[l] = ap[3 * l + 1];
            net->hi[l] = ap[3 * l + 2];
        }
    }
    {
        const double *cp = (const double *)bg.buf;
        for (int l = 0; l < L; l++) {
            net->cH[l] = cp[4 * l];
            net->cE[l] = cp[4 * l + 1];
            net->cI[l] = cp[4 * l + 3];
            double mx = 0.0;
            for (int wi = 0; wi < net->nthr[l]; wi++)
                if (fabs(net->thr[l][wi]) > mx) mx = fabs(net->thr[l][wi]);
            net->thrmax[l] = mx;
        }
    }
    net->zero = zero;
    net->merge = merge;

    Py_BEGIN_ALLOW_THREADS;
    do {
        const int zs = net->nmax, nh = net->nh;
        /* zero-padded weights (rows of npad[l]); certified: |W|^T and cB |b| */
        for (int l = 1; l < L; l++) {
            const int64_t nin = net->width[l - 1], n = net->width[l], np = net->npad[l];
            net->WTp[l] = (double *)calloc((size_t)(nin * np), sizeof(double));
            net->bp[l] = (double *)calloc((size_t)np, sizeof(double));
            if (!net->WTp[l] || !net->bp[l]) {
                oom = 1;
                break;
            }
            for (int64_t i = 0; i < nin; i++)
                for (int64_t o = 0; o < n; o++) net->WTp[l][i * np + o] = net->WT[l][i * n + o];
            for (int64_t o = 0; o < n; o++) net->bp[l][o] = net->b[l][o];
            if (!certified) continue;
            net->absWT[l] = (double *)calloc((size_t)(nin * np), sizeof(double));
            net->gabsb[l] = (double *)calloc((size_t)np, sizeof(double));
            if (!net->absWT[l] || !net->gabsb[l]) {
                oom = 1;
                break;
            }
            for (int64_t i = 0; i < nin * np; i++) net->absWT[l][i] = fabs(net->WTp[l][i]);
            for (int64_t o = 0; o < n; o++)
                net->gabsb[l][o] = ((const double *)bg.buf)[4 * l + 2] * fabs(net->b[l][o]);
        }
        if (oom) break;
        w.band = (double *)malloc((size_t)zs * sizeof(double));
        w.crcap = (int64_t)zs * net->tmax;
        w.cr = (Cross *)malloc((size_t)w.crcap * sizeof(Cross));
        counts = (int64_t *)calloc((size_t)m + 1, sizeof(int64_t));
        pt_off = (int64_t *)calloc((size_t)m + 1, sizeof(int64_t));
        cd_off = (int64_t *)calloc((size_t)m + 1, sizeof(int64_t));
        flags = (uint8_t *)calloc((size_t)m + 1, 1);
        if (!w.band || !w.cr || !counts || !pt_off || !cd_off || !flags) {
            oom = 1;
            break;
        }
        const double *Z0 = (const double *)bZ0.buf;
        const double *E0 = certified ? (const double *)bE0.buf : NULL;
        if (!certified) {
            fixband = (double *)calloc((size_t)L * zs, sizeof(double));
            runmax = (double *)calloc((size_t)L * zs, sizeof(double));
            segmax = (double *)malloc(((size_t)m * nh + 1) * sizeof(double));
            minmarg = (double *)malloc(((size_t)m * nh + 1) * sizeof(double));
            if (!fixband || !runmax || !segmax || !minmarg) {
                oom = 1;
                break;
            }
            /* layer 0: the batch band is known up front */
            for (int64_t r = 0; r < 2 * m; r++)
                for (int j = 0; j < n0; j++) {
                    double a = fabs(Z0[r * n0 + j]);
                    if (a > fixband[j]) fixband[j] = a;
                }
            for (int j = 0; j < n0; j++) fixband[j] *= zero;
            for (int64_t i = 0; i < m * nh; i++) {
                segmax[i] = 0.0;
                minmarg[i] = HUGE_VAL;
            }
        }
        int bm = certified ? 0 : 1;
        for (int64_t s = 0; s < m; s++) {
            int64_t P = 0;
            int f = run_segment(net, &w, Z0 + 2 * s * n0, Z0 + (2 * s + 1) * n0,
                                E0 ? E0 + 2 * s * n0 : NULL, E0 ? E0 + (2 * s + 1) * n0 : NULL, bm,
                                fixband, runmax, segmax ? segmax + s * nh : NULL,
                                minmarg ? minmarg + s * nh : NULL, &o1, &P);
            if (f < 0) {
                oom = 1;
                break;
            }
            flags[s] = (uint8_t)f;
            counts[s] = P;
            pt_off[s + 1] = pt_off[s] + P;
            cd_off[s + 1] = cd_off[s] + (P - 1) * nh;
        }
        if (oom) break;
        if (!certified && L > 1) {
            /* final float bands of layers >= 1, and the segments decided too close to them */
            for (int l = 1; l < L; l++)
                for (int j = 0; j < net->width[l]; j++) {
                    double mx = 0.0;
                    for (int64_t s = 0; s < m; s++) {
                        double v = segmax[s * nh + net->off[l] + j];
                        if (v > mx) mx = v;
                    }
                    fixband[(int64_t)l * zs + j] = zero * mx;
                }
            redo = (int64_t *)malloc(((size_t)m + 1) * sizeof(int64_t));
            if (!redo) {
                oom = 1;
                break;
            }
            for (int64_t s = 0; s < m; s++) {
                int bad = 0;
                for (int l = 1; l < L && !bad; l++)
                    for (int j = 0; j < net->width[l]; j++)
                        if (minmarg[s * nh + net->off[l] + j] <= fixband[(int64_t)l * zs + j]) {
                            bad = 1;
                            break;
                        }
                if (bad) redo[n_redo++] = s;
            }
            if (n_redo) {
                counts2 = (int64_t *)calloc((size_t)n_redo + 1, sizeof(int64_t));
                if (!counts2) {
                    oom = 1;
                    break;
                }
                for (int64_t r = 0; r < n_redo; r++) {
                    int64_t s = redo[r], P = 0;
                    int f = run_segment(net, &w, Z0 + 2 * s * n0, Z0 + (2 * s + 1) * n0, NULL, NULL, 2,
                                        fixband, NULL, NULL, NULL, &o2, &P);
                    if (f < 0) {
                        oom = 1;
                        break;
                    }
                    flags[s] = (uint8_t)f;
                    counts2[r] = P;
                }
                if (oom) break;
                /* stitch o1 and o2 into o1 order */
                Out o3;
                memset(&o3, 0, sizeof(o3));
                int64_t r = 0, p2 = 0, c2 = 0;
                for (int64_t s = 0; s < m; s++) {
                    int e;
                    if (r < n_redo && redo[r] == s) {
                        int64_t P = counts2[r];
                        e = out_push(&o3, o2.t + p2, P, o2.codes + c2, P - 1, nh);
                        p2 += P;
                        c2 += (P - 1) * nh;
                        counts[s] = P;
                        r++;
                    } else {
                        int64_t P = counts[s];
                        e = out_push(&o3, o1.t + pt_off[s], P, o1.codes + cd_off[s], P - 1, nh);
                    }
                    if (e) {
                        oom = 1;
                        break;
                    }
                }
                free(o1.t);
                free(o1.codes);
                o1 = o3;
                if (oom) break;
            }
        }
    } while (0);
    Py_END_ALLOW_THREADS;

    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    {
        PyObject *a = bytearray_of(counts, (Py_ssize_t)(m * 8));
        PyObject *b = bytearray_of(o1.t, (Py_ssize_t)(o1.nt * 8));
        PyObject *c = bytearray_of(o1.codes, (Py_ssize_t)o1.nc);
        PyObject *d = bytearray_of(flags, (Py_ssize_t)m);
        PyObject *e = bytearray_of(o1.te, certified ? (Py_ssize_t)(o1.nt * 8) : 0);
        if (a && b && c && d && e) result = Py_BuildValue("(NNNNLN)", a, b, c, d, (long long)n_redo, e);
        else {
            Py_XDECREF(a);
            Py_XDECREF(b);
            Py_XDECREF(c);
            Py_XDECREF(d);
            Py_XDECREF(e);
        }
    }

done:
    if (net) {
        for (int l = 0; l < MAX_LAYERS; l++) {
            free(net->absWT[l]);
            free(net->gabsb[l]);
            free(net->WTp[l]);
            free(net->bp[l]);
        }
        free(net);
    }
    work_free(&w);
    free(o1.t);
    free(o1.te);
    free(o1.codes);
    free(o2.t);
    free(o2.te);
    free(o2.codes);
    free(counts);
    free(counts2);
    free(pt_off);
    free(cd_off);
    free(flags);
    free(runmax);
    free(segmax);
    free(minmarg);
    free(fixband);
    free(redo);
    if (bw.obj) PyBuffer_Release(&bw);
    if (bZ0.obj) PyBuffer_Release(&bZ0);
    if (bE0.obj) PyBuffer_Release(&bE0);
    if (bpar.obj) PyBuffer_Release(&bpar);
    if (bacts.obj) PyBuffer_Release(&bacts);
    if (bap.obj) PyBuffer_Release(&bap);
    if (bnt.obj) PyBuffer_Release(&bnt);
    if (bthr.obj) PyBuffer_Release(&bthr);
    if (bg.obj) PyBuffer_Release(&bg);
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
    PyObject *mod = PyModule_Create(&moddef);
    if (mod) PyModule_AddIntConstant(mod, "ABI_VERSION", 1);
    return mod;
}
