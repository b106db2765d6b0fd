import Foundation

/// Batch normalisation over every axis but the last (channels-last), PyTorch semantics:
/// training mode normalises with the batch's biased variance and updates the running
/// statistics with the unbiased one; evaluation mode uses the running statistics.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    let c = x.shape.last!
    let rows = x.count / c
    let mean = [Float](unsafeUninitializedCapacity: c) { b, n in b.initialize(repeating: 0); n = c }
    var meanV = mean, invStd = [Float](repeating: 0, count: c)
    let px = x.data
    if training {
        precondition(rows > 1, "batchNorm in training mode needs more than one value per channel, got \(x.shape)")
        // Two passes in double for a stable variance.
        var s = [Double](repeating: 0, count: c), ss = [Double](repeating: 0, count: c)
        for r in 0..<rows {
            let row = px + r * c
            for ch in 0..<c { s[ch] += Double(row[ch]) }
        }
        for ch in 0..<c { s[ch] /= Double(rows) }
        for r in 0..<rows {
            let row = px + r * c
            for ch in 0..<c { let d = Double(row[ch]) - s[ch]; ss[ch] += d * d }
        }
        for ch in 0..<c {
            let variance = ss[ch] / Double(rows)
            meanV[ch] = Float(s[ch])
            invStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            if let runningMean, let runningVar {
                runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * Float(s[ch])
                runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * Float(ss[ch] / Double(rows - 1))
            }
        }
    } else {
        precondition(runningMean != nil && runningVar != nil, "batchNorm in evaluation mode needs running statistics")
        for ch in 0..<c {
            meanV[ch] = runningMean!.data[ch]
            invStd[ch] = 1 / (runningVar!.data[ch] + eps).squareRoot()
        }
    }
    // y = (x - mean) * invStd * gamma + beta, folded into one scale and shift per channel.
    var scaleV = [Float](repeating: 0, count: c), shiftV = [Float](repeating: 0, count: c)
    for ch in 0..<c {
        let gamma = weight?.data[ch] ?? 1, beta = bias?.data[ch] ?? 0
        scaleV[ch] = invStd[ch] * gamma
        shiftV[ch] = beta - meanV[ch] * scaleV[ch]
    }
    let out = Tensor(uninitializedShape: x.shape)
    let po = out.data
    scaleV.withUnsafeBufferPointer { sc in shiftV.withUnsafeBufferPointer { sh in
        for r in 0..<rows {
            let src = px + r * c, dst = po + r * c
            for ch in 0..<c { dst[ch] = src[ch] * sc[ch] + sh[ch] }
        }
    }}
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return out.recorded("batchNorm", inputs) { g in
        let pg = g.data
        // Per-channel sums of g and g·x̂.
        var sg = [Float](repeating: 0, count: c), sgx = [Float](repeating: 0, count: c)
        for r in 0..<rows {
            let gr = pg + r * c, xr = px + r * c
            for ch in 0..<c {
                sg[ch] += gr[ch]
                sgx[ch] += gr[ch] * (xr[ch] - meanV[ch]) * invStd[ch]
            }
        }
        var gx: Tensor? = nil
        if x.requiresGrad {
            let t = Tensor(uninitializedShape: x.shape)
            let pt = t.data
            let invN = 1 / Float(rows)
            for r in 0..<rows {
                let gr = pg + r * c, xr = px + r * c, dr = pt + r * c
                for ch in 0..<c {
                    let gamma = weight?.data[ch] ?? 1
                    if training {
                        let xhat = (xr[ch] - meanV[ch]) * invStd[ch]
                        dr[ch] = gamma * invStd[ch] * (gr[ch] - invN * sg[ch] - xhat * invN * sgx[ch])
                    } else {
                        dr[ch] = gr[ch] * gamma * invStd[ch]
                    }
                }
            }
            gx = t
        }
        var grads: [Tensor?] = [gx]
        if let weight { grads.append(weight.requiresGrad ? Tensor(shape: [c], data: sgx) : nil) }
        if let bias { grads.append(bias.requiresGrad ? Tensor(shape: [c], data: sg) : nil) }
        return grads
    }
}

/// Layer normalisation over the last axis with optional affine parameters `[D]`.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    let d = x.shape.last!, rows = x.count / d
    var meanV = [Float](repeating: 0, count: rows), invStd = [Float](repeating: 0, count: rows)
    let out = Tensor(uninitializedShape: x.shape)
    let px = x.data, po = out.data
    for r in 0..<rows {
        let row = px + r * d
        var s: Double = 0
        for i in 0..<d { s += Double(row[i]) }
        let m = s / Double(d)
        var v: Double = 0
        for i in 0..<d { let t = Double(row[i]) - m; v += t * t }
        meanV[r] = Float(m)
        invStd[r] = Float(1 / (v / Double(d) + Double(eps)).squareRoot())
        for i in 0..<d {
            let xhat = (row[i] - meanV[r]) * invStd[r]
            po[r * d + i] = xhat * (weight?.data[i] ?? 1) + (bias?.data[i] ?? 0)
        }
    }
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return out.recorded("layerNorm", inputs) { g in
        let pg = g.data
        let gx: Tensor? = x.requiresGrad ? Tensor(uninitializedShape: x.shape) : nil
        var gw = [Float](repeating: 0, count: d), gb = [Float](repeating: 0, count: d)
        var gxhat = [Float](repeating: 0, count: d)
        for r in 0..<rows {
            let row = px + r * d, gr = pg + r * d
            var sum1: Float = 0, sum2: Float = 0
            for i in 0..<d {
                let xhat = (row[i] - meanV[r]) * invStd[r]
                gw[i] += gr[i] * xhat
                gb[i] += gr[i]
                gxhat[i] = gr[i] * (weight?.data[i] ?? 1)
                sum1 += gxhat[i]
                sum2 += gxhat[i] * xhat
            }
            if let gx {
                let invD = 1 / Float(d)
                for i in 0..<d {
                    let xhat = (row[i] - meanV[r]) * invStd[r]
                    gx.data[r * d + i] = invStd[r] * (gxhat[i] - invD * sum1 - xhat * invD * sum2)
                }
            }
        }
        var grads: [Tensor?] = [gx]
        if let weight { grads.append(weight.requiresGrad ? Tensor(shape: [d], data: gw) : nil) }
        if let bias { grads.append(bias.requiresGrad ? Tensor(shape: [d], data: gb) : nil) }
        return grads
    }
}
