#include "CKernels.h"
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
#define store_block(dst, v, bias, n) do {                                   \
        v16 t_ = (v);                                                         \
        if (bias) t_ += load16(bias);                                         \
        if ((n) == 16) store16(dst, t_);                                      \
        else for (int k_ = 0; k_ < (n); k_++) (dst)[k_] = t_[k_];             \
    } while (0)

NAS_CLONES
void nas_conv_direct_forward(const float *xp, int Wp, int cin, int cinStride,
                             const float *wt, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                             int OH, int OW, int cout, const float *bias, float *out) {
    float biasPad[16];
    const long xs = (long)SW * cinStride;
    for (int co0 = 0; co0 < cout; co0 += 16) {
        const int nco = cout - co0 < 16 ? cout - co0 : 16;
        const float *bp = NULL;
        if (bias) {
            for (int k = 0; k < 16; k++) biasPad[k] = k < nco ? bias[co0 + k] : 0;
            bp = biasPad;
        }
        for (int oh = 0; oh < OH; oh++) {
            int ow = 0;
            // Eight output pixels at a time keep eight independent accumulators in flight.
            for (; ow + 8 <= OW; ow += 8) {
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
                for (int i = 0; i < KH; i++) {
                    for (int j = 0; j < KW; j++) {
                        const float *xr = xp + ((long)(oh * SH + i * DH) * Wp + (long)ow * SW + j * DW) * cinStride;
                        const float *wr = wt + (long)(i * KW + j) * cin * coutPad + co0;
                        for (int c = 0; c < cin; c++) {
                            const v16 w = load16(wr + (long)c * coutPad);
                            a0 += w * xr[c];          a1 += w * xr[xs + c];
                            a2 += w * xr[2 * xs + c]; a3 += w * xr[3 * xs + c];
                            a4 += w * xr[4 * xs + c]; a5 += w * xr[5 * xs + c];
                            a6 += w * xr[6 * xs + c]; a7 += w * xr[7 * xs + c];
                        }
                    }
                }
                float *o = out + ((long)oh * OW + ow) * cout + co0;
                store_block(o, a0, bp, nco);            store_block(o + cout, a1, bp, nco);
                store_block(o + 2 * cout, a2, bp, nco); store_block(o + 3 * cout, a3, bp, nco);
                store_block(o + 4 * cout, a4, bp, nco); store_block(o + 5 * cout, a5, bp, nco);
                store_block(o + 6 * cout, a6, bp, nco); store_block(o + 7 * cout, a7, bp, nco);
            }
            for (; ow < OW; ow++) {
                v16 a = {0};
                for (int i = 0; i < KH; i++) {
                    for (int j = 0; j < KW; j++) {
                        const float *xr = xp + ((long)(oh * SH + i * DH) * Wp + (long)ow * SW + j * DW) * cinStride;
                        const float *wr = wt + (long)(i * KW + j) * cin * coutPad + co0;
                        for (int c = 0; c < cin; c++) a += load16(wr + (long)c * coutPad) * xr[c];
                    }
                }
                store_block(out + ((long)oh * OW + ow) * cout + co0, a, bp, nco);
            }
        }
    }
}

NAS_CLONES
void nas_conv_direct_weight_grad(const float *xp, int Wp, int cinStride,
                                 const float *gy, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                                 int OH, int OW, float *dwt) {
    for (int i = 0; i < KH; i++) {
        for (int j = 0; j < KW; j++) {
            for (int c0 = 0; c0 < cinStride; c0 += 16) {
                for (int co0 = 0; co0 < coutPad; co0 += 16) {
                    // 16 input channels × 16 output channels stay in registers over all pixels.
                    v16 a[16];
                    for (int k = 0; k < 16; k++) a[k] = (v16){0};
                    for (int oh = 0; oh < OH; oh++) {
                        const float *xrow = xp + ((long)(oh * SH + i * DH) * Wp + j * DW) * cinStride + c0;
                        const float *grow = gy + (long)oh * OW * coutPad + co0;
                        for (int ow = 0; ow < OW; ow++) {
                            const v16 g = load16(grow + (long)ow * coutPad);
                            const float *x = xrow + (long)ow * SW * cinStride;
                            for (int k = 0; k < 16; k++) a[k] += g * x[k];
                        }
                    }
                    float *d = dwt + ((long)(i * KW + j) * cinStride + c0) * coutPad + co0;
                    for (int k = 0; k < 16; k++) store16(d + (long)k * coutPad, load16(d + (long)k * coutPad) + a[k]);
                }
            }
        }
    }
}

NAS_CLONES
void nas_channel_sums(const float *u, const float *v, long rows, int C, double *out) {
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
void nas_channel_affine(const float *u, const float *a, const float *b, const float *v, const float *c,
                        long rows, int C, float *out) {
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
void nas_relu_forward(const float *x, long n, float *out) {
    for (long i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

NAS_CLONES
void nas_relu_backward(const float *g, const float *y, long n, float *gx) {
    for (long i = 0; i < n; i++) gx[i] = y[i] > 0 ? g[i] : 0;
}

#include <malloc.h>

void nas_tune_allocator(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
