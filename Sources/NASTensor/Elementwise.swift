import CKernels
import Foundation

// Binary elementwise ops with broadcasting, each with its backward.

// Always inlined, so each call site's operator closure is specialised into a tight loop
// (an indirect call per element made broadcasting ops a tenth of a supernet step).
@inline(__always)
private func binaryKernel(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    if a.shape == b.shape {
        let out = Tensor(uninitializedShape: a.shape)
        let pa = UncheckedSendable(a.data), pb = UncheckedSendable(b.data), po = UncheckedSendable(out.data)
        Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
            for i in range { po.value[i] = f(pa.value[i], pb.value[i]) }
        }
        return out
    }
    // b repeats along a's leading axes (a bias on [B, T, D]): rows of b.count, split across threads.
    if b.count > 1, a.rank > b.rank, Array(a.shape.suffix(b.rank)) == b.shape {
        let out = Tensor(uninitializedShape: a.shape)
        let n = b.count, rows = a.count / n
        let pa = UncheckedSendable(a.data), pb = UncheckedSendable(b.data), po = UncheckedSendable(out.data)
        Parallel.forChunks(rows, minChunk: max(1, elementwiseChunk / n)) { _, range in
            for r in range { for i in 0..<n { po.value[r * n + i] = f(pa.value[r * n + i], pb.value[i]) } }
        }
        return out
    }
    // A one-element operand (a scalar weight, e.g. an architecture weight times an op output).
    if b.count == 1 && a.rank >= b.rank {
        let out = Tensor(uninitializedShape: a.shape)
        let pa = a.data, po = out.data, y = b.data[0]
        for i in 0..<a.count { po[i] = f(pa[i], y) }
        return out
    }
    if a.count == 1 && b.rank >= a.rank {
        let out = Tensor(uninitializedShape: b.shape)
        let pb = b.data, po = out.data, x = a.data[0]
        for i in 0..<b.count { po[i] = f(x, pb[i]) }
        return out
    }
    let shape = broadcastShape(a.shape, b.shape)
    let out = Tensor(uninitializedShape: shape)
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    let pa = a.data, pb = b.data, po = out.data
    forEachBroadcastRun(shape, sa, sb) { o, oa, ob, n, stepA, stepB in
        if stepA == 1 && stepB == 0 {
            let y = pb[ob]
            for i in 0..<n { po[o + i] = f(pa[oa + i], y) }
        } else if stepA == 0 && stepB == 1 {
            let x = pa[oa]
            for i in 0..<n { po[o + i] = f(x, pb[ob + i]) }
        } else {
            for i in 0..<n { po[o + i] = f(pa[oa + i * stepA], pb[ob + i * stepB]) }
        }
    }
    return out
}

public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    binaryKernel(a, b, +).recorded("add", [a, b]) { g in
        [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? g.sumToShape(b.shape) : nil]
    }
}

public func sub(_ a: Tensor, _ b: Tensor) -> Tensor {
    binaryKernel(a, b, -).recorded("sub", [a, b]) { g in
        [a.requiresGrad ? g.sumToShape(a.shape) : nil,
         b.requiresGrad ? neg(g).sumToShape(b.shape) : nil]
    }
}

public func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
    binaryKernel(a, b, *).recorded("mul", [a, b]) { g in
        [a.requiresGrad ? mul(g, b).sumToShape(a.shape) : nil,
         b.requiresGrad ? mul(g, a).sumToShape(b.shape) : nil]
    }
}

public func div(_ a: Tensor, _ b: Tensor) -> Tensor {
    binaryKernel(a, b, /).recorded("div", [a, b]) { g in
        [a.requiresGrad ? div(g, b).sumToShape(a.shape) : nil,
         b.requiresGrad ? neg(div(mul(g, a), mul(b, b))).sumToShape(b.shape) : nil]
    }
}

/// Elementwise maximum; the gradient goes to `a` where `a >= b`, else to `b`.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    binaryKernel(a, b, { Swift.max($0, $1) }).recorded("maximum", [a, b]) { g in
        let takeA = binaryKernel(a, b) { $0 >= $1 ? 1 : 0 }
        let takeB = unaryKernel(takeA) { 1 - $0 }
        return [a.requiresGrad ? mul(g, takeA).sumToShape(a.shape) : nil,
                b.requiresGrad ? mul(g, takeB).sumToShape(b.shape) : nil]
    }
}

public func + (a: Tensor, b: Tensor) -> Tensor { add(a, b) }
public func - (a: Tensor, b: Tensor) -> Tensor { sub(a, b) }
public func * (a: Tensor, b: Tensor) -> Tensor { mul(a, b) }
public func / (a: Tensor, b: Tensor) -> Tensor { div(a, b) }
public func + (a: Tensor, s: Float) -> Tensor { addScalar(a, s) }
public func - (a: Tensor, s: Float) -> Tensor { addScalar(a, -s) }
public func * (a: Tensor, s: Float) -> Tensor { scale(a, s) }
public func * (s: Float, a: Tensor) -> Tensor { scale(a, s) }
public func / (a: Tensor, s: Float) -> Tensor { scale(a, 1 / s) }
public prefix func - (a: Tensor) -> Tensor { neg(a) }

// Unary elementwise ops.

/// Elements below which an elementwise loop stays on one thread (thread hand-off costs more).
let elementwiseChunk = 1 << 15

@inline(__always)
func unaryKernel(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
    let out = Tensor(uninitializedShape: a.shape)
    let pa = UncheckedSendable(a.data), po = UncheckedSendable(out.data)
    // Each element on its own: splitting the range keeps results identical at any thread count.
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        for i in range { po.value[i] = f(pa.value[i]) }
    }
    return out
}

/// out[i] = f(a[i], b[i]) for two same-shape tensors, outside autograd.
@inline(__always)
func zipKernel(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    precondition(a.count == b.count)
    let out = Tensor(uninitializedShape: a.shape)
    let pa = UncheckedSendable(a.data), pb = UncheckedSendable(b.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        for i in range { po.value[i] = f(pa.value[i], pb.value[i]) }
    }
    return out
}

public func neg(_ a: Tensor) -> Tensor {
    unaryKernel(a) { -$0 }.recorded("neg", [a]) { g in [neg(g)] }
}

public func scale(_ a: Tensor, _ s: Float) -> Tensor {
    unaryKernel(a) { $0 * s }.recorded("scale", [a]) { g in [scale(g, s)] }
}

public func addScalar(_ a: Tensor, _ s: Float) -> Tensor {
    unaryKernel(a) { $0 + s }.recorded("addScalar", [a]) { g in [g] }
}

public func exp(_ a: Tensor) -> Tensor {
    let out = unaryKernel(a) { Foundation.exp($0) }
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("exp", [a]) { g in [zipKernel(g, y, *)] }
}

public func log(_ a: Tensor) -> Tensor {
    unaryKernel(a) { Foundation.log($0) }.recorded("log", [a]) { g in [zipKernel(g, a, /)] }
}

public func sqrt(_ a: Tensor) -> Tensor {
    let out = unaryKernel(a) { $0.squareRoot() }
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("sqrt", [a]) { g in [zipKernel(g, y) { $0 * 0.5 / $1 }] }
}

public func pow(_ a: Tensor, _ p: Float) -> Tensor {
    unaryKernel(a) { Foundation.pow($0, p) }.recorded("pow", [a]) { g in
        [zipKernel(g, a) { $0 * p * Foundation.pow($1, p - 1) }]
    }
}

public func abs(_ a: Tensor) -> Tensor {
    unaryKernel(a) { Swift.abs($0) }.recorded("abs", [a]) { g in
        [zipKernel(g, a) { $1 > 0 ? $0 : ($1 < 0 ? -$0 : 0) }]
    }
}

public func relu(_ a: Tensor) -> Tensor {
    let out = Tensor(uninitializedShape: a.shape)
    nas_relu_forward(a.data, a.count, out.data)
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("relu", [a]) { g in
        let gx = Tensor(uninitializedShape: a.shape)
        nas_relu_backward(g.data, y.data, a.count, gx.data)
        return [gx]
    }
}

public func sigmoid(_ a: Tensor) -> Tensor {
    let out = unaryKernel(a) { 1 / (1 + Foundation.exp(-$0)) }
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("sigmoid", [a]) { g in [zipKernel(g, y) { $0 * $1 * (1 - $1) }] }
}

public func tanh(_ a: Tensor) -> Tensor {
    let out = unaryKernel(a) { Foundation.tanh($0) }
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("tanh", [a]) { g in [zipKernel(g, y) { $0 * (1 - $1 * $1) }] }
}

/// SiLU (swish): x·σ(x).
public func silu(_ a: Tensor) -> Tensor {
    unaryKernel(a) { $0 / (1 + Foundation.exp(-$0)) }.recorded("silu", [a]) { g in
        [zipKernel(g, a) { gy, x in
            let s = 1 / (1 + Foundation.exp(-x))
            return gy * s * (1 + x * (1 - s))
        }]
    }
}

/// GELU, exact erf form (PyTorch's default `approximate='none'`): x·Φ(x). Φ is kept from the
/// forward pass, so the backward, gy·(Φ(x) + x·φ(x)), needs no second erf.
public func gelu(_ a: Tensor) -> Tensor {
    let invSqrt2: Float = 0.70710678118654752
    let invSqrt2Pi: Float = 0.3989422804014327
    let y = Tensor(uninitializedShape: a.shape), cdf = Tensor(uninitializedShape: a.shape)
    let px = UncheckedSendable(a.data), py = UncheckedSendable(y.data), pcdf = UncheckedSendable(cdf.data)
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        for i in range {
            let x = px.value[i], e = erf(x * invSqrt2)
            py.value[i] = 0.5 * x * (1 + e)
            pcdf.value[i] = 0.5 * (1 + e)
        }
    }
    return y.recorded("gelu", [a]) { g in
        let pa = UncheckedSendable(a.data), pc = UncheckedSendable(cdf.data), pg = UncheckedSendable(g.data)
        let out = Tensor(uninitializedShape: a.shape)
        let po = UncheckedSendable(out.data)
        Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
            for i in range {
                let x = pa.value[i]
                po.value[i] = pg.value[i] * (pc.value[i] + x * invSqrt2Pi * Foundation.exp(-0.5 * x * x))
            }
        }
        return [out]
    }
}

/// Clamps values to [low, high]; the gradient passes where the value was inside.
public func clamp(_ a: Tensor, min low: Float, max high: Float) -> Tensor {
    unaryKernel(a) { Swift.min(Swift.max($0, low), high) }.recorded("clamp", [a]) { g in
        [zipKernel(g, a) { $1 >= low && $1 <= high ? $0 : 0 }]
    }
}
