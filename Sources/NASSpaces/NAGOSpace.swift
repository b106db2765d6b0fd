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

    public init(values: [Double]) {
        precondition(values.count == Self.dimension, "NAGO parameters have \(Self.dimension) values")
        self.values = values.map { Swift.min(1, Swift.max(0, $0)) }
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

/// NAGO's hierarchical graph-based space: generator parameters → sampled networks.
public struct NAGOSpace: Codable, Equatable, Sendable {
    /// Node-count ranges per level and the base-channel range.
    public var topNodes = 2...4
    public var midNodes = 1...3
    public var bottomNodes = 2...4
    public var channels = 8...16
    /// Number of resolution halvings available after the stem.
    public var levels = 2

    public init() {}

    public var name: String { "nago" }

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

/// ReLU → conv → BN on channels-last input, the unit every bottom-level node applies.
final class NAGOUnit: Module {
    let conv: Conv2d
    let bn: BatchNorm
    init(_ cin: Int, _ cout: Int, kernel: Int, using rng: inout SeededGenerator) {
        conv = Conv2d(cin, cout, kernel: kernel, padding: kernel / 2, bias: false, using: &rng)
        bn = BatchNorm(cout)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { bn(conv(relu(x))) }
}

/// Runs a DAG (an undirected graph read low → high): a node's input is the sum of its
/// predecessors' outputs (the graph's input when it has none); the output is the mean of the
/// sinks' outputs (RandWire's aggregation, without its learned edge weights).
func runGraph(_ g: UndirectedGraph, input: Tensor, _ node: (Int, Tensor) -> Tensor) -> Tensor {
    let preds = g.predecessors()
    var out: [Tensor?] = Array(repeating: nil, count: g.nodeCount)
    for i in 0..<g.nodeCount {
        let x = preds[i].isEmpty ? input : preds[i].dropFirst().reduce(out[preds[i][0]]!) { $0 + out[$1]! }
        out[i] = node(i, x)
    }
    let sinks = g.sinks()
    let sum = sinks.dropFirst().reduce(out[sinks[0]]!) { $0 + out[$1]! }
    return sinks.count == 1 ? sum : sum * (1 / Float(sinks.count))
}

/// A sampled NAGO network built in the engine (channels-last `[N, H, W, C]`): stem conv3×3 + BN,
/// then the top-level graph of stages; a stage runs its mid-level graph of cells, a cell its
/// bottom-level graph of ReLU-conv3×3-BN nodes. Inputs reaching a stage from the stem or another
/// stage at a different resolution or width pass through average pooling and a ReLU-conv1×1-BN.
/// The head global-average-pools every sink stage, concatenates and applies one linear layer.
public final class NAGONetwork: Module {
    public let network: NAGONetworkDescription
    let stemConv: Conv2d
    let stemBN: BatchNorm
    /// Transition units per stage, keyed by source ("stem" or the predecessor stage's index).
    let transitions: [Module]
    let transitionKeys: [[Int]]
    /// Bottom nodes, flattened stage → cell → node.
    let units: [Module]
    let head: Linear

    public init(_ d: NAGONetworkDescription, inputChannels: Int, classes: Int, using rng: inout SeededGenerator) {
        network = d
        stemConv = Conv2d(inputChannels, d.stemChannels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(d.stemChannels)
        var transitions: [Module] = [], keys: [[Int]] = []
        var units: [Module] = []
        let preds = d.top.predecessors()
        for s in 0..<d.top.nodeCount {
            let c = d.stageChannels[s]
            var stageKeys: [Int] = []
            let sources: [(Int, Int, Int)] = preds[s].isEmpty ? [(-1, d.stemChannels, 0)]
                : preds[s].map { ($0, d.stageChannels[$0], d.stageLevels[$0]) }
            for (key, cin, level) in sources where cin != c || level != d.stageLevels[s] {
                transitions.append(NAGOUnit(cin, c, kernel: 1, using: &rng))
                stageKeys.append(key)
            }
            keys.append(stageKeys)
            for cell in d.bottom[s] { for _ in 0..<cell.nodeCount { units.append(NAGOUnit(c, c, kernel: 3, using: &rng)) } }
        }
        self.transitions = transitions
        transitionKeys = keys
        self.units = units
        head = Linear(d.top.sinks().reduce(0) { $0 + d.stageChannels[$1] }, classes, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let d = network
        let stem = stemBN(stemConv(x))
        let preds = d.top.predecessors()
        var stageOut: [Tensor?] = Array(repeating: nil, count: d.top.nodeCount)
        var transitionIndex = 0
        var unitIndex = 0
        for s in 0..<d.top.nodeCount {
            let sources: [(Int, Tensor, Int)] = preds[s].isEmpty ? [(-1, stem, 0)]
                : preds[s].map { ($0, stageOut[$0]!, d.stageLevels[$0]) }
            var input: Tensor?
            for (key, t, level) in sources {
                var y = t
                if transitionKeys[s].contains(key) {
                    let drop = d.stageLevels[s] - level
                    if drop > 0 { y = avgPool2d(y, kernel: 1 << drop, stride: 1 << drop) }
                    y = (transitions[transitionIndex] as! NAGOUnit)(y)
                    transitionIndex += 1
                }
                input = input.map { $0 + y } ?? y
            }
            let cells = d.bottom[s]
            stageOut[s] = runGraph(d.mid[s], input: input!) { cellIndex, cellInput in
                runGraph(cells[cellIndex], input: cellInput) { _, nodeInput in
                    defer { unitIndex += 1 }
                    return (units[unitIndex] as! NAGOUnit)(nodeInput)
                }
            }
        }
        let pooled = d.top.sinks().map { globalAvgPool2d(relu(stageOut[$0]!)) }
        let features = pooled.count == 1 ? pooled[0] : concatenate(pooled, axis: 1)
        return head(features.reshaped([x.shape[0], -1]))
    }
}
