// One thread, one network stage's 3×3 convolution (C→C on an H×H map, padding 1, 16 images): the
// direct kernels against Winograd F(4×4, 3×3) (forward) and F(3×3, 4×4) (weight gradient), best
// of 7 runs each, at NAS-Bench-201's stage shapes (32×32 input) and the main job's (28×28). The
// input gradient runs the forward kernel on the output gradient with the flipped weights. Each
// line also gives the largest difference between the Winograd and direct results against the
// largest direct value. Built and run by bench/conv_kernels.sh.
#include "CKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

// Cache-line aligned, as the engine's tensors are (16-byte alignment made the timings bimodal).
static float *zeros(size_t n) {
    float *p = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = 0;
    return p;
}

static float *random_values(size_t n, float scale, float offset) {
    float *p = zeros(n);
    for (size_t i = 0; i < n; i++) p[i] = (rand() % 100) * scale + offset;
    return p;
}

// Largest |a − b| and largest |b|.
static void difference(const float *a, const float *b, long n, double *diff, double *mag) {
    *diff = *mag = 0;
    for (long i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > *diff) *diff = fabs(a[i] - b[i]);
        if (fabs(b[i]) > *mag) *mag = fabs(b[i]);
    }
}

int main(void) {
    const int cs[] = {16, 32, 64, 16, 32, 64}, hs[] = {32, 16, 8, 28, 14, 7}, N = 16;
    for (int q = 0; q < 6; q++) {
        const int C = cs[q], H = hs[q], Hp = H + 2;
        const long image = (long)Hp * Hp * C, outImage = (long)H * H * C;
        float *xp = zeros(N * image), *gy = random_values(N * outImage, 1 / 50.0f, -1);
        for (int n = 0; n < N; n++)   // the zero border stays zero
            for (int y = 1; y <= H; y++)
                for (int x = 1; x <= H; x++)
                    for (int c = 0; c < C; c++) xp[n * image + ((long)y * Hp + x) * C + c] = (rand() % 100) / 50.0f - 1;
        float *w = random_values(9 * C * C, 1 / 500.0f, 0), *U = zeros(36 * C * C);
        float *direct = zeros(N * outImage), *winograd = zeros(N * outImage);
        float *dwDirect = zeros(9 * C * C), *dwWinograd = zeros(9 * C * C), *M = zeros(36 * C * C);
        nas_winograd_weights(w, C, C, U);
        double best[4] = {1e9, 1e9, 1e9, 1e9};
        for (int r = 0; r < 7; r++) {
            double t = now();
            for (int n = 0; n < N; n++)
                nas_conv_direct_forward(xp + n * image, Hp, C, C, w, C, 3, 3, 1, 1, 1, 1, H, H, C, NULL, direct + n * outImage, NULL, NULL);
            if ((t = now() - t) < best[0]) best[0] = t;
            t = now();
            for (int n = 0; n < N; n++)
                nas_conv_winograd_forward(xp + n * image, Hp, Hp, C, C, U, C, H, H, C, NULL, winograd + n * outImage, NULL, NULL);
            if ((t = now() - t) < best[1]) best[1] = t;
            for (int i = 0; i < 9 * C * C; i++) dwDirect[i] = dwWinograd[i] = 0;
            for (int i = 0; i < 36 * C * C; i++) M[i] = 0;
            t = now();
            for (int n = 0; n < N; n++)
                nas_conv_direct_weight_grad(xp + n * image, Hp, C, C, gy + n * outImage, C, 3, 3, 1, 1, 1, 1, H, H, dwDirect);
            if ((t = now() - t) < best[2]) best[2] = t;
            t = now();
            for (int n = 0; n < N; n++) nas_winograd_weight_grad(xp + n * image, Hp, Hp, C, gy + n * outImage, C, H, H, M);
            nas_winograd_weight_grad_output(M, C, C, dwWinograd);
            if ((t = now() - t) < best[3]) best[3] = t;
        }
        const double gflop = 2.0 * N * H * H * 9 * C * C / 1e9;
        double fd, fm, gd, gm;
        difference(winograd, direct, N * outImage, &fd, &fm);
        difference(dwWinograd, dwDirect, 9 * C * C, &gd, &gm);
        printf("C=%d H=%d  forward: direct %.2f ms (%.0f GFLOP/s), Winograd %.2f ms (differs by %.0e of %.0e)"
               " | weight gradient: direct %.2f ms (%.0f GFLOP/s), Winograd %.2f ms (%.0e of %.0e)\n",
               C, H, best[0] * 1e3, gflop / best[0], best[1] * 1e3, fd, fm, best[2] * 1e3, gflop / best[2], best[3] * 1e3, gd, gm);
        free(xp); free(gy); free(w); free(U); free(direct); free(winograd); free(dwDirect); free(dwWinograd); free(M);
    }
    return 0;
}
