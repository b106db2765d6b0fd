/// NumPy/PyTorch broadcasting of two shapes.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let da = i < n - a.count ? 1 : a[i - (n - a.count)]
        let db = i < n - b.count ? 1 : b[i - (n - b.count)]
        precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
        out[i] = max(da, db)
    }
    return out
}

/// Strides that read a tensor of `shape` as if it had the (broadcast) `target` shape: 0 on
/// broadcast axes.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let own = contiguousStrides(shape)
    let offset = target.count - shape.count
    return (0..<target.count).map { i in
        i < offset ? 0 : (shape[i - offset] == 1 && target[i] != 1 ? 0 : own[i - offset])
    }
}

/// Visits every element of `outShape` in row-major order with the flat offsets into two
/// broadcast operands. The innermost axis is handed over as a run so callers loop tightly.
/// `rows` (runs, counted over all but the last axis) limits the visit to a part, so callers
/// can split the work across threads.
@inline(__always)
func forEachBroadcastRun(_ outShape: [Int], _ sa: [Int], _ sb: [Int], rows: Range<Int>? = nil,
                         _ body: (_ outOffset: Int, _ aOffset: Int, _ bOffset: Int,
                                  _ length: Int, _ aStep: Int, _ bStep: Int) -> Void) {
    let rank = outShape.count
    if rank == 0 { body(0, 0, 0, 1, 0, 0); return }
    let inner = outShape[rank - 1]
    let outer = broadcastRunCount(outShape)
    if inner == 0 || outer == 0 { return }
    let visit = rows ?? 0..<outer
    // The multi-index and operand offsets of the first run visited.
    var index = [Int](repeating: 0, count: rank)
    var oa = 0, ob = 0, rest = visit.lowerBound
    for ax in stride(from: rank - 2, through: 0, by: -1) {
        index[ax] = rest % outShape[ax]; rest /= outShape[ax]
        oa += index[ax] * sa[ax]; ob += index[ax] * sb[ax]
    }
    for r in visit {
        body(r * inner, oa, ob, inner, sa[rank - 1], sb[rank - 1])
        // Advance the multi-index over all but the last axis.
        var ax = rank - 2
        while ax >= 0 {
            index[ax] += 1
            oa += sa[ax]; ob += sb[ax]
            if index[ax] < outShape[ax] { break }
            oa -= sa[ax] * index[ax]; ob -= sb[ax] * index[ax]
            index[ax] = 0
            ax -= 1
        }
    }
}

/// Number of innermost-axis runs `forEachBroadcastRun` visits for `outShape`.
func broadcastRunCount(_ outShape: [Int]) -> Int {
    guard let inner = outShape.last else { return 1 }
    return elementCount(outShape) / max(inner, 1)
}

extension Tensor {
    /// Sums a broadcast gradient back down to `shape`.
    func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let offset = rank - target.count
        precondition(offset >= 0, "cannot reduce \(shape) to \(target)")
        var axes: [Int] = Array(0..<offset)
        for i in 0..<target.count where target[i] == 1 && shape[i + offset] != 1 { axes.append(i + offset) }
        return withoutGrad { sum(axes: axes, keepDims: true) }.reshaped(target)
    }
}
