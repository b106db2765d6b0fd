import Foundation

/// The space of Mortazi & Bagci's policy-gradient search: the baseline densely connected
/// encoder–decoder with every dense block's kernel size, growth rate and depth chosen from a
/// list — three categorical decisions per block, in block order (kernel, growth, depth).
///
/// The option lists are the space's settings (hand-set bounds; the run's checklist says so). The
/// defaults are a CPU-scale version of the paper's: kernels 3 and 5, growth 4/8/12/16, depth 1–3,
/// two levels; the baseline is the middle of the space, k3-g8-d2 everywhere.
public struct DenseSegSearchSpace: ChoiceVectorSpace, Codable, Equatable {
    public var levels = 2
    public var kernels = [3, 5]
    public var growths = [4, 8, 12, 16]
    public var depths = [1, 2, 3]
    /// The hand-designed network every block of which the search may change.
    public var baselineBlock = DenseBlockSetting(kernel: 3, growth: 8, depth: 2)

    public init() {}

    public var name: String { "dense-seg" }

    /// Refuses option lists that are empty, repeat a value or leave `DenseSegArchitecture`'s bounds.
    public func validate() throws {
        guard (1...DenseSegArchitecture.maxLevels).contains(levels) else {
            throw DenseSegParseError("levels must be 1…\(DenseSegArchitecture.maxLevels) (got \(levels))")
        }
        for (values, what, bound) in [(kernels, "kernels", DenseSegArchitecture.maxKernel),
                                      (growths, "growths", DenseSegArchitecture.maxGrowth), (depths, "depths", DenseSegArchitecture.maxDepth)] {
            guard !values.isEmpty, Set(values).count == values.count, values.allSatisfy({ (1...bound).contains($0) }) else {
                throw DenseSegParseError("\(what) must be distinct values in 1…\(bound) (got \(values))")
            }
        }
        guard kernels.allSatisfy({ $0 % 2 == 1 }) else { throw DenseSegParseError("kernels must be odd (got \(kernels))") }
    }

    public var blockCount: Int { 2 * levels + 1 }
    public var baseline: DenseSegArchitecture { .uniform(baselineBlock, levels: levels) }

    public var choiceCounts: [Int] {
        Array(repeating: [kernels.count, growths.count, depths.count], count: blockCount).flatMap { $0 }
    }

    /// The option indices of `a` (−1 would mean a value outside the lists; `parse` refuses those).
    public func choices(of a: DenseSegArchitecture) -> [Int] {
        a.blocks.flatMap { b in
            [kernels.firstIndex(of: b.kernel) ?? 0, growths.firstIndex(of: b.growth) ?? 0, depths.firstIndex(of: b.depth) ?? 0]
        }
    }

    public func architecture(choices c: [Int]) -> DenseSegArchitecture {
        DenseSegArchitecture(blocks: (0..<blockCount).map { b in
            DenseBlockSetting(kernel: kernels[c[3 * b]], growth: growths[c[3 * b + 1]], depth: depths[c[3 * b + 2]])
        })
    }

    public func describe(_ a: DenseSegArchitecture) -> String { a.description }

    /// Reads the notation and checks the architecture belongs to this space (levels and option lists).
    public func parse(_ s: String) throws -> DenseSegArchitecture {
        let a = try DenseSegArchitecture(parsing: s)
        guard a.blocks.count == blockCount else {
            throw DenseSegParseError("'\(s)' has \(a.blocks.count) blocks; this space (\(levels) levels) has \(blockCount)")
        }
        for (i, b) in a.blocks.enumerated() {
            for (value, options, what) in [(b.kernel, kernels, "kernel"), (b.growth, growths, "growth"), (b.depth, depths, "depth")]
            where !options.contains(value) {
                throw DenseSegParseError("block \(i): \(what) \(value) is not one of the space's \(options)")
            }
        }
        return a
    }
}
