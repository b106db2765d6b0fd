// oneDNN (libdnnl, apt's 2.6) on the shapes of bench/conv_kernels.c: one NAS-Bench-201 stage's 3×3
// convolution (C→C on an H×H map, padding 1, 16 images, NHWC activations), forward, backward data
// and backward weights, best of 7 runs each, on as many threads as OMP_NUM_THREADS gives it
// (bench/conv_kernels.sh sets 1). The weights are in the layout each primitive asks for and no
// reorder is timed: oneDNN's best case. `auto` lets oneDNN choose the algorithm (its direct
// kernels); `winograd` is reported where the library offers it for the shape, "n/a" otherwise.
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { \
    fprintf(stderr, "oneDNN: %s failed (status %d)\n", #call, (int)s_); exit(1); } } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static dnnl_memory_t memory(const dnnl_memory_desc_t *md, float fill) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
    void *p; CHECK(dnnl_memory_get_data_handle(m, &p));
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    for (size_t i = 0; i < n; i++) ((float *)p)[i] = fill * (float)((i * 7919) % 100) / 100.0f;
    return m;
}

/// Best of 7 runs of one primitive, in seconds.
static double best_of_7(const_dnnl_primitive_desc_t pd, int nargs, const dnnl_exec_arg_t *args) {
    dnnl_primitive_t p;
    CHECK(dnnl_primitive_create(&p, pd));
    double best = 1e9;
    for (int r = 0; r < 8; r++) {   // the first run (JIT, first touch) is warm-up
        double t = now();
        CHECK(dnnl_primitive_execute(p, stream, nargs, args));
        CHECK(dnnl_stream_wait(stream));
        t = now() - t;
        if (r > 0 && t < best) best = t;
    }
    dnnl_primitive_destroy(p);
    return best;
}

/// Forward, backward data and backward weights with one algorithm; 0 where it is not offered.
static void time_algorithm(dnnl_alg_kind_t alg, int N, int C, int H, double ms[3]) {
    dnnl_dims_t act = {N, C, H, H}, wdims = {C, C, 3, 3}, strides = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t src, dst, wany;
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, act, dnnl_f32, dnnl_nhwc));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, act, dnnl_f32, dnnl_nhwc));
    CHECK(dnnl_memory_desc_init_by_tag(&wany, 4, wdims, dnnl_f32, dnnl_format_tag_any));
    ms[0] = ms[1] = ms[2] = 0;

    dnnl_convolution_desc_t fd;
    dnnl_primitive_desc_t fpd;
    if (dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &src, &wany, NULL, &dst, strides, pad, pad) != dnnl_success
        || dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL) != dnnl_success) return;
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    dnnl_memory_t x = memory(&src, 1), y = memory(&dst, 0), w = memory(wmd, 0.01f);
    dnnl_exec_arg_t fargs[] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}};
    ms[0] = best_of_7(fpd, 3, fargs) * 1e3;

    dnnl_convolution_desc_t bd;
    dnnl_primitive_desc_t bpd;
    if (dnnl_convolution_backward_data_desc_init(&bd, alg, &src, &wany, &dst, strides, pad, pad) == dnnl_success
        && dnnl_primitive_desc_create(&bpd, &bd, NULL, engine, fpd) == dnnl_success) {
        const dnnl_memory_desc_t *bwmd = dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
        dnnl_memory_t bw = memory(bwmd, 0.01f), gy = memory(&dst, 1), gx = memory(&src, 0);
        dnnl_exec_arg_t bargs[] = {{DNNL_ARG_DIFF_DST, gy}, {DNNL_ARG_WEIGHTS, bw}, {DNNL_ARG_DIFF_SRC, gx}};
        ms[1] = best_of_7(bpd, 3, bargs) * 1e3;
        dnnl_memory_destroy(bw); dnnl_memory_destroy(gy); dnnl_memory_destroy(gx);
        dnnl_primitive_desc_destroy(bpd);
    }

    dnnl_convolution_desc_t wd;
    dnnl_primitive_desc_t wpd;
    if (dnnl_convolution_backward_weights_desc_init(&wd, alg, &src, &wany, NULL, &dst, strides, pad, pad) == dnnl_success
        && dnnl_primitive_desc_create(&wpd, &wd, NULL, engine, fpd) == dnnl_success) {
        const dnnl_memory_desc_t *gwmd = dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
        dnnl_memory_t gw = memory(gwmd, 0), gy = memory(&dst, 1);
        dnnl_exec_arg_t wargs[] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, gy}, {DNNL_ARG_DIFF_WEIGHTS, gw}};
        ms[2] = best_of_7(wpd, 3, wargs) * 1e3;
        dnnl_memory_destroy(gw); dnnl_memory_destroy(gy);
        dnnl_primitive_desc_destroy(wpd);
    }
    dnnl_memory_destroy(x); dnnl_memory_destroy(y); dnnl_memory_destroy(w);
    dnnl_primitive_desc_destroy(fpd);
}

static void print_ms(const char *name, const double ms[3]) {
    printf("  %-9s", name);
    const char *what[3] = {"fwd", "bwd data", "wgrad"};
    for (int k = 0; k < 3; k++) {
        if (ms[k] > 0) printf("  %s %.2f ms", what[k], ms[k]);
        else printf("  %s n/a", what[k]);
    }
    printf("\n");
}

int main(void) {
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    int cs[] = {16, 32, 64}, hs[] = {32, 16, 8};
    for (int q = 0; q < 3; q++) {
        double direct[3], winograd[3];
        time_algorithm(dnnl_convolution_auto, 16, cs[q], hs[q], direct);
        time_algorithm(dnnl_convolution_winograd, 16, cs[q], hs[q], winograd);
        printf("oneDNN C=%d H=%d\n", cs[q], hs[q]);
        print_ms("auto", direct);
        print_ms("winograd", winograd);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
