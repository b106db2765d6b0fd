import CKernels
import Foundation

/// Dense (groups = 1) k×k convolution with the direct C kernels, vectorised over 16 channels.
/// Measured faster than im2col + GEMM on the small channel counts NAS cells use: im2col writes a
/// k²-times larger matrix to memory for every image, the direct kernel reads the input in place.
struct DirectConvolution {
    let n: Int, h: Int, w: Int, cin: Int, cout: Int, kh: Int, kw: Int, oh: Int, ow: Int
    let o: Conv2dOptions
    let cinStride: Int, coutPad: Int
    let hp: Int, wp: Int

    static func roundUp16(_ x: Int) -> Int { (x + 15) / 16 * 16 }

    /// Whether the direct kernels handle this convolution and are expected to beat GEMM.
    static func applies(groups: Int, kh: Int, kw: Int, cin: Int, cout: Int) -> Bool {
        groups == 1 && cout <= 128 && cin <= 256
    }

    init(x: [Int], weight: [Int], oh: Int, ow: Int, _ o: Conv2dOptions) {
        (n, h, w, cin) = (x[0], x[1], x[2], x[3])
        (cout, kh, kw) = (weight[0], weight[1], weight[2])
        self.oh = oh; self.ow = ow; self.o = o
        cinStride = Self.roundUp16(cin)
        coutPad = Self.roundUp16(cout)
        hp = h + 2 * o.padding.0
        wp = w + 2 * o.padding.1
    }

    /// Weight `[Cout, KH, KW, Cin]` → `[KH, KW, Cin, CoutPad]` (zero beyond Cout).
    func packWeight(_ weight: Tensor) -> Tensor {
        let t = Tensor(zeros: [kh, kw, cin, coutPad])
        for co in 0..<cout { for i in 0..<kh { for j in 0..<kw { for c in 0..<cin {
            t.data[((i * kw + j) * cin + c) * coutPad + co] = weight.data[((co * kh + i) * kw + j) * cin + c]
        }}}}
        return t
    }

    /// Whether the forward pass and the weight gradient run as Winograd F(4×4, 3×3) and F(3×3, 4×4)
    /// (3×3, stride 1, no dilation): 36 multiplications instead of 144. Measured faster from 8 input
    /// channels on. (The input gradient decides by its own input, the output gradient.)
    var usesWinograd: Bool { Self.winograd(kh: kh, kw: kw, stride: o.stride, dilation: o.dilation, channels: cin) }

    static func winograd(kh: Int, kw: Int, stride: (Int, Int), dilation: (Int, Int), channels: Int) -> Bool {
        winogradEnabled && kh == 3 && kw == 3 && stride == (1, 1) && dilation == (1, 1) && channels >= 8
    }

    /// Off when `SWIFTNAS_NO_WINOGRAD` is set: the direct kernels everywhere (the tests switch it
    /// to compare the two).
    nonisolated(unsafe) static var winogradEnabled = ProcessInfo.processInfo.environment["SWIFTNAS_NO_WINOGRAD"] == nil

    /// Transformed positions of a Winograd F(4×4, 3×3) tile (6×6).
    static let winogradPositions = 36

    /// Packed 3×3 weights `[3, 3, K, Npad]` → their Winograd transforms `[36, K, Npad]`.
    static func winogradWeights(_ packed: Tensor) -> Tensor {
        let (k, npad) = (packed.shape[2], packed.shape[3])
        let u = Tensor(uninitializedShape: [winogradPositions, k, npad])
        nas_winograd_weights(packed.data, Int32(k), Int32(npad), u.data)
        return u
    }

    /// Copies image `img` into a zero-bordered buffer `[Hp, Wp, cinStride]` (border stays zero).
    func padImage(_ x: UnsafePointer<Float>, _ img: Int, into xp: UnsafeMutablePointer<Float>) {
        for y in 0..<h {
            let src = x + (img * h + y) * w * cin
            let dst = xp + ((y + o.padding.0) * wp + o.padding.1) * cinStride
            if cinStride == cin { dst.update(from: src, count: w * cin) }
            else { for xx in 0..<w { (dst + xx * cinStride).update(from: src + xx * cin, count: cin) } }
        }
    }

    func forward(_ x: Tensor, _ weight: Tensor, bias: Tensor?, into out: Tensor) {
        let xs = UncheckedSendable(x.data)
        // Unpadded inputs whose channel count is a multiple of 16 are read in place.
        let inPlace = o.padding == (0, 0) && cinStride == cin
        forward(weight, bias: bias, into: out, scratch: inPlace ? 0 : hp * wp * cinStride) { img, scratch in
            guard let scratch else { return UnsafePointer(xs.value + img * h * w * cin) }
            padImage(xs.value, img, into: scratch)
            return UnsafePointer(scratch)
        }
    }

    /// The forward pass on a batch already padded (`reluPaddedBatch`). Returns the per-channel
    /// sums and sums of squares of the output (`[2·Cout]`, as batch norm's statistics), formed
    /// while the output is still in registers.
    func forward(paddedBatch xp: Tensor, _ weight: Tensor, bias: Tensor?, into out: Tensor) -> [Double] {
        let xs = UncheckedSendable(xp.data), size = hp * wp * cinStride
        return forward(weight, bias: bias, into: out, scratch: 0, channelSums: true) { img, _ in UnsafePointer(xs.value + img * size) }
    }

    /// Runs the kernel per image on the padded image `image(img, scratch)` returns; `scratch` is
    /// a zeroed per-worker buffer of `scratch` floats (nil when 0). With `channelSums`, returns
    /// the output's per-channel sums and sums of squares: in float per image, in double across
    /// images, reduced in worker order (deterministic for a thread count); otherwise `[]`.
    @discardableResult
    private func forward(_ weight: Tensor, bias: Tensor?, into out: Tensor, scratch: Int, channelSums: Bool = false,
                         image: (Int, UnsafeMutablePointer<Float>?) -> UnsafePointer<Float>) -> [Double] {
        let winograd = usesWinograd
        let packed = winograd ? Self.winogradWeights(packWeight(weight)) : packWeight(weight)
        let ws = UncheckedSendable(packed.data), os = UncheckedSendable(out.data)
        let bs = UncheckedSendable(bias?.data)
        let workers = Parallel.chunkCount(n)
        var partial = [Double](repeating: 0, count: channelSums ? workers * 2 * cout : 0)
        partial.withUnsafeMutableBufferPointer { buffer in
            let ps = UncheckedSendable(buffer.baseAddress)
            Parallel.forChunks(n) { worker, images in
                let xp = scratch == 0 ? nil : UnsafeMutablePointer<Float>.allocateLineAligned(capacity: scratch)
                xp?.initialize(repeating: 0, count: scratch)
                var imageSums = [Float](repeating: 0, count: channelSums ? 2 * coutPad : 0)
                defer { xp?.deallocate() }
                for img in images {
                    imageSums.withUnsafeMutableBufferPointer { sums in
                        if channelSums { sums.update(repeating: 0) }
                        let y = os.value + img * oh * ow * cout, stats = channelSums ? sums.baseAddress : nil
                        if winograd {
                            nas_conv_winograd_forward(image(img, xp), Int32(hp), Int32(wp), Int32(cin), Int32(cinStride), ws.value,
                                                      Int32(coutPad), Int32(oh), Int32(ow), Int32(cout), bs.value, y, nil, stats)
                        } else {
                            nas_conv_direct_forward(image(img, xp), Int32(wp), Int32(cin), Int32(cinStride), ws.value, Int32(coutPad),
                                                    Int32(kh), Int32(kw), Int32(o.stride.0), Int32(o.stride.1),
                                                    Int32(o.dilation.0), Int32(o.dilation.1), Int32(oh), Int32(ow), Int32(cout),
                                                    bs.value, y, nil, stats)
                        }
                        if channelSums, let p = ps.value {
                            let mine = p + worker * 2 * cout
                            for c in 0..<cout {
                                mine[c] += Double(sums[c])
                                mine[cout + c] += Double(sums[coutPad + c])
                            }
                        }
                    }
                }
            }
        }
        // The kernels read `packed` through a raw pointer: keep it alive until they finish.
        withExtendedLifetime(packed) {}
        guard channelSums else { return [] }
        var sums = sumOfWorkerRows(partial, workers: workers, width: 2 * cout)
        if let bias {
            // The kernel sums the outputs a before the bias b: Σ(a+b) = Σa + P·b, Σ(a+b)² = Σa² + 2b·Σa + P·b².
            let rows = Double(n * oh * ow)
            for c in 0..<cout {
                let b = Double(bias.data[c])
                sums[cout + c] += 2 * b * sums[c] + rows * b * b
                sums[c] += rows * b
            }
        }
        return sums
    }

    /// ReLU of every image of `x`, zero-bordered: `[N, Hp, Wp, cinStride]`. Convolving it is
    /// conv(relu(x)); it also serves the weight gradient without another copy.
    func reluPaddedBatch(_ x: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: [n, hp, wp, cinStride])
        let xs = UncheckedSendable(x.data), os = UncheckedSendable(out.data), size = hp * wp * cinStride
        Parallel.forChunks(n) { _, images in
            for img in images {
                nas_relu_pad_image(xs.value + img * h * w * cin, Int32(h), Int32(w), Int32(cin),
                                   Int32(o.padding.0), Int32(o.padding.1), Int32(cinStride), os.value + img * size)
            }
        }
        return out
    }

    /// Whether the input gradient can run as a stride-1 direct convolution of the padded output
    /// gradient with the flipped kernel.
    var inputGradientIsConvolution: Bool {
        o.stride == (1, 1) && o.dilation.0 * (kh - 1) >= o.padding.0 && o.dilation.1 * (kw - 1) >= o.padding.1
    }

    /// Input gradient (stride 1): dx = conv(pad(gy), flip(W)ᵀ). With `reluOf`, the gradient of
    /// conv(relu(x)) instead: dx is zeroed where x ≤ 0, image by image while it is in cache.
    func inputGradient(_ gy: Tensor, _ weight: Tensor, reluOf x: Tensor? = nil) -> Tensor {
        let gx = Tensor(uninitializedShape: [n, h, w, cin])
        let cinPad = Self.roundUp16(cin)
        // Flipped, transposed kernel [KH, KW, Cout, CinPad].
        let flipped = Tensor(zeros: [kh, kw, cout, cinPad])
        for co in 0..<cout { for i in 0..<kh { for j in 0..<kw { for c in 0..<cin {
            flipped.data[(((kh - 1 - i) * kw + (kw - 1 - j)) * cout + co) * cinPad + c] = weight.data[((co * kh + i) * kw + j) * cin + c]
        }}}}
        let ph = o.dilation.0 * (kh - 1) - o.padding.0, pw = o.dilation.1 * (kw - 1) - o.padding.1
        let gh = oh + 2 * ph, gw = ow + 2 * pw
        // Winograd reads 16 channels at a time: its buffer's channels are padded to 16 (zeros).
        let winograd = Self.winograd(kh: kh, kw: kw, stride: (1, 1), dilation: o.dilation, channels: cout)
        let stride = winograd ? Self.roundUp16(cout) : cout
        let weights = winograd ? Self.winogradWeights(flipped) : flipped
        let gys = UncheckedSendable(gy.data), fs = UncheckedSendable(weights.data), gxs = UncheckedSendable(gx.data)
        let xs = UncheckedSendable(x?.data)
        Parallel.forChunks(n) { _, images in
            let buf = UnsafeMutablePointer<Float>.allocateLineAligned(capacity: gh * gw * stride)
            buf.initialize(repeating: 0, count: gh * gw * stride)
            defer { buf.deallocate() }
            for img in images {
                for y in 0..<oh {
                    let src = gys.value + (img * oh + y) * ow * cout, dst = buf + ((y + ph) * gw + pw) * stride
                    if stride == cout { dst.update(from: src, count: ow * cout) }
                    else { for xx in 0..<ow { (dst + xx * stride).update(from: src + xx * cout, count: cout) } }
                }
                let dx = gxs.value + img * h * w * cin, mask = xs.value.map { UnsafePointer($0 + img * h * w * cin) }
                if winograd {
                    nas_conv_winograd_forward(buf, Int32(gh), Int32(gw), Int32(cout), Int32(stride), fs.value, Int32(cinPad),
                                              Int32(h), Int32(w), Int32(cin), nil, dx, mask, nil)
                } else {
                    nas_conv_direct_forward(buf, Int32(gw), Int32(cout), Int32(cout), fs.value, Int32(cinPad),
                                            Int32(kh), Int32(kw), 1, 1, Int32(o.dilation.0), Int32(o.dilation.1),
                                            Int32(h), Int32(w), Int32(cin), nil, dx, mask, nil)
                }
            }
        }
        withExtendedLifetime(weights) {}
        return gx
    }

    /// Weight gradient `[Cout, KH, KW, Cin]`, reduced over per-worker partial sums in worker order.
    func weightGradient(_ x: Tensor, _ gy: Tensor) -> Tensor {
        let xs = UncheckedSendable(x.data)
        return weightGradient(gy, scratch: hp * wp * cinStride) { img, scratch in
            padImage(xs.value, img, into: scratch!)
            return UnsafePointer(scratch!)
        }
    }

    /// The weight gradient from a batch already padded (`reluPaddedBatch`).
    func weightGradient(paddedBatch xp: Tensor, _ gy: Tensor) -> Tensor {
        let xs = UncheckedSendable(xp.data), size = hp * wp * cinStride
        return weightGradient(gy, scratch: 0) { img, _ in UnsafePointer(xs.value + img * size) }
    }

    private func weightGradient(_ gy: Tensor, scratch: Int,
                                image: (Int, UnsafeMutablePointer<Float>?) -> UnsafePointer<Float>) -> Tensor {
        let workers = Parallel.chunkCount(n)
        let partials = (0..<workers).map { _ in Tensor(zeros: [kh, kw, cinStride, coutPad]) }
        let ps = UncheckedSendable(partials.map { $0.data })
        let gys = UncheckedSendable(gy.data)
        let winograd = usesWinograd
        Parallel.forChunks(n) { worker, images in
            let xp = scratch == 0 ? nil : UnsafeMutablePointer<Float>.allocateLineAligned(capacity: scratch)
            xp?.initialize(repeating: 0, count: scratch)
            let padded = coutPad != cout ? UnsafeMutablePointer<Float>.allocateLineAligned(capacity: oh * ow * coutPad) : nil
            padded?.initialize(repeating: 0, count: oh * ow * coutPad)
            // Winograd's products, summed over this worker's images before the output transform.
            let transformed = winograd ? UnsafeMutablePointer<Float>.allocateLineAligned(capacity: Self.winogradPositions * cinStride * coutPad) : nil
            transformed?.initialize(repeating: 0, count: Self.winogradPositions * cinStride * coutPad)
            defer { xp?.deallocate(); padded?.deallocate(); transformed?.deallocate() }
            for img in images {
                let x = image(img, xp)
                var g = UnsafePointer(gys.value + img * oh * ow * cout)
                if let padded {
                    for p in 0..<(oh * ow) { (padded + p * coutPad).update(from: g + p * cout, count: cout) }
                    g = UnsafePointer(padded)
                }
                if let transformed {
                    nas_winograd_weight_grad(x, Int32(hp), Int32(wp), Int32(cinStride), g, Int32(coutPad), Int32(oh), Int32(ow), transformed)
                } else {
                    nas_conv_direct_weight_grad(x, Int32(wp), Int32(cin), Int32(cinStride), g, Int32(coutPad), Int32(kh), Int32(kw),
                                                Int32(o.stride.0), Int32(o.stride.1), Int32(o.dilation.0), Int32(o.dilation.1),
                                                Int32(oh), Int32(ow), ps.value[worker])
                }
            }
            if let transformed { nas_winograd_weight_grad_output(transformed, Int32(cinStride), Int32(coutPad), ps.value[worker]) }
        }
        let sum = Tensor(uninitializedShape: partials[0].shape)
        reducePartials(partials, into: sum)
        let gw = Tensor(uninitializedShape: [cout, kh, kw, cin])
        for co in 0..<cout { for i in 0..<kh { for j in 0..<kw { for c in 0..<cin {
            gw.data[((co * kh + i) * kw + j) * cin + c] = sum.data[((i * kw + j) * cinStride + c) * coutPad + co]
        }}}}
        return gw
    }
}
