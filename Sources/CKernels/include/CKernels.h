#ifndef SWIFTNAS_CKERNELS_H
#define SWIFTNAS_CKERNELS_H

/// Geometry of a 2-D window op on one channels-last image [H, W, C].
typedef struct {
    int H, W, C;        // input height, width, channels
    int KH, KW;         // kernel size
    int SH, SW;         // stride
    int PH, PW;         // padding (top/left)
    int DH, DW;         // dilation
    int OH, OW;         // output size
} nas_window;

/// col[(oh*OW+ow), (i*KW+j)*cg + c] = x[oh*SH-PH+i*DH, ow*SW-PW+j*DW, c0+c] (0 outside).
void nas_im2col(const float *x, nas_window g, int c0, int cg, float *col);
/// The adjoint: dx[...] += col[...].
void nas_col2im(const float *col, nas_window g, int c0, int cg, float *dx);

/// Depthwise conv (one filter per channel), w: [KH, KW, C]. out: [OH, OW, C].
void nas_depthwise_forward(const float *x, const float *w, nas_window g, float *out);
void nas_depthwise_backward_input(const float *gy, const float *w, nas_window g, float *dx);
void nas_depthwise_backward_weight(const float *x, const float *gy, nas_window g, float *dw);

#endif

/// Direct convolution on one padded channels-last image, vectorised over 16 output channels.
/// xp: [Hp, Wp, cinStride] (already zero-padded; channels beyond cin ignored);
/// wt: [KH, KW, cin, coutPad] (coutPad a multiple of 16, zero beyond cout);
/// out: [OH, OW, cout] (overwritten), bias: [cout] or NULL.
/// mask: NULL, or [OH, OW, cout]: outputs where it is not positive are written as 0.
/// stats: NULL, or [2·coutPad]: per output channel, the sum and the sum of squares of the
/// outputs (before bias and mask) are added to stats[c] and stats[coutPad + c].
void nas_conv_direct_forward(const float *xp, int Wp, int cin, int cinStride,
                             const float *wt, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                             int OH, int OW, int cout, const float *bias, float *out,
                             const float *mask, float *stats);

/// 3×3 weights packed as for the direct kernel, wt: [3, 3, K, Npad] → their Winograd F(4×4, 3×3)
/// transforms U: [36, K, Npad] (Npad a multiple of 16).
void nas_winograd_weights(const float *wt, int K, int Npad, float *U);

/// A 3×3 stride-1 convolution of one padded channels-last image by Winograd F(4×4, 3×3): the same
/// contract as nas_conv_direct_forward with KH = KW = 3 and no stride or dilation (OH = Hp − 2,
/// OW = Wp − 2), the weights transformed by nas_winograd_weights.
void nas_conv_winograd_forward(const float *xp, int Hp, int Wp, int cin, int cinStride,
                               const float *U, int coutPad, int OH, int OW, int cout, const float *bias,
                               float *out, const float *mask, float *stats);

/// Weight gradient of the direct convolution for one image, accumulated into
/// dwt: [KH, KW, cinStride, coutPad] (rows of channels ≥ cin are left alone). xp as above with
/// cinStride a multiple of 16 and zeros in the channels from cin on;
/// gy: [OH, OW, coutPad] (coutPad a multiple of 16, zero beyond cout).
void nas_conv_direct_weight_grad(const float *xp, int Wp, int cin, int cinStride,
                                 const float *gy, int coutPad, int KH, int KW, int SH, int SW, int DH, int DW,
                                 int OH, int OW, float *dwt);

/// The weight gradient of a 3×3 stride-1 convolution for one image by Winograd F(3×3, 4×4), left
/// in the transformed domain: M: [36, cinStride, coutPad] += the per-position products. xp and gy
/// as for nas_conv_direct_weight_grad (OH = Hp − 2, OW = Wp − 2). nas_winograd_weight_grad_output
/// adds the weight gradient of the accumulated M into dwt: [3, 3, cinStride, coutPad].
void nas_winograd_weight_grad(const float *xp, int Hp, int Wp, int cinStride,
                              const float *gy, int coutPad, int OH, int OW, float *M);
void nas_winograd_weight_grad_output(const float *M, int cinStride, int coutPad, float *dwt);

/// Per-channel sums over `rows` rows of `C` channels: out[c] += Σ u, out[C + c] += Σ u·v
/// (v = u when NULL). Accumulates in float over blocks of rows, then in double.
void nas_channel_sums(const float *u, const float *v, long rows, int C, double *out);

/// out = a·u + b·v + c per channel (last axis); b and v may be NULL.
void nas_channel_affine(const float *u, const float *a, const float *b, const float *v, const float *c,
                        long rows, int C, float *out);

/// out = max(x, 0); and the gradient gx = g where y > 0.
void nas_relu_forward(const float *x, long n, float *out);
void nas_relu_backward(const float *g, const float *y, long n, float *gx);
/// g[i] = 0 where x[i] <= 0 (in place): ReLU's backward folded into another op's input gradient.
void nas_relu_mask(float *g, const float *x, long n);
/// ReLU of an [h, w, cin] image written into a zero-bordered [h + 2ph, w + 2pw, cinStride] buffer
/// (every value of the buffer is written: borders and channel padding get zeros).
void nas_relu_pad_image(const float *x, int h, int w, int cin, int ph, int pw, int cinStride, float *dst);
// GELU (exact erf form): y = x·Φ(x), and Φ(x) kept for the backward gx = g·(Φ(x) + x·φ(x)).
void nas_gelu_forward(const float *x, long n, float *y, float *cdf);
void nas_gelu_backward(const float *x, const float *cdf, const float *g, long n, float *gx);
void nas_sigmoid_forward(const float *x, long n, float *out);
// Softmax of scale·x along rows of length d.
void nas_softmax_rows(const float *x, long rows, long d, float scale, float *out);

/// Raises glibc's mmap and trim thresholds so large, short-lived tensors reuse heap memory.
void nas_tune_allocator(void);

/// Average pooling of one channels-last image with PyTorch's divisor rules (floor mode);
/// `backward` scatters gy (shape of the output) into gx (shape of the input, accumulated).
void nas_avgpool_forward(const float *x, int H, int W, int C, int K, int S, int P, int countIncludePad,
                         int OH, int OW, float *out);
void nas_avgpool_backward(const float *gy, int H, int W, int C, int K, int S, int P, int countIncludePad,
                          int OH, int OW, float *gx);

/// Packs the signs (x > 0) of `rows` rows of `d` values into 64-bit words, `words` per row
/// (unused high bits zero).
void nas_pack_positive_bits(const float *x, long rows, long d, long words, unsigned long long *bits);
/// K[i][j] and K[j][i] += weight · (number of bits on which rows i and j agree), over `d` real
/// bits, for rows i in [i0, i1) and every j ≥ i.
void nas_agreement_accumulate(const unsigned long long *bits, int rows, int i0, int i1, long words, long d,
                              double weight, double *K);

/// Ctrl-C and SIGTERM: the first one sets a flag that long loops poll, so they can stop at a safe
/// point and save their state; the handler then restores the default, so a second signal ends
/// the process at once.
void nas_install_stop_handlers(void);
/// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int nas_stop_signal(void);
