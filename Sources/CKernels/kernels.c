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

NAS_CLONES
void nas_conv_direct_forward(const float *xp, int Wp, int cin, int cinStride,
                             const float *wt, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                             int OH, int OW, int cout, const float *bias, float *out,
                             const float *mask, float *stats) {
    float biasPad[16];
    for (int co0 = 0; co0 < cout; co0 += 16) {
        const int nco = cout - co0 < 16 ? cout - co0 : 16;
        const float *bp = NULL;
        if (bias) {
            for (int k = 0; k < 16; k++) biasPad[k] = k < nco ? bias[co0 + k] : 0;
            bp = biasPad;
        }
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

// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// a 2×2 block of outputs of a 3×3 stride-1 convolution from a 4×4 input patch with 16
// multiplications instead of 36. The three transforms are d → BᵀdB (input), g → GgGᵀ (weight) and
// m → AᵀmA (output), with Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½;
// 0 0 1], Aᵀ = [1 1 1 0; 0 1 -1 -1]; between them, one product per transformed position, summed
// over input channels: sixteen small matrix products.
#define WINO_TILES 8

NAS_CLONES
void nas_winograd_weights(const float *wt, int K, int Npad, float *U) {
    for (int k = 0; k < K; k++) {
        for (int n = 0; n < Npad; n += 16) {
            v16 g[3][3], t[4][3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) g[i][j] = load16(wt + ((long)(i * 3 + j) * K + k) * Npad + n);
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[0][j];
                t[1][j] = (g[0][j] + g[1][j] + g[2][j]) * 0.5f;
                t[2][j] = (g[0][j] - g[1][j] + g[2][j]) * 0.5f;
                t[3][j] = g[2][j];
            }
            for (int i = 0; i < 4; i++) {
                const v16 u[4] = {t[i][0], (t[i][0] + t[i][1] + t[i][2]) * 0.5f,
                                  (t[i][0] - t[i][1] + t[i][2]) * 0.5f, t[i][2]};
                for (int j = 0; j < 4; j++) store16(U + ((long)(i * 4 + j) * K + k) * Npad + n, u[j]);
            }
        }
    }
}

// BᵀdB of F(2×2, 3×3) for the 4×4 input patch at (2·ty, 2·tx) of a padded [Hp, Wp, cinStride]
// image, 16 channels at a time, rows first (dB), then columns (Bᵀ·): sixteen registers in flight.
// Position e of channel block c0 goes to v[e·step + c0]. A patch reaching past the buffer (odd
// output sizes) is read through a zero-filled copy; with `present` false the tile is all zeros.
// Pointers only cross this call, so inlined into each clone it takes that clone's instructions.
static inline __attribute__((always_inline))
void nas_winograd_input_tile(const float *xp, int Hp, int Wp, int cinStride, int ty, int tx, int present,
                             float *v, long step) {
    float patch[4 * 4 * 16];
    const int inside = present && 2 * ty + 3 < Hp && 2 * tx + 3 < Wp;
    for (int c0 = 0; c0 < cinStride; c0 += 16) {
        const float *d = xp + ((long)(2 * ty) * Wp + 2 * tx) * cinStride + c0;
        long rs = (long)Wp * cinStride, cs = cinStride;
        if (!inside) {
            for (int r = 0; r < 4; r++) {
                for (int q = 0; q < 4; q++) {
                    const int y = 2 * ty + r, x = 2 * tx + q;
                    store16(patch + (r * 4 + q) * 16,
                            present && y < Hp && x < Wp ? load16(d + r * rs + q * cs) : (v16){0});
                }
            }
            d = patch; rs = 64; cs = 16;
        }
        v16 w[4][4];
        for (int r = 0; r < 4; r++) {
            const v16 d0 = load16(d + r * rs), d1 = load16(d + r * rs + cs),
                      d2 = load16(d + r * rs + 2 * cs), d3 = load16(d + r * rs + 3 * cs);
            w[r][0] = d0 - d2; w[r][1] = d1 + d2; w[r][2] = d2 - d1; w[r][3] = d1 - d3;
        }
        for (int q = 0; q < 4; q++) {
            store16(v + q * step + c0, w[0][q] - w[2][q]);
            store16(v + (4 + q) * step + c0, w[1][q] + w[2][q]);
            store16(v + (8 + q) * step + c0, w[2][q] - w[1][q]);
            store16(v + (12 + q) * step + c0, w[1][q] - w[3][q]);
        }
    }
}

// Aᵀ's entry (row i, column r) for F(2×2, 3×3): Aᵀ = [1 1 1 0; 0 1 -1 -1].
#define WINO_AT(i, r) ((i) == 0 ? ((r) < 3) : ((r) == 0 ? 0 : (r) == 1 ? 1 : -1))
// y += c·m for a constant c in {-1, 0, 1}.
#define WINO_ADD(y, c, m) do { if ((c) == 1) (y) += (m); else if ((c) == -1) (y) -= (m); } while (0)
// Position (r, s) of four tiles k0…k0+3: its product over the input channels, added into the
// outputs (i, j) with weight Aᵀ[i][r]·Aᵀ[j][s].
#define WINO_POSITION(r, s) do {                                                              \
        const float *v_ = V + ((long)((r) * 4 + (s)) * WINO_TILES + k0) * cinStride;          \
        const float *u_ = U + (long)((r) * 4 + (s)) * cin * coutPad + co0;                     \
        v16 m0 = {0}, m1 = {0}, m2 = {0}, m3 = {0};                                           \
        for (int c = 0; c < cin; c++) {                                                       \
            const v16 w_ = load16(u_ + (long)c * coutPad);                                    \
            m0 += w_ * v_[c]; m1 += w_ * v_[cinStride + c];                                    \
            m2 += w_ * v_[2 * cinStride + c]; m3 += w_ * v_[3 * cinStride + c];                \
        }                                                                                     \
        const v16 m_[4] = {m0, m1, m2, m3};                                                   \
        for (int k = 0; k < 4; k++) {                                                         \
            WINO_ADD(y[k][0], WINO_AT(0, r) * WINO_AT(0, s), m_[k]);                          \
            WINO_ADD(y[k][1], WINO_AT(0, r) * WINO_AT(1, s), m_[k]);                          \
            WINO_ADD(y[k][2], WINO_AT(1, r) * WINO_AT(0, s), m_[k]);                          \
            WINO_ADD(y[k][3], WINO_AT(1, r) * WINO_AT(1, s), m_[k]);                          \
        }                                                                                     \
    } while (0)

NAS_CLONES
void nas_conv_winograd_forward(const float *xp, int Hp, int Wp, int cin, int cinStride,
                               const float *U, int coutPad, int OH, int OW, int cout, const float *bias,
                               float *out, const float *mask, float *stats) {
    const int TH = (OH + 1) / 2, TW = (OW + 1) / 2, T = TH * TW;
    // Transformed inputs of one block of tiles, V[16][WINO_TILES][cinStride]: it stays in cache
    // between the input transform and the products.
    float *V = aligned_alloc(64, sizeof(float) * 16 * WINO_TILES * (long)cinStride);
    if (!V) abort();
    float biasPad[16];
    v16 sum[coutPad / 16], sumSq[coutPad / 16];
    for (int b = 0; b < coutPad / 16; b++) { sum[b] = (v16){0}; sumSq[b] = (v16){0}; }
    for (int t0 = 0; t0 < T; t0 += WINO_TILES) {
        const int nt = T - t0 < WINO_TILES ? T - t0 : WINO_TILES;
        // Input transform; the block's missing tiles are zero.
        for (int k = 0; k < WINO_TILES; k++) {
            nas_winograd_input_tile(xp, Hp, Wp, cinStride, (t0 + k) / TW, (t0 + k) % TW, k < nt,
                                    V + (long)k * cinStride, (long)WINO_TILES * cinStride);
        }
        // Per 16 output channels and four tiles: the sixteen products over the input channels
        // (four accumulators), each added straight into the 2×2 outputs it contributes to (AᵀmA
        // with Aᵀ's entries 0, ±1), so the products never go to memory.
        for (int co0 = 0; co0 < coutPad; co0 += 16) {
            const int nco = cout - co0 < 16 ? cout - co0 : 16;
            const float *bp = NULL;
            if (bias) {
                for (int q = 0; q < 16; q++) biasPad[q] = q < nco ? bias[co0 + q] : 0;
                bp = biasPad;
            }
            for (int k0 = 0; k0 < nt; k0 += 4) {
                v16 y[4][4];
                for (int k = 0; k < 4; k++) for (int q = 0; q < 4; q++) y[k][q] = (v16){0};
                WINO_POSITION(0, 0); WINO_POSITION(0, 1); WINO_POSITION(0, 2); WINO_POSITION(0, 3);
                WINO_POSITION(1, 0); WINO_POSITION(1, 1); WINO_POSITION(1, 2); WINO_POSITION(1, 3);
                WINO_POSITION(2, 0); WINO_POSITION(2, 1); WINO_POSITION(2, 2); WINO_POSITION(2, 3);
                WINO_POSITION(3, 0); WINO_POSITION(3, 1); WINO_POSITION(3, 2); WINO_POSITION(3, 3);
                for (int k = k0; k < k0 + 4 && k < nt; k++) {
                    const int ty = (t0 + k) / TW, tx = (t0 + k) % TW;
                    for (int q = 0; q < 4; q++) {
                        const int yy = 2 * ty + q / 2, xx = 2 * tx + q % 2;
                        if (yy >= OH || xx >= OW) continue;
                        const long p = ((long)yy * OW + xx) * cout + co0;
                        const v16 o = y[k - k0][q];
                        if (stats) { sum[co0 / 16] += o; sumSq[co0 / 16] += o * o; }
                        store_block(out + p, o, bp, nco, mask ? mask + p : NULL);
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

// The weight gradient by Winograd F(3×3, 2×2): each 2×2 block of the output gradient and its 4×4
// input patch give a 3×3 weight-gradient contribution with 16 multiplications instead of 36, by
// d → BᵀdB, g → GgGᵀ, m → AᵀmA with Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] (the forward
// transform's, so nas_winograd_input_tile serves both), G = [1 0; ½ ½; ½ -½; 0 -1] and
// Aᵀ = [1 1 1 0; 0 1 -1 0; 0 1 1 1]. (The usual pair has Bᵀ's and G's last rows negated: sign flips
// that cancel in every product.) The output transform is linear, so the products are summed over
// tiles (and images) first and transformed once at the end.
#define WINO_GRAD_TILES 8

NAS_CLONES
void nas_winograd_weight_grad(const float *xp, int Hp, int Wp, int cinStride,
                              const float *gy, int coutPad, int OH, int OW, float *M) {
    const int TH = (OH + 1) / 2, TW = (OW + 1) / 2, T = TH * TW;
    float *X = aligned_alloc(64, sizeof(float) * 16 * WINO_GRAD_TILES * ((long)cinStride + coutPad));
    if (!X) abort();
    float *Gt = X + 16 * WINO_GRAD_TILES * (long)cinStride;
    const long xStep = (long)WINO_GRAD_TILES * cinStride, gStep = (long)WINO_GRAD_TILES * coutPad;
    for (int t0 = 0; t0 < T; t0 += WINO_GRAD_TILES) {
        const int nt = T - t0 < WINO_GRAD_TILES ? T - t0 : WINO_GRAD_TILES;
        for (int k = 0; k < nt; k++) {
            const int ty = (t0 + k) / TW, tx = (t0 + k) % TW;
            nas_winograd_input_tile(xp, Hp, Wp, cinStride, ty, tx, 1, X + (long)k * cinStride, xStep);
            const int y1 = 2 * ty + 1 < OH, x1 = 2 * tx + 1 < OW;
            for (int co0 = 0; co0 < coutPad; co0 += 16) {
                const float *g = gy + ((long)(2 * ty) * OW + 2 * tx) * coutPad + co0;
                const v16 g00 = load16(g), g01 = x1 ? load16(g + coutPad) : (v16){0};
                const v16 g10 = y1 ? load16(g + (long)OW * coutPad) : (v16){0};
                const v16 g11 = y1 && x1 ? load16(g + ((long)OW + 1) * coutPad) : (v16){0};
                const v16 r[4][2] = {{g00, g01}, {(g00 + g10) * 0.5f, (g01 + g11) * 0.5f},
                                     {(g00 - g10) * 0.5f, (g01 - g11) * 0.5f}, {-g10, -g11}};
                float *o = Gt + (long)k * coutPad + co0;
                for (int i = 0; i < 4; i++) {
                    store16(o + (i * 4) * gStep, r[i][0]);
                    store16(o + (i * 4 + 1) * gStep, (r[i][0] + r[i][1]) * 0.5f);
                    store16(o + (i * 4 + 2) * gStep, (r[i][0] - r[i][1]) * 0.5f);
                    store16(o + (i * 4 + 3) * gStep, -r[i][1]);
                }
            }
        }
        // M[e] += X[e]ᵀ·Gt[e]: 16 input channels × 16 output channels in registers over the tiles.
        for (int e = 0; e < 16; e++) {
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
        v16 m[4][4], u[3][4];
        for (int e = 0; e < 16; e++) m[e / 4][e % 4] = load16(M + e * plane + i0);
        for (int q = 0; q < 4; q++) {
            u[0][q] = m[0][q] + m[1][q] + m[2][q];
            u[1][q] = m[1][q] - m[2][q];
            u[2][q] = m[1][q] + m[2][q] + m[3][q];
        }
        for (int i = 0; i < 3; i++) {
            const v16 o[3] = {u[i][0] + u[i][1] + u[i][2], u[i][1] - u[i][2], u[i][1] + u[i][2] + u[i][3]};
            for (int j = 0; j < 3; j++) {
                float *d = dwt + (i * 3 + j) * plane + i0;
                store16(d, load16(d) + o[j]);
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
