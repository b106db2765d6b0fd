import Foundation
import NASNN
import NASSpaces
import NASTensor

/// A trained network as a graph of standard operations on NCHW tensors, the common ground of the
/// ONNX and PyTorch exports. Weights are converted to PyTorch's layouts here, once: convolution
/// `[Cout, KH, KW, Cin]` → `[Cout, Cin, KH, KW]`; linear weights are `[out, in]` in both.
///
/// SwiftNAS computes channels-last; the exported graph takes NCHW input. A flatten before a
/// linear layer is preceded by a transpose to NHWC, so the linear weights keep SwiftNAS's
/// feature order and nothing is permuted behind the reader's back.
struct ExportGraph {
    enum Operation {
        case conv(weight: String, bias: String?, stride: Int, padding: Int, inChannels: Int, outChannels: Int, kernel: Int)
        case batchNorm(prefix: String, channels: Int, eps: Float)
        case relu
        case maxPool(kernel: Int, stride: Int, padding: Int)
        case avgPool(kernel: Int, stride: Int, padding: Int, countIncludePad: Bool)
        case globalAvgPool
        /// NCHW → NHWC, then flatten to `[N, H·W·C]` (SwiftNAS's feature order).
        case flattenChannelsLast
        case linear(weight: String, bias: String?, inFeatures: Int, outFeatures: Int)
        case add
        case zerosLike
    }

    struct Node {
        var name: String
        var operation: Operation
        var inputs: [Int]
        /// A comment for the generated code (which block this is).
        var comment: String?
    }

    /// Values: 0 is the input; node k produces value k + 1.
    var nodes: [Node] = []
    /// Weights by their export name, in PyTorch layout.
    var tensors: [String: Tensor] = [:]
    /// Input shape `[C, H, W]` (batch excluded).
    let inputShape: [Int]
    let classes: Int

    init(inputShape: [Int], classes: Int) {
        self.inputShape = inputShape
        self.classes = classes
    }

    var output: Int { nodes.count }

    mutating func add(_ name: String, _ operation: Operation, _ inputs: [Int], comment: String? = nil) -> Int {
        nodes.append(Node(name: name, operation: operation, inputs: inputs, comment: comment))
        return nodes.count
    }

    mutating func conv(_ name: String, _ c: Conv2d, _ input: Int, comment: String? = nil) -> Int {
        let s = c.weight.shape  // [Cout, KH, KW, Cin]
        tensors["\(name).weight"] = c.weight.permuted([0, 3, 1, 2])
        if let b = c.bias { tensors["\(name).bias"] = b }
        return add(name, .conv(weight: "\(name).weight", bias: c.bias == nil ? nil : "\(name).bias", stride: c.options.stride.0,
                               padding: c.options.padding.0, inChannels: s[3], outChannels: s[0], kernel: s[1]), [input], comment: comment)
    }

    mutating func batchNorm(_ name: String, _ bn: BatchNorm, _ input: Int) -> Int {
        let channels = bn.runningMean.count
        tensors["\(name).weight"] = bn.weight ?? Tensor(repeating: 1, shape: [channels])
        tensors["\(name).bias"] = bn.bias ?? Tensor(zeros: [channels])
        tensors["\(name).running_mean"] = bn.runningMean
        tensors["\(name).running_var"] = bn.runningVar
        return add(name, .batchNorm(prefix: name, channels: channels, eps: bn.eps), [input])
    }

    mutating func linear(_ name: String, _ l: Linear, _ input: Int) -> Int {
        tensors["\(name).weight"] = l.weight
        if let b = l.bias { tensors["\(name).bias"] = b }
        return add(name, .linear(weight: "\(name).weight", bias: l.bias == nil ? nil : "\(name).bias",
                                 inFeatures: l.weight.shape[1], outFeatures: l.weight.shape[0]), [input])
    }

    struct Unsupported: Error, CustomStringConvertible {
        let what: String
        var description: String { "cannot export \(what): export supports the cnn, mlp and refcnn models and NAS-Bench-201 networks" }
    }

    /// A `Sequential` of convolutions, batch norms, linear layers, dropout and the zoo's lambdas.
    static func sequential(_ net: Sequential, inputShape: [Int], classes: Int) throws -> ExportGraph {
        var g = ExportGraph(inputShape: inputShape, classes: classes)
        var v = 0
        for (i, layer) in net.layers.enumerated() {
            let name = "layers_\(i)"
            switch layer {
            case let c as Conv2d:
                guard c.options.groups == 1, c.options.dilation == (1, 1), c.options.stride.0 == c.options.stride.1,
                      c.options.padding.0 == c.options.padding.1 else { throw Unsupported(what: "a grouped or dilated convolution") }
                v = g.conv(name, c, v)
            case let bn as BatchNorm: v = g.batchNorm(name, bn, v)
            case let l as Linear: v = g.linear(name, l, v)
            case is Dropout: continue  // identity at inference
            case let f as Lambda:
                switch f.name {
                case "relu": v = g.add(name, .relu, [v])
                case "flatten": v = g.add(name, .flattenChannelsLast, [v])
                case "global_avg_pool": v = g.add(name, .globalAvgPool, [v])
                case "max_pool":
                    let k = f.settings["kernel"] ?? 2
                    v = g.add(name, .maxPool(kernel: k, stride: f.settings["stride"] ?? k, padding: f.settings["padding"] ?? 0), [v])
                default: throw Unsupported(what: "the layer \(f.name)")
                }
            default: throw Unsupported(what: "a \(type(of: layer)) layer")
            }
        }
        return g
    }

    /// A NAS-Bench-201 network: stem, cells and residual reductions, last batch norm, classifier.
    static func nb201(_ net: NB201Network) -> ExportGraph {
        let c = net.config
        var g = ExportGraph(inputShape: [c.inputChannels, 32, 32], classes: c.classes)
        var v = g.conv("stem", net.stem, 0, comment: "stem: 3×3 convolution and batch norm")
        v = g.batchNorm("stem_bn", net.stemBN, v)
        for (b, block) in net.blocks.enumerated() {
            if let r = block as? ResidualReduction {
                let shortcut = g.conv("block\(b)_shortcut", r.shortcut, g.add("block\(b)_pool", .avgPool(kernel: 2, stride: 2, padding: 0, countIncludePad: true), [v],
                                                                              comment: "block \(b): residual reduction (shortcut: 2×2 average pool, 1×1 convolution)"))
                var h = g.add("block\(b)_a_relu", .relu, [v])
                h = g.batchNorm("block\(b)_a_bn", r.convA.bn, g.conv("block\(b)_a_conv", r.convA.conv, h))
                h = g.add("block\(b)_b_relu", .relu, [h])
                h = g.batchNorm("block\(b)_b_bn", r.convB.bn, g.conv("block\(b)_b_conv", r.convB.conv, h))
                v = g.add("block\(b)_sum", .add, [h, shortcut])
            } else if let cell = block as? NB201CellModule {
                let first = g.nodes.count
                defer { if g.nodes.count > first { g.nodes[first].comment = "block \(b): cell \(cell.cell)" } }
                var nodes: [Int?] = [v]
                for node in 1..<NB201Cell.nodeCount {
                    var terms: [Int] = []
                    for (e, edge) in NB201Cell.edges.enumerated() where edge.to == node {
                        guard let input = nodes[edge.from] else { continue }
                        let name = "block\(b)_edge\(edge.from)\(edge.to)"
                        switch cell.edges[e].operation {
                        case .none: continue
                        case .skipConnect: terms.append(input)
                        case .avgPool3x3:
                            terms.append(g.add(name, .avgPool(kernel: 3, stride: 1, padding: 1, countIncludePad: false), [input]))
                        case .conv1x1, .conv3x3:
                            guard let unit = cell.edges[e].unit else { continue }
                            var h = g.add("\(name)_relu", .relu, [input])
                            h = g.batchNorm("\(name)_bn", unit.bn, g.conv("\(name)_conv", unit.conv, h))
                            terms.append(h)
                        }
                    }
                    var sum = terms.first
                    for (k, t) in terms.enumerated().dropFirst() { sum = g.add("block\(b)_node\(node)_sum\(k)", .add, [sum ?? t, t]) }
                    nodes.append(sum)
                }
                // A cell with no path from its input to its output computes zeros.
                v = nodes[NB201Cell.nodeCount - 1] ?? g.add("block\(b)_zeros", .zerosLike, [v])
            }
        }
        v = g.batchNorm("last_bn", net.lastBN, v)
        v = g.add("last_relu", .relu, [v], comment: "head: batch norm, ReLU, global average pool, linear classifier")
        v = g.add("pool", .globalAvgPool, [v])
        _ = g.linear("classifier", net.classifier, v)
        return g
    }
}
