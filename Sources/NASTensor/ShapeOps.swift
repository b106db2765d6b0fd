import Foundation

extension Tensor {
    /// Same data, new shape (one dimension may be -1). Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            s[i] = count / Swift.max(known, 1)
        }
        precondition(elementCount(s) == count, "cannot reshape \(shape) to \(newShape)")
        if s == shape { return self }
        let inShape = shape
        return Tensor(storage: storage, shape: s).recorded("reshape", [self]) { g in [g.reshaped(inShape)] }
    }

    public func flattened(from axis: Int = 1) -> Tensor {
        reshaped(Array(shape[..<axis]) + [shape[axis...].reduce(1, *)])
    }

    /// Reorders axes: output axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permutation \(order) for rank \(rank)")
        let outShape = order.map { shape[$0] }
        let inStrides = contiguousStrides(shape)
        let srcStrides = order.map { inStrides[$0] }
        let out = Tensor(uninitializedShape: outShape)
        let p = UncheckedSendable(data), po = UncheckedSendable(out.data)
        let runs = broadcastRunCount(outShape), runLength = outShape.last ?? 1
        Parallel.forChunks(runs, minChunk: Swift.max(1, elementwiseChunk / Swift.max(runLength, 1))) { _, rows in
            forEachBroadcastRun(outShape, srcStrides, srcStrides, rows: rows) { o, os, _, n, step, _ in
                for i in 0..<n { po.value[o + i] = p.value[os + i * step] }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in order.enumerated() { inverse[a] = i }
        return out.recorded("permute", [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps the last two axes.
    public func transposedLast() -> Tensor {
        var order = Array(0..<rank); order.swapAt(rank - 1, rank - 2)
        return permuted(order)
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) out of \(shape) on axis \(ax)")
        let outer = shape[..<ax].reduce(1, *), n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *)
        var outShape = shape; outShape[ax] = range.count
        let out = Tensor(uninitializedShape: outShape)
        let len = range.count * inner
        for o in 0..<outer {
            (out.data + o * len).update(from: data + (o * n + range.lowerBound) * inner, count: len)
        }
        let inShape = shape
        return out.recorded("slice", [self]) { g in
            let gin = Tensor(zeros: inShape)
            for o in 0..<outer {
                (gin.data + (o * n + range.lowerBound) * inner).update(from: g.data + o * len, count: len)
            }
            return [gin]
        }
    }

    /// Pads with a constant; `padding[i]` is (before, after) for axis i (missing axes: none).
    public func padded(_ padding: [(Int, Int)], value: Float = 0) -> Tensor {
        let pads = padding + Array(repeating: (0, 0), count: rank - padding.count)
        let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
        let out = Tensor(repeating: value, shape: outShape)
        let outStrides = contiguousStrides(outShape)
        let base = zip(pads, outStrides).reduce(0) { $0 + $1.0.0 * $1.1 }
        copyBlock(from: self, into: out, dstStrides: outStrides, dstOffset: base, reverse: false)
        let inShape = shape
        return out.recorded("pad", [self]) { g in
            let gin = Tensor(uninitializedShape: inShape)
            copyBlock(from: gin, into: g, dstStrides: outStrides, dstOffset: base, reverse: true)
            return [gin]
        }
    }
}

/// Copies a contiguous block into a strided region of a larger tensor (or back, when `reverse`).
private func copyBlock(from small: Tensor, into big: Tensor, dstStrides: [Int], dstOffset: Int, reverse: Bool) {
    let ps = small.data, pb = big.data
    var i = 0
    forEachBroadcastRun(small.shape, dstStrides, dstStrides) { _, ob, _, n, _, _ in
        if reverse { (ps + i).update(from: pb + dstOffset + ob, count: n) }
        else { (pb + dstOffset + ob).update(from: ps + i, count: n) }
        i += n
    }
}

/// Joins tensors along `axis` (all other dimensions equal).
public func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
    let first = tensors[0]
    let ax = normalizeAxis(axis, rank: first.rank)
    for t in tensors {
        precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
                     "concatenate: \(t.shape) does not match \(first.shape) off axis \(ax)")
    }
    let outer = first.shape[..<ax].reduce(1, *), inner = first.shape[(ax + 1)...].reduce(1, *)
    let sizes = tensors.map { $0.shape[ax] }
    let total = sizes.reduce(0, +)
    var outShape = first.shape; outShape[ax] = total
    let out = Tensor(uninitializedShape: outShape)
    var start = 0
    for (t, n) in zip(tensors, sizes) {
        for o in 0..<outer {
            (out.data + (o * total + start) * inner).update(from: t.data + o * n * inner, count: n * inner)
        }
        start += n
    }
    return out.recorded("concatenate", tensors) { g in
        var s = 0
        return zip(tensors, sizes).map { t, n in
            defer { s += n }
            return t.requiresGrad ? g.slice(axis: ax, s..<(s + n)) : nil
        }
    }
}

/// Stacks same-shape tensors along a new leading axis.
public func stack(_ tensors: [Tensor]) -> Tensor {
    concatenate(tensors.map { $0.reshaped([1] + $0.shape) }, axis: 0)
}
