import Foundation

/// The sizes of Auto-DeepLab's hierarchical space at CPU scale: `layers` cells along the network,
/// `levels` resolutions (level s is 2^(s+1) times smaller than the input: the stem halves, each
/// level halves again), `channels` at level 0 doubling per level, cells of `blocks` blocks, and
/// the candidate operations of every edge (names of the operation registry).
public struct AutoDeepLabConfig: Codable, Equatable, Sendable {
    public var layers = 4
    public var levels = 3
    public var channels = 8
    public var blocks = 3
    public var operations = ["none", "skip_connect", "sep_conv_3x3", "dil_conv_3x3", "avg_pool_3x3"]

    public init() {}

    public func validate() throws {
        guard (1...12).contains(layers), (1...5).contains(levels), (1...256).contains(channels), (1...6).contains(blocks) else {
            throw AutoDeepLabError("layers 1…12, levels 1…5, channels 1…256 and blocks 1…6 (got \(layers), \(levels), \(channels), \(blocks))")
        }
        guard !operations.isEmpty, Set(operations).count == operations.count,
              operations.allSatisfy({ OperationRegistry.spec($0) != nil }) else {
            throw AutoDeepLabError("operations must be distinct names of the operation registry (got \(operations))")
        }
    }

    public func channels(at level: Int) -> Int { channels << level }

    /// Levels a node of layer `l` can be at: one level deeper per layer at most, from the stem's 0.
    public func levels(at layer: Int) -> [Int] { Array(0...min(layer + 1, levels - 1)) }

    /// Edges of a cell: block i reads its two cell inputs and every earlier block.
    public var edges: [(block: Int, input: Int)] {
        (0..<blocks).flatMap { b in (0..<(2 + b)).map { (b, $0) } }
    }
}

/// A network of Auto-DeepLab's space: the level of each layer (`path`, the network-level
/// architecture) and one cell used at every layer — per block, two (input, operation) pairs, the
/// inputs numbered 0 (the previous layer's output), 1 (the one before it, at the same level, or
/// the previous output when there is none) and 2 + i (block i). Written
/// `adl[path=0-1-2-2|sep_conv_3x3~0+skip_connect~1|dil_conv_3x3~2+sep_conv_3x3~0|…]`.
public struct AutoDeepLabArchitecture: Hashable, Codable, Sendable, CustomStringConvertible {
    public struct Edge: Hashable, Codable, Sendable {
        public var input: Int
        public var operation: String
        public init(input: Int, operation: String) { (self.input, self.operation) = (input, operation) }
    }

    public var path: [Int]
    public var cell: [[Edge]]

    public init(path: [Int], cell: [[Edge]]) { (self.path, self.cell) = (path, cell) }

    public var description: String {
        "adl[path=" + path.map(String.init).joined(separator: "-") + "|"
            + cell.map { $0.map { "\($0.operation)~\($0.input)" }.joined(separator: "+") }.joined(separator: "|") + "]"
    }

    public init(parsing text: String) throws {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("adl[path="), s.hasSuffix("]") else { throw AutoDeepLabError("expected adl[path=…|…], got '\(text)'") }
        let parts = s.dropFirst("adl[path=".count).dropLast().split(separator: "|", omittingEmptySubsequences: false)
        guard let first = parts.first, parts.count >= 2 else { throw AutoDeepLabError("needs a path and at least one block") }
        var path: [Int] = []
        for p in first.split(separator: "-", omittingEmptySubsequences: false) {
            guard let v = Int(p), (0..<8).contains(v) else { throw AutoDeepLabError("path: '\(p)' is not a level 0…7") }
            path.append(v)
        }
        var cell: [[Edge]] = []
        for (b, part) in parts.dropFirst().enumerated() {
            var edges: [Edge] = []
            for e in part.split(separator: "+", omittingEmptySubsequences: false) {
                let kv = e.split(separator: "~")
                guard kv.count == 2, let input = Int(kv[1]), (0..<(2 + b)).contains(input) else {
                    throw AutoDeepLabError("block \(b): '\(e)' is not operation~input with input 0…\(1 + b)")
                }
                guard OperationRegistry.spec(String(kv[0])) != nil, kv[0] != "none" else {
                    throw AutoDeepLabError("block \(b): unknown operation '\(kv[0])'")
                }
                edges.append(Edge(input: input, operation: String(kv[0])))
            }
            guard (1...2).contains(edges.count) else { throw AutoDeepLabError("block \(b) needs one or two edges") }
            cell.append(edges)
        }
        guard cell.count <= 6, (1...12).contains(path.count) else { throw AutoDeepLabError("at most 6 blocks and 1…12 layers") }
        self.init(path: path, cell: cell)
    }

    /// Refuses a path the config's trellis does not have (a level out of range, or a jump of more
    /// than one level between layers) and a cell of another block count.
    public func check(against c: AutoDeepLabConfig) throws {
        guard path.count == c.layers, cell.count == c.blocks else {
            throw AutoDeepLabError("\(self) has \(path.count) layers and \(cell.count) blocks; the space has \(c.layers) and \(c.blocks)")
        }
        for (l, s) in path.enumerated() {
            let previous = l == 0 ? 0 : path[l - 1]
            guard c.levels(at: l).contains(s), abs(s - previous) <= 1 else {
                throw AutoDeepLabError("path: layer \(l) at level \(s) is not reachable from level \(previous)")
            }
        }
    }
}

public struct AutoDeepLabError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = "auto-deeplab: \(message)" }
}

/// Decoding of the relaxed space, as the paper does it.
public enum AutoDeepLabDecoding {
    /// The most probable path through the trellis: `transitions[l][s'][s]` is the probability of
    /// going from level s' at layer l − 1 (the stem, at level 0, for l = 0) to level s at layer l;
    /// Viterbi's dynamic programme maximises the product along the path. Ties go to the lower level.
    public static func viterbi(_ transitions: [[[Double]]], levels: Int) -> [Int] {
        let layers = transitions.count
        guard layers > 0 else { return [] }
        var best = [Double](repeating: -.infinity, count: levels)
        best[0] = 0
        var back = [[Int]](repeating: [Int](repeating: 0, count: levels), count: layers)
        for l in 0..<layers {
            var next = [Double](repeating: -.infinity, count: levels)
            for from in 0..<levels where best[from] > -.infinity {
                for to in 0..<levels where abs(to - from) <= 1 {
                    let p = transitions[l][from][to]
                    guard p > 0 else { continue }
                    let score = best[from] + Foundation.log(p)
                    if score > next[to] { next[to] = score; back[l][to] = from }
                }
            }
            best = next
        }
        var s = best.indices.max { best[$0] < best[$1] || (best[$0] == best[$1] && $0 > $1) } ?? 0
        var path = [Int](repeating: 0, count: layers)
        for l in stride(from: layers - 1, through: 0, by: -1) {
            path[l] = s
            s = back[l][s]
        }
        return path
    }

    /// DARTS's rule for one cell: per block, the two incoming edges whose strongest operation
    /// other than `none` is strongest, each with that operation. `weights[e][k]` follows
    /// `config.edges` and `config.operations`.
    public static func topTwo(_ weights: [[Double]], config: AutoDeepLabConfig) -> [[AutoDeepLabArchitecture.Edge]] {
        let edges = config.edges
        return (0..<config.blocks).map { b in
            let candidates: [(input: Int, op: Int, strength: Double)] = edges.indices.filter { edges[$0].block == b }.map { e in
                let k = weights[e].indices.filter { config.operations[$0] != "none" }.max { weights[e][$0] < weights[e][$1] } ?? 0
                return (edges[e].input, k, weights[e][k])
            }
            return candidates.sorted { $0.strength > $1.strength || ($0.strength == $1.strength && $0.input < $1.input) }
                .prefix(2).map { AutoDeepLabArchitecture.Edge(input: $0.input, operation: config.operations[$0.op]) }
        }
    }
}
