import NASNN
import NASTensor

/// A block of the NB201 supernet: one of its cells or a residual reduction (which has no choice).
public protocol NB201SupernetBlock: Module {
    func callAsFunction(_ x: Tensor, _ context: ChoiceContext) -> Tensor
}

extension ResidualReduction: NB201SupernetBlock {
    public func callAsFunction(_ x: Tensor, _ context: ChoiceContext) -> Tensor { self(x, observer: nil) }
}

/// A supernet cell: a layer choice on each of the six NAS-Bench-201 edges, labelled `edge0`…`edge5`
/// in the cell string's edge order and shared by every cell.
public final class NB201SupernetCell: Module, NB201SupernetBlock {
    public let edges: [LayerChoice]

    init(channels: Int, affine: Bool, using rng: inout SeededGenerator) {
        edges = (0..<NB201Cell.edgeCount).map { NB201Supernet.edgeChoice($0, channels: channels, affine: affine, using: &rng) }
    }

    /// Nodes sum their inputs' edge outputs (nil: zero).
    public func callAsFunction(_ x: Tensor, _ context: ChoiceContext) -> Tensor {
        var nodes: [Tensor?] = [x]
        for node in 1..<NB201Cell.nodeCount {
            var sum: Tensor? = nil
            for (e, edge) in NB201Cell.edges.enumerated() where edge.to == node {
                guard let input = nodes[edge.from], let y = edges[e](input, context) else { continue }
                sum = sum.map { $0 + y } ?? y
            }
            nodes.append(sum)
        }
        return nodes[NB201Cell.nodeCount - 1] ?? Tensor(zeros: x.shape)
    }
}

/// The NAS-Bench-201 macro-structure (stem, three stages of N cells joined by residual
/// reductions, batch norm, ReLU, global pooling, linear) with a layer choice on every cell edge.
/// Each cell has its own op weights; the architecture (one op per edge) is shared by all cells,
/// as in the benchmark.
public final class NB201Supernet: Module, Layer, Supernet {
    public let config: NB201NetworkConfig
    public let stem: Conv2d
    public let stemBN: BatchNorm
    public let blocks: [any NB201SupernetBlock]
    public let lastBN: BatchNorm
    public let classifier: Linear
    public let space: ModelSpace
    public var mask: [[Bool]]
    /// The mode `callAsFunction(_:)` uses (so the supernet can sit where a `Layer` is expected).
    public var mode: SupernetMode

    /// Cell batch norms are non-affine, as in the benchmark's search supernets (DARTS, SPOS).
    public init(config: NB201NetworkConfig, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.config = config
        stem = Conv2d(config.inputChannels, config.channels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(config.channels)
        let (blocks, channels) = nb201Stages(config, using: &rng, reduction: { $0 as any NB201SupernetBlock }) { ch, rng in
            NB201SupernetCell(channels: ch, affine: config.affine, using: &rng)
        }
        self.blocks = blocks
        lastBN = BatchNorm(channels)
        classifier = Linear(channels, config.classes, using: &rng)
        // Every cell holds the same six decisions; the first cell's say what they are.
        let firstCell = blocks.lazy.compactMap { $0 as? NB201SupernetCell }.first
        space = ModelSpace(decisions: firstCell?.edges.map(\.decision) ?? [])
        mask = space.fullMask
        mode = .masked(space.fullMask)
    }

    /// Edge e's layer choice: the five operations in the benchmark's order. The benchmark's
    /// supernet creates the 3×3 convolution before the 1×1, so initial weights follow that order.
    static func edgeChoice(_ e: Int, channels c: Int, affine: Bool, using rng: inout SeededGenerator) -> LayerChoice {
        func make(_ op: NB201Operation) -> CandidateOperation { OperationRegistry.make(op.token, channels: c, affine: affine, using: &rng) }
        let conv3x3 = make(.conv3x3), conv1x1 = make(.conv1x1)
        return LayerChoice(label: "edge\(e)", candidates: [make(.none), make(.skipConnect), conv1x1, conv3x3, make(.avgPool3x3)])
    }

    public var cells: [NB201SupernetCell] { blocks.compactMap { $0 as? NB201SupernetCell } }

    /// The architecture of `cell` (one choice per edge, the op's index in the benchmark's order).
    public static func architecture(_ cell: NB201Cell) -> ArchitectureChoices {
        ArchitectureChoices(cell.ops.map { [$0.rawValue] })
    }

    /// The cell of an architecture of this space.
    public static func cell(_ a: ArchitectureChoices) -> NB201Cell {
        NB201Cell(ops: a.choices.map { NB201Operation(rawValue: $0[0]) ?? .none })
    }

    public func describe(_ a: ArchitectureChoices) -> String { Self.cell(a).description }

    /// Whether node 3 is reachable from node 0 through edges that are not `none`.
    public func isConnected(_ a: ArchitectureChoices) -> Bool {
        let cell = Self.cell(a)
        var reach = [true, false, false, false]
        for (e, edge) in NB201Cell.edges.enumerated() where cell[e] != .none && reach[edge.from] { reach[edge.to] = true }
        return reach[3]
    }

    /// Whether `cell` only uses ops the mask allows.
    public func allows(_ cell: NB201Cell) -> Bool { space.allows(Self.architecture(cell), mask: mask) }

    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, mode: mode) }

    public func callAsFunction(_ x: Tensor, cell: NB201Cell) -> Tensor { self(x, mode: .path(Self.architecture(cell))) }

    public func forward(_ x: Tensor, _ context: ChoiceContext) -> Tensor {
        var h = stemBN(stem(x))
        for block in blocks {
            h = block(h, context)
        }
        h = lastBN(h)
        return classifier(globalAvgPool2d(relu(h)))
    }

    /// The stand-alone network of `cell` holding this supernet's current weights.
    public func instantiate(_ cell: NB201Cell) throws -> NB201Network {
        let net = NB201Network(cell: cell, config: config, seed: 0)
        let source = stateDict()
        for (name, t) in net.namedTensors() {
            var from = name
            let parts = name.split(separator: ".").map(String.init)
            // blocks.i.edges.e.unit.X ← blocks.i.edges.e.candidates.<op>.body.X
            if parts.count > 4, parts[0] == "blocks", parts[2] == "edges", parts[4] == "unit", let e = Int(parts[3]) {
                from = (parts[0..<4] + ["candidates", String(cell[e].rawValue), "body"] + parts[5...]).joined(separator: ".")
            }
            guard let value = source[from], value.shape == t.shape else { throw StateDictError.missing(from) }
            t.assign(value)
        }
        return net
    }
}
