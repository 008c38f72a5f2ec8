/*
 * polyfold._ckernel: the per-instruction-set part of the crossing kernel.
 *
 * Included once per instruction set by _ckernel.c with FN(name) giving the
 * function names a suffix and ISA_AVX512 / ISA_AVX2 / ISA_GENERIC selecting the
 * vector code.  Everything here works on one segment at a time (its points stay
 * in cache through all layers); see _ckernel.c for the data layout.
 */

#if defined(ISA_AVX512)
#define VW 8
#define vd __m512d
#define VLD(p) _mm512_loadu_pd(p)
#define VST(p, v) _mm512_storeu_pd((p), (v))
#define VSET(x) _mm512_set1_pd(x)
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#elif defined(ISA_AVX2)
#define VW 4
#define vd __m256d
#define VLD(p) _mm256_loadu_pd(p)
#define VST(p, v) _mm256_storeu_pd((p), (v))
#define VSET(x) _mm256_set1_pd(x)
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#else
#define VW 1
#endif

/*
 * C[p, 0:8 npan] (+)= A[p, 0:K] Wp + b: A rows of stride as (P a multiple of 4),
 * Wp panels of 8 output columns, each K rows of 8 (k-major), C rows of stride cs.
 * Blocked as in GotoBLAS: KC inputs x MC points of A stay in L2 while one panel
 * (group) of W (KC x 8 or 16 doubles) stays in L1 and meets every 4-point tile of
 * the block; a tile of 4 points x 8 (AVX-512: 16) outputs accumulates in registers
 * with fused multiply-adds.
 */
#define KC 256
#define MC 64

/* one tile: 4 points x (panels j, j + 1 when two) over inputs k0 .. k0 + kc */
static inline void FN(tile)(const double *restrict a0, int as, const double *restrict w0, int64_t K, int two,
                            int kc, const double *restrict b, int first, double *restrict c0, int cs)
{
    const double *a1 = a0 + as, *a2 = a1 + as, *a3 = a2 + as;
    double *c1 = c0 + cs, *c2 = c1 + cs, *c3 = c2 + cs;
#if VW == 8
    if (two) {
        const double *w1 = w0 + K * 8;
        vd x00, x01, x10, x11, x20, x21, x30, x31;
        if (first) {
            x00 = x10 = x20 = x30 = VLD(b);
            x01 = x11 = x21 = x31 = VLD(b + 8);
        } else {
            x00 = VLD(c0), x01 = VLD(c0 + 8), x10 = VLD(c1), x11 = VLD(c1 + 8);
            x20 = VLD(c2), x21 = VLD(c2 + 8), x30 = VLD(c3), x31 = VLD(c3 + 8);
        }
        for (int k = 0; k < kc; k++) {
            const vd u = VLD(w0 + 8 * k), v = VLD(w1 + 8 * k);
            vd h = VSET(a0[k]);
            x00 = VFMA(h, u, x00), x01 = VFMA(h, v, x01);
            h = VSET(a1[k]);
            x10 = VFMA(h, u, x10), x11 = VFMA(h, v, x11);
            h = VSET(a2[k]);
            x20 = VFMA(h, u, x20), x21 = VFMA(h, v, x21);
            h = VSET(a3[k]);
            x30 = VFMA(h, u, x30), x31 = VFMA(h, v, x31);
        }
        VST(c0, x00), VST(c0 + 8, x01), VST(c1, x10), VST(c1 + 8, x11);
        VST(c2, x20), VST(c2 + 8, x21), VST(c3, x30), VST(c3 + 8, x31);
        return;
    }
    vd x0, x1, x2, x3;
    if (first) {
        x0 = x1 = x2 = x3 = VLD(b);
    } else {
        x0 = VLD(c0), x1 = VLD(c1), x2 = VLD(c2), x3 = VLD(c3);
    }
    for (int k = 0; k < kc; k++) {
        const vd u = VLD(w0 + 8 * k);
        x0 = VFMA(VSET(a0[k]), u, x0);
        x1 = VFMA(VSET(a1[k]), u, x1);
        x2 = VFMA(VSET(a2[k]), u, x2);
        x3 = VFMA(VSET(a3[k]), u, x3);
    }
    VST(c0, x0), VST(c1, x1), VST(c2, x2), VST(c3, x3);
#elif VW == 4
    (void)two;
    vd x00, x01, x10, x11, x20, x21, x30, x31;
    if (first) {
        x00 = x10 = x20 = x30 = VLD(b);
        x01 = x11 = x21 = x31 = VLD(b + 4);
    } else {
        x00 = VLD(c0), x01 = VLD(c0 + 4), x10 = VLD(c1), x11 = VLD(c1 + 4);
        x20 = VLD(c2), x21 = VLD(c2 + 4), x30 = VLD(c3), x31 = VLD(c3 + 4);
    }
    for (int k = 0; k < kc; k++) {
        const vd u = VLD(w0 + 8 * k), v = VLD(w0 + 8 * k + 4);
        vd h = VSET(a0[k]);
        x00 = VFMA(h, u, x00), x01 = VFMA(h, v, x01);
        h = VSET(a1[k]);
        x10 = VFMA(h, u, x10), x11 = VFMA(h, v, x11);
        h = VSET(a2[k]);
        x20 = VFMA(h, u, x20), x21 = VFMA(h, v, x21);
        h = VSET(a3[k]);
        x30 = VFMA(h, u, x30), x31 = VFMA(h, v, x31);
    }
    VST(c0, x00), VST(c0 + 4, x01), VST(c1, x10), VST(c1 + 4, x11);
    VST(c2, x20), VST(c2 + 4, x21), VST(c3, x30), VST(c3 + 4, x31);
#else
    (void)two;
    double x[4][8];
    for (int c = 0; c < 8; c++) {
        x[0][c] = first ? b[c] : c0[c];
        x[1][c] = first ? b[c] : c1[c];
        x[2][c] = first ? b[c] : c2[c];
        x[3][c] = first ? b[c] : c3[c];
    }
    for (int k = 0; k < kc; k++) {
        const double *u = w0 + 8 * k;
        const double h0 = a0[k], h1 = a1[k], h2 = a2[k], h3 = a3[k];
        for (int c = 0; c < 8; c++) {
            x[0][c] += h0 * u[c];
            x[1][c] += h1 * u[c];
            x[2][c] += h2 * u[c];
            x[3][c] += h3 * u[c];
        }
    }
    for (int c = 0; c < 8; c++) c0[c] = x[0][c], c1[c] = x[1][c], c2[c] = x[2][c], c3[c] = x[3][c];
#endif
}

static void FN(gemm)(const double *A, int64_t P, int as, int K, const double *Wp, int npan, const double *b,
                     double *C, int cs)
{
    const int step = VW == 8 ? 2 : 1; /* panels per tile */
    for (int k0 = 0; k0 < K || k0 == 0; k0 += KC) {
        const int kc = K - k0 < KC ? K - k0 : KC;
        const int first = k0 == 0;
        for (int64_t p0 = 0; p0 < P; p0 += MC) {
            const int64_t p1 = P - p0 < MC ? P : p0 + MC;
            for (int j = 0; j < npan; j += step) {
                const int two = step == 2 && j + 1 < npan;
                const double *w0 = Wp + ((int64_t)j * K + k0) * 8;
                for (int64_t p = p0; p < p1; p += 4)
                    FN(tile)(A + p * as + k0, as, w0, K, two, kc, b + 8 * j, first, C + p * cs + 8 * j, cs);
                if (step == 2 && !two) break;
            }
        }
        if (K == 0) break;
    }
}

/*
 * Three-valued signs of z - q against the band b (np lanes, a multiple of 8) as bit
 * masks: bit j of pw (nw) set iff z_j - q > b_j (< -b_j).  b_j = bd_j, or with sb
 * not NULL b_j = bd_j + r sb_j (a bound plus a radius times a slope bound, formed
 * here instead of in a row of its own; the product and the sum rounded as written).
 * mm (may be NULL): the smallest |z_j - q| among the decided lanes is folded into mm_j.
 */
static inline __attribute__((always_inline)) void FN(signs_at)(const double *restrict z, const double *restrict bd,
                                                               const double *restrict sb, double r, double q,
                                                               int np, uint64_t *restrict pw, uint64_t *restrict nw,
                                                               double *restrict mm)
{
    for (int w0 = 0; w0 < np; w0 += 64) {
        const int w1 = np - w0 < 64 ? np : w0 + 64;
        uint64_t P = 0, N = 0;
#if VW == 8
        const vd vq = VSET(q), vr = VSET(r);
        for (int j = w0; j < w1; j += 8) {
            const vd d = _mm512_sub_pd(VLD(z + j), vq);
            const vd e = sb ? _mm512_add_pd(VLD(bd + j), _mm512_mul_pd(vr, VLD(sb + j))) : VLD(bd + j);
            const __mmask8 g = _mm512_cmp_pd_mask(d, e, _CMP_GT_OQ);
            const __mmask8 l = _mm512_cmp_pd_mask(d, _mm512_sub_pd(_mm512_setzero_pd(), e), _CMP_LT_OQ);
            P |= (uint64_t)g << (j - w0);
            N |= (uint64_t)l << (j - w0);
            if (mm) {
                const vd a = _mm512_abs_pd(d), m = VLD(mm + j);
                VST(mm + j, _mm512_mask_min_pd(m, (__mmask8)(g | l), m, a));
            }
        }
#elif VW == 4
        const vd vq = VSET(q), sg = VSET(-0.0), vr = VSET(r);
        for (int j = w0; j < w1; j += 4) {
            const vd d = _mm256_sub_pd(VLD(z + j), vq);
            const vd e = sb ? _mm256_add_pd(VLD(bd + j), _mm256_mul_pd(vr, VLD(sb + j))) : VLD(bd + j);
            const vd cg = _mm256_cmp_pd(d, e, _CMP_GT_OQ);
            const vd cl = _mm256_cmp_pd(d, _mm256_xor_pd(e, sg), _CMP_LT_OQ);
            P |= (uint64_t)_mm256_movemask_pd(cg) << (j - w0);
            N |= (uint64_t)_mm256_movemask_pd(cl) << (j - w0);
            if (mm) {
                const vd a = _mm256_andnot_pd(sg, d), m = VLD(mm + j);
                VST(mm + j, _mm256_blendv_pd(m, _mm256_min_pd(m, a), _mm256_or_pd(cg, cl)));
            }
        }
#else
        for (int j = w0; j < w1; j++) {
            const double d = z[j] - q, e = sb ? bd[j] + r * sb[j] : bd[j];
            const int g = d > e, l = d < -e;
            P |= (uint64_t)g << (j - w0);
            N |= (uint64_t)l << (j - w0);
            if (mm && (g | l)) {
                const double a = fabs(d);
                if (a < mm[j]) mm[j] = a;
            }
        }
#endif
        pw[w0 >> 6] = P;
        nw[w0 >> 6] = N;
    }
}

/* signs_at with the band term's test outside the loops (sb a constant in each copy) */
static inline void FN(signs)(const double *restrict z, const double *restrict bd, const double *restrict sb, double r,
                             double q, int np, uint64_t *restrict pw, uint64_t *restrict nw, double *restrict mm)
{
    if (sb)
        FN(signs_at)(z, bd, sb, r, q, np, pw, nw, mm);
    else
        FN(signs_at)(z, bd, NULL, 0.0, q, np, pw, nw, mm);
}

/* some G[q, k] (q < nb rows of stride zs, k < nin) with 0 < G < TINY_BOUND */
static inline int FN(any_tiny)(const double *restrict G, int64_t nb, int zs, int nin)
{
    int hit = 0;
    for (int64_t q = 0; q < nb; q++) {
        const double *restrict g = G + q * zs;
        int k = 0;
#if VW == 8
        const vd lo = _mm512_setzero_pd(), hi = VSET(TINY_BOUND);
        __mmask8 acc = 0;
        for (; k + 8 <= nin; k += 8) {
            const vd v = VLD(g + k);
            acc |= _mm512_cmp_pd_mask(v, lo, _CMP_GT_OQ) & _mm512_cmp_pd_mask(v, hi, _CMP_LT_OQ);
        }
        if (k < nin) { /* the tail with a masked load (no reads past the row) */
            const __mmask8 m = (__mmask8)((1u << (nin - k)) - 1u);
            const vd v = _mm512_maskz_loadu_pd(m, g + k);
            acc |= _mm512_cmp_pd_mask(v, lo, _CMP_GT_OQ) & _mm512_cmp_pd_mask(v, hi, _CMP_LT_OQ);
            k = nin;
        }
        hit |= acc != 0;
#elif VW == 4
        const vd lo = _mm256_setzero_pd(), hi = VSET(TINY_BOUND);
        vd acc = _mm256_setzero_pd();
        for (; k + 4 <= nin; k += 4) {
            const vd v = VLD(g + k);
            acc = _mm256_or_pd(acc, _mm256_and_pd(_mm256_cmp_pd(v, lo, _CMP_GT_OQ), _mm256_cmp_pd(v, hi, _CMP_LT_OQ)));
        }
        if (k < nin) { /* the tail with a masked load (masked-off lanes read as 0) */
            const int r = nin - k;
            const __m256i m = _mm256_set_epi64x(r > 3 ? -1 : 0, r > 2 ? -1 : 0, r > 1 ? -1 : 0, -1);
            const vd v = _mm256_maskload_pd(g + k, m);
            acc = _mm256_or_pd(acc, _mm256_and_pd(_mm256_cmp_pd(v, lo, _CMP_GT_OQ), _mm256_cmp_pd(v, hi, _CMP_LT_OQ)));
            k = nin;
        }
        hit |= _mm256_movemask_pd(acc) != 0;
#endif
        for (; k < nin; k++) hit |= (g[k] > 0.0) & (g[k] < TINY_BOUND);
    }
    return hit;
}

/* sm_j = max(sm_j, |z_j|) over np lanes (a multiple of 8) */
static inline void FN(absmax)(const double *restrict z, int np, double *restrict sm)
{
    for (int j = 0; j < np; j++) {
        const double a = fabs(z[j]);
        sm[j] = a > sm[j] ? a : sm[j];
    }
}

/*
 * The certified helpers below: 8 lanes (AVX-512) or 4 (AVX2), every lane's arithmetic
 * the scalar code's, rounded as written (the build does not contract products and
 * sums); min/max and blends keep the scalar code's NaN choices.
 */
#if VW == 4
#define V4 __m256d
#define V4LD(p) _mm256_loadu_pd(p)
#define V4ST(p, v) _mm256_storeu_pd((p), (v))
#define V4SET(x) _mm256_set1_pd(x)
#define V4ABS(v) _mm256_andnot_pd(_mm256_set1_pd(-0.0), (v))
#endif

/* one bracket of the bound pass, over nin inputs: the carried error of each input
   (0 decided below zlo, or fl e when fl != 0; 0 decided above zhi; else e), then
   g = cH |h| + cE ec, and gp = g (first), or the larger of gp and g (a NaN g wins) */
static inline void FN(bound_row)(const double *restrict hp, const double *restrict ep, const double *restrict zp,
                                 double *restrict gp, int nin, int first, double cH, double cE, double fl,
                                 double zlo, double zhi)
{
    int k = 0;
#if VW == 8
    const vd vH = VSET(cH), vE = VSET(cE), vf = VSET(fl), vlo = VSET(zlo), vhi = VSET(zhi);
    const vd zero = _mm512_setzero_pd();
    for (; k + 8 <= nin; k += 8) {
        const vd z = VLD(zp + k), e = VLD(ep + k);
        const vd low = fl == 0.0 ? zero : _mm512_mul_pd(vf, e);
        vd ec = _mm512_mask_mov_pd(e, _mm512_cmp_pd_mask(z, vhi, _CMP_GT_OQ), zero);
        ec = _mm512_mask_mov_pd(ec, _mm512_cmp_pd_mask(z, vlo, _CMP_LT_OQ), low);
        const vd g = _mm512_add_pd(_mm512_mul_pd(vH, _mm512_abs_pd(VLD(hp + k))), _mm512_mul_pd(vE, ec));
        if (first) {
            VST(gp + k, g);
        } else {
            const vd o = VLD(gp + k);
            const __mmask8 take = _mm512_cmp_pd_mask(g, o, _CMP_GT_OQ) | _mm512_cmp_pd_mask(g, g, _CMP_UNORD_Q);
            VST(gp + k, _mm512_mask_mov_pd(o, take, g));
        }
    }
#elif VW == 4
    const V4 vH = V4SET(cH), vE = V4SET(cE), vf = V4SET(fl), vlo = V4SET(zlo), vhi = V4SET(zhi);
    const V4 zero = _mm256_setzero_pd();
    for (; k + 4 <= nin; k += 4) {
        const V4 z = V4LD(zp + k), e = V4LD(ep + k);
        const V4 low = fl == 0.0 ? zero : _mm256_mul_pd(vf, e);
        V4 ec = _mm256_andnot_pd(_mm256_cmp_pd(z, vhi, _CMP_GT_OQ), e);
        ec = _mm256_blendv_pd(ec, low, _mm256_cmp_pd(z, vlo, _CMP_LT_OQ));
        const V4 g = _mm256_add_pd(_mm256_mul_pd(vH, V4ABS(V4LD(hp + k))), _mm256_mul_pd(vE, ec));
        if (first) {
            V4ST(gp + k, g);
        } else {
            const V4 o = V4LD(gp + k);
            const V4 take = _mm256_or_pd(_mm256_cmp_pd(g, o, _CMP_GT_OQ), _mm256_cmp_pd(g, g, _CMP_UNORD_Q));
            V4ST(gp + k, _mm256_blendv_pd(o, g, take));
        }
    }
#endif
    for (; k < nin; k++) {
        const double ec = zp[k] < zlo ? (fl == 0.0 ? 0.0 : fl * ep[k]) : (zp[k] > zhi ? 0.0 : ep[k]);
        const double g = cH * fabs(hp[k]) + cE * ec;
        gp[k] = first || g > gp[k] || g != g ? g : gp[k];
    }
}

/* the slope bound of one interval from its end values and bounds (np lanes, a
   multiple of 8): ap_j = (|z1_j - z0_j| + e1_j + e0_j) inv, folded into amax */
static inline void FN(slope_row)(const double *restrict z0, const double *restrict z1, const double *restrict e0,
                                 const double *restrict e1, double inv, int np, double *restrict ap,
                                 double *restrict amax)
{
#if VW == 8
    const vd vi = VSET(inv);
    for (int j = 0; j < np; j += 8) {
        const vd d = _mm512_abs_pd(_mm512_sub_pd(VLD(z1 + j), VLD(z0 + j)));
        const vd a = _mm512_mul_pd(_mm512_add_pd(_mm512_add_pd(d, VLD(e1 + j)), VLD(e0 + j)), vi);
        VST(ap + j, a);
        VST(amax + j, _mm512_max_pd(a, VLD(amax + j))); /* a > amax ? a : amax */
    }
#elif VW == 4
    const V4 vi = V4SET(inv);
    for (int j = 0; j < np; j += 4) {
        const V4 d = V4ABS(_mm256_sub_pd(V4LD(z1 + j), V4LD(z0 + j)));
        const V4 a = _mm256_mul_pd(_mm256_add_pd(_mm256_add_pd(d, V4LD(e1 + j)), V4LD(e0 + j)), vi);
        V4ST(ap + j, a);
        V4ST(amax + j, _mm256_max_pd(a, V4LD(amax + j))); /* a > amax ? a : amax */
    }
#else
    for (int j = 0; j < np; j++) {
        const double a = (fabs(z1[j] - z0[j]) + e1[j] + e0[j]) * inv;
        ap[j] = a;
        amax[j] = a > amax[j] ? a : amax[j];
    }
#endif
}

#if VW == 4
#undef V4
#undef V4LD
#undef V4ST
#undef V4SET
#undef V4ABS
#endif

/*
 * One segment through all layers.  band_mode: 0 certified; 1 float with the
 * provisional band (running maxima in runmax; per-segment maxima and margins
 * recorded in segmax / minmarg); 2 float with the fixed bands fixband.
 * Appends the segment's breakpoints (and, certified, their error bounds) and the
 * code words of its pieces to out; returns the flags (>= 0) or -1 on allocation
 * failure, and the number of pieces in *np_out.
 */
static int FN(run_segment)(const Net *net, Work *w, const double *Za, const double *Zb, const double *Ea,
                           const double *Eb, int band_mode, const double *fixband, double *runmax,
                           double *segmax, double *minmarg, Out *out, int64_t *np_out)
{
    const int zs = net->zs, ms = net->ms, nwc = net->nwc;
    const int cert = net->certified;
    int flags = 0;
    int64_t P = 2;
    if (reserve_rows(w, 2, net)) return -1;
    const int n0 = net->n[0];
    w->t[0] = 0.0;
    w->t[1] = 1.0;
    memset(w->Z, 0, (size_t)(2 * zs) * sizeof(double));
    memcpy(w->Z, Za, (size_t)n0 * sizeof(double));
    memcpy(w->Z + zs, Zb, (size_t)n0 * sizeof(double));
    if (cert) {
        memset(w->E, 0, (size_t)(2 * zs) * sizeof(double));
        memcpy(w->E, Ea, (size_t)n0 * sizeof(double));
        memcpy(w->E + zs, Eb, (size_t)n0 * sizeof(double));
        w->r[0] = w->r[1] = w->tr[0] = w->tr[1] = 0.0;
    }
    memset(w->cw, 0, (size_t)(2 * nwc) * sizeof(uint64_t));
    w->ord[0] = 0;
    w->ord[1] = 1;

    for (int l = 0; l < net->L; l++) {
        const int n = net->n[l], np = net->npad[l], T = net->T[l], nw = net->nw[l];
        const double *th = net->thr[l];
        const uint64_t *valid = net->valid + (int64_t)l * net->wmax;
        const int64_t off = net->off[l];

        /* gather the points into sequence order; values (and bounds) of layer l */
        if (l > 0) {
            const int nin = net->n[l - 1];
            const int ak = net->act[l - 1];
            const double sl = net->slope[l - 1], lo = net->lo[l - 1], hi = net->hi[l - 1];
            const int64_t *ord = w->ord;
            const int64_t P4 = (P + 3) & ~(int64_t)3;
            for (int64_t i = 0; i < P; i++) {
                const int64_t r = ord[i];
                act_row(ak, w->Z + r * zs, w->Hb + i * zs, nin, sl, lo, hi);
                w->tn[i] = w->t[r];
                copy_words(w->cwn + i * nwc, w->cw + r * nwc, nwc);
            }
            for (int64_t i = P; i < P4; i++) memset(w->Hb + i * zs, 0, (size_t)zs * sizeof(double));
            FN(gemm)(w->Hb, P4, zs, nin, net->WTp[l], np / 8, net->bp[l], w->Zn, zs);
            if (cert) {
                /* the bound of every point from the maxima over blocks of eb consecutive
                   points: E = (cH |H| + cE E_prev)_max |W|^T + cB |b| */
                const double cH = net->cH[l], cE = net->cE[l];
                const int eb = net->eb;
                const int64_t nb = (P + eb - 1) / eb, nb4 = (nb + 3) & ~(int64_t)3;
                /* a unit decided on a flat piece of its activation (ReLU below 0, hard
                   tanh beyond lo or hi) has an exact value there and carries no error
                   on, only its product's rounding; a leaky unit decided below 0 carries
                   |slope| times its error (decisions use bands >= E, so the exact value
                   at the point's virtual parameter lies on the decided side) */
                const int satlo = ak == ACT_RELU || ak == ACT_HARDTANH || ak == ACT_LEAKY;
                const int sathi = ak == ACT_HARDTANH;
                const double fl = ak == ACT_LEAKY ? fabs(sl) : 0.0;
                /* the decisions read off the values: on a segment with no flag every value
                   is decided, so "decided below lo" is z < lo and "decided above hi" is
                   z > hi (a crossing unit, exactly at its threshold, is neither and carries
                   its error); flagged segments are recomputed, whatever their bounds */
                const double zlo = satlo ? lo : -HUGE_VAL, zhi = sathi ? hi : HUGE_VAL;
                for (int64_t q = 0; q < nb; q++) {
                    double *restrict gp = w->Gb + q * zs;
                    const int64_t i1 = (q + 1) * eb < P ? (q + 1) * eb : P;
                    for (int64_t i = q * eb; i < i1; i++) {
                        const double *restrict hp = w->Hb + i * zs, *restrict ep = w->E + ord[i] * zs;
                        const double *restrict zp = w->Z + ord[i] * zs;
                        FN(bound_row)(hp, ep, zp, gp, nin, i == q * eb, cH, cE, fl, zlo, zhi);
                    }
                }
                /* a nonzero bound term below TINY_BOUND: exact (see F_TINY) */
                if (FN(any_tiny)(w->Gb, nb, zs, nin)) flags |= F_TINY | F_AMB;
                for (int64_t q = nb; q < nb4; q++) memset(w->Gb + q * zs, 0, (size_t)zs * sizeof(double));
                if (eb == 1) { /* one bound per point: straight into the rows */
                    FN(gemm)(w->Gb, nb4, zs, nin, net->aWTp[l], np / 8, net->cb[l], w->En, zs);
                } else {
                    FN(gemm)(w->Gb, nb4, zs, nin, net->aWTp[l], np / 8, net->cb[l], w->Eb, zs);
                    for (int64_t i = 0; i < P; i++)
                        memcpy(w->En + i * zs, w->Eb + (i / eb) * zs, (size_t)np * sizeof(double));
                }
                for (int64_t i = 0; i < P; i++) {
                    w->rn[i] = w->r[ord[i]];
                    w->trn[i] = w->tr[ord[i]];
                }
                SWAP(double *, w->E, w->En);
                SWAP(double *, w->r, w->rn);
                SWAP(double *, w->tr, w->trn);
            }
            SWAP(double *, w->Z, w->Zn);
            SWAP(double *, w->t, w->tn);
            SWAP(uint64_t *, w->cw, w->cwn);
            for (int64_t i = 0; i < P; i++) w->ord[i] = i;
        }
        /* from here row i is point i */

        /* float band: fixed (layer 0, or the final band of a recomputation), or the
           running maximum over the segments before this one (never above the final) */
        double *band = w->band;
        double *mm = NULL, *sm = NULL;
        if (!cert) {
            if (l == 0 || band_mode == 2) {
                memcpy(band, fixband + (int64_t)l * zs, (size_t)np * sizeof(double));
            } else {
                const double *rm = runmax + (int64_t)l * zs;
                sm = w->smbuf;
                mm = w->mmbuf;
                for (int j = 0; j < np; j++) {
                    band[j] = net->zero * rm[j];
                    sm[j] = 0.0;
                    mm[j] = HUGE_VAL;
                }
            }
        }

        /* certified: slope bounds on the intervals and the bands at the points
           (crossings.slope_bounds; a breakpoint stands for an exact one within r) */
        if (cert) {
            const double u = UROUND, grow = 1.0 + 16.0 * UROUND;
            double *amax = w->amax, rho_max = 0.0;
            for (int j = 0; j < np; j++) amax[j] = 0.0;
            for (int64_t p = 0; p + 1 < P; p++) {
                const double rr = w->r[p + 1] + w->r[p];
                const double gap = (((w->t[p + 1] - w->t[p]) - (w->tr[p + 1] + w->tr[p])) * (1.0 - 4.0 * u) - rr) *
                                   (1.0 - 4.0 * u);
                double *restrict Ap = w->Sb + p * zs;
                const double *restrict z0 = w->Z + p * zs, *restrict z1 = z0 + zs;
                const double *restrict e0 = w->E + p * zs, *restrict e1 = e0 + zs;
                if (gap > 0) {
                    /* (one division per interval: the reciprocal's rounding is in grow) */
                    const double inv = grow / gap;
                    w->rho[p] = rr * inv;
                    FN(slope_row)(z0, z1, e0, e1, inv, np, Ap, amax);
                } else {
                    w->rho[p] = HUGE_VAL;
                    for (int j = 0; j < np; j++) Ap[j] = amax[j] = HUGE_VAL;
                }
                rho_max = w->rho[p] > rho_max ? w->rho[p] : rho_max;
            }
            if (!(rho_max <= 0.5)) flags |= F_AMB; /* uncertainty intervals too close */
            /* amax: max |sigma| over the segment; smax: a bound on every interval's slope
               bound (A_p + rho_p amax) grow, which widens the bands at the points (the
               slopes of single intervals are formed only where breakpoints need them) */
            const double sc = grow / (1.0 - rho_max) * grow;
            double *smax = w->band;
            for (int j = 0; j < np; j++) {
                const double am = amax[j] * sc;
                smax[j] = rho_max <= 0.5 ? (amax[j] + rho_max * am) * grow : HUGE_VAL;
                amax[j] = am;
            }
            memset(w->Sb + (P - 1) * zs, 0, (size_t)np * sizeof(double));
            /* the band at point p: E_p + r_p smax (E_p when r_p = 0), formed in signs */
        }

        /* signs at the points; endpoint and ambiguity flags */
        for (int64_t p = 0; p < P; p++) {
            const double *zp = w->Z + p * zs;
            const double *bd = cert ? w->E + p * zs : band;
            const double rp = cert ? w->r[p] : 0.0, *sb = rp > 0 ? w->band : NULL;
            uint64_t *pp = w->pm + p * ms, *pn = w->nm + p * ms;
            uint64_t zero = 0;
            for (int wi = 0; wi < T; wi++) {
                FN(signs)(zp, bd, sb, rp, th[wi], np, pp + wi * nw, pn + wi * nw, mm);
                for (int q = 0; q < nw; q++) zero |= valid[q] & ~(pp[wi * nw + q] | pn[wi * nw + q]);
            }
            if (sm) FN(absmax)(zp, np, sm);
            if (zero) {
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
        {
            /* pairs with crossings (their list in ord2's tail until it is rebuilt) */
            int64_t ncross = 0, npair = 0;
            int64_t *pairs = w->pairs;
            if (T * nw == 1) {
                const uint64_t v = valid[0];
                for (int64_t k = 0; k + 1 < P; k++) {
                    const uint64_t x = ((w->pm[k * ms] & w->nm[(k + 1) * ms]) | (w->nm[k * ms] & w->pm[(k + 1) * ms])) & v;
                    if (x) {
                        pairs[npair++] = k;
                        ncross += popcount64(x);
                    }
                }
            } else {
                for (int64_t k = 0; k + 1 < P; k++) {
                    const uint64_t *p0 = w->pm + k * ms, *n0 = w->nm + k * ms, *p1 = p0 + ms, *n1 = n0 + ms;
                    int64_t c = 0;
                    for (int q = 0; q < T * nw; q++)
                        c += popcount64(((p0[q] & n1[q]) | (n0[q] & p1[q])) & valid[q % nw]);
                    if (c) {
                        pairs[npair++] = k;
                        ncross += c;
                    }
                }
            }
            if (ncross > 0) {
                if (reserve_rows(w, P + ncross, net)) return -1;
                pairs = w->pairs;
                int64_t *ord2 = w->ord2;
                int64_t q2 = 0, R = P, kk = 0;
                int64_t sdone = -1; /* certified: intervals 0..sdone hold their slope bounds */
                for (int64_t ip = 0; ip < npair; ip++) {
                    const int64_t k = pairs[ip];
                    while (kk <= k) ord2[q2++] = kk++;
                    const uint64_t *p0 = w->pm + k * ms, *n0 = w->nm + k * ms, *p1 = p0 + ms, *n1 = n0 + ms;
                    const double *za = w->Z + k * zs, *zb = za + zs;
                    int nc = 0;
                    for (int wi = 0; wi < T; wi++) {
                        for (int q = 0; q < nw; q++) {
                            const int o = wi * nw + q;
                            uint64_t x = ((p0[o] & n1[o]) | (n0[o] & p1[o])) & valid[q];
                            while (x) {
                                const int j = q * 64 + ctz64(x);
                                x &= x - 1;
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
                    if (cert) {
                        /* slope bounds of the intervals k - 1, k, k + 1 from their A_p (the
                           pairs come in increasing k), then K at both ends of interval k */
                        const double grow = 1.0 + 16.0 * UROUND;
                        const int64_t q1 = k + 1 < P - 1 ? k + 1 : P - 2;
                        for (int64_t q = sdone + 1 > k - 1 ? sdone + 1 : k - 1; q <= q1; q++) {
                            if (q < 0) continue;
                            double *restrict Sq = w->Sb + q * zs;
                            const double rh = w->rho[q];
                            const double *restrict am = w->amax;
                            for (int j = 0; j < np; j++) Sq[j] = (Sq[j] + rh * am[j]) * grow;
                        }
                        if (q1 > sdone) sdone = q1;
                        const double *sa = w->Sb + k * zs, *sal = k ? sa - zs : NULL, *sbr = sa + zs;
                        const double ra = w->r[k], rb = w->r[k + 1];
                        double *restrict ka = w->Ka, *restrict kb = w->Kb;
                        for (int j = 0; j < np; j++) {
                            ka[j] = ra > 0 ? ra * ((sal ? sal[j] : 0.0) + sa[j]) : 0.0;
                            kb[j] = rb > 0 ? rb * (sa[j] + sbr[j]) : 0.0;
                        }
                    }
                    for (int c = 0; c < nc; c++) {
                        const double s = w->cr[c].s;
                        const int wc = w->cr[c].w, jc = w->cr[c].j;
                        double *zn = w->Z + R * zs;
                        w->t[R] = ta + s * dt;
                        for (int j = 0; j < np; j++) zn[j] = za[j] + s * (zb[j] - za[j]);
                        zn[jc] = th[wc];
                        w->xj[R] = jc;
                        w->xth[R] = th[wc];
                        const double *bd = band, *bsb = NULL;
                        double br = 0.0;
                        if (cert) {
                            /* crossings.breakpoint_bounds */
                            const double u = UROUND, grow = 1.0 + 16.0 * UROUND, cI = net->cI[l];
                            const double *sa = w->Sb + k * zs;
                            const double ra = w->r[k], rb = w->r[k + 1], tra = w->tr[k], trb = w->tr[k + 1];
                            const double *ka = w->Ka, *kb = w->Kb;
                            const double A = za[jc] - th[wc], B = zb[jc] - th[wc];
                            const double x = fabs(A), y = fabs(B);
                            const double ex = ea[jc] + ka[jc] + u * x, ey = eb[jc] + kb[jc] + u * y;
                            const double den = (x + y) - (ex + ey);
                            const double delta =
                                (den > 0 ? ((1.0 - s) * ex + s * ey + 4.0 * u * (ex + ey)) / den * grow : HUGE_VAL) +
                                cI * s;
                            const double dtau_up = (dt + (tra + trb)) * grow;
                            const double dtau_lo = (dt - (tra + trb)) * (1.0 - 4.0 * u);
                            const double rn = delta * dtau_up * grow;
                            double *en = w->E + R * zs;
                            const double tm = net->thrmax[l];
                            for (int j = 0; j < np; j++) {
                                en[j] = ((1.0 - s) * (ea[j] + ka[j]) + s * (eb[j] + kb[j])) * grow +
                                        cI * ((fabs(za[j]) + fabs(zb[j])) + tm);
                            }
                            en[jc] = rn * sa[jc] * grow;
                            /* band: en + rn sa (formed in signs) */
                            bsb = sa;
                            br = rn;
                            w->r[R] = rn;
                            w->tr[R] = ((1.0 - s) * tra + s * trb) * grow + cI * w->t[k + 1];
                            if (!((rn + ra < s * dtau_lo) && (rn + rb < (1.0 - s) * dtau_lo))) flags |= F_AMB;
                            bd = en;
                        }
                        uint64_t *pp = w->pm + R * ms, *pn = w->nm + R * ms;
                        uint64_t undecided = 0;
                        for (int wi = 0; wi < T; wi++) {
                            /* (mm: the crossing lane is undecided, d = 0, so it is not a margin) */
                            FN(signs)(zn, bd, bsb, br, th[wi], np, pp + wi * nw, pn + wi * nw, mm);
                            if (wi == wc) {
                                pp[wi * nw + (jc >> 6)] &= ~((uint64_t)1 << (jc & 63));
                                pn[wi * nw + (jc >> 6)] &= ~((uint64_t)1 << (jc & 63));
                            }
                            for (int q = 0; q < nw; q++) {
                                uint64_t zq = valid[q] & ~(pp[wi * nw + q] | pn[wi * nw + q]);
                                if (wi == wc && q == (jc >> 6)) zq &= ~((uint64_t)1 << (jc & 63));
                                undecided |= zq;
                            }
                        }
                        if (cert && undecided) flags |= F_AMB;
                        copy_words(w->cw + R * nwc, w->cw + k * nwc, nwc);
                        ord2[q2++] = R++;
                    }
                }
                while (kk < P) ord2[q2++] = kk++;
                /* float: merge consecutive points closer than tol.merge into the first
                   (a merged sign is +-1 only when all members agree); the piece after
                   the merged point is the one after the last member, so the merged
                   point takes that member's code words (the earlier layers' codes).
                   Every unit a member lies on is at its threshold at the merged point
                   (not the rounding noise of the first member's interpolation) */
                if (!cert) {
                    int64_t nq = 1;
                    for (int64_t i = 1; i < q2; i++) {
                        const int64_t ri = ord2[i];
                        if (w->t[ri] - w->t[ord2[i - 1]] <= net->merge) {
                            uint64_t *pk = w->pm + ord2[nq - 1] * ms, *nk = w->nm + ord2[nq - 1] * ms;
                            const uint64_t *pi = w->pm + ri * ms, *ni = w->nm + ri * ms;
                            for (int q = 0; q < T * nw; q++) {
                                pk[q] &= pi[q];
                                nk[q] &= ni[q];
                            }
                            copy_words(w->cw + ord2[nq - 1] * nwc, w->cw + ri * nwc, nwc);
                            if (ri >= P) w->Z[ord2[nq - 1] * zs + w->xj[ri]] = w->xth[ri];
                        } else {
                            ord2[nq++] = ri;
                        }
                    }
                    q2 = nq;
                }
                SWAP(int64_t *, w->ord, w->ord2);
                P = q2;
            }
        }
        if (mm) {
            double *mg = minmarg + off, *sg = segmax + off;
            for (int j = 0; j < n; j++) {
                mg[j] = mm[j];
                sg[j] = sm[j];
            }
        }

        /* codes of layer l on every piece (written into the code words of its left
           point); degenerate pieces */
        {
            const int64_t *ord = w->ord;
            const int64_t bo = net->boff[l];
            for (int64_t i = 0; i + 1 < P; i++) {
                const int64_t r0 = ord[i], r1 = ord[i + 1];
                const uint64_t *p0 = w->pm + r0 * ms, *n0 = w->nm + r0 * ms, *p1 = w->pm + r1 * ms,
                               *n1 = w->nm + r1 * ms;
                uint64_t *cw = w->cw + r0 * nwc;
                uint64_t dg = 0;
                if (T == 1) {
                    for (int q = 0; q < nw; q++) {
                        const uint64_t c = p0[q] | p1[q];
                        dg |= valid[q] & ~(p0[q] | n0[q]) & ~(p1[q] | n1[q]);
                        const int64_t bit = bo + 64 * (int64_t)q;
                        const int64_t qw = bit >> 6, sh = bit & 63;
                        cw[qw] |= c << sh;
                        if (sh && qw + 1 < nwc) cw[qw + 1] |= c >> (64 - sh);
                    }
                } else {
                    const int nb = net->nb[l];
                    for (int j = 0; j < n; j++) {
                        const int q = j >> 6;
                        const uint64_t bit = (uint64_t)1 << (j & 63);
                        unsigned code = 0;
                        for (int wi = 0; wi < T; wi++) {
                            const int o = wi * nw + q;
                            code += ((p0[o] | p1[o]) & bit) != 0;
                            dg |= (~(p0[o] | n0[o]) & ~(p1[o] | n1[o])) & bit;
                        }
                        const int64_t b0 = bo + (int64_t)j * nb;
                        for (int bb = 0; bb < nb; bb++)
                            if ((code >> bb) & 1u) cw[(b0 + bb) >> 6] |= (uint64_t)1 << ((b0 + bb) & 63);
                    }
                }
                if (dg) flags |= cert ? (F_DEG | F_AMB) : F_DEG;
            }
        }
    }

    /* output in sequence order; float: drop breakpoints where no code changes */
    if (out_reserve(out, P, (P - 1) * nwc)) return -1;
    const int64_t *ord = w->ord;
    double *ot = out->t + out->nt, *ote = cert ? out->te + out->nt : NULL;
    uint64_t *oc = out->codes + out->nc;
    int64_t npc = 0, nbp = 0;
    const uint64_t *last = NULL;
    for (int64_t i = 0; i + 1 < P; i++) {
        const uint64_t *ci = w->cw + ord[i] * nwc;
        if (i > 0) {
            if (!cert && memcmp(ci, last, (size_t)nwc * sizeof(uint64_t)) == 0) continue; /* silent */
            ot[nbp] = w->t[ord[i]];
            if (ote) ote[nbp] = w->r[ord[i]] + w->tr[ord[i]];
            nbp++;
        }
        copy_words(oc + npc * nwc, ci, nwc);
        last = ci;
        npc++;
    }
    out->nt += nbp;
    out->nc += npc * nwc;
    *np_out = npc;
    return flags;
}

#undef VW
#undef vd
#undef VLD
#undef VST
#undef VSET
#undef VFMA
#undef KC
#undef MC
