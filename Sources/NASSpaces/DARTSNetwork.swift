import Foundation
import NASNN
import NASTensor

/// Shape of a network of DARTS's CNN space (Liu et al., ICLR 2019): a 3×3 conv stem with 3C
/// channels, `layers` cells with reduction cells at 1/3 and 2/3 of the depth (channels doubled
/// there), global average pooling and a linear classifier. Each cell has two 1×1 preprocessing
/// units (a factorized reduction after a reduction cell), four intermediate nodes that each sum
/// two operations on earlier nodes, and concatenates the four nodes (4C channels out).
public struct DARTSNetworkConfig: Codable, Sendable, Equatable {
    public var channels = 16
    public var layers = 8
    public var inputChannels = 3
    public var classes = 10
    /// Affine batch norms in the cells (off in the search supernet, on in the final network).
    public var affine = true
    /// A non-affine batch norm after each pooling op, as DARTS's search supernet has (its
    /// mixed op adds one so that pooled and convolved outputs have the same scale).
    public var poolBatchNorm = false
    /// Weight of the auxiliary head's loss (0: no head); the paper trains with 0.4.
    public var auxiliaryWeight: Float = 0
    /// Drop-path probability, reached linearly over the epochs (the paper: 0.2).
    public var dropPath: Float = 0

    public init(channels: Int = 16, layers: Int = 8, inputChannels: Int = 3, classes: Int = 10, affine: Bool = true,
                poolBatchNorm: Bool? = nil, auxiliaryWeight: Float = 0, dropPath: Float = 0) {
        self.channels = channels; self.layers = layers; self.inputChannels = inputChannels; self.classes = classes
        self.affine = affine; self.poolBatchNorm = poolBatchNorm ?? !affine
        self.auxiliaryWeight = auxiliaryWeight; self.dropPath = dropPath
    }

    /// The cells that are reduction cells.
    public var reductions: Set<Int> { [layers / 3, 2 * layers / 3] }
}

/// The decisions of DARTS's space and their labels: `normal_edge<E>` / `reduce_edge<E>` for the
/// 14 edges of each cell (node i's inputs j = 0…i+1 are edges offset(i) + j), `normal_node<i>` /
/// `reduce_node<i>` for the two inputs each node keeps. Rows of α: the normal cell's 14 edges,
/// then the reduction cell's.
public enum DARTSSpace {
    public static let kinds = ["normal", "reduce"]
    public static let edgesPerCell = 14

    /// Edge index of node `node`'s input `input`.
    public static func edge(node: Int, input: Int) -> Int { (0..<node).reduce(0) { $0 + $1 + 2 } + input }

    public static func edgeLabel(_ kind: String, _ e: Int) -> String { "\(kind)_edge\(e)" }
    public static func nodeLabel(_ kind: String, _ node: Int) -> String { "\(kind)_node\(node + 2)" }

    /// Every decision, normal cell first (each node's edges, then its input choice).
    public static let space: ModelSpace = {
        var rng = SeededGenerator(seed: 0)
        var decisions: [Decision] = []
        for kind in kinds {
            for node in 0..<DARTSGenotype.nodes {
                for j in 0..<(node + 2) {
                    decisions.append(edgeChoice(kind, edge(node: node, input: j), channels: 2, stride: 1, affine: false,
                                                poolBatchNorm: false, using: &rng).decision)
                }
                decisions.append(inputChoice(kind, node).decision)
            }
        }
        return ModelSpace(decisions: decisions)
    }()

    /// A DARTS edge: the eight operations in DARTS's order, `none` only in the relaxation.
    static func edgeChoice(_ kind: String, _ e: Int, channels c: Int, stride: Int, affine: Bool, poolBatchNorm: Bool,
                           using rng: inout SeededGenerator) -> LayerChoice {
        let ops = DARTSGenotype.operations.map { operation($0, channels: c, stride: stride, affine: affine,
                                                          poolBatchNorm: poolBatchNorm, using: &rng) }
        return LayerChoice(label: edgeLabel(kind, e), candidates: ops, relaxationOnly: ["none"])
    }

    static func inputChoice(_ kind: String, _ node: Int) -> InputChoice {
        InputChoice(label: nodeLabel(kind, node), count: node + 2, chosen: 2,
                    strengths: (0..<(node + 2)).map { edgeLabel(kind, edge(node: node, input: $0)) })
    }

    /// A registry operation, pooling followed by a non-affine batch norm when asked.
    static func operation(_ name: String, channels c: Int, stride: Int, affine: Bool, poolBatchNorm: Bool,
                          using rng: inout SeededGenerator) -> CandidateOperation {
        let op = OperationRegistry.make(name, channels: c, stride: stride, affine: affine, using: &rng)
        guard poolBatchNorm, name.hasSuffix("pool_3x3") else { return op }
        let bn = BatchNorm(c, affine: false)
        return CandidateOperation(name, body: bn, standInWeights: op.standInWeights) { op($0).map { bn($0) } }
    }

    /// The architecture of a genotype.
    public static func architecture(_ g: DARTSGenotype) -> ArchitectureChoices {
        var choices = space.decisions.map { _ in [-1] }
        for (kind, edges) in zip(kinds, [g.normal, g.reduce]) {
            for node in 0..<DARTSGenotype.nodes {
                let pair = edges[(2 * node)..<(2 * node + 2)]
                choices[space.index(of: nodeLabel(kind, node))!] = pair.map(\.input).sorted()
                for e in pair {
                    choices[space.index(of: edgeLabel(kind, edge(node: node, input: e.input)))!] =
                        [DARTSGenotype.operations.firstIndex(of: e.operation)!]
                }
            }
        }
        return ArchitectureChoices(choices)
    }

    /// The genotype of an architecture of this space (each node's inputs ascending).
    public static func genotype(_ a: ArchitectureChoices) throws -> DARTSGenotype {
        guard space.allows(a, mask: space.fullMask) else { throw DARTSGenotypeError("not an architecture of the DARTS space") }
        let cells = kinds.map { kind in
            (0..<DARTSGenotype.nodes).flatMap { node in
                a.choices[space.index(of: nodeLabel(kind, node))!].map { input in
                    DARTSGenotype.Edge(DARTSGenotype.operations[a.choices[space.index(of: edgeLabel(kind, edge(node: node, input: input)))!][0]], input)
                }
            }
        }
        return try DARTSGenotype(normal: cells[0], reduce: cells[1])
    }
}

/// What every DARTS cell has: the two preprocessing units and whether it reduces.
public class DARTSCellBase: Module {
    public let reduction: Bool
    /// A factorized reduction after a reduction cell (its input is twice as large), else ReLU-conv-BN.
    public let preprocess0: Module
    public let preprocess1: ReLUConvBN
    public let channels: Int

    init(previousPrevious cpp: Int, previous cp: Int, channels c: Int, reduction: Bool, reductionPrevious: Bool,
         affine: Bool, using rng: inout SeededGenerator) {
        self.reduction = reduction
        self.channels = c
        preprocess0 = reductionPrevious ? FactorizedReduce(cpp, c, affine: affine, using: &rng)
            : ReLUConvBN(cpp, c, kernel: 1, stride: 1, padding: 0, affine: affine, using: &rng)
        preprocess1 = ReLUConvBN(cp, c, kernel: 1, stride: 1, padding: 0, affine: affine, using: &rng)
    }

    func preprocessed(_ s0: Tensor, _ s1: Tensor) -> [Tensor] {
        let p0 = (preprocess0 as? FactorizedReduce).map { $0(s0) } ?? (preprocess0 as? ReLUConvBN).map { $0(s0, observer: nil) } ?? s0
        return [p0, preprocess1(s1, observer: nil)]
    }

    /// A node no operation reaches: zeros of the node's shape.
    func zeroNode(_ like: Tensor) -> Tensor {
        let s = reduction ? 2 : 1
        return Tensor(zeros: [like.shape[0], (like.shape[1] + s - 1) / s, (like.shape[2] + s - 1) / s, channels])
    }
}

/// A supernet cell: a layer choice on each of the 14 edges, an input choice per node.
public final class DARTSSupernetCell: DARTSCellBase {
    public let edges: [LayerChoice]
    public let nodeInputs: [InputChoice]

    init(previousPrevious cpp: Int, previous cp: Int, channels c: Int, reduction: Bool, reductionPrevious: Bool,
         config: DARTSNetworkConfig, using rng: inout SeededGenerator) {
        let kind = reduction ? "reduce" : "normal"
        var edges: [LayerChoice] = []
        for node in 0..<DARTSGenotype.nodes {
            for j in 0..<(node + 2) {
                edges.append(DARTSSpace.edgeChoice(kind, DARTSSpace.edge(node: node, input: j), channels: c,
                                                   stride: reduction && j < 2 ? 2 : 1, affine: config.affine,
                                                   poolBatchNorm: config.poolBatchNorm, using: &rng))
            }
        }
        self.edges = edges
        nodeInputs = (0..<DARTSGenotype.nodes).map { DARTSSpace.inputChoice(kind, $0) }
        super.init(previousPrevious: cpp, previous: cp, channels: c, reduction: reduction, reductionPrevious: reductionPrevious,
                   affine: config.affine, using: &rng)
    }

    func callAsFunction(_ s0: Tensor, _ s1: Tensor, _ context: ChoiceContext) -> Tensor {
        var states = preprocessed(s0, s1)
        for node in 0..<DARTSGenotype.nodes {
            var sum: Tensor? = nil
            for j in nodeInputs[node].active(context) {
                guard let y = edges[DARTSSpace.edge(node: node, input: j)](states[j], context) else { continue }
                sum = sum.map { $0 + y } ?? y
            }
            states.append(sum ?? zeroNode(states[1]))
        }
        return concatenate(Array(states[2...]), axis: 3)
    }
}

/// A fixed cell: two operations per node on the inputs of a genotype.
public final class DARTSCell: DARTSCellBase {
    public let ops: [CandidateOperation]
    public let inputs: [Int]
    /// Drop-path probability of this epoch and the generator of its masks (set by the network).
    var dropPath: Float = 0
    var generator = SeededGenerator(seed: 0)

    init(_ edges: [DARTSGenotype.Edge], previousPrevious cpp: Int, previous cp: Int, channels c: Int, reduction: Bool,
         reductionPrevious: Bool, config: DARTSNetworkConfig, using rng: inout SeededGenerator) {
        ops = edges.map { DARTSSpace.operation($0.operation, channels: c, stride: reduction && $0.input < 2 ? 2 : 1,
                                               affine: config.affine, poolBatchNorm: config.poolBatchNorm, using: &rng) }
        inputs = edges.map(\.input)
        super.init(previousPrevious: cpp, previous: cp, channels: c, reduction: reduction, reductionPrevious: reductionPrevious,
                   affine: config.affine, using: &rng)
    }

    func callAsFunction(_ s0: Tensor, _ s1: Tensor) -> Tensor {
        var states = preprocessed(s0, s1)
        for node in 0..<DARTSGenotype.nodes {
            var sum: Tensor? = nil
            for k in [2 * node, 2 * node + 1] {
                guard var y = ops[k](states[inputs[k]]) else { continue }
                // Drop path (DARTS): zero an op's output for a random subset of the batch, scaling
                // the rest by 1/keep; identities are never dropped.
                if training && dropPath > 0 && !(ops[k].name == "skip_connect" && ops[k].body == nil) {
                    let keep = 1 - dropPath
                    let mask = (0..<y.shape[0]).map { _ in generator.nextFloat() < keep ? 1 / keep : 0 }
                    y = y * Tensor(shape: [y.shape[0], 1, 1, 1], data: mask)
                }
                sum = sum.map { $0 + y } ?? y
            }
            states.append(sum ?? zeroNode(states[1]))
        }
        return concatenate(Array(states[2...]), axis: 3)
    }
}

/// DARTS's auxiliary classifier after the second reduction (training only): ReLU, pooling to
/// 2×2 (the paper's 5×5/3 pooling of an 8×8 map; adaptive here so any input size works),
/// 1×1 conv to 128, BN, ReLU, 2×2 conv to 768, BN, ReLU, linear.
public final class AuxiliaryHead: Module {
    public let conv1: Conv2d
    public let bn1: BatchNorm
    public let conv2: Conv2d
    public let bn2: BatchNorm
    public let classifier: Linear

    init(_ c: Int, classes: Int, using rng: inout SeededGenerator) {
        conv1 = Conv2d(c, 128, kernel: 1, bias: false, using: &rng)
        bn1 = BatchNorm(128)
        conv2 = Conv2d(128, 768, kernel: 2, bias: false, using: &rng)
        bn2 = BatchNorm(768)
        classifier = Linear(768, classes, using: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = relu(bn2(conv2(relu(bn1(conv1(adaptiveAvgPool2d(relu(x), outputSize: (2, 2))))))))
        return classifier(h.reshaped([h.shape[0], 768]))
    }
}

/// The macro-structure both DARTS networks share: stem, cells, pooling, classifier.
func dartsCells<Cell>(_ config: DARTSNetworkConfig, using rng: inout SeededGenerator,
                      cell make: (_ cpp: Int, _ cp: Int, _ c: Int, _ reduction: Bool, _ reductionPrevious: Bool, inout SeededGenerator) -> Cell)
    -> (cells: [Cell], channels: Int, auxiliaryChannels: Int) {
    var (cpp, cp, c) = (3 * config.channels, 3 * config.channels, config.channels)
    var cells: [Cell] = []
    var reductionPrevious = false
    var auxiliary = cp
    for i in 0..<config.layers {
        let reduction = config.reductions.contains(i)
        if reduction { c *= 2 }
        cells.append(make(cpp, cp, c, reduction, reductionPrevious, &rng))
        reductionPrevious = reduction
        (cpp, cp) = (cp, 4 * c)
        if i == 2 * config.layers / 3 { auxiliary = cp }
    }
    return (cells, cp, auxiliary)
}

/// DARTS's search supernet: every edge of every cell a layer choice over the eight operations,
/// each node an input choice; normal cells share the `normal_*` decisions, reduction cells the
/// `reduce_*` ones.
public final class DARTSSupernet: Module, Layer, Supernet {
    public let config: DARTSNetworkConfig
    public let stem: Conv2d
    public let stemBN: BatchNorm
    public let cells: [DARTSSupernetCell]
    public let classifier: Linear
    public var space: ModelSpace { DARTSSpace.space }
    public var mask: [[Bool]] = DARTSSpace.space.fullMask

    public init(config: DARTSNetworkConfig, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.config = config
        stem = Conv2d(config.inputChannels, 3 * config.channels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(3 * config.channels)
        let (cells, channels, _) = dartsCells(config, using: &rng) { cpp, cp, c, red, redPrev, rng in
            DARTSSupernetCell(previousPrevious: cpp, previous: cp, channels: c, reduction: red, reductionPrevious: redPrev,
                              config: config, using: &rng)
        }
        self.cells = cells
        classifier = Linear(channels, config.classes, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, mode: .masked(mask)) }

    public func forward(_ x: Tensor, _ context: ChoiceContext) -> Tensor {
        var s0 = stemBN(stem(x)), s1 = s0
        for cell in cells { (s0, s1) = (s1, cell(s0, s1, context)) }
        return classifier(globalAvgPool2d(s1))
    }

    public func describe(_ a: ArchitectureChoices) -> String {
        (try? DARTSSpace.genotype(a).description) ?? "\(a.choices)"
    }

    /// The stand-alone network of `a` holding this supernet's current weights (its cells keep
    /// only the chosen operations; everything else is shared unchanged).
    public func instantiate(_ a: ArchitectureChoices) throws -> DARTSNetwork {
        let net = DARTSNetwork(genotype: try DARTSSpace.genotype(a), config: config, seed: 0)
        try net.stem.load(stateDict: stem.stateDict()); try net.stemBN.load(stateDict: stemBN.stateDict())
        try net.classifier.load(stateDict: classifier.stateDict())
        for (fixed, cell) in zip(net.cells, cells) {
            try fixed.preprocess0.load(stateDict: cell.preprocess0.stateDict())
            try fixed.preprocess1.load(stateDict: cell.preprocess1.stateDict())
            let kind = cell.reduction ? "reduce" : "normal"
            for (k, op) in fixed.ops.enumerated() {
                let e = DARTSSpace.edge(node: k / 2, input: fixed.inputs[k])
                let choice = a.choices[space.index(of: DARTSSpace.edgeLabel(kind, e))!][0]
                try op.load(stateDict: cell.edges[e].candidates[choice].stateDict())
            }
        }
        return net
    }
}

/// The network of one DARTS genotype (`swiftnas train --space darts --arch '<genotype>'`), with
/// the paper's optional auxiliary head and drop path.
public final class DARTSNetwork: Module, Layer, AuxiliaryLoss, EpochScheduled {
    public let genotype: DARTSGenotype
    public let config: DARTSNetworkConfig
    public let stem: Conv2d
    public let stemBN: BatchNorm
    public let cells: [DARTSCell]
    public let auxiliary: AuxiliaryHead?
    public let classifier: Linear
    private let seed: UInt64
    private var auxiliaryLogits: Tensor?

    public init(genotype: DARTSGenotype, config: DARTSNetworkConfig, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.genotype = genotype
        self.config = config
        self.seed = seed
        stem = Conv2d(config.inputChannels, 3 * config.channels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(3 * config.channels)
        let (cells, channels, auxChannels) = dartsCells(config, using: &rng) { cpp, cp, c, red, redPrev, rng in
            DARTSCell(red ? genotype.reduce : genotype.normal, previousPrevious: cpp, previous: cp, channels: c,
                      reduction: red, reductionPrevious: redPrev, config: config, using: &rng)
        }
        self.cells = cells
        auxiliary = config.auxiliaryWeight > 0 ? AuxiliaryHead(auxChannels, classes: config.classes, using: &rng) : nil
        classifier = Linear(channels, config.classes, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var s0 = stemBN(stem(x)), s1 = s0
        auxiliaryLogits = nil
        for (i, cell) in cells.enumerated() {
            (s0, s1) = (s1, cell(s0, s1))
            if let auxiliary, training, i == 2 * config.layers / 3 { auxiliaryLogits = auxiliary(s1) }
        }
        return classifier(globalAvgPool2d(s1))
    }

    public func auxiliaryLoss(targets: [Int]) -> Tensor? {
        guard let logits = auxiliaryLogits else { return nil }
        defer { auxiliaryLogits = nil }
        return crossEntropy(logits, targets: targets) * config.auxiliaryWeight
    }

    /// Drop path grows linearly to `dropPath` (DARTS: p · epoch / epochs); masks come from a
    /// generator seeded by (seed, epoch), so a resumed run draws the same ones.
    public func beginTrainingEpoch(_ epoch: Int, of epochs: Int) {
        for (i, cell) in cells.enumerated() {
            cell.dropPath = config.dropPath * Float(epoch) / Float(max(epochs, 1))
            cell.generator = SeededGenerator(seed: seed &+ 0xD209 &+ UInt64(epoch) &* 1_000_003 &+ UInt64(i))
        }
    }
}
