import Foundation
import NASTensor

/// A product of Aitchison–Aitken kernels over categorical decisions: the density model BOHB
/// (Falkner, Klein & Hutter, ICML 2018) fits to the good and the bad configurations.
///
/// For decision j with c options and bandwidth λⱼ, a data point contributes 1 − λⱼ to its own
/// option and λⱼ / (c − 1) to each other one. Bandwidths follow the normal-reference rule BOHB
/// takes from statsmodels, λⱼ = 1.06·σⱼ·n^(−1/(4+d)) on the option indices, floored at
/// `minBandwidth` and capped where the kernel would stop favouring the data point.
struct CategoricalKDE {
    let data: [[Int]]
    let counts: [Int]
    let bandwidths: [Double]

    init(data: [[Int]], counts: [Int], minBandwidth: Double) {
        self.data = data
        self.counts = counts
        let n = Double(data.count), d = Double(counts.count)
        bandwidths = counts.indices.map { j in
            let xs = data.map { Double($0[j]) }
            let mean = xs.reduce(0, +) / n
            let sd = (xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)).squareRoot()
            let rule = 1.06 * sd * Foundation.pow(n, -1 / (4 + d))
            let cap = Double(counts[j] - 1) / Double(counts[j])
            return min(max(rule, minBandwidth), cap)
        }
    }

    /// Mean kernel density at `x`.
    func density(_ x: [Int]) -> Double {
        var total = 0.0
        for point in data {
            var p = 1.0
            for j in counts.indices {
                let lambda = bandwidths[j]
                p *= point[j] == x[j] ? 1 - lambda : lambda / Double(counts[j] - 1)
            }
            total += p
        }
        return total / Double(data.count)
    }

    /// A draw around a random data point: each decision keeps the point's option with
    /// probability 1 − λⱼ (λ widened by `bandwidthFactor`, as BOHB does to explore) and is
    /// otherwise uniform.
    func sample(bandwidthFactor: Double, minBandwidth: Double, using rng: inout SeededGenerator) -> [Int] {
        let point = data[rng.uniformIndex(below: data.count)]
        return counts.indices.map { j in
            let lambda = min(max(bandwidths[j] * bandwidthFactor, minBandwidth), 1)
            return rng.unitDouble() < 1 - lambda ? point[j] : rng.uniformIndex(below: counts[j])
        }
    }
}
