import CKernels
import Foundation

/// Max pooling on channels-last images `[N, H, W, C]` (padding counts as −∞, floor mode).
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let s = stride ?? kernel
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = windowOutputSize(h, kernel: kernel, stride: s, padding: padding, dilation: 1)
    let ow = windowOutputSize(w, kernel: kernel, stride: s, padding: padding, dilation: 1)
    let out = Tensor(uninitializedShape: [n, oh, ow, c])
    var argmax = [Int32](repeating: -1, count: out.count)
    let px = UncheckedSendable(x.data), po = UncheckedSendable(out.data)
    argmax.withUnsafeMutableBufferPointer { am in
        let pa = UncheckedSendable(am.baseAddress!)
        Parallel.forChunks(n) { _, images in
            for img in images {
                for i in 0..<oh { for j in 0..<ow {
                    let o = ((img * oh + i) * ow + j) * c
                    for ch in 0..<c { po.value[o + ch] = -.infinity }
                    for di in 0..<kernel {
                        let hi = i * s - padding + di
                        if hi < 0 || hi >= h { continue }
                        for dj in 0..<kernel {
                            let wi = j * s - padding + dj
                            if wi < 0 || wi >= w { continue }
                            let src = ((img * h + hi) * w + wi) * c
                            for ch in 0..<c where px.value[src + ch] > po.value[o + ch] {
                                po.value[o + ch] = px.value[src + ch]
                                pa.value[o + ch] = Int32(src + ch)
                            }
                        }
                    }
                }}
            }
        }
    }
    let inShape = x.shape
    return out.recorded("maxPool2d", [x]) { g in
        let gx = Tensor(zeros: inShape)
        for i in 0..<g.count where argmax[i] >= 0 { gx.data[Int(argmax[i])] += g.data[i] }
        return [gx]
    }
}

/// Average pooling on `[N, H, W, C]`. With `countIncludePad == false` (what NAS-Bench-201's
/// `avg_pool_3x3` uses) each window divides by the number of real pixels it covers.
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) -> Tensor {
    let s = stride ?? kernel
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = windowOutputSize(h, kernel: kernel, stride: s, padding: padding, dilation: 1)
    let ow = windowOutputSize(w, kernel: kernel, stride: s, padding: padding, dilation: 1)
    let include: Int32 = countIncludePad ? 1 : 0
    let out = Tensor(uninitializedShape: [n, oh, ow, c])
    let px = UncheckedSendable(x.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(n) { _, images in
        for img in images {
            nas_avgpool_forward(px.value + img * h * w * c, Int32(h), Int32(w), Int32(c), Int32(kernel), Int32(s),
                                Int32(padding), include, Int32(oh), Int32(ow), po.value + img * oh * ow * c)
        }
    }
    let inShape = x.shape
    return out.recorded("avgPool2d", [x]) { g in
        let gx = Tensor(zeros: inShape)
        let pg = UncheckedSendable(g.data), pgx = UncheckedSendable(gx.data)
        Parallel.forChunks(n) { _, images in
            for img in images {
                nas_avgpool_backward(pg.value + img * oh * ow * c, Int32(h), Int32(w), Int32(c), Int32(kernel), Int32(s),
                                     Int32(padding), include, Int32(oh), Int32(ow), pgx.value + img * h * w * c)
            }
        }
        return [gx]
    }
}

/// Adaptive average pooling to `outputSize` on `[N, H, W, C]` (PyTorch's bin edges:
/// start = ⌊i·H/out⌋, end = ⌈(i+1)·H/out⌉).
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = outputSize
    if oh == 1 && ow == 1 { return globalAvgPool2d(x).reshaped([n, 1, 1, c]) }
    func bins(_ size: Int, _ out: Int) -> [Range<Int>] {
        (0..<out).map { i in (i * size / out)..<((i + 1) * size + out - 1) / out }
    }
    let hb = bins(h, oh), wb = bins(w, ow)
    let out = Tensor(zeros: [n, oh, ow, c])
    for img in 0..<n { for i in 0..<oh { for j in 0..<ow {
        let o = ((img * oh + i) * ow + j) * c
        let inv = 1 / Float(hb[i].count * wb[j].count)
        for hi in hb[i] { for wi in wb[j] {
            let src = ((img * h + hi) * w + wi) * c
            for ch in 0..<c { out.data[o + ch] += x.data[src + ch] * inv }
        }}
    }}}
    let inShape = x.shape
    return out.recorded("adaptiveAvgPool2d", [x]) { g in
        let gx = Tensor(zeros: inShape)
        for img in 0..<n { for i in 0..<oh { for j in 0..<ow {
            let o = ((img * oh + i) * ow + j) * c
            let inv = 1 / Float(hb[i].count * wb[j].count)
            for hi in hb[i] { for wi in wb[j] {
                let dst = ((img * h + hi) * w + wi) * c
                for ch in 0..<c { gx.data[dst + ch] += g.data[o + ch] * inv }
            }}
        }}}
        return [gx]
    }
}

/// Mean over height and width: `[N, H, W, C]` → `[N, C]`.
public func globalAvgPool2d(_ x: Tensor) -> Tensor {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let hw = h * w
    let out = Tensor(zeros: [n, c])
    let inv = 1 / Float(hw)
    for img in 0..<n {
        let dst = out.data + img * c
        for p in 0..<hw {
            let src = x.data + (img * hw + p) * c
            for ch in 0..<c { dst[ch] += src[ch] }
        }
        for ch in 0..<c { dst[ch] *= inv }
    }
    let inShape = x.shape
    return out.recorded("globalAvgPool2d", [x]) { g in
        let gx = Tensor(uninitializedShape: inShape)
        for img in 0..<n {
            let src = g.data + img * c
            for p in 0..<hw {
                let dst = gx.data + (img * hw + p) * c
                for ch in 0..<c { dst[ch] = src[ch] * inv }
            }
        }
        return [gx]
    }
}
