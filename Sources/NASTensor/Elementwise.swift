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
        let y = b.data[0]
        return unaryKernel(a) { f($0, y) }
    }
    if a.count == 1 && b.rank >= a.rank {
        let x = a.data[0]
        return unaryKernel(b) { f(x, $0) }
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
    let pa = UncheckedSendable(a.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        nas_relu_forward(pa.value + range.lowerBound, range.count, po.value + range.lowerBound)
    }
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("relu", [a]) { g in
        let gx = Tensor(uninitializedShape: a.shape)
        let pg = UncheckedSendable(g.data), py = UncheckedSendable(y.data), px = UncheckedSendable(gx.data)
        Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
            let lo = range.lowerBound
            nas_relu_backward(pg.value + lo, py.value + lo, range.count, px.value + lo)
        }
        return [gx]
    }
}

public func sigmoid(_ a: Tensor) -> Tensor {
    let out = sigmoidKernel(a)
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("sigmoid", [a]) { g in [zipKernel(g, y) { $0 * $1 * (1 - $1) }] }
}

/// σ(x) outside autograd, by the C kernel's vectorized exp.
private func sigmoidKernel(_ a: Tensor) -> Tensor {
    let out = Tensor(uninitializedShape: a.shape)
    let pa = UncheckedSendable(a.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        nas_sigmoid_forward(pa.value + range.lowerBound, range.count, po.value + range.lowerBound)
    }
    return out
}

public func tanh(_ a: Tensor) -> Tensor {
    let out = unaryKernel(a) { Foundation.tanh($0) }
    // The closure keeps a detached view: capturing `out` itself would form a retain cycle.
    let y = out.detach()
    return out.recorded("tanh", [a]) { g in [zipKernel(g, y) { $0 * (1 - $1 * $1) }] }
}

/// SiLU (swish): x·σ(x); σ(x) is kept for the backward, gy·σ·(1 + x·(1 − σ)).
public func silu(_ a: Tensor) -> Tensor {
    let s = sigmoidKernel(a)
    return zipKernel(a, s) { $0 * $1 }.recorded("silu", [a]) { g in
        let gx = Tensor(uninitializedShape: a.shape)
        let pg = UncheckedSendable(g.data), px = UncheckedSendable(a.data), ps = UncheckedSendable(s.data)
        let po = UncheckedSendable(gx.data)
        Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
            for i in range {
                let x = px.value[i], sx = ps.value[i]
                po.value[i] = pg.value[i] * sx * (1 + x * (1 - sx))
            }
        }
        return [gx]
    }
}

/// GELU, exact erf form (PyTorch's default `approximate='none'`): x·Φ(x). Φ is kept from the
/// forward pass, so the backward, gy·(Φ(x) + x·φ(x)), needs no second erf. The C kernels' erf
/// is within 5e-7 of libm's (checked in the tests).
public func gelu(_ a: Tensor) -> Tensor {
    let y = Tensor(uninitializedShape: a.shape), cdf = Tensor(uninitializedShape: a.shape)
    let px = UncheckedSendable(a.data), py = UncheckedSendable(y.data), pcdf = UncheckedSendable(cdf.data)
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        let lo = range.lowerBound
        nas_gelu_forward(px.value + lo, range.count, py.value + lo, pcdf.value + lo)
    }
    return y.recorded("gelu", [a]) { g in
        // The closure holds `a` and `cdf` themselves (not only their pointers) so they outlive it.
        let out = Tensor(uninitializedShape: a.shape)
        let px = UncheckedSendable(a.data), pcdf = UncheckedSendable(cdf.data)
        let pg = UncheckedSendable(g.data), po = UncheckedSendable(out.data)
        Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
            let lo = range.lowerBound
            nas_gelu_backward(px.value + lo, pcdf.value + lo, pg.value + lo, range.count, po.value + lo)
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
