import Foundation
import NASTensor
import ONNXProto

/// The export graph as an ONNX model (opset 17): one ONNX node per graph operation, weights as
/// initializers under the same names as in `model.safetensors`, a dynamic batch dimension.
enum ONNXExport {
    static let opset: Int64 = 17

    static func model(_ g: ExportGraph, docString: String) throws -> Data {
        var graph = Onnx_GraphProto()
        graph.name = "swiftnas"
        graph.input = [valueInfo("input", dims: [nil] + g.inputShape.map { Int64($0) })]
        graph.output = [valueInfo("output", dims: [nil, Int64(g.classes)])]
        for name in g.tensors.keys.sorted() {
            guard let t = g.tensors[name] else { continue }
            graph.initializer.append(tensor(name, t))
        }
        func value(_ v: Int) -> String { v == 0 ? "input" : v == g.output ? "output" : "v\(v)" }
        for (k, node) in g.nodes.enumerated() {
            let inputs = node.inputs.map(value), out = value(k + 1)
            func make(_ type: String, _ ins: [String], _ outs: [String], _ attributes: [Onnx_AttributeProto] = [], suffix: String = "") -> Onnx_NodeProto {
                onnxNode(type, name: node.name + suffix, ins, outs, attributes)
            }
            switch node.operation {
            case let .conv(weight, bias, stride, padding, _, _, kernel, dilation, groups):
                graph.node.append(make("Conv", inputs + [weight] + (bias.map { [$0] } ?? []), [out],
                                       [ints("kernel_shape", [kernel, kernel]), ints("strides", [stride, stride]),
                                        ints("pads", [padding, padding, padding, padding]), ints("dilations", [dilation, dilation]),
                                        int("group", groups)]))
            case let .batchNorm(prefix, _, eps):
                graph.node.append(make("BatchNormalization", inputs + ["weight", "bias", "running_mean", "running_var"].map { "\(prefix).\($0)" },
                                       [out], [float("epsilon", eps)]))
            case .relu:
                graph.node.append(make("Relu", inputs, [out]))
            case let .maxPool(kernel, stride, padding):
                graph.node.append(make("MaxPool", inputs, [out], [ints("kernel_shape", [kernel, kernel]), ints("strides", [stride, stride]),
                                                                   ints("pads", [padding, padding, padding, padding])]))
            case let .avgPool(kernel, stride, padding, countIncludePad):
                graph.node.append(make("AveragePool", inputs, [out], [ints("kernel_shape", [kernel, kernel]), ints("strides", [stride, stride]),
                                                                       ints("pads", [padding, padding, padding, padding]),
                                                                       int("count_include_pad", countIncludePad ? 1 : 0)]))
            case .globalAvgPool:
                graph.node.append(make("GlobalAveragePool", inputs, [out + "_pooled"]))
                graph.node.append(make("Flatten", [out + "_pooled"], [out], [int("axis", 1)], suffix: "_flatten"))
            case .flattenChannelsLast:
                graph.node.append(make("Transpose", inputs, [out + "_nhwc"], [ints("perm", [0, 2, 3, 1])]))
                graph.node.append(make("Flatten", [out + "_nhwc"], [out], [int("axis", 1)], suffix: "_flatten"))
            case let .linear(weight, bias, _, _):
                // MatMul with the transposed weight works on [N, in] and on token tensors [N, T, in].
                graph.node.append(make("Transpose", [weight], [weight + "_t"], [ints("perm", [1, 0])], suffix: "_weight_t"))
                graph.node.append(make("MatMul", inputs + [weight + "_t"], [bias == nil ? out : out + "_mm"], suffix: "_matmul"))
                if let bias { graph.node.append(make("Add", [out + "_mm", bias], [out], suffix: "_bias")) }
            case .patchTokens:
                constant(&graph, int64Tensor("tokens_shape", [0, 0, -1]))
                graph.node.append(make("Reshape", inputs + ["tokens_shape"], [out + "_flat"], suffix: "_flatten"))
                graph.node.append(make("Transpose", [out + "_flat"], [out], [ints("perm", [0, 2, 1])]))
            case let .prependToken(name):
                // [N, 1, D] zeros from the input's first token, plus the token: the batch size stays free.
                constant(&graph, int64Tensor("first_starts", [0]))
                constant(&graph, int64Tensor("first_ends", [1]))
                constant(&graph, int64Tensor("token_axis", [1]))
                constant(&graph, tensor("zero", Tensor(zeros: [1])))
                graph.node.append(make("Slice", inputs + ["first_starts", "first_ends", "token_axis"], [out + "_slot"], suffix: "_slot"))
                graph.node.append(make("Mul", [out + "_slot", "zero"], [out + "_zeros"], suffix: "_zeros"))
                graph.node.append(make("Add", [out + "_zeros", name], [out + "_token"], suffix: "_token"))
                graph.node.append(make("Concat", [out + "_token"] + inputs, [out], [int("axis", 1)]))
            case let .addParameter(name):
                graph.node.append(make("Add", inputs + [name], [out]))
            case let .layerNorm(prefix, _, eps):
                graph.node.append(make("LayerNormalization", inputs + ["\(prefix).weight", "\(prefix).bias"], [out],
                                       [int("axis", -1), float("epsilon", eps)]))
            case let .attention(prefix, dim, heads):
                graph.node += attentionNodes(prefix, input: inputs[0], output: out, dim: dim, heads: heads, graph: &graph)
            case .gelu:
                constant(&graph, tensor("sqrt2", Tensor(shape: [1], data: [Float(2).squareRoot()])))
                constant(&graph, tensor("one", Tensor(shape: [1], data: [1])))
                constant(&graph, tensor("half", Tensor(shape: [1], data: [0.5])))
                graph.node.append(make("Div", inputs + ["sqrt2"], [out + "_scaled"], suffix: "_scale"))
                graph.node.append(make("Erf", [out + "_scaled"], [out + "_erf"], suffix: "_erf"))
                graph.node.append(make("Add", [out + "_erf", "one"], [out + "_cdf2"], suffix: "_plus_one"))
                graph.node.append(make("Mul", inputs + [out + "_cdf2"], [out + "_x_cdf2"], suffix: "_times_x"))
                graph.node.append(make("Mul", [out + "_x_cdf2", "half"], [out], suffix: "_half"))
            case .firstToken:
                constant(&graph, int64Tensor("first_index", [0], scalar: true))
                graph.node.append(make("Gather", inputs + ["first_index"], [out], [int("axis", 1)]))
            case .add:
                graph.node.append(make("Add", inputs, [out]))
            case .concat:
                graph.node.append(make("Concat", inputs, [out], [int("axis", 1)]))
            case .shift:
                for (constant, values) in [("shift_starts", [1, 1]), ("shift_ends", [Int(Int32.max), Int(Int32.max)]), ("shift_axes", [2, 3]),
                                           ("shift_pads", [0, 0, 0, 0, 0, 0, 1, 1])] where !graph.initializer.contains(where: { $0.name == constant }) {
                    graph.initializer.append(int64Tensor(constant, values))
                }
                graph.node.append(make("Slice", inputs + ["shift_starts", "shift_ends", "shift_axes"], [out + "_cropped"]))
                graph.node.append(make("Pad", [out + "_cropped", "shift_pads"], [out], suffix: "_pad"))
            case .zerosLike:
                constant(&graph, tensor("zero", Tensor(zeros: [1])))
                graph.node.append(make("Mul", inputs + ["zero"], [out]))
            }
        }
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "SwiftNAS"
        model.docString = docString
        var opsetImport = Onnx_OperatorSetIdProto()
        opsetImport.domain = ""
        opsetImport.version = opset
        model.opsetImport = [opsetImport]
        model.graph = graph
        return try model.serializedData()
    }

    static func valueInfo(_ name: String, dims: [Int64?]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = d } else { dim.dimParam = "batch" }
            return dim
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    static func tensor(_ name: String, _ t: Tensor) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = t.shape.map { Int64($0) }
        p.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        // Little-endian float32, as ONNX's raw_data is defined.
        p.rawData = Data(buffer: UnsafeBufferPointer(start: t.data, count: t.count))
        return p
    }

    static func onnxNode(_ type: String, name: String, _ inputs: [String], _ outputs: [String],
                         _ attributes: [Onnx_AttributeProto]) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        (n.opType, n.name, n.input, n.output, n.attribute) = (type, name, inputs, outputs, attributes)
        return n
    }

    /// Adds a constant initializer once (several nodes share it by name).
    static func constant(_ graph: inout Onnx_GraphProto, _ t: Onnx_TensorProto) {
        if !graph.initializer.contains(where: { $0.name == t.name }) { graph.initializer.append(t) }
    }

    /// Self-attention as ONNX opset 17 has no attention operator: packed q/k/v projection, split,
    /// heads apart, softmax(q·kᵀ/√d)·v, heads side by side, output projection.
    static func attentionNodes(_ p: String, input: String, output: String, dim: Int, heads: Int,
                               graph: inout Onnx_GraphProto) -> [Onnx_NodeProto] {
        let hd = dim / heads
        constant(&graph, int64Tensor("\(p).split", [dim, dim, dim]))
        constant(&graph, int64Tensor("\(p).heads_shape", [0, 0, heads, hd]))
        constant(&graph, int64Tensor("\(p).merge_shape", [0, 0, dim]))
        constant(&graph, tensor("\(p).scale", Tensor(shape: [1], data: [1 / Float(hd).squareRoot()])))
        func node(_ type: String, _ ins: [String], _ outs: [String], _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
            onnxNode(type, name: outs[0], ins, outs, attributes)
        }
        var nodes = [
            node("Transpose", ["\(p).in_proj_weight"], ["\(p)_in_t"], [ints("perm", [1, 0])]),
            node("MatMul", [input, "\(p)_in_t"], ["\(p)_qkv_mm"]),
            node("Add", ["\(p)_qkv_mm", "\(p).in_proj_bias"], ["\(p)_qkv"]),
            node("Split", ["\(p)_qkv", "\(p).split"], ["\(p)_q", "\(p)_k", "\(p)_v"], [int("axis", 2)]),
        ]
        for part in ["q", "k", "v"] {
            nodes.append(node("Reshape", ["\(p)_\(part)", "\(p).heads_shape"], ["\(p)_\(part)_heads"]))
            nodes.append(node("Transpose", ["\(p)_\(part)_heads"], ["\(p)_\(part)4"], [ints("perm", part == "k" ? [0, 2, 3, 1] : [0, 2, 1, 3])]))
        }
        nodes += [
            node("MatMul", ["\(p)_q4", "\(p)_k4"], ["\(p)_scores_raw"]),
            node("Mul", ["\(p)_scores_raw", "\(p).scale"], ["\(p)_scores"]),
            node("Softmax", ["\(p)_scores"], ["\(p)_weights"], [int("axis", -1)]),
            node("MatMul", ["\(p)_weights", "\(p)_v4"], ["\(p)_context4"]),
            node("Transpose", ["\(p)_context4"], ["\(p)_context_t"], [ints("perm", [0, 2, 1, 3])]),
            node("Reshape", ["\(p)_context_t", "\(p).merge_shape"], ["\(p)_context"]),
            node("Transpose", ["\(p).out_proj.weight"], ["\(p)_out_t"], [ints("perm", [1, 0])]),
            node("MatMul", ["\(p)_context", "\(p)_out_t"], ["\(p)_out_mm"]),
        ]
        nodes.append(node("Add", ["\(p)_out_mm", "\(p).out_proj.bias"], [output]))
        return nodes
    }

    static func int64Tensor(_ name: String, _ values: [Int], scalar: Bool = false) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = scalar ? [] : [Int64(values.count)]
        p.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        p.int64Data = values.map { Int64($0) }
        return p
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map { Int64($0) }
        return a
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }
}
