import Foundation
import NASNN
import NASSpaces
import NASTensor

/// Training-free scores of a freshly initialised network, registered by name as NASLib does.
/// Each proxy is computed on one seeded mini-batch; higher is better for every score.
public enum ZeroCostProxy: String, CaseIterable, Codable, Sendable {
    /// NASWOT (Mellor et al., ICML 2021): log-determinant of the Hamming-agreement kernel of the
    /// binary ReLU codes of a mini-batch, summed over every ReLU of the network.
    case naswot
    /// NASWOT arXiv v1: −Σ(log(λ+k) + 1/(λ+k)), k = 1e−5, over the eigenvalues λ of the correlation
    /// matrix of the per-image input Jacobians of the summed logits.
    case jacobCov = "jacob_cov"
    /// ln(1 + S), S = Σ over conv/linear weights of |θ ⊙ ∂R/∂θ|, R the summed output of the network
    /// with absolute weights, no batch norm, on an all-ones input (Tanaka et al. 2020). S reaches
    /// 10^49 on NB201 networks, beyond float32, so it is computed in log space; ln(1 + S) is NASLib's
    /// ln S for every network with flow (S ≫ 1) and 0 for a cell with no input–output path.
    case synflow
    /// Σ |θ ⊙ ∂L/∂θ| (connection sensitivity, Lee et al. 2019) for the cross-entropy L.
    case snip
    /// Σ over layers of ‖∂L/∂θ‖₂.
    case gradNorm = "grad_norm"
    /// Σ over conv activations a and channels of ½·mean_batch((Σ_spatial a·∂L/∂a)²) (Turner et al.).
    case fisher
    /// Parameter count.
    case params
    /// Multiply-accumulates of one forward pass.
    case flops

    /// Which forward/backward pass a proxy needs; proxies sharing a pass are computed together.
    var pass: Pass {
        switch self {
        case .naswot: return .codes
        case .jacobCov: return .inputJacobian
        case .synflow: return .synflow
        case .snip, .gradNorm, .fisher: return .loss
        case .params, .flops: return .none
        }
    }

    enum Pass { case codes, inputJacobian, synflow, loss, none }
}

/// Scores NB201 cells with zero-cost proxies on fixed batches. Networks are built from the cell
/// and a seed, so the same (cell, seed, batch) always gives the same score.
public struct ZeroCostScorer {
    public let config: NB201NetworkConfig
    /// Batch for NASWOT and jacob_cov (the NASWOT paper's 128 images).
    public let batch: Tensor
    /// Labels of `batch` (the gradient proxies use the first `gradientBatchSize` images).
    public let labels: [Int]
    public let gradientBatchSize: Int

    public init(config: NB201NetworkConfig, batch: Tensor, labels: [Int], gradientBatchSize: Int = 64) {
        precondition(batch.rank == 4 && batch.shape[3] == config.inputChannels,
                     "zero-cost batch \(batch.shape) does not match \(config.inputChannels) input channels")
        self.config = config
        self.batch = batch
        self.labels = labels
        self.gradientBatchSize = min(gradientBatchSize, labels.count)
    }

    /// Scores of `cell` for each requested proxy, on a network initialised from `seed`.
    public func scores(_ cell: NB201Cell, proxies: [ZeroCostProxy], seed: UInt64) -> [ZeroCostProxy: Double] {
        var out: [ZeroCostProxy: Double] = [:]
        let passes = Set(proxies.map(\.pass))
        let network = { NB201Network(cell: cell, config: self.config, seed: seed) }
        if passes.contains(.none) {
            let net = network()
            out[.params] = Double(net.parameterCount)
            out[.flops] = Double(net.multiplyAccumulates(height: batch.shape[1], width: batch.shape[2]))
        }
        if passes.contains(.codes) { out[.naswot] = naswot(network()) }
        if passes.contains(.inputJacobian) { out[.jacobCov] = jacobianCovariance(network()) }
        if passes.contains(.synflow) { out[.synflow] = synflow(network()) }
        if passes.contains(.loss) { out.merge(lossProxies(network())) { $1 } }
        return out.filter { proxies.contains($0.key) }
    }

    /// NASWOT: ReLUs that see the same tensor contribute identical kernels, so each distinct
    /// input is coded once and weighted by how many ReLUs read it.
    func naswot(_ net: NB201Network) -> Double {
        var seen: [ObjectIdentifier: (tensor: Tensor, uses: Int)] = [:]
        var order: [ObjectIdentifier] = []
        net.observer = { site, x in
            guard site == .reluInput else { return }
            let key = ObjectIdentifier(x)
            if let s = seen[key] { seen[key] = (s.tensor, s.uses + 1) } else { seen[key] = (x, 1); order.append(key) }
        }
        _ = withoutGrad { net(batch) }
        net.observer = nil
        let b = batch.shape[0]
        var k = [Double](repeating: 0, count: b * b)
        for key in order {
            let (tensor, uses) = seen[key]!
            LinearAlgebra.accumulateAgreementKernel(tensor, weight: Double(uses), into: &k)
        }
        return LinearAlgebra.logAbsDeterminant(k, n: b)
    }

    func jacobianCovariance(_ net: NB201Network) -> Double {
        let x = batch.copy()
        x.requiresGrad = true
        let y = net(x)
        y.backward(Tensor(repeating: 1, shape: y.shape))
        // A cell with no input-output path makes the output independent of the input: no Jacobian,
        // the lowest possible score.
        guard let grad = x.grad else { return -.infinity }
        let b = x.shape[0], d = x.count / b
        let jacobian = grad.array.map(Double.init)
        let corr = LinearAlgebra.rowCorrelation(jacobian, rows: b, columns: d)
        let eigen = LinearAlgebra.symmetricEigenvalues(corr, n: b)
        let k = 1e-5
        return -eigen.reduce(0) { $0 + Foundation.log($1 + k) + 1 / ($1 + k) }
    }

    /// Synflow in log space. With absolute weights and an all-ones input every activation is
    /// non-negative, so every ReLU passes its input and R is linear in each block's output: the
    /// stem's and every block's output are divided by their maximum m_k (a constant, not
    /// differentiated), which scales R and every ∂R/∂θ by Π 1/m_k. The float32 pass then stays near
    /// 1 and ln S = ln S′ + Σ ln m_k, with S′ summed in float64.
    func synflow(_ net: NB201Network) -> Double {
        for (_, m) in net.namedModules() { (m as? BatchNorm)?.isBypassed = true }
        for p in net.parameters() { for i in 0..<p.count { p[flat: i] = Swift.abs(p[flat: i]) } }
        var logScale = 0.0
        net.blockOutputTransform = { h in
            let m = withoutGrad { h.array.max() ?? 0 }
            guard m > 0, m.isFinite else { return h }
            logScale += Foundation.log(Double(m))
            return h * Tensor(scalar: 1 / m)
        }
        defer { net.blockOutputTransform = nil }
        let ones = Tensor(repeating: 1, shape: [1] + Array(batch.shape.dropFirst()))
        net(ones).sum().backward()
        // Weights off every input-output path get no gradient and contribute nothing.
        let scaled = weightLayers(net).reduce(0.0) { total, w in
            guard let g = w.grad else { return total }
            var s = 0.0
            for i in 0..<w.count { s += Swift.abs(Double(w[flat: i]) * Double(g[flat: i])) }
            return total + s
        }
        guard scaled > 0 else { return 0 }
        let logS = Foundation.log(scaled) + logScale
        // ln(1 + S) without forming S: exact to double precision either way.
        return logS > 40 ? logS : Foundation.log1p(Foundation.exp(logS))
    }

    func lossProxies(_ net: NB201Network) -> [ZeroCostProxy: Double] {
        let n = gradientBatchSize
        let x = batch.slice(axis: 0, 0..<n)
        var activations: [Tensor] = []
        net.observer = { site, a in
            guard site == .convOutput else { return }
            a.retainsGrad = true
            activations.append(a)
        }
        crossEntropy(net(x), targets: Array(labels.prefix(n))).backward()
        net.observer = nil
        var snip = 0.0, gradNorm = 0.0
        for w in weightLayers(net) {
            guard let g = w.grad else { continue }
            var s = 0.0, sq = 0.0
            for i in 0..<w.count { s += Double(Swift.abs(w[flat: i] * g[flat: i])); sq += Double(g[flat: i] * g[flat: i]) }
            snip += s
            gradNorm += sq.squareRoot()
        }
        var fisher = 0.0
        for a in activations {
            guard let g = a.grad else { continue }
            let c = a.shape[3], hw = a.shape[1] * a.shape[2]
            var perChannel = [Double](repeating: 0, count: c)
            for img in 0..<a.shape[0] {
                var s = [Double](repeating: 0, count: c)
                for p in 0..<hw { for ch in 0..<c {
                    let i = (img * hw + p) * c + ch
                    s[ch] += Double(a[flat: i] * g[flat: i])
                }}
                for ch in 0..<c { perChannel[ch] += 0.5 * s[ch] * s[ch] / Double(a.shape[0]) }
            }
            fisher += perChannel.reduce(0, +)
        }
        return [.snip: snip, .gradNorm: gradNorm, .fisher: fisher]
    }

    /// Weights of every convolution and linear layer (what the proxies sum over).
    func weightLayers(_ net: NB201Network) -> [Tensor] {
        net.namedModules().compactMap { _, m in (m as? Conv2d)?.weight ?? (m as? Linear)?.weight }
    }
}
