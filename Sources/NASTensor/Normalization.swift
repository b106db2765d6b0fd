import CKernels
import Foundation

/// Batch normalisation over every axis but the last (channels-last), PyTorch semantics:
/// training mode normalises with the batch's biased variance and updates the running
/// statistics with the unbiased one; evaluation mode uses the running statistics.
/// With `adding`, returns `adding + bn(x)` in the same pass (a sum of normalised branches, as in
/// NAS cells, without a separate add). `channelSums` (training mode): x's per-channel sums and
/// sums of squares, `[2·C]`, when its producer formed them already.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5, adding residual: Tensor? = nil,
                      channelSums precomputed: [Double]? = nil) -> Tensor {
    precondition(residual == nil || residual!.shape == x.shape,
                 "batchNorm adding: shape \(residual?.shape ?? []) is not the input's \(x.shape)")
    let c = x.shape.last!
    let rows = x.count / c
    let mean = Tensor(zeros: [c]), invStd = Tensor(zeros: [c])
    if training {
        precondition(rows > 1, "batchNorm in training mode needs more than one value per channel, got \(x.shape)")
        // Per-channel sum and sum of squares in double, per worker chunk, reduced in chunk order.
        // The producer of x may have summed it already (`reluConv2dWithChannelSums`).
        let sums = precomputed ?? channelSums(x, nil)
        precondition(sums.count == 2 * c, "batchNorm: \(sums.count) channel sums for \(c) channels")
        for ch in 0..<c {
            let m = sums[ch] / Double(rows)
            let ss = Swift.max(sums[c + ch] - Double(rows) * m * m, 0)
            mean.data[ch] = Float(m)
            invStd.data[ch] = Float(1 / (ss / Double(rows) + Double(eps)).squareRoot())
            if let runningMean, let runningVar {
                runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * Float(m)
                runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * Float(ss / Double(rows - 1))
            }
        }
    } else {
        precondition(runningMean != nil && runningVar != nil, "batchNorm in evaluation mode needs running statistics")
        for ch in 0..<c {
            mean.data[ch] = runningMean!.data[ch]
            invStd.data[ch] = 1 / (runningVar!.data[ch] + eps).squareRoot()
        }
    }
    // y = x·scale + shift per channel, with scale = γ/σ and shift = β − μ·scale.
    let scale = Tensor(uninitializedShape: [c]), shift = Tensor(uninitializedShape: [c])
    for ch in 0..<c {
        scale.data[ch] = invStd.data[ch] * (weight?.data[ch] ?? 1)
        shift.data[ch] = (bias?.data[ch] ?? 0) - mean.data[ch] * scale.data[ch]
    }
    let out = Tensor(uninitializedShape: x.shape)
    affinePerChannel(x, a: scale, b: residual.map { (Tensor(repeating: 1, shape: [c]), $0) }, c: shift, into: out)
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    if let residual { inputs.append(residual) }
    return out.recorded("batchNorm", inputs) { g in
        // Σg and Σg·x per channel; Σg·x̂ = σ⁻¹·(Σg·x − μ·Σg).
        let sums = channelSums(g, x)
        let sg = (0..<c).map { Float(sums[$0]) }
        let sgx = (0..<c).map { Float((sums[c + $0] - Double(mean.data[$0]) * sums[$0]) * Double(invStd.data[$0])) }
        var gx: Tensor? = nil
        if x.requiresGrad {
            // Training: dx = γσ⁻¹·(g − Σg/N − x̂·Σg·x̂/N), i.e. a·g + b·x + c per channel.
            let a = Tensor(uninitializedShape: [c]), b = Tensor(uninitializedShape: [c]), k = Tensor(uninitializedShape: [c])
            let invN = 1 / Float(rows)
            for ch in 0..<c {
                let gs = (weight?.data[ch] ?? 1) * invStd.data[ch]
                a.data[ch] = gs
                if training {
                    let xs = invStd.data[ch] * invN * sgx[ch]
                    b.data[ch] = -gs * xs
                    k.data[ch] = -gs * invN * sg[ch] + gs * xs * mean.data[ch]
                } else {
                    b.data[ch] = 0; k.data[ch] = 0
                }
            }
            let t = Tensor(uninitializedShape: x.shape)
            affinePerChannel(g, a: a, b: (b, x), c: k, into: t)
            gx = t
        }
        var grads: [Tensor?] = [gx]
        if let weight { grads.append(weight.requiresGrad ? Tensor(shape: [c], data: sgx) : nil) }
        if let bias { grads.append(bias.requiresGrad ? Tensor(shape: [c], data: sg) : nil) }
        if let residual { grads.append(residual.requiresGrad ? g : nil) }
        return grads
    }
}

/// Σ over every axis but the last of a channels-last tensor, `[C]`: a convolution's bias gradient
/// (split over the workers like batch norm's statistics).
func channelSum(_ t: Tensor) -> Tensor {
    let c = t.shape.last!
    let sums = channelSums(t, nil)
    return Tensor(shape: [c], data: (0..<c).map { Float(sums[$0]) })
}

/// Per-channel Σu and Σu·v (v = u when nil) over all rows, split over workers and reduced in
/// worker order.
private func channelSums(_ u: Tensor, _ v: Tensor?) -> [Double] {
    let channels = u.shape.last!, rows = u.count / channels
    let workers = Parallel.chunkCount(rows, minChunk: 4096)
    var partial = [Double](repeating: 0, count: workers * 2 * channels)
    let pu = UncheckedSendable(u.data), pv = UncheckedSendable(v?.data)
    partial.withUnsafeMutableBufferPointer { buf in
        let pp = UncheckedSendable(buf.baseAddress!)
        Parallel.forChunks(rows, minChunk: 4096) { w, range in
            nas_channel_sums(pu.value + range.lowerBound * channels, pv.value.map { $0 + range.lowerBound * channels },
                             range.count, Int32(channels), pp.value + w * 2 * channels)
        }
    }
    return sumOfWorkerRows(partial, workers: workers, width: 2 * channels)
}

/// out = a·u + b·v + c per channel (last axis), where `b` optionally pairs coefficients with a second tensor.
private func affinePerChannel(_ u: Tensor, a: Tensor, b: (Tensor, Tensor)?, c: Tensor, into out: Tensor) {
    let ch = u.shape.last!, rows = u.count / ch
    let pu = UncheckedSendable(u.data), po = UncheckedSendable(out.data)
    let pa = UncheckedSendable(a.data), pc = UncheckedSendable(c.data)
    let pb = UncheckedSendable(b?.0.data), pv = UncheckedSendable(b?.1.data)
    Parallel.forChunks(rows, minChunk: 4096) { _, range in
        let off = range.lowerBound * ch
        nas_channel_affine(pu.value + off, pa.value, pb.value, pv.value.map { $0 + off }, pc.value,
                           range.count, Int32(ch), po.value + off)
    }
    withExtendedLifetime((a, b, c)) {}
}

/// Layer normalisation over the last axis with optional affine parameters `[D]`. Rows are split
/// across threads; the weight and bias gradients are split by column, each summed over the rows
/// in order, so results are the same at any thread count.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    let d = x.shape.last!, rows = x.count / d
    let meanV = Tensor(uninitializedShape: [rows]), invStd = Tensor(uninitializedShape: [rows])
    let out = Tensor(uninitializedShape: x.shape)
    let ones = [Float](repeating: 1, count: d), zeros = [Float](repeating: 0, count: d)
    let w = UncheckedSendable(weight.map { Array(UnsafeBufferPointer(start: $0.data, count: d)) } ?? ones)
    let b = UncheckedSendable(bias.map { Array(UnsafeBufferPointer(start: $0.data, count: d)) } ?? zeros)
    let px = UncheckedSendable(x.data), po = UncheckedSendable(out.data)
    let pm = UncheckedSendable(meanV.data), ps = UncheckedSendable(invStd.data)
    let minRows = max(1, elementwiseChunk / max(d, 1))
    Parallel.forChunks(rows, minChunk: minRows) { _, range in
        for r in range {
            let row = px.value + r * d
            var s: Double = 0
            for i in 0..<d { s += Double(row[i]) }
            let m = s / Double(d)
            var v: Double = 0
            for i in 0..<d { let t = Double(row[i]) - m; v += t * t }
            let mean = Float(m), inv = Float(1 / (v / Double(d) + Double(eps)).squareRoot())
            pm.value[r] = mean; ps.value[r] = inv
            for i in 0..<d { po.value[r * d + i] = (row[i] - mean) * inv * w.value[i] + b.value[i] }
        }
    }
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return out.recorded("layerNorm", inputs) { g in
        // The statistics' tensors are captured here, so their memory outlives the forward pass.
        let pm = UncheckedSendable(meanV.data), ps = UncheckedSendable(invStd.data)
        let pg = UncheckedSendable(g.data)
        let gx: Tensor? = x.requiresGrad ? Tensor(uninitializedShape: x.shape) : nil
        let pgx = UncheckedSendable(gx?.data)
        // The input gradient row by row; the weight and bias gradients column by column, each
        // summed over the rows in order — the same sums at any thread count.
        Parallel.forChunks(rows, minChunk: minRows) { _, range in
            guard let out = pgx.value else { return }
            var gxhat = [Float](repeating: 0, count: d)
            let invD = 1 / Float(d)
            for r in range {
                let row = px.value + r * d, gr = pg.value + r * d
                let mean = pm.value[r], inv = ps.value[r]
                var sum1: Float = 0, sum2: Float = 0
                for i in 0..<d {
                    let xhat = (row[i] - mean) * inv
                    gxhat[i] = gr[i] * w.value[i]
                    sum1 += gxhat[i]
                    sum2 += gxhat[i] * xhat
                }
                for i in 0..<d {
                    let xhat = (row[i] - mean) * inv
                    out[r * d + i] = inv * (gxhat[i] - invD * sum1 - xhat * invD * sum2)
                }
            }
        }
        let gwT = Tensor(zeros: [d]), gbT = Tensor(zeros: [d])
        if weight?.requiresGrad == true || bias?.requiresGrad == true {
            let pw = UncheckedSendable(gwT.data), pb = UncheckedSendable(gbT.data)
            Parallel.forChunks(d, minChunk: max(1, d / 2)) { _, columns in
                for r in 0..<rows {
                    let row = px.value + r * d, gr = pg.value + r * d
                    let mean = pm.value[r], inv = ps.value[r]
                    for i in columns {
                        pw.value[i] += gr[i] * ((row[i] - mean) * inv)
                        pb.value[i] += gr[i]
                    }
                }
            }
        }
        var grads: [Tensor?] = [gx]
        if let weight { grads.append(weight.requiresGrad ? gwT : nil) }
        if let bias { grads.append(bias.requiresGrad ? gbT : nil) }
        return grads
    }
}
