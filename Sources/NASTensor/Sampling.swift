import Foundation

/// Inverted dropout: zeroes each value with probability `p` and scales the rest by 1/(1−p).
public func dropout(_ x: Tensor, p: Float, training: Bool, using rng: inout SeededGenerator) -> Tensor {
    guard training, p > 0 else { return x }
    precondition(p < 1, "dropout probability must be below 1, got \(p)")
    let keep = 1 / (1 - p)
    let mask = Tensor(uninitializedShape: x.shape)
    for i in 0..<mask.count { mask.data[i] = rng.nextFloat() < p ? 0 : keep }
    return x * mask
}

/// Rows of `weight` `[V, D]` picked by `indices`; the result has shape `indexShape + [D]`.
public func embedding(_ weight: Tensor, indices: [Int], indexShape: [Int]? = nil) -> Tensor {
    let v = weight.shape[0], d = weight.shape[1]
    let out = Tensor(uninitializedShape: (indexShape ?? [indices.count]) + [d])
    precondition(out.count == indices.count * d, "embedding: index shape does not match \(indices.count) indices")
    for (i, idx) in indices.enumerated() {
        precondition(idx >= 0 && idx < v, "embedding: index \(idx) outside 0..<\(v)")
        (out.data + i * d).update(from: weight.data + idx * d, count: d)
    }
    return out.recorded("embedding", [weight]) { g in
        let gw = Tensor(zeros: weight.shape)
        for (i, idx) in indices.enumerated() {
            let dst = gw.data + idx * d, src = g.data + i * d
            for j in 0..<d { dst[j] += src[j] }
        }
        return [gw]
    }
}
