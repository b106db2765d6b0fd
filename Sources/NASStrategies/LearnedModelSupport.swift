import Foundation
import NASNN
import NASSpaces
import NASTensor

/// A module's parameters as plain float arrays keyed by name: how learned strategies keep their
/// networks inside a Codable state, so `state()` carries the weights and a restored strategy
/// continues from exactly the same model.
struct FlatWeights: Codable, Equatable {
    var values: [String: [Float]]

    init(_ module: Module) {
        var v: [String: [Float]] = [:]
        for (name, t) in module.namedParameters() { v[name] = t.array }
        values = v
    }

    /// Copies the stored values into `module`'s parameters (names and sizes must match).
    func load(into module: Module) throws {
        for (name, t) in module.namedParameters() {
            guard let src = values[name], src.count == t.count else {
                throw StrategyError.badState("stored weights have no tensor '\(name)' of \(t.count) values")
            }
            src.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
    }
}

extension FlatWeights {
    /// The same names and sizes, all zeros (Adam's initial moments).
    var zeroed: FlatWeights {
        var z = self
        for (name, v) in values { z.values[name] = [Float](repeating: 0, count: v.count) }
        return z
    }

    /// Refuses stored weights whose names or sizes differ from `reference`'s, or that are not finite.
    func check(shapedLike reference: FlatWeights, _ what: String) throws {
        guard values.keys.sorted() == reference.values.keys.sorted(),
              values.allSatisfy({ reference.values[$0.key]?.count == $0.value.count }) else {
            throw StrategyError.badState("\(what) do not have the controller's tensors and sizes")
        }
        guard values.values.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw StrategyError.badState("\(what) hold a non-finite number")
        }
    }
}

/// Token view of a categorical space: decision d's option o is token `offsets[d] + o`, so one
/// vocabulary covers every decision (NB201: 6 edges × 5 ops = 30 tokens).
struct TokenLayout: Codable, Equatable {
    let counts: [Int]
    let offsets: [Int]
    var vocabulary: Int { counts.reduce(0, +) }
    var length: Int { counts.count }

    init(counts: [Int]) {
        self.counts = counts
        var o: [Int] = [], s = 0
        for c in counts { o.append(s); s += c }
        offsets = o
    }

    func tokens(_ choices: [Int]) -> [Int] { choices.enumerated().map { offsets[$0.offset] + $0.element } }

    /// Every choice vector in lexicographic order, when there are at most `limit`; else nil.
    func allChoices(limit: Int) -> [[Int]]? {
        var total = 1
        for c in counts { total *= c; if total > limit { return nil } }
        var result: [[Int]] = []
        result.reserveCapacity(total)
        var current = [Int](repeating: 0, count: counts.count)
        for _ in 0..<total {
            result.append(current)
            var d = counts.count - 1
            while d >= 0 {
                current[d] += 1
                if current[d] < counts[d] { break }
                current[d] = 0
                d -= 1
            }
        }
        return result
    }
}

/// Mean and standard deviation used to standardise regression targets.
func standardisation(_ ys: [Double]) -> (mean: Double, std: Double) {
    let mean = ys.reduce(0, +) / Double(max(ys.count, 1))
    let variance = ys.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(ys.count, 1))
    return (mean, max(variance.squareRoot(), 1e-9))
}
