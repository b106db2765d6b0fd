import Foundation
import NASNN
import NASTensor

/// The continuous generator parameters NAGO optimises (Ru, Esperança & Carlucci, NeurIPS 2020),
/// each in [0, 1]; `NAGOSpace` maps them to the hierarchical generator's settings.
///
/// Per level (top = stages, mid = cells in a stage, bottom = nodes in a cell): the random-graph
/// model (thirds of [0, 1]: ER, BA, WS), the node count, a density (ER's p, BA's m, WS's k) and
/// WS's rewiring probability. Then the stage ratio (where the resolution halves) and the base
/// channel count.
public struct NAGOParameters: Codable, Hashable, Sendable {
    public static let dimension = 14
    public var values: [Double]

    /// Values outside [0, 1] are clamped into it; `values` must have `dimension` entries
    /// (code that reads them from outside uses the throwing `init(checking:)`).
    public init(values: [Double]) {
        precondition(values.count == Self.dimension, "NAGO parameters have \(Self.dimension) values")
        self.values = values.map { Swift.min(1, Swift.max(0, $0)) }
    }

    /// Parameters read from a file or a string: exactly `dimension` finite values in [0, 1].
    public init(checking values: [Double]) throws {
        guard values.count == Self.dimension else {
            throw NAGOParseError("NAGO parameters have \(Self.dimension) values, got \(values.count)")
        }
        if let bad = values.indices.first(where: { !(0...1).contains(values[$0]) }) {
            throw NAGOParseError("\(Self.names[bad]) is \(values[bad]); every NAGO parameter is in [0, 1]")
        }
        self.values = values
    }

    public init(from decoder: Decoder) throws {
        let values = try decoder.singleValueContainer().decode([Double].self)
        do { try self.init(checking: values) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }

    public static let names = [
        "top_model", "top_nodes", "top_density", "top_rewire",
        "mid_model", "mid_nodes", "mid_density", "mid_rewire",
        "bottom_model", "bottom_nodes", "bottom_density", "bottom_rewire",
        "stage_ratio", "channels",
    ]
}

/// One level's random-graph draw, as decoded from the parameters.
public struct NAGOLevel: Codable, Equatable, Sendable {
    public var model: RandomGraphModel
    public var nodes: Int
    /// ER: p; BA: m; WS: k (as a Double for ER, an Int value otherwise).
    public var density: Double
    public var rewire: Double

    /// Draws this level's graph.
    public func sample(using rng: inout some RandomNumberGenerator) -> UndirectedGraph {
        if nodes <= 2 {
            // Too small for BA/WS: a chain (2 nodes) or a single node.
            return UndirectedGraph(nodeCount: nodes, edges: nodes == 2 ? [UndirectedGraph.Edge(0, 1)] : [])
        }
        switch model {
        case .erdosRenyi: return .erdosRenyi(nodes: nodes, p: density, using: &rng)
        case .barabasiAlbert: return .barabasiAlbert(nodes: nodes, m: Int(density), using: &rng)
        case .wattsStrogatz: return .wattsStrogatz(nodes: nodes, k: Int(density), p: rewire, using: &rng)
        }
    }
}

/// A sampled network: the three levels' graphs, each stage's resolution level and channels.
public struct NAGONetworkDescription: Codable, Equatable, Sendable {
    public var top: UndirectedGraph
    /// Mid-level graph per stage.
    public var mid: [UndirectedGraph]
    /// Bottom-level graph per stage, per cell.
    public var bottom: [[UndirectedGraph]]
    /// Resolution level (number of halvings) and channels per stage.
    public var stageLevels: [Int]
    public var stageChannels: [Int]
    public var stemChannels: Int

    /// Trainable parameters of the network this describes (for `inputChannels` and `classes`),
    /// counted without building it; equals `NAGONetwork.parameterCount`.
    public func parameterCount(inputChannels: Int, classes: Int) -> Int {
        var p = stemChannels * 9 * inputChannels + 2 * stemChannels
        let preds = top.predecessors()
        for s in 0..<top.nodeCount {
            let c = stageChannels[s]
            let sources: [(Int, Int)] = preds[s].isEmpty ? [(stemChannels, 0)] : preds[s].map { (stageChannels[$0], stageLevels[$0]) }
            for (cin, level) in sources where cin != c || level != stageLevels[s] { p += cin * c + 2 * c }
            let convs = bottom[s].reduce(0) { $0 + $1.nodeCount }
            p += convs * (c * 9 * c + 2 * c)
        }
        let head = top.sinks().reduce(0) { $0 + stageChannels[$1] }
        return p + head * classes + classes
    }
}

/// Why a string or stored value is not a NAGO architecture; the message names the field.
public struct NAGOParseError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One point of NAGO's space: the generator's parameters and the seed of the one network drawn
/// from them. The seed makes the architecture a definite network (so a trial can be trained
/// again, and a stored trial means one thing); the strategies search over the parameters.
public struct NAGOArchitecture: Hashable, Codable, Sendable {
    public var parameters: NAGOParameters
    public var networkSeed: UInt64

    public init(parameters: NAGOParameters, networkSeed: UInt64) {
        self.parameters = parameters
        self.networkSeed = networkSeed
    }
}

/// NAGO's hierarchical graph-based space: generator parameters → sampled networks.
///
/// As a `SearchSpace` its architectures are `NAGOArchitecture`s, written as
/// `top_model=0.41,top_nodes=0.9,…,channels=0.25;seed=1234` (the 14 parameters by name, in
/// order, then the network seed). An elementary move changes one parameter by a Gaussian step of
/// σ = 0.1 (reflected into [0, 1]) and keeps the seed.
public struct NAGOSpace: SearchSpace, Codable, Equatable {
    public typealias Architecture = NAGOArchitecture

    /// Node-count ranges per level and the base-channel range.
    public var topNodes = 2...4
    public var midNodes = 1...3
    public var bottomNodes = 2...4
    public var channels = 8...16
    /// Number of resolution halvings available after the stem.
    public var levels = 2
    /// The data the networks are built for (parameter counts depend on them).
    public var inputChannels = 1
    public var classes = 10

    public init(inputChannels: Int = 1, classes: Int = 10) {
        self.inputChannels = inputChannels
        self.classes = classes
    }

    public var name: String { "nago" }

    /// The step of a mutation and of a neighbour.
    static let step = 0.1

    /// `v` folded back into [0, 1] at both ends (a step past 1 lands as far below it).
    static func reflected(_ v: Double) -> Double {
        var x = v.truncatingRemainder(dividingBy: 2)
        if x < 0 { x += 2 }
        return x > 1 ? 2 - x : x
    }

    public func sample(using rng: inout some RandomNumberGenerator) -> NAGOArchitecture {
        NAGOArchitecture(parameters: sampleParameters(using: &rng), networkSeed: rng.next())
    }

    public func mutate(_ a: NAGOArchitecture, using rng: inout some RandomNumberGenerator) -> NAGOArchitecture {
        var generator = SeededGenerator(seed: rng.next())
        while true {
            var values = a.parameters.values
            let i = generator.uniformIndex(below: values.count)
            values[i] = Self.reflected(values[i] + Self.step * Double(generator.nextNormal()))
            let b = NAGOArchitecture(parameters: NAGOParameters(values: values), networkSeed: a.networkSeed)
            if b != a { return b }
        }
    }

    /// Each parameter moved by −0.1 and +0.1 (reflected), in parameter order, without repeats.
    public func neighbors(of a: NAGOArchitecture) -> [NAGOArchitecture] {
        var out: [NAGOArchitecture] = []
        for i in a.parameters.values.indices {
            for delta in [-Self.step, Self.step] {
                var values = a.parameters.values
                values[i] = Self.reflected(values[i] + delta)
                let b = NAGOArchitecture(parameters: NAGOParameters(values: values), networkSeed: a.networkSeed)
                if b != a, !out.contains(b) { out.append(b) }
            }
        }
        return out
    }

    /// The 14 parameters (both encodings: they are already a fixed-length vector in [0, 1]).
    public func encode(_ a: NAGOArchitecture, as encoding: ArchitectureEncoding) -> [Float] {
        a.parameters.values.map(Float.init)
    }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int { NAGOParameters.dimension }

    public func describe(_ a: NAGOArchitecture) -> String {
        zip(NAGOParameters.names, a.parameters.values).map { "\($0)=\($1)" }.joined(separator: ",")
            + ";seed=\(a.networkSeed)"
    }

    public func parse(_ s: String) throws -> NAGOArchitecture {
        let halves = s.split(separator: ";", omittingEmptySubsequences: false)
        guard halves.count == 2 else {
            throw NAGOParseError("NAGO architecture \"\(s)\": expected '<parameters>;seed=<n>'")
        }
        guard halves[1].hasPrefix("seed="), let seed = UInt64(halves[1].dropFirst(5)) else {
            throw NAGOParseError("NAGO architecture \"\(s)\": seed must be written seed=<non-negative integer>, got '\(halves[1])'")
        }
        let fields = halves[0].split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == NAGOParameters.dimension else {
            throw NAGOParseError("NAGO architecture \"\(s)\": expected the \(NAGOParameters.dimension) parameters "
                + NAGOParameters.names.joined(separator: ", ") + ", got \(fields.count) fields")
        }
        var values: [Double] = []
        for (field, name) in zip(fields, NAGOParameters.names) {
            let parts = field.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else {
                throw NAGOParseError("NAGO architecture \"\(s)\": expected \(name)=<value>, got '\(field)'")
            }
            guard let v = Double(parts[1]), v.isFinite else {
                throw NAGOParseError("NAGO architecture \"\(s)\": \(name) is '\(parts[1])', not a number")
            }
            values.append(v)
        }
        return NAGOArchitecture(parameters: try NAGOParameters(checking: values), networkSeed: seed)
    }

    /// The network an architecture stands for: the generator run with its seed.
    public func network(of a: NAGOArchitecture) -> NAGONetworkDescription {
        var g = SeededGenerator(seed: a.networkSeed)
        return sampleNetwork(a.parameters, using: &g)
    }

    /// Trainable parameters of that network, known before training.
    public func parameterCount(of a: NAGOArchitecture) -> Int {
        network(of: a).parameterCount(inputChannels: inputChannels, classes: classes)
    }

    public func sampleParameters(using rng: inout some RandomNumberGenerator) -> NAGOParameters {
        NAGOParameters(values: (0..<NAGOParameters.dimension).map { _ in rng.unitDouble() })
    }

    static func pick(_ u: Double, _ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Swift.min(range.count - 1, Int(u * Double(range.count)))
    }

    /// The level settings that parameters `offset…offset+3` describe.
    func level(_ v: [Double], _ offset: Int, nodes range: ClosedRange<Int>) -> NAGOLevel {
        let model = RandomGraphModel.allCases[Swift.min(2, Int(v[offset] * 3))]
        let n = Self.pick(v[offset + 1], range)
        let d = v[offset + 2]
        let density: Double
        switch model {
        case .erdosRenyi: density = 0.2 + 0.7 * d
        case .barabasiAlbert: density = Double(Swift.max(1, Swift.min(n - 1, 1 + Int(d * Double(n - 1)))))
        case .wattsStrogatz:
            let maxHalf = Swift.max(1, (n - 1) / 2)
            density = Double(2 * Swift.min(maxHalf, 1 + Int(d * Double(maxHalf))))
        }
        return NAGOLevel(model: model, nodes: n, density: density, rewire: v[offset + 3])
    }

    public func levels(of p: NAGOParameters) -> (top: NAGOLevel, mid: NAGOLevel, bottom: NAGOLevel) {
        (level(p.values, 0, nodes: topNodes), level(p.values, 4, nodes: midNodes), level(p.values, 8, nodes: bottomNodes))
    }

    /// Samples one network from the generator with parameters `p`.
    public func sampleNetwork(_ p: NAGOParameters, using rng: inout some RandomNumberGenerator) -> NAGONetworkDescription {
        let (topLevel, midLevel, bottomLevel) = levels(of: p)
        let top = topLevel.sample(using: &rng)
        var mid: [UndirectedGraph] = []
        var bottom: [[UndirectedGraph]] = []
        for _ in 0..<top.nodeCount {
            let m = midLevel.sample(using: &rng)
            mid.append(m)
            bottom.append((0..<m.nodeCount).map { _ in bottomLevel.sample(using: &rng) })
        }
        // Stage ratio γ ∈ [0.4, 2.5]: stage j sits at level ⌊(L+1)·((j+½)/n)^γ⌋ — small γ halves
        // the resolution early (cheap, deep-feature stages), large γ keeps full resolution longer.
        let gamma = 0.4 + 2.1 * p.values[12]
        let n = top.nodeCount
        let stageLevels = (0..<n).map { j in
            Swift.min(levels, Int(Double(levels + 1) * Foundation.pow((Double(j) + 0.5) / Double(n), gamma)))
        }
        let c0 = Self.pick(p.values[13], channels)
        return NAGONetworkDescription(top: top, mid: mid, bottom: bottom, stageLevels: stageLevels,
                                      stageChannels: stageLevels.map { c0 << $0 }, stemChannels: c0)
    }
}

