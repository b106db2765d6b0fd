import Foundation

/// A Gaussian-process regressor with a Matérn-5/2 kernel on inputs in [0, 1]^d, zero mean on
/// standardised targets. The length scale and the noise variance are picked from small grids
/// (noise: `noise`, 5·`noise`, 20·`noise`) by the log marginal likelihood; the signal variance is 1
/// (targets are standardised).
public struct GaussianProcess {
    public let inputs: [[Double]]
    public let lengthScale: Double
    public let noise: Double
    let mean: Double
    let scale: Double
    /// Lower Cholesky factor of K + noise·I, row-major.
    let cholesky: [Double]
    /// (K + noise·I)⁻¹ y (standardised).
    let alpha: [Double]

    public static let lengthScaleGrid: [Double] = [0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5]

    public init(inputs: [[Double]], targets: [Double], noise: Double = 1e-2) {
        precondition(!inputs.isEmpty && inputs.count == targets.count, "GP needs matching inputs and targets")
        let mean = targets.reduce(0, +) / Double(targets.count)
        let variance = targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(targets.count)
        let scale = Swift.max(variance.squareRoot(), 1e-9)
        let y = targets.map { ($0 - mean) / scale }
        let d = Double(inputs[0].count).squareRoot()
        var best: (ll: Double, ls: Double, noise: Double, l: [Double], a: [Double])?
        let settings = Self.lengthScaleGrid.flatMap { base in [noise, 5 * noise, 20 * noise].map { (base * d, $0) } }
        for (ls, candidateNoise) in settings {
            guard let l = Self.choleskyFactor(Self.gram(inputs, ls, candidateNoise)) else { continue }
            let a = Self.solve(l, y, n: inputs.count)
            var ll = -0.5 * zip(y, a).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<inputs.count { ll -= Foundation.log(l[i * inputs.count + i]) }
            if best == nil || ll > best!.ll { best = (ll, ls, candidateNoise, l, a) }
        }
        let chosen = best ?? (0, d, 1.0, Self.choleskyFactor(Self.gram(inputs, d, 1.0))!, [Double](repeating: 0, count: inputs.count))
        self.inputs = inputs
        self.lengthScale = chosen.ls
        self.noise = chosen.noise
        self.mean = mean
        self.scale = scale
        cholesky = chosen.l
        alpha = chosen.a
    }

    static func kernel(_ a: [Double], _ b: [Double], _ ls: Double) -> Double {
        var s = 0.0
        for i in a.indices { s += (a[i] - b[i]) * (a[i] - b[i]) }
        let r = 5.0.squareRoot() * s.squareRoot() / ls
        return (1 + r + r * r / 3) * Foundation.exp(-r)
    }

    static func gram(_ x: [[Double]], _ ls: Double, _ noise: Double) -> [Double] {
        let n = x.count
        var k = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                let v = kernel(x[i], x[j], ls) + (i == j ? noise : 0)
                k[i * n + j] = v; k[j * n + i] = v
            }
        }
        return k
    }

    static func choleskyFactor(_ a: [Double]) -> [Double]? {
        let n = Int(Double(a.count).squareRoot())
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return l
    }

    /// Solves (L Lᵀ) x = b.
    static func solve(_ l: [Double], _ b: [Double], n: Int) -> [Double] {
        var y = b
        for i in 0..<n {
            for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
            y[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { y[i] -= l[k * n + i] * y[k] }
            y[i] /= l[i * n + i]
        }
        return y
    }

    /// Posterior mean and standard deviation at `x`, in the targets' units.
    public func predict(_ x: [Double]) -> (mean: Double, std: Double) {
        let n = inputs.count
        let k = inputs.map { Self.kernel($0, x, lengthScale) }
        let mu = zip(k, alpha).reduce(0) { $0 + $1.0 * $1.1 }
        // v = L⁻¹ k; variance = k(x,x) − vᵀv.
        var v = k
        for i in 0..<n {
            for j in 0..<i { v[i] -= cholesky[i * n + j] * v[j] }
            v[i] /= cholesky[i * n + i]
        }
        // Latent (noise-free) variance: what EI should explore.
        let variance = Swift.max(1 - v.reduce(0) { $0 + $1 * $1 }, 1e-12)
        return (mean + scale * mu, scale * variance.squareRoot())
    }

    /// Expected improvement over `best` for a maximised quantity with N(mean, std²).
    public static func expectedImprovement(mean: Double, std: Double, best: Double) -> Double {
        guard std > 1e-12 else { return Swift.max(mean - best, 0) }
        let z = (mean - best) / std
        let pdf = Foundation.exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
        let cdf = 0.5 * Foundation.erfc(-z / 2.0.squareRoot())
        return (mean - best) * cdf + std * pdf
    }
}
