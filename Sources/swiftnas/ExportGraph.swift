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
        case conv(weight: String, bias: String?, stride: Int, padding: Int, inChannels: Int, outChannels: Int, kernel: Int,
                  dilation: Int, groups: Int)
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
        /// Channel concatenation of the inputs (a DARTS cell's output).
        case concat
        /// Drop the first row and column, zero-pad one at the end: the shifted half of DARTS's
        /// factorized reduction.
        case shift
        // Token operations (the ViT): tensors `[N, T, D]`.
        /// `[N, D, h, w]` → `[N, h·w, D]`, patches in row-major order.
        case patchTokens
        /// A learned `[1, 1, D]` token put in front of every sequence.
        case prependToken(name: String)
        /// A learned tensor added (broadcast over the batch): position embeddings.
        case addParameter(name: String)
        case layerNorm(prefix: String, dim: Int, eps: Float)
        /// Multi-head self-attention with packed q/k/v projections (PyTorch's nn.MultiheadAttention).
        case attention(prefix: String, dim: Int, heads: Int)
        /// GELU with the exact erf.
        case gelu
        /// The first token of each sequence, `[N, D]`.
        case firstToken
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
        let s = c.weight.shape  // [Cout, KH, KW, Cin/groups]
        tensors["\(name).weight"] = c.weight.permuted([0, 3, 1, 2])
        if let b = c.bias { tensors["\(name).bias"] = b }
        return add(name, .conv(weight: "\(name).weight", bias: c.bias == nil ? nil : "\(name).bias", stride: c.options.stride.0,
                               padding: c.options.padding.0, inChannels: s[3] * c.options.groups, outChannels: s[0], kernel: s[1],
                               dilation: c.options.dilation.0, groups: c.options.groups), [input], comment: comment)
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
        var description: String { "cannot export \(what): export supports the cnn, mlp, refcnn and vit models, NAS-Bench-201 networks and DARTS genotypes" }
    }

    /// A `Sequential` of convolutions, batch norms, linear layers, dropout and the zoo's lambdas.
    static func sequential(_ net: Sequential, inputShape: [Int], classes: Int) throws -> ExportGraph {
        var g = ExportGraph(inputShape: inputShape, classes: classes)
        var v = 0
        for (i, layer) in net.layers.enumerated() {
            let name = "layers_\(i)"
            switch layer {
            case let c as Conv2d:
                guard c.options.stride.0 == c.options.stride.1, c.options.padding.0 == c.options.padding.1 else {
                    throw Unsupported(what: "a convolution with different strides or paddings per axis")
                }
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

    /// A DARTS genotype's network: stem, normal and reduction cells (each node the sum of two
    /// operations, the cell's output the concatenation of its four nodes), pooling, classifier.
    /// The auxiliary head is a training device and is not exported.
    static func darts(_ net: DARTSNetwork, height: Int, width: Int) throws -> ExportGraph {
        let c = net.config
        var g = ExportGraph(inputShape: [c.inputChannels, height, width], classes: c.classes)
        var s0 = g.batchNorm("stem_bn", net.stemBN, g.conv("stem", net.stem, 0, comment: "stem: 3×3 convolution and batch norm"))
        var s1 = s0
        for (i, cell) in net.cells.enumerated() {
            let first = g.nodes.count
            let p = "cell\(i)"
            var states: [Int] = []
            if let reduce = cell.preprocess0 as? FactorizedReduce {
                let r = g.add("\(p)_pre0_relu", .relu, [s0])
                let a = g.conv("\(p)_pre0_conv_a", reduce.convA, r)
                let b = g.conv("\(p)_pre0_conv_b", reduce.convB, g.add("\(p)_pre0_shift", .shift, [r]))
                states.append(g.batchNorm("\(p)_pre0_bn", reduce.bn, g.add("\(p)_pre0_concat", .concat, [a, b])))
            } else if let unit = cell.preprocess0 as? ReLUConvBN {
                states.append(g.reluConvBN("\(p)_pre0", unit, s0))
            } else {
                throw Unsupported(what: "a DARTS cell's preprocessing")
            }
            states.append(g.reluConvBN("\(p)_pre1", cell.preprocess1, s1))
            for node in 0..<DARTSGenotype.nodes {
                var terms: [Int] = []
                for k in [2 * node, 2 * node + 1] {
                    let name = "\(p)_node\(node)_op\(k % 2)"
                    let stride = cell.reduction && cell.inputs[k] < 2 ? 2 : 1
                    if let term = try g.dartsOperation(name, cell.ops[k], states[cell.inputs[k]], stride: stride) { terms.append(term) }
                }
                guard let firstTerm = terms.first else { throw Unsupported(what: "a DARTS node with only `none` operations") }
                states.append(terms.count == 2 ? g.add("\(p)_node\(node)", .add, [firstTerm, terms[1]]) : firstTerm)
            }
            (s0, s1) = (s1, g.add("\(p)_out", .concat, Array(states[2...])))
            g.nodes[first].comment = "cell \(i): \(cell.reduction ? "reduction" : "normal") cell"
        }
        let pooled = g.add("pool", .globalAvgPool, [s1], comment: "head: global average pool, linear classifier")
        _ = g.linear("classifier", net.classifier, pooled)
        return g
    }

    mutating func reluConvBN(_ name: String, _ unit: ReLUConvBN, _ input: Int) -> Int {
        let r = add("\(name)_relu", .relu, [input])
        return batchNorm("\(name)_bn", unit.bn, conv("\(name)_conv", unit.conv, r))
    }

    /// One DARTS operation on `input`, or nil for `none`.
    mutating func dartsOperation(_ name: String, _ op: CandidateOperation, _ input: Int, stride: Int) throws -> Int? {
        func dilated(_ prefix: String, _ d: DilatedConv, _ x: Int) -> Int {
            let r = add("\(prefix)_relu", .relu, [x])
            return batchNorm("\(prefix)_bn", d.bn, conv("\(prefix)_pointwise", d.pointwise, conv("\(prefix)_depthwise", d.depthwise, r)))
        }
        var out: Int
        switch (op.name, op.body) {
        case ("none", _): return nil
        case ("skip_connect", nil): return input
        case let ("skip_connect", reduce as FactorizedReduce):
            let r = add("\(name)_relu", .relu, [input])
            let a = conv("\(name)_conv_a", reduce.convA, r), b = conv("\(name)_conv_b", reduce.convB, add("\(name)_shift", .shift, [r]))
            return batchNorm("\(name)_bn", reduce.bn, add("\(name)_concat", .concat, [a, b]))
        case let (pool, body) where pool.hasSuffix("pool_3x3"):
            // The pooling's stride is the edge's: 2 on a reduction cell's input edges.
            out = add(name, pool.hasPrefix("max") ? .maxPool(kernel: 3, stride: stride, padding: 1)
                                                  : .avgPool(kernel: 3, stride: stride, padding: 1, countIncludePad: false), [input])
            if let bn = body as? BatchNorm { out = batchNorm("\(name)_bn", bn, out) }
        case let (_, sep as SeparableConv): out = dilated("\(name)_b", sep.second, dilated("\(name)_a", sep.first, input))
        case let (_, dil as DilatedConv): out = dilated(name, dil, input)
        default: throw Unsupported(what: "the DARTS operation \(op.name)")
        }
        return out
    }

    /// A Vision Transformer: patch embedding, class token, position embeddings, Pre-LN or Post-LN
    /// blocks (attention and GELU feed-forward with residuals), the final norm, the head on the
    /// class token.
    static func vit(_ net: VisionTransformer) -> ExportGraph {
        let c = net.config
        var g = ExportGraph(inputShape: [c.channels, c.height, c.width], classes: c.classes)
        g.tensors["class_token"] = net.classToken
        g.tensors["position_embedding"] = net.positionEmbedding
        var v = g.add("patch_tokens", .patchTokens, [g.conv("patch_embedding", net.patchEmbedding, 0, comment: "patch embedding, class token, position embeddings")])
        v = g.add("class_token", .prependToken(name: "class_token"), [v])
        v = g.add("position_embedding", .addParameter(name: "position_embedding"), [v])
        for (i, block) in net.blocks.enumerated() {
            let p = "block\(i)"
            let first = g.nodes.count
            func attention(_ x: Int) -> Int {
                g.tensors["\(p)_attention.in_proj_weight"] = block.selfAttention.inProjWeight
                g.tensors["\(p)_attention.in_proj_bias"] = block.selfAttention.inProjBias
                g.tensors["\(p)_attention.out_proj.weight"] = block.selfAttention.outProj.weight
                if let b = block.selfAttention.outProj.bias { g.tensors["\(p)_attention.out_proj.bias"] = b }
                return g.add("\(p)_attention", .attention(prefix: "\(p)_attention", dim: c.dim, heads: c.heads), [x])
            }
            func feedForward(_ x: Int) -> Int {
                g.linear("\(p)_linear2", block.linear2, g.add("\(p)_gelu", .gelu, [g.linear("\(p)_linear1", block.linear1, x)]))
            }
            if block.normFirst {
                let h = g.add("\(p)_residual1", .add, [v, attention(g.layerNorm("\(p)_norm1", block.norm1, v))])
                v = g.add("\(p)_residual2", .add, [h, feedForward(g.layerNorm("\(p)_norm2", block.norm2, h))])
            } else {
                let h = g.layerNorm("\(p)_norm1", block.norm1, g.add("\(p)_residual1", .add, [v, attention(v)]))
                v = g.layerNorm("\(p)_norm2", block.norm2, g.add("\(p)_residual2", .add, [h, feedForward(h)]))
            }
            g.nodes[first].comment = "block \(i): \(block.normFirst ? "Pre-LN" : "Post-LN") transformer block"
        }
        if let norm = net.norm { v = g.layerNorm("norm", norm, v) }
        v = g.add("first_token", .firstToken, [v], comment: "head: linear classifier on the class token")
        _ = g.linear("head", net.head, v)
        return g
    }

    mutating func layerNorm(_ name: String, _ ln: LayerNorm, _ input: Int) -> Int {
        let dim = ln.weight?.count ?? ln.bias?.count ?? 0
        tensors["\(name).weight"] = ln.weight ?? Tensor(repeating: 1, shape: [dim])
        tensors["\(name).bias"] = ln.bias ?? Tensor(zeros: [dim])
        return add(name, .layerNorm(prefix: name, dim: dim, eps: ln.eps), [input])
    }
}
