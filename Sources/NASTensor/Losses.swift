import CKernels
import Foundation

/// Softmax along the last axis of `scale · x` (attention folds its 1/√d into `scale`, saving a
/// pass over the scores).
public func softmax(_ x: Tensor, scale: Float = 1) -> Tensor {
    let out = softmaxKernel(x, scale: scale)
    let d = x.shape.last!
    let saved = out.detach()   // not `out`: the tape closure must not retain its own output
    return out.recorded("softmax", [x]) { g in
        // dx = scale · y ⊙ (g − Σ g·y)
        let gx = Tensor(uninitializedShape: x.shape)
        let py = UncheckedSendable(saved.data), pg = UncheckedSendable(g.data), px = UncheckedSendable(gx.data)
        Parallel.forChunks(x.count / d, minChunk: max(1, elementwiseChunk / d)) { _, rows in
            for r in rows {
                let y = py.value + r * d, gr = pg.value + r * d, o = px.value + r * d
                var dot: Float = 0
                for i in 0..<d { dot += gr[i] * y[i] }
                for i in 0..<d { o[i] = scale * y[i] * (gr[i] - dot) }
            }
        }
        return [gx]
    }
}

/// Log-softmax along the last axis.
public func logSoftmax(_ x: Tensor) -> Tensor {
    let d = x.shape.last!
    let out = Tensor(uninitializedShape: x.shape)
    for r in 0..<(x.count / d) {
        let row = x.data + r * d
        var m = -Float.infinity
        for i in 0..<d { m = max(m, row[i]) }
        var s: Float = 0
        for i in 0..<d { s += Foundation.exp(row[i] - m) }
        let lse = m + Foundation.log(s)
        for i in 0..<d { out.data[r * d + i] = row[i] - lse }
    }
    let saved = out.detach()   // not `out`: the tape closure must not retain its own output
    return out.recorded("logSoftmax", [x]) { g in
        // dx = g − softmax · Σ g
        let gx = Tensor(uninitializedShape: x.shape)
        for r in 0..<(x.count / d) {
            let y = saved.data + r * d, gr = g.data + r * d
            var s: Float = 0
            for i in 0..<d { s += gr[i] }
            for i in 0..<d { gx.data[r * d + i] = gr[i] - Foundation.exp(y[i]) * s }
        }
        return [gx]
    }
}

func softmaxKernel(_ x: Tensor, scale: Float = 1) -> Tensor {
    let d = x.shape.last!
    let out = Tensor(uninitializedShape: x.shape)
    let px = UncheckedSendable(x.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(x.count / d, minChunk: max(1, elementwiseChunk / d)) { _, rows in
        let lo = rows.lowerBound * d
        nas_softmax_rows(px.value + lo, rows.count, d, scale, po.value + lo)
    }
    return out
}

/// Mean cross-entropy of logits `[N, C]` against class indices, with PyTorch's label
/// smoothing: the target is `(1−ε)·onehot + ε/C`.
public func crossEntropy(_ logits: Tensor, targets: [Int], labelSmoothing: Float = 0) -> Tensor {
    precondition(logits.rank == 2, "crossEntropy expects logits [N, C], got \(logits.shape)")
    let n = logits.shape[0], c = logits.shape[1]
    precondition(targets.count == n, "crossEntropy: \(targets.count) targets for \(n) rows")
    let probs = softmaxKernel(logits)
    var loss: Double = 0
    for r in 0..<n {
        let t = targets[r]
        precondition(t >= 0 && t < c, "crossEntropy: target \(t) outside 0..<\(c)")
        let row = logits.data + r * c
        var m = -Float.infinity
        for i in 0..<c { m = max(m, row[i]) }
        var s: Double = 0
        for i in 0..<c { s += Double(Foundation.exp(row[i] - m)) }
        let lse = Double(m) + Foundation.log(s)
        var meanLogP: Double = 0
        for i in 0..<c { meanLogP += Double(row[i]) - lse }
        meanLogP /= Double(c)
        loss += -(1 - Double(labelSmoothing)) * (Double(row[t]) - lse) - Double(labelSmoothing) * meanLogP
    }
    let out = Tensor(scalar: Float(loss / Double(n)))
    return out.recorded("crossEntropy", [logits]) { g in
        let scale = g.item / Float(n)
        let gx = Tensor(uninitializedShape: logits.shape)
        for r in 0..<n {
            for i in 0..<c {
                let target = (i == targets[r] ? 1 - labelSmoothing : 0) + labelSmoothing / Float(c)
                gx.data[r * c + i] = (probs.data[r * c + i] - target) * scale
            }
        }
        return [gx]
    }
}

/// Mean squared error.
public func mseLoss(_ x: Tensor, _ y: Tensor) -> Tensor {
    let d = x - y
    return (d * d).mean()
}

/// Mean binary cross-entropy of `logits` against 0/1 `targets` of the same shape, in the stable
/// form max(x, 0) − x·t + log(1 + e^−|x|) (PyTorch's `binary_cross_entropy_with_logits`).
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor) -> Tensor {
    precondition(logits.shape == targets.shape, "binaryCrossEntropyWithLogits: \(logits.shape) vs \(targets.shape)")
    return (relu(logits) - logits * targets + log(exp(-abs(logits)) + 1)).mean()
}

/// Soft Dice loss 1 − (2·Σ σ(x)·t + s) / (Σ σ(x) + Σ t + s) over the whole batch, with
/// smoothing `s` (1 by default, so empty masks and empty predictions give 0, not 0/0).
public func softDiceLoss(_ logits: Tensor, _ targets: Tensor, smoothing: Float = 1) -> Tensor {
    precondition(logits.shape == targets.shape, "softDiceLoss: \(logits.shape) vs \(targets.shape)")
    let p = sigmoid(logits)
    let overlap = (p * targets).sum() * 2 + smoothing
    return neg(overlap / (p.sum() + targets.sum() + smoothing)) + 1
}
