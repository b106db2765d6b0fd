import Foundation

extension Tensor {
    /// Sum over `axes` (all axes when empty).
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let axesN = axes.isEmpty ? Array(0..<rank) : Array(Set(axes.map { normalizeAxis($0, rank: rank) })).sorted()
        var keptShape = shape
        var result: Tensor = self
        // Reduce one axis at a time, innermost first; fixed order keeps results deterministic.
        for ax in axesN.reversed() {
            result = reduceAxis(result, ax)
            keptShape[ax] = 1
        }
        let outShape = keepDims ? keptShape : shape.enumerated().filter { !axesN.contains($0.offset) }.map { $0.element }
        let out = result === self ? copy().reshaped(outShape) : Tensor(storage: result.storage, shape: outShape)
        let inShape = shape
        return out.recorded("sum", [self]) { g in
            [broadcastTo(g.reshaped(keptShape), inShape)]
        }
    }

    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let axesN = axes.isEmpty ? Array(0..<rank) : axes.map { normalizeAxis($0, rank: rank) }
        let n = Set(axesN).reduce(1) { $0 * shape[$1] }
        return scale(sum(axes: axes, keepDims: keepDims), 1 / Float(n))
    }

    /// Maximum along one axis; the gradient flows to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        let outer = shape[..<ax].reduce(1, *), n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *)
        var kept = shape; kept[ax] = 1
        let out = Tensor(uninitializedShape: keepDims ? kept : shape.enumerated().filter { $0.offset != ax }.map { $0.element })
        var argmax = [Int](repeating: 0, count: outer * inner)
        let p = data, po = out.data
        for o in 0..<outer {
            for i in 0..<inner {
                var best = -Float.infinity, bi = 0
                for k in 0..<n where p[(o * n + k) * inner + i] > best || k == 0 {
                    best = p[(o * n + k) * inner + i]; bi = k
                }
                po[o * inner + i] = best
                argmax[o * inner + i] = bi
            }
        }
        let inShape = shape
        return out.recorded("max", [self]) { g in
            let gin = Tensor(zeros: inShape)
            for o in 0..<outer { for i in 0..<inner {
                gin.data[(o * n + argmax[o * inner + i]) * inner + i] = g.data[o * inner + i]
            } }
            return [gin]
        }
    }

    /// Index of the maximum along the last axis, for each row.
    public func argmaxLastAxis() -> [Int] {
        let n = shape.last ?? 1, rows = count / Swift.max(n, 1)
        return (0..<rows).map { r in
            var best = -Float.infinity, bi = 0
            for k in 0..<n where data[r * n + k] > best { best = data[r * n + k]; bi = k }
            return bi
        }
    }
}

/// Sums one axis of a contiguous tensor (no autograd), keeping it as size 1.
private func reduceAxis(_ t: Tensor, _ ax: Int) -> Tensor {
    let outer = t.shape[..<ax].reduce(1, *), n = t.shape[ax], inner = t.shape[(ax + 1)...].reduce(1, *)
    var outShape = t.shape; outShape[ax] = 1
    let out = Tensor(zeros: outShape)
    let p = t.data, po = out.data
    for o in 0..<outer {
        let dst = po + o * inner
        for k in 0..<n {
            let src = p + (o * n + k) * inner
            for i in 0..<inner { dst[i] += src[i] }
        }
    }
    return out
}

/// Expands `t` to `shape` by repetition along size-1 axes (broadcasting), outside autograd.
func broadcastTo(_ t: Tensor, _ shape: [Int]) -> Tensor {
    if t.shape == shape { return t }
    let out = Tensor(uninitializedShape: shape)
    let st = broadcastStrides(t.shape, to: shape)
    let pt = t.data, po = out.data
    forEachBroadcastRun(shape, st, st) { o, ot, _, n, step, _ in
        for i in 0..<n { po[o + i] = pt[ot + i * step] }
    }
    return out
}

extension Tensor {
    /// Broadcasts to a larger shape (differentiable).
    public func expanded(to target: [Int]) -> Tensor {
        let inShape = shape
        return broadcastTo(self, target).recorded("expand", [self]) { g in [g.sumToShape(inShape)] }
    }
}
