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
