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
