import CKernels

/// `conv2d(relu(x), weight, bias:)` (groups 1) as one op: the ReLU is applied while the input is
/// copied into the convolution's zero-bordered buffer, that buffer is kept for the weight
/// gradient (no second copy), and ReLU's backward is a mask on the input gradient. No ReLU output
/// tensor is made, in the forward or the backward pass. NAS-Bench-201's ReLU-conv-BN edges are
/// most of an NB201 network's work.
public func reluConv2d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, _ o: Conv2dOptions = Conv2dOptions()) -> Tensor {
    reluConv2dWithChannelSums(x, weight, bias: bias, o).output
}

/// `reluConv2d`, also returning the output's per-channel sums and sums of squares (`[2·Cout]`,
/// what a following batch norm needs; nil where the op fell back to relu + conv2d).
public func reluConv2dWithChannelSums(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil,
                                      _ o: Conv2dOptions = Conv2dOptions()) -> (output: Tensor, channelSums: [Double]?) {
    precondition(x.rank == 4 && weight.rank == 4, "reluConv2d expects x [N,H,W,C] and weight [Cout,KH,KW,Cin], got \(x.shape), \(weight.shape)")
    let (cout, kh, kw, cin) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    guard o.groups == 1, x.shape[3] == cin, DirectConvolution.applies(groups: 1, kh: kh, kw: kw, cin: cin, cout: cout) else {
        return (conv2d(relu(x), weight, bias: bias, o), nil)
    }
    precondition(bias == nil || bias!.count == cout, "reluConv2d bias has \(bias!.count) values for \(cout) channels")
    let (h, w) = (x.shape[1], x.shape[2])
    let oh = windowOutputSize(h, kernel: kh, stride: o.stride.0, padding: o.padding.0, dilation: o.dilation.0)
    let ow = windowOutputSize(w, kernel: kw, stride: o.stride.1, padding: o.padding.1, dilation: o.dilation.1)
    precondition(oh > 0 && ow > 0, "reluConv2d: input \(h)×\(w) too small for kernel \(kh)×\(kw)")
    let direct = DirectConvolution(x: x.shape, weight: weight.shape, oh: oh, ow: ow, o)
    let padded = direct.reluPaddedBatch(x)
    let out = Tensor(uninitializedShape: [x.shape[0], oh, ow, cout])
    let sums = direct.forward(paddedBatch: padded, weight, bias: bias, into: out)
    let y = out.recorded("reluConv2d", bias.map { [x, weight, $0] } ?? [x, weight]) { gy in
        var gx: Tensor? = nil
        if x.requiresGrad {
            if direct.inputGradientIsConvolution {
                gx = direct.inputGradient(gy, weight, reluOf: x)
            } else {
                let g = conv2dInputGradientByGEMM(gy, weight, x.shape,
                                                  makeWindow(h: h, w: w, c: cin, kh: kh, kw: kw, oh: oh, ow: ow, o), groups: 1)
                let pg = UncheckedSendable(g.data), px = UncheckedSendable(x.data)
                Parallel.forChunks(g.count, minChunk: elementwiseChunk) { _, range in
                    nas_relu_mask(pg.value + range.lowerBound, px.value + range.lowerBound, range.count)
                }
                gx = g
            }
        }
        var grads = [gx, weight.requiresGrad ? direct.weightGradient(paddedBatch: padded, gy) : nil]
        if let bias { grads.append(bias.requiresGrad ? channelSum(gy) : nil) }
        return grads
    }
    return (y, sums)
}
