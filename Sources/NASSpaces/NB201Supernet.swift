import NASNN
import NASTensor

/// How a supernet forward pass combines the candidate operations on each edge.
public enum NB201SupernetMode {
    /// Continuous relaxation (DARTS, DNAL): every allowed op on edge e is computed and scaled by
    /// `weights[e, k]`; `weights` is `[6, 5]` and may carry a gradient back to the architecture
    /// parameters it was computed from.
    case weighted(Tensor)
    /// One op per edge, the single path of a cell (SPOS, RLNAS, MdeNAS, evaluation).
    case path(NB201Cell)
    /// The mean of a subset of ops on each edge (`mask[e][k]`: op k takes part on edge e).
    case masked([[Bool]])
}

/// One NAS-Bench-201 edge of the supernet: all five candidate operations with their own
/// weights, shared by every architecture that picks them.
public final class NB201MixedOp: Module {
    public let conv1x1: ReLUConvBN
    public let conv3x3: ReLUConvBN

    public init(channels: Int, affine: Bool, using rng: inout SeededGenerator) {
        conv3x3 = ReLUConvBN(channels, channels, kernel: 3, stride: 1, padding: 1, affine: affine, using: &rng)
        conv1x1 = ReLUConvBN(channels, channels, kernel: 1, stride: 1, padding: 0, affine: affine, using: &rng)
    }

    /// The output of one candidate, or nil for `none` (a zero the node sum skips).
    public func callAsFunction(_ x: Tensor, op: NB201Operation) -> Tensor? {
        switch op {
        case .none: return nil
        case .skipConnect: return x
        case .avgPool3x3: return avgPool2d(x, kernel: 3, stride: 1, padding: 1, countIncludePad: false)
        case .conv1x1: return conv1x1(x, observer: nil)
        case .conv3x3: return conv3x3(x, observer: nil)
        }
    }

    /// `Σ_k w_k · op_k(x)` over the ops with a weight (`weights[k]` a one-element tensor or nil).
    public func callAsFunction(_ x: Tensor, weights: [Tensor?]) -> Tensor? {
        var sum: Tensor? = nil
        for op in NB201Operation.allCases {
            guard let w = weights[op.rawValue], let y = self(x, op: op) else { continue }
            let term = y * w
            sum = sum.map { $0 + term } ?? term
        }
        return sum
    }

    /// The parameters an architecture uses on this edge when it picks `op`.
    public func parameters(of op: NB201Operation) -> [Tensor] {
        switch op {
        case .conv1x1: return conv1x1.parameters()
        case .conv3x3: return conv3x3.parameters()
        case .none, .skipConnect, .avgPool3x3: return []
        }
    }
}

/// A supernet cell: six mixed ops on the NAS-Bench-201 DAG.
public final class NB201SupernetCell: Module {
    public let edges: [Module]

    init(channels: Int, affine: Bool, using rng: inout SeededGenerator) {
        edges = (0..<NB201Cell.edgeCount).map { _ in NB201MixedOp(channels: channels, affine: affine, using: &rng) }
    }

    public func mixedOp(_ e: Int) -> NB201MixedOp { edges[e] as! NB201MixedOp }

    /// `edgeOutput(e, x)` gives edge e's contribution (nil: zero); nodes sum their inputs.
    func callAsFunction(_ x: Tensor, edgeOutput: (Int, Tensor) -> Tensor?) -> Tensor {
        var nodes: [Tensor?] = [x]
        for node in 1..<NB201Cell.nodeCount {
            var sum: Tensor? = nil
            for (e, edge) in NB201Cell.edges.enumerated() where edge.to == node {
                guard let input = nodes[edge.from], let y = edgeOutput(e, input) else { continue }
                sum = sum.map { $0 + y } ?? y
            }
            nodes.append(sum)
        }
        return nodes[NB201Cell.nodeCount - 1] ?? Tensor(zeros: x.shape)
    }
}

/// The NAS-Bench-201 macro-structure (stem, three stages of N cells joined by residual
/// reductions, batch norm, ReLU, global pooling, linear) with a mixed op on every cell edge.
/// Each cell has its own op weights; the architecture (one op per edge) is shared by all cells,
/// as in the benchmark. Architecture parameters are not part of this module: methods keep
/// them apart, with their own optimizer.
public final class NB201Supernet: Module, Layer {
    public let config: NB201NetworkConfig
    public let stem: Conv2d
    public let stemBN: BatchNorm
    public let blocks: [Module]
    public let lastBN: BatchNorm
    public let classifier: Linear
    /// Ops allowed on each edge (`edgeMask[e][k]`); all true except in few-shot sub-supernets,
    /// where the split edge keeps one op. Every mode honours it.
    public var edgeMask: [[Bool]] = Array(repeating: Array(repeating: true, count: 5), count: NB201Cell.edgeCount)
    /// The mode `callAsFunction(_:)` uses (so the supernet can sit where a `Layer` is expected).
    public var mode: NB201SupernetMode = .masked(Array(repeating: Array(repeating: true, count: 5), count: NB201Cell.edgeCount))

    /// Cell batch norms are non-affine, as in the benchmark's search supernets (DARTS, SPOS).
    public init(config: NB201NetworkConfig, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.config = config
        stem = Conv2d(config.inputChannels, config.channels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(config.channels)
        let (blocks, channels) = nb201Stages(config, using: &rng) { ch, rng in
            NB201SupernetCell(channels: ch, affine: config.affine, using: &rng)
        }
        self.blocks = blocks
        lastBN = BatchNorm(channels)
        classifier = Linear(channels, config.classes, using: &rng)
    }

    public var cells: [NB201SupernetCell] { blocks.compactMap { $0 as? NB201SupernetCell } }

    /// Whether `cell` only uses ops the edge mask allows.
    public func allows(_ cell: NB201Cell) -> Bool {
        (0..<NB201Cell.edgeCount).allSatisfy { edgeMask[$0][cell[$0].rawValue] }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, mode: mode) }

    public func callAsFunction(_ x: Tensor, mode: NB201SupernetMode) -> Tensor {
        let edgeOutput: (NB201SupernetCell, Int, Tensor) -> Tensor?
        switch mode {
        case .weighted(let w):
            precondition(w.shape == [NB201Cell.edgeCount, 5], "supernet weights must be [6, 5], got \(w.shape)")
            // One scalar per (edge, op), shared by every cell, so the gradient sums over cells.
            let scalars: [[Tensor?]] = (0..<NB201Cell.edgeCount).map { e in
                let row = w.slice(axis: 0, e..<(e + 1)).reshaped([5])
                return (0..<5).map { k in edgeMask[e][k] && k != NB201Operation.none.rawValue ? row.slice(axis: 0, k..<(k + 1)) : nil }
            }
            edgeOutput = { cell, e, input in cell.mixedOp(e)(input, weights: scalars[e]) }
        case .path(let arch):
            precondition(allows(arch), "\(arch) uses an op this (sub-)supernet does not hold")
            edgeOutput = { cell, e, input in cell.mixedOp(e)(input, op: arch[e]) }
        case .masked(let mask):
            let weights: [[Tensor?]] = (0..<NB201Cell.edgeCount).map { e in
                let allowed = (0..<5).filter { mask[e][$0] && edgeMask[e][$0] }
                precondition(!allowed.isEmpty, "masked mode: edge \(e) keeps no op")
                let share = Tensor(shape: [1], data: [1 / Float(allowed.count)])
                return (0..<5).map { allowed.contains($0) ? share : nil }
            }
            edgeOutput = { cell, e, input in cell.mixedOp(e)(input, weights: weights[e]) }
        }
        var h = stemBN(stem(x))
        for block in blocks {
            if let cell = block as? NB201SupernetCell { h = cell(h) { edgeOutput(cell, $0, $1) } }
            else { h = (block as! ResidualReduction)(h, observer: nil) }
        }
        h = lastBN(h)
        return classifier(globalAvgPool2d(relu(h)))
    }

    /// Parameters outside the cells (stem, reductions, last batch norm, classifier), which every
    /// path uses.
    public func sharedParameters() -> [Tensor] {
        var out = stem.parameters() + stemBN.parameters()
        for block in blocks where block is ResidualReduction { out += block.parameters() }
        return out + lastBN.parameters() + classifier.parameters()
    }

    /// The parameters the single-path network of `cell` uses, in a fixed order.
    public func pathParameters(_ cell: NB201Cell) -> [Tensor] {
        var out = sharedParameters()
        for c in cells { for e in 0..<NB201Cell.edgeCount { out += c.mixedOp(e).parameters(of: cell[e]) } }
        return out
    }
}
