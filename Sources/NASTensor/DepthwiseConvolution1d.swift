import Foundation

/// Depthwise 1-D convolution along the token axis of `[B, T, C]`: channel c of every output
/// token is `Σ_k weight[c, k] · x[b, t + k − K/2, c]`, zero-padded so that T is kept (PyTorch's
/// `Conv1d(C, C, K, padding=K // 2, groups=C, bias=False)` on `[B, C, T]`). `weight` is
/// `[C, K]` with K odd.
public func depthwiseConv1d(_ x: Tensor, _ weight: Tensor) -> Tensor {
    precondition(x.shape.count == 3 && weight.shape.count == 2 && weight.shape[0] == x.shape[2] && weight.shape[1] % 2 == 1,
                 "depthwiseConv1d: x [B, T, C] and weight [C, K odd], got \(x.shape) and \(weight.shape)")
    let (b, t, c, k) = (x.shape[0], x.shape[1], x.shape[2], weight.shape[1])
    let half = k / 2
    let out = Tensor(zeros: x.shape)
    let px = UncheckedSendable(x.data), pw = UncheckedSendable(weight.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(b) { _, items in
        for n in items {
            for i in 0..<t {
                let o = (n * t + i) * c
                for j in max(0, half - i)..<min(k, t + half - i) {
                    let src = (n * t + i + j - half) * c
                    for ch in 0..<c { po.value[o + ch] += pw.value[ch * k + j] * px.value[src + ch] }
                }
            }
        }
    }
    return out.recorded("depthwiseConv1d", [x, weight]) { g in
        let gx = Tensor(zeros: x.shape), gw = Tensor(zeros: weight.shape)
        let pg = UncheckedSendable(g.data), pgx = UncheckedSendable(gx.data)
        // The input gradient splits by item; the weight gradient sums over items, so one pass
        // per chunk into its own partial, added up afterwards.
        let chunks = Parallel.chunkCount(b)
        let partials = (0..<chunks).map { _ in Tensor(zeros: weight.shape) }
        let pp = UncheckedSendable(partials.map { $0.data })
        Parallel.forChunks(b) { chunk, items in
            let pgw = pp.value[chunk]
            for n in items {
                for i in 0..<t {
                    let o = (n * t + i) * c
                    for j in max(0, half - i)..<min(k, t + half - i) {
                        let src = (n * t + i + j - half) * c
                        for ch in 0..<c {
                            pgx.value[src + ch] += pw.value[ch * k + j] * pg.value[o + ch]
                            pgw[ch * k + j] += px.value[src + ch] * pg.value[o + ch]
                        }
                    }
                }
            }
        }
        for p in partials { for i in 0..<gw.count { gw.data[i] += p.data[i] } }
        return [gx, gw]
    }
}
