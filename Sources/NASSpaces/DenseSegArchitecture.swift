import Foundation

/// The hyper-parameters of one dense block of `DenseSegNetwork`: its convolutions' kernel size,
/// its growth rate (filters each layer adds) and its depth (layers).
public struct DenseBlockSetting: Hashable, Codable, Sendable {
    public var kernel: Int
    public var growth: Int
    public var depth: Int

    public init(kernel: Int, growth: Int, depth: Int) {
        (self.kernel, self.growth, self.depth) = (kernel, growth, depth)
    }
}

/// A densely connected encoder–decoder for segmentation, as the list of its dense blocks'
/// settings in network order: `levels` encoder blocks, the bottleneck, `levels` decoder blocks
/// (so 2·levels + 1 blocks). Written `dense-seg[k3-g8-d3|k5-g12-d2|…]`.
public struct DenseSegArchitecture: Hashable, Codable, Sendable, CustomStringConvertible {
    public var blocks: [DenseBlockSetting]

    public init(blocks: [DenseBlockSetting]) { self.blocks = blocks }

    /// Downsampling levels (encoder blocks).
    public var levels: Int { blocks.count / 2 }

    /// The same setting in every block.
    public static func uniform(_ setting: DenseBlockSetting, levels: Int) -> DenseSegArchitecture {
        DenseSegArchitecture(blocks: Array(repeating: setting, count: 2 * levels + 1))
    }

    public var description: String {
        "dense-seg[" + blocks.map { "k\($0.kernel)-g\($0.growth)-d\($0.depth)" }.joined(separator: "|") + "]"
    }

    /// Bounds that keep any parsed string a network this machine can build.
    public static let maxKernel = 15, maxGrowth = 256, maxDepth = 16, maxLevels = 6

    /// Reads `dense-seg[k3-g8-d3|…]`; errors name the block and field. Kernels must be odd (the
    /// convolutions are padded to keep the size), and the block count odd (encoder, bottleneck,
    /// decoder).
    public init(parsing text: String) throws {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("dense-seg["), s.hasSuffix("]") else {
            throw DenseSegParseError("expected dense-seg[k3-g8-d3|…], got '\(text)'")
        }
        let body = s.dropFirst("dense-seg[".count).dropLast()
        let parts = body.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count % 2 == 1, parts.count <= 2 * Self.maxLevels + 1 else {
            throw DenseSegParseError("needs an odd number of blocks (encoder, bottleneck, decoder), at most \(2 * Self.maxLevels + 1); got \(parts.count)")
        }
        var blocks: [DenseBlockSetting] = []
        for (i, part) in parts.enumerated() {
            var values: [Character: Int] = [:]
            for field in part.split(separator: "-", omittingEmptySubsequences: false) {
                guard let key = field.first, "kgd".contains(key), let v = Int(field.dropFirst()), values[key] == nil else {
                    throw DenseSegParseError("block \(i): '\(field)' is not k<kernel>, g<growth> or d<depth> (each once)")
                }
                values[key] = v
            }
            guard let k = values["k"], let g = values["g"], let d = values["d"] else {
                throw DenseSegParseError("block \(i): '\(part)' needs k<kernel>-g<growth>-d<depth>")
            }
            guard k >= 1, k <= Self.maxKernel, k % 2 == 1 else { throw DenseSegParseError("block \(i): kernel must be odd, 1…\(Self.maxKernel) (got \(k))") }
            guard (1...Self.maxGrowth).contains(g) else { throw DenseSegParseError("block \(i): growth must be 1…\(Self.maxGrowth) (got \(g))") }
            guard (1...Self.maxDepth).contains(d) else { throw DenseSegParseError("block \(i): depth must be 1…\(Self.maxDepth) (got \(d))") }
            blocks.append(DenseBlockSetting(kernel: k, growth: g, depth: d))
        }
        self.blocks = blocks
    }
}

public struct DenseSegParseError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ message: String) { description = "dense-seg architecture: \(message)" }
}
