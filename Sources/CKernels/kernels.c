#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

// Runtime CPU dispatch without unsafe compiler flags: the loader picks the best clone.
#define NAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

NAS_CLONES
void nas_im2col(const float *x, nas_window g, int c0, int cg, float *col) {
    const int K = g.KH * g.KW * cg;
    for (int oh = 0; oh < g.OH; oh++) {
        for (int ow = 0; ow < g.OW; ow++) {
            float *row = col + (long)(oh * g.OW + ow) * K;
            for (int i = 0; i < g.KH; i++) {
                const int hi = oh * g.SH - g.PH + i * g.DH;
                for (int j = 0; j < g.KW; j++) {
                    const int wi = ow * g.SW - g.PW + j * g.DW;
                    float *dst = row + (i * g.KW + j) * cg;
                    if (hi < 0 || hi >= g.H || wi < 0 || wi >= g.W) {
                        memset(dst, 0, sizeof(float) * cg);
                    } else {
                        const float *src = x + ((long)hi * g.W + wi) * g.C + c0;
                        for (int c = 0; c < cg; c++) dst[c] = src[c];
                    }
                }
            }
        }
    }
}

NAS_CLONES
void nas_col2im(const float *col, nas_window g, int c0, int cg, float *dx) {
    const int K = g.KH * g.KW * cg;
    for (int oh = 0; oh < g.OH; oh++) {
        for (int ow = 0; ow < g.OW; ow++) {
            const float *row = col + (long)(oh * g.OW + ow) * K;
            for (int i = 0; i < g.KH; i++) {
                const int hi = oh * g.SH - g.PH + i * g.DH;
                if (hi < 0 || hi >= g.H) continue;
                for (int j = 0; j < g.KW; j++) {
                    const int wi = ow * g.SW - g.PW + j * g.DW;
                    if (wi < 0 || wi >= g.W) continue;
                    const float *src = row + (i * g.KW + j) * cg;
                    float *dst = dx + ((long)hi * g.W + wi) * g.C + c0;
                    for (int c = 0; c < cg; c++) dst[c] += src[c];
                }
            }
        }
    }
}

NAS_CLONES
void nas_depthwise_forward(const float *x, const float *w, nas_window g, float *out) {
    const int C = g.C;
    for (int oh = 0; oh < g.OH; oh++) {
        for (int ow = 0; ow < g.OW; ow++) {
            float *o = out + ((long)oh * g.OW + ow) * C;
            for (int c = 0; c < C; c++) o[c] = 0;
            for (int i = 0; i < g.KH; i++) {
                const int hi = oh * g.SH - g.PH + i * g.DH;
                if (hi < 0 || hi >= g.H) continue;
                for (int j = 0; j < g.KW; j++) {
                    const int wi = ow * g.SW - g.PW + j * g.DW;
                    if (wi < 0 || wi >= g.W) continue;
                    const float *src = x + ((long)hi * g.W + wi) * C;
                    const float *wk = w + (i * g.KW + j) * C;
                    for (int c = 0; c < C; c++) o[c] += src[c] * wk[c];
                }
            }
        }
    }
}

NAS_CLONES
void nas_depthwise_backward_input(const float *gy, const float *w, nas_window g, float *dx) {
    const int C = g.C;
    for (int oh = 0; oh < g.OH; oh++) {
        for (int ow = 0; ow < g.OW; ow++) {
            const float *go = gy + ((long)oh * g.OW + ow) * C;
            for (int i = 0; i < g.KH; i++) {
                const int hi = oh * g.SH - g.PH + i * g.DH;
                if (hi < 0 || hi >= g.H) continue;
                for (int j = 0; j < g.KW; j++) {
                    const int wi = ow * g.SW - g.PW + j * g.DW;
                    if (wi < 0 || wi >= g.W) continue;
                    float *d = dx + ((long)hi * g.W + wi) * C;
                    const float *wk = w + (i * g.KW + j) * C;
                    for (int c = 0; c < C; c++) d[c] += go[c] * wk[c];
                }
            }
        }
    }
}

NAS_CLONES
void nas_depthwise_backward_weight(const float *x, const float *gy, nas_window g, float *dw) {
    const int C = g.C;
    for (int oh = 0; oh < g.OH; oh++) {
        for (int ow = 0; ow < g.OW; ow++) {
            const float *go = gy + ((long)oh * g.OW + ow) * C;
            for (int i = 0; i < g.KH; i++) {
                const int hi = oh * g.SH - g.PH + i * g.DH;
                if (hi < 0 || hi >= g.H) continue;
                for (int j = 0; j < g.KW; j++) {
                    const int wi = ow * g.SW - g.PW + j * g.DW;
                    if (wi < 0 || wi >= g.W) continue;
                    const float *src = x + ((long)hi * g.W + wi) * C;
                    float *d = dw + (i * g.KW + j) * C;
                    for (int c = 0; c < C; c++) d[c] += src[c] * go[c];
                }
            }
        }
    }
}

// Explicit 16-float vectors: one AVX-512 register, two AVX2 registers or four SSE registers,
// depending on the clone the loader picks.
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

// Macros rather than functions: passing these vectors by value across a call would depend on
// the clone's instruction set (an ABI change the compiler refuses).
#define load16(p) (*(const v16u *)(p))
#define store16(p, v) (*(v16u *)(p) = (v))
typedef int v16i __attribute__((vector_size(64)));
// Stores n ≤ 16 lanes of v (+ bias); with a mask (laid out as dst), lanes whose mask value is not
// positive are stored as 0 (ReLU's backward folded into the store).
#define store_block(dst, v, bias, n, mask) do {                               \
        v16 t_ = (v);                                                         \
        if (bias) t_ += load16(bias);                                         \
        if (mask) {                                                           \
            if ((n) == 16) t_ = (v16)((v16i)t_ & (load16(mask) > 0));         \
            else for (int k_ = 0; k_ < (n); k_++) if (!((mask)[k_] > 0)) t_[k_] = 0; \
        }                                                                     \
        if ((n) == 16) store16(dst, t_);                                      \
        else for (int k_ = 0; k_ < (n); k_++) (dst)[k_] = t_[k_];             \
    } while (0)

// The bias of output channels co0 … co0 + nco − 1 as a full 16-lane block for store_block (zeros
// past nco), written into pad; NULL without a bias.
static inline const float *bias_block(const float *bias, int co0, int nco, float pad[16]) {
    if (!bias) return NULL;
    for (int k = 0; k < 16; k++) pad[k] = k < nco ? bias[co0 + k] : 0;
    return pad;
}

NAS_CLONES
void nas_conv_direct_forward(const float *xp, int Wp, int cin, int cinStride,
                             const float *wt, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                             int OH, int OW, int cout, const float *bias, float *out,
                             const float *mask, float *stats) {
    float biasPad[16];
    for (int co0 = 0; co0 < cout; co0 += 16) {
        const int nco = cout - co0 < 16 ? cout - co0 : 16;
        const float *bp = bias_block(bias, co0, nco, biasPad);
        // Output pixels in row-major order, eight at a time across row ends, so narrow maps
        // (7×7, 14×14) keep eight independent accumulators in flight too.
        const long P = (long)OH * OW;
        long p = 0;
        v16 sum = {0}, sumSq = {0};
        for (; p + 8 <= P; p += 8) {
            long base[8];
            for (int k = 0; k < 8; k++) {
                const long oh = (p + k) / OW, ow = (p + k) % OW;
                base[k] = (oh * SH * Wp + ow * SW) * cinStride;
            }
            v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            for (int i = 0; i < KH; i++) {
                for (int j = 0; j < KW; j++) {
                    const long tap = ((long)i * DH * Wp + (long)j * DW) * cinStride;
                    const float *x0 = xp + base[0] + tap, *x1 = xp + base[1] + tap, *x2 = xp + base[2] + tap,
                                *x3 = xp + base[3] + tap, *x4 = xp + base[4] + tap, *x5 = xp + base[5] + tap,
                                *x6 = xp + base[6] + tap, *x7 = xp + base[7] + tap;
                    const float *wr = wt + (long)(i * KW + j) * cin * coutPad + co0;
                    for (int c = 0; c < cin; c++) {
                        const v16 w = load16(wr + (long)c * coutPad);
                        a0 += w * x0[c]; a1 += w * x1[c]; a2 += w * x2[c]; a3 += w * x3[c];
                        a4 += w * x4[c]; a5 += w * x5[c]; a6 += w * x6[c]; a7 += w * x7[c];
                    }
                }
            }
            if (stats) {
                sum += ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
                sumSq += ((a0 * a0 + a1 * a1) + (a2 * a2 + a3 * a3)) + ((a4 * a4 + a5 * a5) + (a6 * a6 + a7 * a7));
            }
            float *o = out + p * cout + co0;
            const float *m = mask ? mask + p * cout + co0 : NULL;
            store_block(o, a0, bp, nco, m);
            store_block(o + cout, a1, bp, nco, m ? m + cout : NULL);
            store_block(o + 2 * cout, a2, bp, nco, m ? m + 2 * cout : NULL);
            store_block(o + 3 * cout, a3, bp, nco, m ? m + 3 * cout : NULL);
            store_block(o + 4 * cout, a4, bp, nco, m ? m + 4 * cout : NULL);
            store_block(o + 5 * cout, a5, bp, nco, m ? m + 5 * cout : NULL);
            store_block(o + 6 * cout, a6, bp, nco, m ? m + 6 * cout : NULL);
            store_block(o + 7 * cout, a7, bp, nco, m ? m + 7 * cout : NULL);
        }
        for (; p < P; p++) {
            const long oh = p / OW, ow = p % OW;
            v16 a = {0};
            for (int i = 0; i < KH; i++) {
                for (int j = 0; j < KW; j++) {
                    const float *xr = xp + ((oh * SH + i * DH) * Wp + ow * SW + j * DW) * cinStride;
                    const float *wr = wt + (long)(i * KW + j) * cin * coutPad + co0;
                    for (int c = 0; c < cin; c++) a += load16(wr + (long)c * coutPad) * xr[c];
                }
            }
            if (stats) { sum += a; sumSq += a * a; }
            store_block(out + p * cout + co0, a, bp, nco, mask ? mask + p * cout + co0 : NULL);
        }
        if (stats) {
            for (int k = 0; k < nco; k++) { stats[co0 + k] += sum[k]; stats[coutPad + co0 + k] += sumSq[k]; }
        }
    }
}

// Winograd F(4×4, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// a 4×4 block of outputs of a 3×3 stride-1 convolution from a 6×6 input patch with 36
// multiplications instead of 144. The three transforms are d → BᵀdB (input), g → GgGᵀ (weight)
// and m → AᵀmA (output), between them one product per transformed position, summed over input
// channels: 36 small matrix products. Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0;
// 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1], G = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙;
// 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1], Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
// Aᵀ's entries are not all 0 and ±1 (as F(2×2, 3×3)'s are, whose products could go straight into
// the outputs), so the products of a block of tiles go to a small buffer (L1) and are transformed
// from there; per output, F(2×2, 3×3) took 4 multiplications, this takes 2.25, and the kernel
// runs in 0.6–0.75 of F(2×2, 3×3)'s time at NAS-Bench-201's stage shapes (bench/conv_kernels.sh).
// Four tiles per block: the product loop below keeps one accumulator per tile.
#define WINO_TILES 4
_Static_assert(WINO_TILES == 4, "nas_conv_winograd_forward's product loop has four accumulators");

// Bᵀ·d for six vectors d0…d5 into t[0…5].
#define WINO_BT(d0, d1, d2, d3, d4, d5, t) do {                                             \
        const v16 a_ = (d4) - 4.0f * (d2), b_ = (d3) - 4.0f * (d1);                         \
        const v16 c_ = (d4) - (d2), e_ = 2.0f * ((d3) - (d1));                              \
        (t)[0] = 4.0f * (d0) - 5.0f * (d2) + (d4); (t)[1] = a_ + b_; (t)[2] = a_ - b_;      \
        (t)[3] = c_ + e_; (t)[4] = c_ - e_; (t)[5] = 4.0f * (d1) - 5.0f * (d3) + (d5);      \
    } while (0)
// Aᵀ·m for six vectors m0…m5 into o[0…3].
#define WINO_AT(m0, m1, m2, m3, m4, m5, o) do {                                             \
        const v16 p_ = (m1) + (m2), q_ = (m1) - (m2), r_ = (m3) + (m4), s_ = (m3) - (m4);   \
        (o)[0] = (m0) + p_ + r_; (o)[1] = q_ + 2.0f * s_; (o)[2] = p_ + 4.0f * r_;          \
        (o)[3] = q_ + 8.0f * s_ + (m5);                                                     \
    } while (0)

NAS_CLONES
void nas_winograd_weights(const float *wt, int K, int Npad, float *U) {
    for (int k = 0; k < K; k++) {
        for (int n = 0; n < Npad; n += 16) {
            v16 g[3][3], t[6][3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) g[i][j] = load16(wt + ((long)(i * 3 + j) * K + k) * Npad + n);
            for (int j = 0; j < 3; j++) {   // G·g, column by column
                t[0][j] = g[0][j] * 0.25f;
                t[1][j] = (g[0][j] + g[1][j] + g[2][j]) * (-1.0f / 6);
                t[2][j] = (g[0][j] - g[1][j] + g[2][j]) * (-1.0f / 6);
                t[3][j] = g[0][j] * (1.0f / 24) + g[1][j] * (1.0f / 12) + g[2][j] * (1.0f / 6);
                t[4][j] = g[0][j] * (1.0f / 24) - g[1][j] * (1.0f / 12) + g[2][j] * (1.0f / 6);
                t[5][j] = g[2][j];
            }
            for (int i = 0; i < 6; i++) {   // (G·g)·Gᵀ, row by row
                const v16 *r = t[i];
                const v16 u[6] = {r[0] * 0.25f, (r[0] + r[1] + r[2]) * (-1.0f / 6), (r[0] - r[1] + r[2]) * (-1.0f / 6),
                                  r[0] * (1.0f / 24) + r[1] * (1.0f / 12) + r[2] * (1.0f / 6),
                                  r[0] * (1.0f / 24) - r[1] * (1.0f / 12) + r[2] * (1.0f / 6), r[2]};
                for (int j = 0; j < 6; j++) store16(U + ((long)(i * 6 + j) * K + k) * Npad + n, u[j]);
            }
        }
    }
}

// BᵀdB of F(4×4, 3×3) for the 6×6 input patch at (4·ty, 4·tx), 16 channels at a time; position e
// of channel block c0 goes to v[e·step + c0]. A patch reaching past the buffer is read through a
// zero-filled copy; with `present` false the tile is all zeros.
static inline __attribute__((always_inline))
void nas_winograd_input_tile(const float *xp, int Hp, int Wp, int cinStride, int ty, int tx, int present,
                             float *v, long step) {
    float patch[6 * 6 * 16];
    const int inside = present && 4 * ty + 5 < Hp && 4 * tx + 5 < Wp;
    for (int c0 = 0; c0 < cinStride; c0 += 16) {
        // (A missing tile's patch may lie past the buffer: its address is not formed.)
        const float *d = present ? xp + ((long)(4 * ty) * Wp + 4 * tx) * cinStride + c0 : xp;
        long rs = (long)Wp * cinStride, cs = cinStride;
        if (!inside) {
            for (int r = 0; r < 6; r++) {
                for (int q = 0; q < 6; q++) {
                    const int y = 4 * ty + r, x = 4 * tx + q;
                    store16(patch + (r * 6 + q) * 16,
                            present && y < Hp && x < Wp ? load16(d + r * rs + q * cs) : (v16){0});
                }
            }
            d = patch; rs = 96; cs = 16;
        }
        v16 w[6][6];
        for (int r = 0; r < 6; r++) {
            const float *row = d + r * rs;
            WINO_BT(load16(row), load16(row + cs), load16(row + 2 * cs), load16(row + 3 * cs),
                    load16(row + 4 * cs), load16(row + 5 * cs), w[r]);
        }
        for (int q = 0; q < 6; q++) {
            v16 t[6];
            WINO_BT(w[0][q], w[1][q], w[2][q], w[3][q], w[4][q], w[5][q], t);
            for (int i = 0; i < 6; i++) store16(v + (i * 6 + q) * step + c0, t[i]);
        }
    }
}

NAS_CLONES
void nas_conv_winograd_forward(const float *xp, int Hp, int Wp, int cin, int cinStride,
                               const float *U, int coutPad, int OH, int OW, int cout, const float *bias,
                               float *out, const float *mask, float *stats) {
    const int TH = (OH + 3) / 4, TW = (OW + 3) / 4, T = TH * TW;
    // V[36][WINO_TILES][cinStride]: one block's transformed inputs; M[36][WINO_TILES][16]: their
    // products for 16 output channels.
    float *V = aligned_alloc(64, sizeof(float) * 36 * WINO_TILES * (long)cinStride);
    _Alignas(64) float M[36 * WINO_TILES * 16];
    if (!V) abort();
    float biasPad[16];
    v16 sum[coutPad / 16], sumSq[coutPad / 16];
    for (int b = 0; b < coutPad / 16; b++) { sum[b] = (v16){0}; sumSq[b] = (v16){0}; }
    for (int t0 = 0; t0 < T; t0 += WINO_TILES) {
        const int nt = T - t0 < WINO_TILES ? T - t0 : WINO_TILES;
        for (int k = 0; k < WINO_TILES; k++) {
            nas_winograd_input_tile(xp, Hp, Wp, cinStride, (t0 + k) / TW, (t0 + k) % TW, k < nt,
                                    V + (long)k * cinStride, (long)WINO_TILES * cinStride);
        }
        for (int co0 = 0; co0 < coutPad; co0 += 16) {
            const int nco = cout - co0 < 16 ? cout - co0 : 16;
            const float *bp = bias_block(bias, co0, nco, biasPad);
            // The 36 products over the input channels, four tiles at a time.
            for (int e = 0; e < 36; e++) {
                const float *v_ = V + (long)e * WINO_TILES * cinStride;
                const float *u_ = U + (long)e * cin * coutPad + co0;
                v16 m0 = {0}, m1 = {0}, m2 = {0}, m3 = {0};
                for (int c = 0; c < cin; c++) {
                    const v16 w_ = load16(u_ + (long)c * coutPad);
                    m0 += w_ * v_[c]; m1 += w_ * v_[cinStride + c];
                    m2 += w_ * v_[2 * cinStride + c]; m3 += w_ * v_[3 * cinStride + c];
                }
                float *m_ = M + e * WINO_TILES * 16;
                store16(m_, m0); store16(m_ + 16, m1); store16(m_ + 32, m2); store16(m_ + 48, m3);
            }
            // AᵀmA per tile, rows then columns.
            for (int k = 0; k < nt; k++) {
                const int ty = (t0 + k) / TW, tx = (t0 + k) % TW;
                v16 z[6][4], y[4][4];
                for (int r = 0; r < 6; r++) {
                    const float *m_ = M + ((r * 6) * WINO_TILES + k) * 16;
                    const long es = WINO_TILES * 16;
                    WINO_AT(load16(m_), load16(m_ + es), load16(m_ + 2 * es), load16(m_ + 3 * es),
                            load16(m_ + 4 * es), load16(m_ + 5 * es), z[r]);
                }
                for (int j = 0; j < 4; j++) {
                    v16 o[4];
                    WINO_AT(z[0][j], z[1][j], z[2][j], z[3][j], z[4][j], z[5][j], o);
                    for (int i = 0; i < 4; i++) y[i][j] = o[i];
                }
                for (int i = 0; i < 4; i++) {
                    const int yy = 4 * ty + i;
                    if (yy >= OH) break;
                    for (int j = 0; j < 4; j++) {
                        const int xx = 4 * tx + j;
                        if (xx >= OW) break;
                        const long p = ((long)yy * OW + xx) * cout + co0;
                        if (stats) { sum[co0 / 16] += y[i][j]; sumSq[co0 / 16] += y[i][j] * y[i][j]; }
                        store_block(out + p, y[i][j], bp, nco, mask ? mask + p : NULL);
                    }
                }
            }
        }
    }
    if (stats) {
        for (int co0 = 0; co0 < coutPad; co0 += 16) {
            for (int q = 0; q < 16 && co0 + q < cout; q++) {
                stats[co0 + q] += sum[co0 / 16][q];
                stats[coutPad + co0 + q] += sumSq[co0 / 16][q];
            }
        }
    }
    free(V);
}

// The weight gradient by Winograd F(3×3, 4×4): each 4×4 block of the output gradient and its 6×6
// input patch give a 3×3 weight-gradient contribution with 36 multiplications instead of 144.
// It is F(4×4, 3×3) transposed: with that algorithm's Bᵀ, G and Aᵀ, dW = Gᵀ[(A·gy·Aᵀ) ⊙ (Bᵀ·d·B)]G,
// so the input transform is the forward one, the output gradient is transformed by A (6×4) and
// the result by Gᵀ (3×6). The output transform is linear, so the products are summed over tiles
// (and images) first and transformed once at the end.
#define WINO_GRAD_TILES 8

// A·g for four vectors g0…g3 into h[0…5] (A = (Aᵀ)ᵀ of F(4×4, 3×3)).
#define WINO_A(g0, g1, g2, g3, h) do {                                                      \
        const v16 p_ = (g0) + (g2), q_ = (g1) + (g3);                                       \
        const v16 r_ = (g0) + 4.0f * (g2), s_ = 2.0f * (g1) + 8.0f * (g3);                  \
        (h)[0] = (g0); (h)[1] = p_ + q_; (h)[2] = p_ - q_; (h)[3] = r_ + s_; (h)[4] = r_ - s_; \
        (h)[5] = (g3);                                                                      \
    } while (0)
// Gᵀ·m for six vectors m0…m5 into o[0…2].
#define WINO_GT(m0, m1, m2, m3, m4, m5, o) do {                                             \
        const v16 p_ = (m1) + (m2), q_ = (m1) - (m2), r_ = (m3) + (m4), s_ = (m3) - (m4);   \
        (o)[0] = 0.25f * (m0) - p_ * (1.0f / 6) + r_ * (1.0f / 24);                         \
        (o)[1] = s_ * (1.0f / 12) - q_ * (1.0f / 6);                                        \
        (o)[2] = (r_ - p_) * (1.0f / 6) + (m5);                                             \
    } while (0)

NAS_CLONES
void nas_winograd_weight_grad(const float *xp, int Hp, int Wp, int cinStride,
                              const float *gy, int coutPad, int OH, int OW, float *M) {
    const int TH = (OH + 3) / 4, TW = (OW + 3) / 4, T = TH * TW;
    // X[36][WINO_GRAD_TILES][cinStride] and Gt[36][WINO_GRAD_TILES][coutPad]: one block of
    // tiles' transformed inputs and output gradients.
    float *X = aligned_alloc(64, sizeof(float) * 36 * WINO_GRAD_TILES * ((long)cinStride + coutPad));
    if (!X) abort();
    float *Gt = X + 36 * WINO_GRAD_TILES * (long)cinStride;
    const long xStep = (long)WINO_GRAD_TILES * cinStride, gStep = (long)WINO_GRAD_TILES * coutPad;
    for (int t0 = 0; t0 < T; t0 += WINO_GRAD_TILES) {
        const int nt = T - t0 < WINO_GRAD_TILES ? T - t0 : WINO_GRAD_TILES;
        for (int k = 0; k < nt; k++) {
            const int ty = (t0 + k) / TW, tx = (t0 + k) % TW;
            nas_winograd_input_tile(xp, Hp, Wp, cinStride, ty, tx, 1, X + (long)k * cinStride, xStep);
            for (int co0 = 0; co0 < coutPad; co0 += 16) {
                // A·gy·Aᵀ of the 4×4 block (rows and columns past the map are zero), rows then columns.
                v16 h[4][6];
                for (int i = 0; i < 4; i++) {
                    const int yy = 4 * ty + i;
                    v16 g[4];
                    for (int j = 0; j < 4; j++) {
                        const int xx = 4 * tx + j;
                        g[j] = yy < OH && xx < OW ? load16(gy + ((long)yy * OW + xx) * coutPad + co0) : (v16){0};
                    }
                    WINO_A(g[0], g[1], g[2], g[3], h[i]);
                }
                float *o = Gt + (long)k * coutPad + co0;
                for (int q = 0; q < 6; q++) {
                    v16 c[6];
                    WINO_A(h[0][q], h[1][q], h[2][q], h[3][q], c);
                    for (int p = 0; p < 6; p++) store16(o + (p * 6 + q) * gStep, c[p]);
                }
            }
        }
        // M[e] += X[e]ᵀ·Gt[e]: 16 input channels × 16 output channels in registers over the tiles.
        for (int e = 0; e < 36; e++) {
            for (int c0 = 0; c0 < cinStride; c0 += 16) {
                for (int co0 = 0; co0 < coutPad; co0 += 16) {
                    float *m = M + ((long)e * cinStride + c0) * coutPad + co0;
                    v16 a[16];
                    for (int q = 0; q < 16; q++) a[q] = load16(m + (long)q * coutPad);
                    const float *x = X + (long)e * xStep + c0, *g = Gt + (long)e * gStep + co0;
                    for (int k = 0; k < nt; k++) {
                        const v16 gv = load16(g + (long)k * coutPad);
                        const float *xk = x + (long)k * cinStride;
                        for (int q = 0; q < 16; q++) a[q] += gv * xk[q];
                    }
                    for (int q = 0; q < 16; q++) store16(m + (long)q * coutPad, a[q]);
                }
            }
        }
    }
    free(X);
}

NAS_CLONES
void nas_winograd_weight_grad_output(const float *M, int cinStride, int coutPad, float *dwt) {
    const long plane = (long)cinStride * coutPad;
    for (long i0 = 0; i0 < plane; i0 += 16) {
        v16 u[6][3];
        for (int r = 0; r < 6; r++) {
            const float *m = M + (long)(r * 6) * plane + i0;
            WINO_GT(load16(m), load16(m + plane), load16(m + 2 * plane), load16(m + 3 * plane),
                    load16(m + 4 * plane), load16(m + 5 * plane), u[r]);
        }
        for (int j = 0; j < 3; j++) {
            v16 o[3];
            WINO_GT(u[0][j], u[1][j], u[2][j], u[3][j], u[4][j], u[5][j], o);
            for (int i = 0; i < 3; i++) {
                float *d = dwt + (i * 3 + j) * plane + i0;
                store16(d, load16(d) + o[i]);
            }
        }
    }
}

// One tile of the weight gradient: KC input channels × 16 output channels stay in registers over
// all pixels. KC is a constant at each use, so the accumulators are registers, not memory.
#define WEIGHT_GRAD_TILE(KC) do {                                                             \
        v16 a[KC];                                                                            \
        for (int k = 0; k < (KC); k++) a[k] = (v16){0};                                       \
        for (int oh = 0; oh < OH; oh++) {                                                     \
            const float *xrow = xp + ((long)(oh * SH + i * DH) * Wp + j * DW) * cinStride + c0; \
            const float *grow = gy + (long)oh * OW * coutPad + co0;                           \
            for (int ow = 0; ow < OW; ow++) {                                                 \
                const v16 g = load16(grow + (long)ow * coutPad);                              \
                const float *x = xrow + (long)ow * SW * cinStride;                            \
                for (int k = 0; k < (KC); k++) a[k] += g * x[k];                              \
            }                                                                                 \
        }                                                                                     \
        float *d = dwt + ((long)(i * KW + j) * cinStride + c0) * coutPad + co0;               \
        for (int k = 0; k < (KC); k++) store16(d + (long)k * coutPad, load16(d + (long)k * coutPad) + a[k]); \
    } while (0)

NAS_CLONES
void nas_conv_direct_weight_grad(const float *xp, int Wp, int cin, int cinStride,
                                 const float *gy, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                                 int OH, int OW, float *dwt) {
    for (int i = 0; i < KH; i++) {
        for (int j = 0; j < KW; j++) {
            for (int c0 = 0; c0 < cin; c0 += 16) {
                // The last tile covers only the channels there are (an RGB stem has 3 of 16):
                // the smallest tile width that holds them; the buffer's padding channels are zero.
                const int kc = cin - c0;
                for (int co0 = 0; co0 < coutPad; co0 += 16) {
                    if (kc > 8) WEIGHT_GRAD_TILE(16);
                    else if (kc > 4) WEIGHT_GRAD_TILE(8);
                    else if (kc == 4) WEIGHT_GRAD_TILE(4);
                    else if (kc == 3) WEIGHT_GRAD_TILE(3);
                    else if (kc == 2) WEIGHT_GRAD_TILE(2);
                    else WEIGHT_GRAD_TILE(1);
                }
            }
        }
    }
}

NAS_CLONES
void nas_channel_sums(const float *u, const float *v, long rows, int C, double *out) {
    if (C % 16 == 0) {
        // Sixteen channels at a time in registers (the same sums, in the same order, as below).
        for (int b = 0; b < C; b += 16) {
            for (long r0 = 0; r0 < rows; r0 += 64) {
                const long r1 = r0 + 64 < rows ? r0 + 64 : rows;
                v16 a1 = {0}, a2 = {0};
                for (long r = r0; r < r1; r++) {
                    const v16 x = load16(u + r * C + b);
                    a1 += x;
                    a2 += x * (v ? load16(v + r * C + b) : x);
                }
                for (int k = 0; k < 16; k++) { out[b + k] += a1[k]; out[C + b + k] += a2[k]; }
            }
        }
        return;
    }
    float s1[C], s2[C];
    for (long r0 = 0; r0 < rows; r0 += 64) {
        const long r1 = r0 + 64 < rows ? r0 + 64 : rows;
        for (int c = 0; c < C; c++) { s1[c] = 0; s2[c] = 0; }
        for (long r = r0; r < r1; r++) {
            const float *ur = u + r * C;
            const float *vr = (v ? v : u) + r * C;
            for (int c = 0; c < C; c++) { s1[c] += ur[c]; s2[c] += ur[c] * vr[c]; }
        }
        for (int c = 0; c < C; c++) { out[c] += s1[c]; out[C + c] += s2[c]; }
    }
}

NAS_CLONES
void nas_channel_affine(const float *restrict u, const float *restrict a, const float *restrict b,
                        const float *restrict v, const float *restrict c, long rows, int C, float *restrict out) {
    for (long r = 0; r < rows; r++) {
        const float *ur = u + r * C;
        float *o = out + r * C;
        if (b && v) {
            const float *vr = v + r * C;
            for (int k = 0; k < C; k++) o[k] = a[k] * ur[k] + b[k] * vr[k] + c[k];
        } else {
            for (int k = 0; k < C; k++) o[k] = a[k] * ur[k] + c[k];
        }
    }
}

NAS_CLONES
void nas_relu_forward(const float *restrict x, long n, float *restrict out) {
    for (long i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

NAS_CLONES
void nas_relu_backward(const float *restrict g, const float *restrict y, long n, float *restrict gx) {
    for (long i = 0; i < n; i++) gx[i] = y[i] > 0 ? g[i] : 0;
}

// exp and erf without libm calls, so the loops below vectorize (libm's expf/erff are calls the
// vectorizer cannot see through: GELU's erf alone took 7 % of a ViT training step).

// e^x, relative error below 3e-7 on [-87, 88]; inputs outside are clamped there. NaN stays NaN.
static inline float nas_exp(float v) {
    float x = v < -87.0f ? -87.0f : (v > 88.0f ? 88.0f : v);
    // Adding 1.5·2²³ rounds x·log₂e to an integer k held in the sum's low mantissa bits.
    float shifted = x * 1.442695041f + 12582912.0f;
    float k = shifted - 12582912.0f;
    // r = x − k·ln 2 in two parts (Cody–Waite), exact to float precision; |r| ≤ ln2/2.
    float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
    // e^r by its Taylor series to r⁶ (remainder below 1.3e-7 relative).
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
    unsigned bits;
    memcpy(&bits, &shifted, 4);
    bits = (bits - 0x4B400000u + 127u) << 23;   // 2^k in the exponent field
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

// erf(x), absolute error below 5e-7: Abramowitz & Stegun 7.1.26, odd in x.
static inline float nas_erf(float v) {
    float a = v < 0 ? -v : v;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float r = 1.0f - poly * nas_exp(-a * a);
    return v < 0 ? -r : r;
}

NAS_CLONES
void nas_gelu_forward(const float *restrict x, long n, float *restrict y, float *restrict cdf) {
    for (long i = 0; i < n; i++) {
        float phi = 0.5f * (1.0f + nas_erf(x[i] * 0.70710678f));
        y[i] = x[i] * phi;
        cdf[i] = phi;
    }
}

NAS_CLONES
void nas_gelu_backward(const float *restrict x, const float *restrict cdf, const float *restrict g, long n,
                       float *restrict gx) {
    for (long i = 0; i < n; i++) gx[i] = g[i] * (cdf[i] + x[i] * 0.39894228f * nas_exp(-0.5f * x[i] * x[i]));
}

NAS_CLONES
void nas_sigmoid_forward(const float *restrict x, long n, float *restrict out) {
    for (long i = 0; i < n; i++) out[i] = 1.0f / (1.0f + nas_exp(-x[i]));
}

NAS_CLONES
void nas_softmax_rows(const float *restrict x, long rows, long d, float scale, float *restrict out) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * d;
        float *o = out + r * d;
        float m = -__builtin_inff();
        for (long i = 0; i < d; i++) m = scale * row[i] > m ? scale * row[i] : m;
        for (long i = 0; i < d; i++) o[i] = nas_exp(scale * row[i] - m);
        float s = 0;
        for (long i = 0; i < d; i++) s += o[i];   // in order: the same sum at any thread count
        float inv = 1.0f / s;
        for (long i = 0; i < d; i++) o[i] *= inv;
    }
}

#include <malloc.h>

void nas_tune_allocator(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

static inline int nas_pool_divisor(int oh, int ow, int H, int W, int K, int S, int P, int countIncludePad) {
    int h0 = oh * S - P, w0 = ow * S - P;
    int h1 = h0 + K, w1 = w0 + K;
    if (countIncludePad) {
        if (h1 > H + P) h1 = H + P;
        if (w1 > W + P) w1 = W + P;
        return (h1 - h0) * (w1 - w0);
    }
    if (h0 < 0) h0 = 0;
    if (w0 < 0) w0 = 0;
    if (h1 > H) h1 = H;
    if (w1 > W) w1 = W;
    return (h1 - h0) * (w1 - w0);
}

/// Stride-1 average pooling for channel counts that are multiples of 16: the image is copied
/// into a zero border once, so every window is a full K×K block, and four output pixels are
/// summed at a time in registers (the generic loop below is bound by the latency of
/// accumulating through memory).
NAS_CLONES
static void nas_avgpool_forward_s1(const float *restrict x, int H, int W, int C, int K, int P, int countIncludePad,
                                   int OH, int OW, float *restrict out) {
    const int Hp = H + 2 * P, Wp = W + 2 * P;
    float *xp = calloc((size_t)Hp * Wp * C, sizeof(float));
    if (!xp) return;
    for (int h = 0; h < H; h++) memcpy(xp + ((long)(h + P) * Wp + P) * C, x + (long)h * W * C, sizeof(float) * W * C);
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow += 4) {
            const int n = OW - ow < 4 ? OW - ow : 4;
            float inv[4];
            for (int q = 0; q < n; q++) inv[q] = 1.0f / (float)nas_pool_divisor(oh, ow + q, H, W, K, 1, P, countIncludePad);
            for (int c0 = 0; c0 < C; c0 += 16) {
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (int i = 0; i < K; i++) {
                    const float *row = xp + ((long)(oh + i) * Wp + ow) * C + c0;
                    for (int j = 0; j < K; j++) {
                        const float *p = row + (long)j * C;
                        a0 += load16(p);
                        if (n > 1) a1 += load16(p + C);
                        if (n > 2) a2 += load16(p + 2 * C);
                        if (n > 3) a3 += load16(p + 3 * C);
                    }
                }
                float *o = out + ((long)oh * OW + ow) * C + c0;
                store16(o, a0 * inv[0]);
                if (n > 1) store16(o + C, a1 * inv[1]);
                if (n > 2) store16(o + 2 * C, a2 * inv[2]);
                if (n > 3) store16(o + 3 * C, a3 * inv[3]);
            }
        }
    }
    free(xp);
}

NAS_CLONES
void nas_avgpool_forward(const float *restrict x, int H, int W, int C, int K, int S, int P, int countIncludePad,
                         int OH, int OW, float *restrict out) {
    if (S == 1 && C % 16 == 0 && OH == H + 2 * P - K + 1 && OW == W + 2 * P - K + 1) {
        nas_avgpool_forward_s1(x, H, W, C, K, P, countIncludePad, OH, OW, out);
        return;
    }
    for (int oh = 0; oh < OH; oh++) {
        const int h0 = oh * S - P < 0 ? 0 : oh * S - P, h1 = oh * S - P + K > H ? H : oh * S - P + K;
        for (int ow = 0; ow < OW; ow++) {
            const int w0 = ow * S - P < 0 ? 0 : ow * S - P, w1 = ow * S - P + K > W ? W : ow * S - P + K;
            float *o = out + ((long)oh * OW + ow) * C;
            for (int c = 0; c < C; c++) o[c] = 0;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++) {
                    const float *src = x + ((long)h * W + w) * C;
                    for (int c = 0; c < C; c++) o[c] += src[c];
                }
            const float inv = 1.0f / (float)nas_pool_divisor(oh, ow, H, W, K, S, P, countIncludePad);
            for (int c = 0; c < C; c++) o[c] *= inv;
        }
    }
}

NAS_CLONES
void nas_avgpool_backward(const float *restrict gy, int H, int W, int C, int K, int S, int P, int countIncludePad,
                          int OH, int OW, float *restrict gx) {
    for (int oh = 0; oh < OH; oh++) {
        const int h0 = oh * S - P < 0 ? 0 : oh * S - P, h1 = oh * S - P + K > H ? H : oh * S - P + K;
        for (int ow = 0; ow < OW; ow++) {
            const int w0 = ow * S - P < 0 ? 0 : ow * S - P, w1 = ow * S - P + K > W ? W : ow * S - P + K;
            const float *g = gy + ((long)oh * OW + ow) * C;
            const float inv = 1.0f / (float)nas_pool_divisor(oh, ow, H, W, K, S, P, countIncludePad);
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++) {
                    float *dst = gx + ((long)h * W + w) * C;
                    for (int c = 0; c < C; c++) dst[c] += g[c] * inv;
                }
        }
    }
}

NAS_CLONES
void nas_pack_positive_bits(const float *x, long rows, long d, long words, unsigned long long *bits) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * d;
        unsigned long long *out = bits + r * words;
        for (long w = 0; w < words; w++) {
            const long base = w * 64;
            const long n = d - base < 64 ? d - base : 64;
            unsigned long long word = 0;
            for (long k = 0; k < n; k++) word |= (unsigned long long)(row[base + k] > 0.0f) << k;
            out[w] = word;
        }
    }
}

__attribute__((target_clones("popcnt", "default")))
void nas_agreement_accumulate(const unsigned long long *bits, int rows, int i0, int i1, long words, long d,
                              double weight, double *K) {
    for (int i = i0; i < i1; i++) {
        const unsigned long long *a = bits + (long)i * words;
        K[(long)i * rows + i] += weight * (double)d;
        for (int j = i + 1; j < rows; j++) {
            const unsigned long long *b = bits + (long)j * words;
            long differ = 0;
            for (long w = 0; w < words; w++) differ += __builtin_popcountll(a[w] ^ b[w]);
            const double agree = weight * (double)(d - differ);
            K[(long)i * rows + j] += agree;
            K[(long)j * rows + i] += agree;
        }
    }
}

#include <signal.h>

static volatile sig_atomic_t nas_stop_requested = 0;

static void nas_on_stop_signal(int signo) {
    nas_stop_requested = signo;
    signal(signo, SIG_DFL);
}

void nas_install_stop_handlers(void) {
    signal(SIGINT, nas_on_stop_signal);
    signal(SIGTERM, nas_on_stop_signal);
}

int nas_stop_signal(void) { return nas_stop_requested; }

NAS_CLONES
void nas_relu_mask(float *restrict g, const float *restrict x, long n) {
    for (long i = 0; i < n; i++) g[i] = x[i] > 0 ? g[i] : 0;
}

NAS_CLONES
void nas_relu_pad_image(const float *restrict x, int h, int w, int cin, int ph, int pw, int cinStride,
                        float *restrict dst) {
    const int wp = w + 2 * pw;
    const long rowSize = (long)wp * cinStride;
    for (int y = 0; y < h + 2 * ph; y++) {
        float *d = dst + y * rowSize;
        if (y < ph || y >= h + ph) {
            for (long k = 0; k < rowSize; k++) d[k] = 0;
            continue;
        }
        const float *s = x + (long)(y - ph) * w * cin;
        for (int xx = 0; xx < wp; xx++) {
            float *dp = d + (long)xx * cinStride;
            if (xx < pw || xx >= w + pw) {
                for (int c = 0; c < cinStride; c++) dp[c] = 0;
                continue;
            }
            const float *sp = s + (long)(xx - pw) * cin;
            for (int c = 0; c < cin; c++) dp[c] = sp[c] > 0 ? sp[c] : 0;
            for (int c = cin; c < cinStride; c++) dp[c] = 0;
        }
    }
}
