import CKernels

/// Hyper-parameters of a 2-D convolution or pooling window (PyTorch semantics).
public struct Conv2dOptions: Sendable, Equatable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int

    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.init(stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation), groups: groups)
    }

    public init(stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int) = (1, 1), groups: Int = 1) {
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }

    public static func == (l: Self, r: Self) -> Bool {
        l.stride == r.stride && l.padding == r.padding && l.dilation == r.dilation && l.groups == r.groups
    }
}

/// Output length of a sliding window along one axis (floor mode).
func windowOutputSize(_ n: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
    (n + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
}

func makeWindow(h: Int, w: Int, c: Int, kh: Int, kw: Int, oh: Int, ow: Int, _ o: Conv2dOptions) -> nas_window {
    nas_window(H: Int32(h), W: Int32(w), C: Int32(c), KH: Int32(kh), KW: Int32(kw),
               SH: Int32(o.stride.0), SW: Int32(o.stride.1), PH: Int32(o.padding.0), PW: Int32(o.padding.1),
               DH: Int32(o.dilation.0), DW: Int32(o.dilation.1), OH: Int32(oh), OW: Int32(ow))
}

/// Sums per-worker partial buffers into `into` in worker order (deterministic for a thread count).
func reducePartials(_ partials: [Tensor], into out: Tensor) {
    out.fill(0)
    for p in partials { addInPlace(out, p) }
}

/// 2-D convolution on channels-last images.
/// - x: `[N, H, W, Cin]`; weight: `[Cout, KH, KW, Cin/groups]`; bias: `[Cout]`.
/// - returns `[N, OH, OW, Cout]`.
public func conv2d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, _ o: Conv2dOptions = Conv2dOptions()) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4, "conv2d expects x [N,H,W,C] and weight [Cout,KH,KW,Cin/g], got \(x.shape), \(weight.shape)")
    let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw, cg) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let groups = o.groups
    precondition(cin % groups == 0 && cout % groups == 0 && cg == cin / groups,
                 "conv2d: \(cin) input channels, \(groups) groups and weight \(weight.shape) do not fit")
    let oh = windowOutputSize(h, kernel: kh, stride: o.stride.0, padding: o.padding.0, dilation: o.dilation.0)
    let ow = windowOutputSize(w, kernel: kw, stride: o.stride.1, padding: o.padding.1, dilation: o.dilation.1)
    precondition(oh > 0 && ow > 0, "conv2d: input \(h)×\(w) too small for kernel \(kh)×\(kw)")
    let coutg = cout / groups, k = kh * kw * cg, p = oh * ow
    let geo = makeWindow(h: h, w: w, c: cin, kh: kh, kw: kw, oh: oh, ow: ow, o)
    let pointwise = kh == 1 && kw == 1 && o.stride == (1, 1) && o.padding == (0, 0) && groups == 1
    let depthwise = groups == cin && groups == cout && cg == 1
    let out = Tensor(uninitializedShape: [n, oh, ow, cout])
    let direct: DirectConvolution? = !depthwise && DirectConvolution.applies(groups: groups, kh: kh, kw: kw, cin: cin, cout: cout)
        ? DirectConvolution(x: x.shape, weight: weight.shape, oh: oh, ow: ow, o) : nil
    let xs = UncheckedSendable(x.data), ws = UncheckedSendable(weight.data), os = UncheckedSendable(out.data)
    let inSize = h * w * cin, outSize = p * cout
    // Depthwise kernels read the weight as [KH, KW, C].
    let dwWeight: Tensor? = depthwise ? weight.reshaped([cout, kh * kw]).permuted([1, 0]).detach() : nil
    let dws = UncheckedSendable(dwWeight?.data)

    if let direct {
        direct.forward(x, weight, bias: bias, into: out)
    } else { Parallel.forChunks(n) { _, images in
        let col = pointwise || depthwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: p * k)
        defer { col?.deallocate() }
        for img in images {
            let xi = xs.value + img * inSize, yi = os.value + img * outSize
            if depthwise {
                nas_depthwise_forward(xi, dws.value!, geo, yi)
            } else if pointwise {
                sgemm(transA: false, transB: true, m: p, n: cout, k: cin, a: xi, lda: cin, b: ws.value, ldb: cin, c: yi, ldc: cout)
            } else {
                for g in 0..<groups {
                    nas_im2col(xi, geo, Int32(g * cg), Int32(cg), col!)
                    sgemm(transA: false, transB: true, m: p, n: coutg, k: k, a: col!, lda: k,
                          b: ws.value + g * coutg * k, ldb: k, c: yi + g * coutg, ldc: cout)
                }
            }
        }
    } }
    // The kernels read dwWeight through a raw pointer: keep its storage alive until they finish.
    withExtendedLifetime(dwWeight) {}
    if let bias, direct == nil {
        precondition(bias.count == cout, "conv2d bias has \(bias.count) values for \(cout) channels")
        let pb = bias.data, po = out.data
        for r in 0..<(n * p) { for c in 0..<cout { po[r * cout + c] += pb[c] } }
    }

    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return out.recorded("conv2d", inputs) { gy in
        if let direct {
            let gx: Tensor? = !x.requiresGrad ? nil : direct.inputGradientIsConvolution
                ? direct.inputGradient(gy, weight) : conv2dInputGradientByGEMM(gy, weight, x.shape, geo, groups: 1)
            var grads: [Tensor?] = [gx, weight.requiresGrad ? direct.weightGradient(x, gy) : nil]
            if let bias { grads.append(bias.requiresGrad ? channelSum(gy) : nil) }
            return grads
        }
        let gys = UncheckedSendable(gy.data)
        // Grouped convolutions get the input gradient from the shared GEMM + col2im routine; the
        // depthwise and pointwise kernels write theirs in the loop below.
        let gx: Tensor? = !x.requiresGrad ? nil : depthwise || pointwise
            ? Tensor(zeros: x.shape) : conv2dInputGradientByGEMM(gy, weight, x.shape, geo, groups: groups)
        let gxs = UncheckedSendable(depthwise || pointwise ? gx?.data : nil)
        let workers = Parallel.chunkCount(n)
        let partials = weight.requiresGrad ? (0..<workers).map { _ in Tensor(zeros: depthwise ? [kh * kw, cout] : weight.shape) } : []
        let ps = UncheckedSendable(partials.map { $0.data })
        Parallel.forChunks(n) { worker, images in
            let col = pointwise || depthwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: p * k)
            defer { col?.deallocate() }
            for img in images {
                let xi = xs.value + img * inSize, gi = gys.value + img * outSize
                if depthwise {
                    if let gxp = gxs.value { nas_depthwise_backward_input(gi, dws.value!, geo, gxp + img * inSize) }
                    if !ps.value.isEmpty { nas_depthwise_backward_weight(xi, gi, geo, ps.value[worker]) }
                } else if pointwise {
                    if let gxp = gxs.value {
                        sgemm(transA: false, transB: false, m: p, n: cin, k: cout, a: gi, lda: cout, b: ws.value, ldb: cin,
                              c: gxp + img * inSize, ldc: cin)
                    }
                    if !ps.value.isEmpty {
                        sgemm(transA: true, transB: false, m: cout, n: cin, k: p, a: gi, lda: cout, b: xi, ldb: cin,
                              beta: 1, c: ps.value[worker], ldc: cin)
                    }
                } else if !ps.value.isEmpty {
                    for g in 0..<groups {
                        nas_im2col(xi, geo, Int32(g * cg), Int32(cg), col!)
                        sgemm(transA: true, transB: false, m: coutg, n: k, k: p, a: gi + g * coutg, lda: cout,
                              b: col!, ldb: k, beta: 1, c: ps.value[worker] + g * coutg * k, ldc: k)
                    }
                }
            }
        }
        // Captures dwWeight so the backward's raw pointer to it stays valid (it was freed otherwise).
        withExtendedLifetime(dwWeight) {}
        var gw: Tensor? = nil
        if weight.requiresGrad {
            let sum = Tensor(uninitializedShape: partials[0].shape)
            reducePartials(partials, into: sum)
            gw = depthwise ? sum.permuted([1, 0]).reshaped(weight.shape) : sum
        }
        var grads: [Tensor?] = [gx, gw]
        if let bias { grads.append(bias.requiresGrad ? channelSum(gy) : nil) }
        return grads
    }
}

/// Transposed 2-D convolution (the adjoint of `conv2d`), channels-last.
/// - x: `[N, H, W, Cin]`; weight: `[Cin, KH, KW, Cout/groups]`; bias: `[Cout]`.
/// - returns `[N, OH, OW, Cout]` with `OH = (H-1)·stride − 2·padding + dilation·(KH−1) + outputPadding + 1`.
public func convTranspose2d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, _ o: Conv2dOptions = Conv2dOptions(),
                            outputPadding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4, "convTranspose2d expects x [N,H,W,C] and weight [Cin,KH,KW,Cout/g]")
    let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (wcin, kh, kw, coutg) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let groups = o.groups
    precondition(wcin == cin && cin % groups == 0, "convTranspose2d: weight \(weight.shape) for \(cin) input channels")
    let cing = cin / groups, cout = coutg * groups
    let oh = (h - 1) * o.stride.0 - 2 * o.padding.0 + o.dilation.0 * (kh - 1) + outputPadding.0 + 1
    let ow = (w - 1) * o.stride.1 - 2 * o.padding.1 + o.dilation.1 * (kw - 1) + outputPadding.1 + 1
    let k = kh * kw * coutg, pin = h * w
    // The window maps the (large) output back onto the (small) input grid.
    let geo = makeWindow(h: oh, w: ow, c: cout, kh: kh, kw: kw, oh: h, ow: w, o)
    let out = Tensor(zeros: [n, oh, ow, cout])
    let xs = UncheckedSendable(x.data), ws = UncheckedSendable(weight.data), os = UncheckedSendable(out.data)
    let inSize = pin * cin, outSize = oh * ow * cout
    Parallel.forChunks(n) { _, images in
        let col = UnsafeMutablePointer<Float>.allocate(capacity: pin * k)
        defer { col.deallocate() }
        for img in images {
            for g in 0..<groups {
                sgemm(transA: false, transB: false, m: pin, n: k, k: cing, a: xs.value + img * inSize + g * cing, lda: cin,
                      b: ws.value + g * cing * k, ldb: k, c: col, ldc: k)
                nas_col2im(col, geo, Int32(g * coutg), Int32(coutg), os.value + img * outSize)
            }
        }
    }
    if let bias {
        let pb = bias.data, po = out.data
        for r in 0..<(n * oh * ow) { for c in 0..<cout { po[r * cout + c] += pb[c] } }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return out.recorded("convTranspose2d", inputs) { gy in
        let gys = UncheckedSendable(gy.data)
        let gx: Tensor? = x.requiresGrad ? Tensor(zeros: x.shape) : nil
        let gxs = UncheckedSendable(gx?.data)
        let workers = Parallel.chunkCount(n)
        let partials = weight.requiresGrad ? (0..<workers).map { _ in Tensor(zeros: weight.shape) } : []
        let ps = UncheckedSendable(partials.map { $0.data })
        Parallel.forChunks(n) { worker, images in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: pin * k)
            defer { col.deallocate() }
            for img in images {
                for g in 0..<groups {
                    nas_im2col(gys.value + img * outSize, geo, Int32(g * coutg), Int32(coutg), col)
                    if let gxp = gxs.value {
                        sgemm(transA: false, transB: true, m: pin, n: cing, k: k, a: col, lda: k,
                              b: ws.value + g * cing * k, ldb: k, c: gxp + img * inSize + g * cing, ldc: cin)
                    }
                    if !ps.value.isEmpty {
                        sgemm(transA: true, transB: false, m: cing, n: k, k: pin, a: xs.value + img * inSize + g * cing,
                              lda: cin, b: col, ldb: k, beta: 1, c: ps.value[worker] + g * cing * k, ldc: k)
                    }
                }
            }
        }
        var gw: Tensor? = nil
        if weight.requiresGrad {
            let sum = Tensor(uninitializedShape: weight.shape)
            reducePartials(partials, into: sum)
            gw = sum
        }
        var grads: [Tensor?] = [gx, gw]
        if let bias { grads.append(bias.requiresGrad ? channelSum(gy) : nil) }
        return grads
    }
}

/// Input gradient of a convolution as GEMM + col2im (any stride and groups).
func conv2dInputGradientByGEMM(_ gy: Tensor, _ weight: Tensor, _ xShape: [Int], _ geo: nas_window, groups: Int) -> Tensor {
    let (n, cin) = (xShape[0], xShape[3])
    let (cout, kh, kw, cg) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let coutg = cout / groups, k = kh * kw * cg, p = Int(geo.OH) * Int(geo.OW)
    let gx = Tensor(zeros: xShape)
    let gys = UncheckedSendable(gy.data), ws = UncheckedSendable(weight.data), gxs = UncheckedSendable(gx.data)
    let inSize = xShape[1] * xShape[2] * cin, outSize = p * cout
    Parallel.forChunks(n) { _, images in
        let col = UnsafeMutablePointer<Float>.allocate(capacity: p * k)
        defer { col.deallocate() }
        for img in images {
            for g in 0..<groups {
                sgemm(transA: false, transB: false, m: p, n: k, k: coutg, a: gys.value + img * outSize + g * coutg, lda: cout,
                      b: ws.value + g * coutg * k, ldb: k, c: col, ldc: k)
                nas_col2im(col, geo, Int32(g * cg), Int32(cg), gxs.value + img * inSize)
            }
        }
    }
    return gx
}
