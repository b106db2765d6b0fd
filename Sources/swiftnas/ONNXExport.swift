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
                var n = Onnx_NodeProto()
                n.opType = type
                n.name = node.name + suffix
                n.input = ins
                n.output = outs
                n.attribute = attributes
                return n
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
                graph.node.append(make("Gemm", inputs + [weight] + (bias.map { [$0] } ?? []), [out], [int("transB", 1)]))
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
                if !graph.initializer.contains(where: { $0.name == "zero" }) { graph.initializer.append(tensor("zero", Tensor(zeros: [1]))) }
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

    static func int64Tensor(_ name: String, _ values: [Int]) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = [Int64(values.count)]
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
