// oneDNN (libdnnl, apt's 2.6) on the shapes of bench/conv_kernels.c: one NAS-Bench-201 stage's 3×3
// convolution (C→C on an H×H map, padding 1, 16 images), forward, backward data and backward
// weights, best of 7 runs each, on as many threads as OMP_NUM_THREADS gives it
// (bench/conv_kernels.sh sets 1). Three runs per shape: oneDNN's choice of algorithm on NHWC
// activations (SwiftNAS's layout), its choice with activations in the layout it prefers, and
// Winograd in the layout it prefers (its f32 Winograd takes only blocked nChw16c activations).
// The weights are always in the layout each primitive asks for and no weight reorder is timed;
// the activations' reorder from NHWC is timed on its own. Each figure names the implementation
// oneDNN ran. oneDNN pads inside the convolution; SwiftNAS's kernels in conv_kernels.c read an
// input already padded and weights already transformed (the engine does both per call, outside
// the timed kernels).
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

/// The implementation oneDNN chose, e.g. "brgconv:avx512_core" or "jit_wino_4x3:avx512_core".
static const char *implementation(const_dnnl_primitive_desc_t pd) {
    const char *name = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return name;
}

/// Forward, backward data and backward weights with one algorithm and activation layout (NHWC,
/// or any: the primitive's own choice); ms 0 where oneDNN does not offer it. Also times one
/// reorder of the 16 images' activations from NHWC into the forward pass's chosen layout (0 when
/// it is NHWC): what the engine, whose tensors are NHWC, would pay around each call.
static void time_algorithm(dnnl_alg_kind_t alg, dnnl_format_tag_t layout, int N, int C, int H,
                           double ms[4], const char *names[3]) {
    dnnl_dims_t act = {N, C, H, H}, wdims = {C, C, 3, 3}, strides = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t src, dst, wany, nhwc;
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, act, dnnl_f32, layout));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, act, dnnl_f32, layout));
    CHECK(dnnl_memory_desc_init_by_tag(&nhwc, 4, act, dnnl_f32, dnnl_nhwc));
    CHECK(dnnl_memory_desc_init_by_tag(&wany, 4, wdims, dnnl_f32, dnnl_format_tag_any));
    ms[0] = ms[1] = ms[2] = ms[3] = 0;
    names[0] = names[1] = names[2] = "n/a";

    dnnl_convolution_desc_t fd;
    dnnl_primitive_desc_t fpd;
    if (dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &src, &wany, NULL, &dst, strides, pad, pad) != dnnl_success
        || dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL) != dnnl_success) return;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0),
                             *dmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0),
                             *wmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    dnnl_memory_t x = memory(smd, 1), y = memory(dmd, 0), w = memory(wmd, 0.01f);
    dnnl_exec_arg_t fargs[] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}};
    ms[0] = best_of_7(fpd, 3, fargs) * 1e3;
    names[0] = implementation(fpd);

    if (!dnnl_memory_desc_equal(smd, &nhwc)) {
        dnnl_primitive_desc_t rpd;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &nhwc, engine, smd, engine, NULL));
        dnnl_memory_t from = memory(&nhwc, 1);
        dnnl_exec_arg_t rargs[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, x}};
        ms[3] = best_of_7(rpd, 2, rargs) * 1e3;
        dnnl_memory_destroy(from);
        dnnl_primitive_desc_destroy(rpd);
    }

    dnnl_convolution_desc_t bd;
    dnnl_primitive_desc_t bpd;
    if (dnnl_convolution_backward_data_desc_init(&bd, alg, &src, &wany, &dst, strides, pad, pad) == dnnl_success
        && dnnl_primitive_desc_create(&bpd, &bd, NULL, engine, fpd) == dnnl_success) {
        dnnl_memory_t bw = memory(dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0), 0.01f),
                      gy = memory(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_dst_md, 0), 1),
                      gx = memory(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_src_md, 0), 0);
        dnnl_exec_arg_t bargs[] = {{DNNL_ARG_DIFF_DST, gy}, {DNNL_ARG_WEIGHTS, bw}, {DNNL_ARG_DIFF_SRC, gx}};
        ms[1] = best_of_7(bpd, 3, bargs) * 1e3;
        names[1] = implementation(bpd);
        dnnl_memory_destroy(bw); dnnl_memory_destroy(gy); dnnl_memory_destroy(gx);
        dnnl_primitive_desc_destroy(bpd);
    }

    dnnl_convolution_desc_t wd;
    dnnl_primitive_desc_t wpd;
    if (dnnl_convolution_backward_weights_desc_init(&wd, alg, &src, &wany, NULL, &dst, strides, pad, pad) == dnnl_success
        && dnnl_primitive_desc_create(&wpd, &wd, NULL, engine, fpd) == dnnl_success) {
        dnnl_memory_t wx = memory(dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0), 1),
                      gw = memory(dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0), 0),
                      gy = memory(dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0), 1);
        dnnl_exec_arg_t wargs[] = {{DNNL_ARG_SRC, wx}, {DNNL_ARG_DIFF_DST, gy}, {DNNL_ARG_DIFF_WEIGHTS, gw}};
        ms[2] = best_of_7(wpd, 3, wargs) * 1e3;
        names[2] = implementation(wpd);
        dnnl_memory_destroy(wx); dnnl_memory_destroy(gw); dnnl_memory_destroy(gy);
        dnnl_primitive_desc_destroy(wpd);
    }
    dnnl_memory_destroy(x); dnnl_memory_destroy(y); dnnl_memory_destroy(w);
    dnnl_primitive_desc_destroy(fpd);
}

static void print_ms(const char *name, const double ms[4], const char *names[3]) {
    printf("  %-24s", name);
    const char *what[3] = {"fwd", "bwd data", "wgrad"};
    for (int k = 0; k < 3; k++) {
        if (ms[k] > 0) printf("  %s %.2f ms (%s)", what[k], ms[k], names[k]);
        else printf("  %s n/a", what[k]);
    }
    if (ms[3] > 0) printf("  | NHWC reorder %.2f ms", ms[3]);
    printf("\n");
}

int main(void) {
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    int cs[] = {16, 32, 64}, hs[] = {32, 16, 8};
    struct { const char *name; dnnl_alg_kind_t alg; dnnl_format_tag_t layout; } runs[] = {
        {"auto, NHWC", dnnl_convolution_auto, dnnl_nhwc},
        {"auto, its layout", dnnl_convolution_auto, dnnl_format_tag_any},
        {"winograd, its layout", dnnl_convolution_winograd, dnnl_format_tag_any},
    };
    for (int q = 0; q < 3; q++) {
        printf("oneDNN C=%d H=%d\n", cs[q], hs[q]);
        for (int r = 0; r < 3; r++) {
            double ms[4];
            const char *names[3];
            time_algorithm(runs[r].alg, runs[r].layout, 16, cs[q], hs[q], ms, names);
            print_ms(runs[r].name, ms, names);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
