import NASNN
import NASTensor

/// Where an activation observer is called from inside an NB201 network.
public enum ActivationSite: Sendable {
    /// The input of a ReLU (NASWOT's binary codes come from here).
    case reluInput
    /// The raw output of a convolution, before its batch norm (fisher's activations).
    case convOutput
}

/// Shape of an NB201 network: `C` stem channels, `N` cells per stage, input channels and classes.
public struct NB201NetworkConfig: Codable, Sendable, Equatable {
    public var channels = 16
    public var cellsPerStage = 5
    public var inputChannels = 3
    public var classes = 10
    /// Affine batch norm in the cells (the benchmark's default).
    public var affine = true

    public init(channels: Int = 16, cellsPerStage: Int = 5, inputChannels: Int = 3, classes: Int = 10, affine: Bool = true) {
        self.channels = channels; self.cellsPerStage = cellsPerStage
        self.inputChannels = inputChannels; self.classes = classes; self.affine = affine
    }
}

/// ReLU → conv → batch norm, NAS-Bench-201's convolution unit.
public final class ReLUConvBN: Module {
    public let conv: Conv2d
    public let bn: BatchNorm

    public init(_ cin: Int, _ cout: Int, kernel: Int, stride: Int, padding: Int, affine: Bool = true,
                using rng: inout SeededGenerator) {
        conv = Conv2d(cin, cout, kernel: kernel, stride: stride, padding: padding, bias: false, using: &rng)
        bn = BatchNorm(cout, affine: affine)
    }

    public func callAsFunction(_ x: Tensor, observer: NB201Network.Observer?) -> Tensor {
        callAsFunction(x, adding: nil, observer: observer)
    }

    /// `residual + self(x)`, the sum formed by the batch norm's own pass (cell nodes sum edges).
    public func callAsFunction(_ x: Tensor, adding residual: Tensor?, observer: NB201Network.Observer?) -> Tensor {
        observer?(.reluInput, x)
        // ReLU and conv run as one op, which also sums its output per channel for the batch norm.
        let (y, sums) = reluConv2dWithChannelSums(x, conv.weight, bias: conv.bias, conv.options)
        observer?(.convOutput, y)
        return bn(y, adding: residual, channelSums: sums)
    }
}

/// One edge of a cell: the module for its operation (`nil` for none / skip / pooling, which
/// have no parameters when input and output channels agree, as they do inside NB201 cells).
public final class NB201Edge: Module {
    public let operation: NB201Operation
    public let unit: ReLUConvBN?

    init(_ op: NB201Operation, channels: Int, affine: Bool, using rng: inout SeededGenerator) {
        operation = op
        switch op {
        case .conv1x1: unit = ReLUConvBN(channels, channels, kernel: 1, stride: 1, padding: 0, affine: affine, using: &rng)
        case .conv3x3: unit = ReLUConvBN(channels, channels, kernel: 3, stride: 1, padding: 1, affine: affine, using: &rng)
        case .none, .skipConnect, .avgPool3x3: unit = nil
        }
    }

    /// `sum` plus the edge's output (either may be nil: no sum yet, or the `none` operation).
    func callAsFunction(_ x: Tensor, addedTo sum: Tensor?, observer: NB201Network.Observer?) -> Tensor? {
        switch operation {
        case .none: return sum
        case .skipConnect: return sum.map { $0 + x } ?? x
        case .avgPool3x3:
            let y = avgPool2d(x, kernel: 3, stride: 1, padding: 1, countIncludePad: false)
            return sum.map { $0 + y } ?? y
        case .conv1x1, .conv3x3: return unit!(x, adding: sum, observer: observer)
        }
    }
}

/// A block of a stand-alone NB201 network: one of its cells or a residual reduction.
public protocol NB201NetworkBlock: Module {
    func callAsFunction(_ x: Tensor, observer: NB201Network.Observer?) -> Tensor
}

/// A cell: node j = Σ_{i<j} op_{j←i}(node i), output = node 3.
public final class NB201CellModule: Module, NB201NetworkBlock {
    public let cell: NB201Cell
    public let edges: [NB201Edge]

    init(_ cell: NB201Cell, channels: Int, affine: Bool, using rng: inout SeededGenerator) {
        self.cell = cell
        edges = cell.ops.map { NB201Edge($0, channels: channels, affine: affine, using: &rng) }
    }

    public func callAsFunction(_ x: Tensor, observer: NB201Network.Observer?) -> Tensor {
        var nodes: [Tensor?] = [x]
        for node in 1..<NB201Cell.nodeCount {
            var sum: Tensor? = nil
            for (e, edge) in NB201Cell.edges.enumerated() where edge.to == node {
                guard let input = nodes[edge.from] else { continue }
                sum = edges[e](input, addedTo: sum, observer: observer)
            }
            nodes.append(sum)
        }
        // A cell with no path from input to output computes zeros.
        return nodes[NB201Cell.nodeCount - 1] ?? Tensor(zeros: x.shape)
    }
}

/// The residual reduction block between stages: two ReLU-conv-BN (the first with stride 2) plus
/// a shortcut of 2×2 average pooling and a 1×1 convolution.
public final class ResidualReduction: Module, NB201NetworkBlock {
    public let convA: ReLUConvBN
    public let convB: ReLUConvBN
    public let shortcut: Conv2d

    init(_ cin: Int, _ cout: Int, using rng: inout SeededGenerator) {
        convA = ReLUConvBN(cin, cout, kernel: 3, stride: 2, padding: 1, using: &rng)
        convB = ReLUConvBN(cout, cout, kernel: 3, stride: 1, padding: 1, using: &rng)
        shortcut = Conv2d(cin, cout, kernel: 1, bias: false, using: &rng)
    }

    public func callAsFunction(_ x: Tensor, observer: NB201Network.Observer?) -> Tensor {
        let residual = shortcut(avgPool2d(x, kernel: 2, stride: 2))
        return convB(convA(x, observer: observer), observer: observer) + residual
    }
}

/// A NAS-Bench-201 network for one cell: a 3×3 conv stem with C channels and batch norm, three
/// stages of N cells (C, 2C, 4C channels) joined by residual reduction blocks, then batch norm,
/// ReLU, global average pooling and a linear classifier. Inputs are channels-last images; any
/// size divisible by 4 works (32×32 as CIFAR; 28×28 images are zero-padded to 32 by callers).
public final class NB201Network: Module, Layer {
    public typealias Observer = (ActivationSite, Tensor) -> Void

    public let cell: NB201Cell
    public let config: NB201NetworkConfig
    public let stem: Conv2d
    public let stemBN: BatchNorm
    public let blocks: [any NB201NetworkBlock]
    public let lastBN: BatchNorm
    public let classifier: Linear
    /// Called on every ReLU input and convolution output during a forward pass (zero-cost proxies).
    public var observer: Observer?
    /// Applied to the stem's output and to every block's output. Every input–output path runs
    /// through each of these points, so scaling them by constants scales the output (and every
    /// weight's gradient) by their product: synflow uses it to stay within float32's range.
    public var blockOutputTransform: ((Tensor) -> Tensor)?

    public init(cell: NB201Cell, config: NB201NetworkConfig = NB201NetworkConfig(), seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.cell = cell
        self.config = config
        stem = Conv2d(config.inputChannels, config.channels, kernel: 3, padding: 1, bias: false, using: &rng)
        stemBN = BatchNorm(config.channels)
        let (blocks, channels) = nb201Stages(config, using: &rng, reduction: { $0 as any NB201NetworkBlock }) { ch, rng in
            NB201CellModule(cell, channels: ch, affine: config.affine, using: &rng)
        }
        self.blocks = blocks
        lastBN = BatchNorm(channels)
        classifier = Linear(channels, config.classes, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = stemBN(stem(x))
        if let t = blockOutputTransform { h = t(h) }
        for block in blocks {
            h = block(h, observer: observer)
            if let t = blockOutputTransform { h = t(h) }
        }
        h = lastBN(h)
        observer?(.reluInput, h)
        return classifier(globalAvgPool2d(relu(h)))
    }

    /// Multiply-accumulate operations of one forward pass on an `height × width` image
    /// (convolutions and the classifier; the NB201 convention for "FLOPs").
    public func multiplyAccumulates(height: Int, width: Int) -> Int {
        var total = 0
        var h = height, w = width
        func conv(_ c: Conv2d, _ oh: Int, _ ow: Int) -> Int { c.weight.count * oh * ow }
        total += conv(stem, h, w)
        for block in blocks {
            if let r = block as? ResidualReduction {
                let oh = (h + 1) / 2, ow = (w + 1) / 2
                total += conv(r.convA.conv, oh, ow) + conv(r.convB.conv, oh, ow) + conv(r.shortcut, h / 2, w / 2)
                h = oh; w = ow
            } else if let cm = block as? NB201CellModule {
                for e in cm.edges { if let u = e.unit { total += conv(u.conv, h, w) } }
            }
        }
        return total + classifier.weight.count
    }
}

/// The stages of an NB201 network or supernet: N cells at C, 2C and 4C channels with a residual
/// reduction block before the second and third stage. Returns the blocks and the final width.
func nb201Stages<Block>(_ config: NB201NetworkConfig, using rng: inout SeededGenerator,
                        reduction: (ResidualReduction) -> Block,
                        cell makeCell: (Int, inout SeededGenerator) -> Block) -> (blocks: [Block], channels: Int) {
    var blocks: [Block] = []
    var channels = config.channels
    for stage in 0..<3 {
        if stage > 0 {
            blocks.append(reduction(ResidualReduction(channels, channels * 2, using: &rng)))
            channels *= 2
        }
        for _ in 0..<config.cellsPerStage { blocks.append(makeCell(channels, &rng)) }
    }
    return (blocks, channels)
}
