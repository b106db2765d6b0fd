import NASNN
import NASTensor

/// An Auto-DeepLab cell: `blocks` blocks, block i the sum of its edges, each edge an operation on
/// one of the cell's two inputs or an earlier block; the cell's output is the sum of its blocks.
/// In the supernet every edge holds every candidate, mixed by the softmax of the shared α; in a
/// derived network each block keeps its two chosen edges with one operation each.
final class AutoDeepLabCell: Module {
    /// Every candidate of every edge, flat (module reflection finds arrays of modules, not arrays
    /// of arrays): edge e's candidates are `operations[edgeStart[e]..<edgeStart[e + 1]]`.
    let operations: [CandidateOperation]
    let edgeStart: [Int]
    let edgeBlock: [Int], edgeInput: [Int], edgeIndex: [Int]
    /// Per edge, the index of each candidate in the config's operation list.
    let operationIndex: [[Int]]
    let blocks: Int

    /// The supernet's cell: every edge, every operation.
    init(supernet config: AutoDeepLabConfig, channels: Int, using rng: inout SeededGenerator) {
        let edges = config.edges
        var ops: [CandidateOperation] = [], start: [Int] = []
        for _ in edges {
            start.append(ops.count)
            ops += config.operations.map { OperationRegistry.make($0, channels: channels, affine: false, using: &rng) }
        }
        operations = ops
        edgeStart = start + [ops.count]
        (edgeBlock, edgeInput, edgeIndex) = (edges.map(\.block), edges.map(\.input), Array(edges.indices))
        operationIndex = edges.map { _ in Array(config.operations.indices) }
        blocks = config.blocks
    }

    /// A derived network's cell: the architecture's edges.
    init(derived cell: [[AutoDeepLabArchitecture.Edge]], channels: Int, using rng: inout SeededGenerator) {
        var ops: [CandidateOperation] = [], block: [Int] = [], input: [Int] = []
        for (b, edges) in cell.enumerated() {
            for e in edges {
                ops.append(OperationRegistry.make(e.operation, channels: channels, affine: true, using: &rng))
                block.append(b)
                input.append(e.input)
            }
        }
        (operations, edgeBlock, edgeInput) = (ops, block, input)
        edgeStart = Array(0...ops.count)
        edgeIndex = Array(ops.indices)
        operationIndex = ops.map { _ in [0] }
        blocks = cell.count
    }

    /// `mixing`: the softmax of α, `[edges, operations]` (nil in a derived network).
    func callAsFunction(_ previous: Tensor, _ beforePrevious: Tensor, mixing: Tensor?) -> Tensor {
        var states = [previous, beforePrevious]
        var output: Tensor?
        for b in 0..<blocks {
            var sum: Tensor?
            for e in edgeBlock.indices where edgeBlock[e] == b {
                let x = states[edgeInput[e]]
                for (k, op) in operations[edgeStart[e]..<edgeStart[e + 1]].enumerated() {
                    guard var y = op(x) else { continue }
                    if let mixing {
                        y = y * mixing.slice(axis: 0, edgeIndex[e]..<(edgeIndex[e] + 1))
                            .slice(axis: 1, operationIndex[e][k]..<(operationIndex[e][k] + 1)).reshaped([1])
                    }
                    sum = sum.map { $0 + y } ?? y
                }
            }
            let block = sum ?? previous * 0
            states.append(block)
            output = output.map { $0 + block } ?? block
        }
        return output ?? previous
    }
}

/// Changes a feature map's level: ReLU → 3×3 stride-2 convolution → BN going down, a 2×2
/// stride-2 transposed convolution → BN going up, nothing on the same level.
final class LevelChange: Module {
    let down: Conv2d?, up: ConvTranspose2d?, norm: BatchNorm?

    init(from: Int, to: Int, config: AutoDeepLabConfig, using rng: inout SeededGenerator) {
        let cin = config.channels(at: from), cout = config.channels(at: to)
        down = to > from ? Conv2d(cin, cout, kernel: 3, stride: 2, padding: 1, bias: false, using: &rng) : nil
        up = to < from ? ConvTranspose2d(cin, cout, kernel: 2, stride: 2, bias: false, using: &rng) : nil
        norm = to != from ? BatchNorm(cout) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if let down, let norm { return norm(down(relu(x))) }
        if let up, let norm { return norm(up(relu(x))) }
        return x
    }
}

/// An ASPP-like head (DeepLab's atrous spatial pyramid pooling at CPU scale): 1×1 and 3×3
/// convolutions at dilations 2 and 4 side by side, concatenated, a 1×1 projection, and a 1×1
/// convolution to one logit per pixel.
final class ASPPHead: Module {
    let branches: [Conv2d], norms: [BatchNorm]
    let project: Conv2d, projectNorm: BatchNorm, classifier: Conv2d

    init(_ c: Int, using rng: inout SeededGenerator) {
        branches = [Conv2d(c, c, kernel: 1, bias: false, using: &rng),
                    Conv2d(c, c, kernel: 3, padding: 2, dilation: 2, bias: false, using: &rng),
                    Conv2d(c, c, kernel: 3, padding: 4, dilation: 4, bias: false, using: &rng)]
        norms = [BatchNorm(c), BatchNorm(c), BatchNorm(c)]
        project = Conv2d(3 * c, c, kernel: 1, bias: false, using: &rng)
        projectNorm = BatchNorm(c)
        classifier = Conv2d(c, 1, kernel: 1, using: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let features = concatenate(zip(branches, norms).map { relu($1($0(x))) }, axis: 3)
        return classifier(relu(projectNorm(project(features))))
    }
}

/// Nearest-neighbour upsampling of `[N, H, W, C]` by `factor` in both directions.
func upsampleNearest(_ x: Tensor, _ factor: Int) -> Tensor {
    guard factor > 1 else { return x }
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.reshaped([n, h, 1, w, 1, c]).expanded(to: [n, h, factor, w, factor, c]).reshaped([n, h * factor, w * factor, c])
}

/// Auto-DeepLab's network (Liu et al., CVPR 2019) at CPU scale: a stride-2 stem, then `layers`
/// cells along a path through `levels` resolutions, and an ASPP-like head whose logits are
/// upsampled back to the input. As a supernet (`architecture` nil) every node of the trellis is
/// computed: node (l, s) = Σ over the nodes (l − 1, s′) next to it of β(l, s′ → s) · cell(change of
/// level(node)), with β normalised over each node's outgoing transitions and one α for all cells;
/// the heads of every final level are summed. A derived network follows its path only.
/// `[N, H, W, 1] → [N, H, W, 1]`, H and W divisible by 2^levels.
public final class AutoDeepLabNetwork: Module, Layer {
    public let config: AutoDeepLabConfig
    public let architecture: AutoDeepLabArchitecture?
    let stem: Conv2d, stemNorm: BatchNorm
    /// (layer, from level, to level) of every computed transition, in order.
    let transitions: [(layer: Int, from: Int, to: Int)]
    let changes: [LevelChange]
    let cells: [AutoDeepLabCell]
    let heads: [ASPPHead]
    let headLevels: [Int]
    /// Operation logits `[edges, operations]`, shared by every cell (supernet only).
    public let alpha: Tensor?
    /// Transition logits `[layers, levels, levels]`, from → to (supernet only).
    public let beta: Tensor?

    public init(config: AutoDeepLabConfig, architecture: AutoDeepLabArchitecture? = nil, inputChannels: Int = 1, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.config = config
        self.architecture = architecture
        stem = Conv2d(inputChannels, config.channels, kernel: 3, stride: 2, padding: 1, bias: false, using: &rng)
        stemNorm = BatchNorm(config.channels)
        var t: [(layer: Int, from: Int, to: Int)] = []
        for l in 0..<config.layers {
            if let a = architecture {
                t.append((l, l == 0 ? 0 : a.path[l - 1], a.path[l]))
            } else {
                let sources = l == 0 ? [0] : config.levels(at: l - 1)
                for to in config.levels(at: l) { for from in sources where abs(from - to) <= 1 { t.append((l, from, to)) } }
            }
        }
        transitions = t
        var ch: [LevelChange] = [], ce: [AutoDeepLabCell] = []
        for (_, from, to) in t {
            ch.append(LevelChange(from: from, to: to, config: config, using: &rng))
            ce.append(architecture.map { AutoDeepLabCell(derived: $0.cell, channels: config.channels(at: to), using: &rng) }
                      ?? AutoDeepLabCell(supernet: config, channels: config.channels(at: to), using: &rng))
        }
        (changes, cells) = (ch, ce)
        headLevels = architecture.map { [$0.path[config.layers - 1]] } ?? config.levels(at: config.layers - 1)
        heads = headLevels.map { ASPPHead(config.channels(at: $0), using: &rng) }
        if architecture == nil {
            alpha = Tensor.normal([config.edges.count, config.operations.count], std: 1e-3, using: &rng, requiresGrad: true)
            beta = Tensor.normal([config.layers, config.levels, config.levels], std: 1e-3, using: &rng, requiresGrad: true)
        } else {
            (alpha, beta) = (nil, nil)
        }
    }

    /// The architecture logits (empty for a derived network).
    public var architectureParameters: [Tensor] { [alpha, beta].compactMap { $0 } }

    /// Every parameter but α and β.
    public var weightParameters: [Tensor] {
        let arch = Set(architectureParameters.map(ObjectIdentifier.init))
        return parameters().filter { !arch.contains(ObjectIdentifier($0)) }
    }

    /// β turned into transition probabilities: for each layer and source level, a softmax over
    /// the levels it can reach (the others get probability 0).
    func transitionProbabilities(_ beta: Tensor) -> Tensor {
        let (l, s) = (config.layers, config.levels)
        var mask = [Float](repeating: -1e4, count: l * s * s)
        for layer in 0..<l {
            for to in config.levels(at: layer) { for from in 0..<s where abs(from - to) <= 1 { mask[(layer * s + from) * s + to] = 0 } }
        }
        return softmax(beta + Tensor(shape: [l, s, s], data: mask))
    }

    /// Transition probabilities as numbers `[layer][from][to]`, for the Viterbi decoding.
    public func transitionTable() -> [[[Double]]] {
        guard let beta else { return [] }
        let p = withoutGrad { transitionProbabilities(beta).array }, s = config.levels
        return (0..<config.layers).map { l in (0..<s).map { from in (0..<s).map { Double(p[(l * s + from) * s + $0]) } } }
    }

    /// The softmax of α per edge, as numbers (empty for a derived network).
    public func operationWeights() -> [[Double]] {
        guard let alpha else { return [] }
        let p = withoutGrad { softmax(alpha).array }, k = config.operations.count
        return (0..<config.edges.count).map { e in (0..<k).map { Double(p[e * k + $0]) } }
    }

    /// The derived architecture: Viterbi's path through β and the top-2 cell of α.
    public func decode() -> AutoDeepLabArchitecture? {
        guard alpha != nil, beta != nil else { return architecture }
        return AutoDeepLabArchitecture(path: AutoDeepLabDecoding.viterbi(transitionTable(), levels: config.levels),
                                       cell: AutoDeepLabDecoding.topTwo(operationWeights(), config: config))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let mixing = alpha.map { softmax($0) }
        let probabilities = beta.map { transitionProbabilities($0) }
        // Node outputs by (layer + 1, level); layer −1 is the stem, at level 0.
        var nodes: [[Int: Tensor]] = [[0: relu(stemNorm(stem(x)))]]
        for l in 0..<config.layers {
            var layer: [Int: Tensor] = [:]
            for (i, t) in transitions.enumerated() where t.layer == l {
                guard let source = nodes[l][t.from] else { continue }
                let changed = changes[i](source)
                // The cell's second input: the node two layers back at this level, if there is one.
                let before = l >= 1 ? nodes[l - 1][t.to] ?? changed : changed
                var y = cells[i](changed, before, mixing: mixing)
                if let probabilities {
                    y = y * probabilities.slice(axis: 0, l..<(l + 1)).slice(axis: 1, t.from..<(t.from + 1))
                        .slice(axis: 2, t.to..<(t.to + 1)).reshaped([1])
                }
                layer[t.to] = layer[t.to].map { $0 + y } ?? y
            }
            nodes.append(layer)
        }
        var logits: Tensor?
        for (head, level) in zip(heads, headLevels) {
            guard let node = nodes[config.layers][level] else { continue }
            let y = upsampleNearest(head(node), 1 << (level + 1))
            logits = logits.map { $0 + y } ?? y
        }
        return logits ?? x
    }
}
