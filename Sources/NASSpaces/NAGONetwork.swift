import Foundation
import NASNN
import NASTensor

/// ReLU → conv → BN on channels-last input, the unit every bottom-level node applies.
final class NAGOUnit: Module, Layer {
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
public final class NAGONetwork: Module, Layer {
    public let network: NAGONetworkDescription
    let stemConv: Conv2d
    let stemBN: BatchNorm
    /// Transition units per stage, keyed by source ("stem" or the predecessor stage's index).
    let transitions: [NAGOUnit]
    let transitionKeys: [[Int]]
    /// Bottom nodes, flattened stage → cell → node.
    let units: [NAGOUnit]
    let head: Linear

    public init(_ d: NAGONetworkDescription, inputChannels: Int, classes: Int, using rng: inout SeededGenerator) {
        network = d
        stemConv = Conv2d(inputChannels, d.stemChannels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(d.stemChannels)
        var transitions: [NAGOUnit] = [], keys: [[Int]] = []
        var units: [NAGOUnit] = []
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
                    y = transitions[transitionIndex](y)
                    transitionIndex += 1
                }
                input = input.map { $0 + y } ?? y
            }
            let cells = d.bottom[s]
            stageOut[s] = runGraph(d.mid[s], input: input!) { cellIndex, cellInput in
                runGraph(cells[cellIndex], input: cellInput) { _, nodeInput in
                    defer { unitIndex += 1 }
                    return units[unitIndex](nodeInput)
                }
            }
        }
        let pooled = d.top.sinks().map { globalAvgPool2d(relu(stageOut[$0]!)) }
        let features = pooled.count == 1 ? pooled[0] : concatenate(pooled, axis: 1)
        return head(features.reshaped([x.shape[0], -1]))
    }
}
