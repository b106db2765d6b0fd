import ArgumentParser
import Foundation
import NASEstimators
import NASNN
import NASSpaces
import NASTensor

/// `swiftnas export`: a trained model out of SwiftNAS, as ONNX, as PyTorch code + weights, and
/// with a metadata file that says what it is and how good it is.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trained model as ONNX, PyTorch (model.py + model.safetensors) and metadata.",
        discussion: """
        Reads a folder written by `swiftnas train` (a zoo model — cnn, mlp, refcnn — or --space nb201) and writes \
        into --out: model.onnx (opset 17, input NCHW float32 with a free batch size), model.py (a standalone \
        PyTorch module; only torch imported) with model.safetensors (its weights, PyTorch layouts and names), \
        sample.safetensors (64 normalised test images, NCHW, and SwiftNAS's outputs on them, to check a \
        runtime against) and metadata.json (architecture, test accuracy and how it was measured, parameters, \
        multiply-adds, latency at batch 1 and 64 on this machine, seed and training data). \
        scripts/check_export.py DIR runs onnxruntime and PyTorch on the sample and prints the largest differences.
        """)

    @Option(name: .customLong("run"), help: "Folder written by swiftnas train (holds model.json and checkpoint.safetensors).")
    var runFolder: String

    @Option(help: "Folder to write the export into; refused if it exists and is not empty, unless --force.")
    var out: String

    @Flag(help: "Write into an existing, non-empty folder.")
    var force = false

    func validate() throws { try checkFreshOutputFolder(out, flag: "--out", force: force) }

    func run() throws {
        let description = try TrainedModelFile.read(from: runFolder)
        let net = try description.network()
        let checkpointURL = URL(fileURLWithPath: runFolder).appendingPathComponent("checkpoint.safetensors")
        guard FileManager.default.fileExists(atPath: checkpointURL.path) else {
            throw ValidationError("\(runFolder) has no checkpoint.safetensors (the training wrote none yet)")
        }
        let checkpoint = try Checkpoint.read(checkpointURL)
        do { try checkpoint.restore(into: net, optimizer: nil) } catch {
            throw ValidationError("\(checkpointURL.path) does not hold the model \(description.architecture) that \(runFolder)/model.json describes: \(error)")
        }
        net.train(false)
        let graph: ExportGraph
        if let nb201 = net as? NB201Network {
            graph = ExportGraph.nb201(nb201)
        } else if let vit = net as? VisionTransformer {
            graph = ExportGraph.vit(vit)
        } else if let darts = net as? DARTSNetwork {
            graph = try ExportGraph.darts(darts, height: description.height, width: description.width)
        } else if let sequential = net as? Sequential {
            graph = try ExportGraph.sequential(sequential, inputShape: [description.inputChannels, description.height, description.width],
                                               classes: description.classes)
        } else {
            throw ExportGraph.Unsupported(what: description.architecture)
        }

        let images = try description.testImages(64)
        let outputs = withoutGrad { net(images) }
        let history = checkpoint.metadata["history"].flatMap { try? JSONDecoder().decode([EpochRecord].self, from: Data($0.utf8)) } ?? []
        let metadata = Metadata(
            architecture: description.architecture, format: ["onnx opset \(ONNXExport.opset)", "pytorch model.py + safetensors"],
            testAccuracy: history.last.map { $0.testAccuracy * 100 },
            accuracyMeasured: history.last.map { "top-1 accuracy on the \(Int(description.testFraction * 100)) % held-out test split of \(description.data) (seed \(description.seed)) after epoch \($0.epoch), by swiftnas train" }
                ?? "not measured: the checkpoint has no finished epoch",
            parameters: graph.parameterCount, multiplyAdds: graph.multiplyAdds(),
            latencyMilliseconds: ["batch_1": latency(net, images, batch: 1), "batch_64": latency(net, images, batch: 64)],
            latencyMeasured: "median of SwiftNAS forward passes in evaluation mode on this machine (\(Parallel.threadCount) threads)",
            seed: description.seed, input: ["layout": "NCHW float32", "shape": "[N, \(graph.inputShape.map(String.init).joined(separator: ", "))]",
                                            "normalise": "(x - mean) / std per channel, then zero-pad to \(description.padTo.map(String.init) ?? "no padding")"],
            mean: description.mean, std: description.std, training: checkpoint.metadata["config"] ?? "", source: runFolder)

        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let folder = URL(fileURLWithPath: out)
        let title = "\(description.architecture), trained"
        try AtomicFile.write(try ONNXExport.model(graph, docString: title), to: folder.appendingPathComponent("model.onnx"))
        try AtomicFile.write(PyTorchExport.source(graph, title: title), to: folder.appendingPathComponent("model.py"))
        try Safetensors.write(graph.tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent("model.safetensors"))
        try Safetensors.write(["input": images.permuted([0, 3, 1, 2]), "output": outputs], to: folder.appendingPathComponent("sample.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(try encoder.encode(metadata), to: folder.appendingPathComponent("metadata.json"))
        print("exported \(description.architecture) (\(metadata.parameters) parameters, \(metadata.multiplyAdds) multiply-adds"
            + (metadata.testAccuracy.map { String(format: ", %.2f %% test accuracy", $0) } ?? "") + ") to \(out): "
            + "model.onnx, model.py, model.safetensors, sample.safetensors, metadata.json")
    }

    struct Metadata: Codable {
        var architecture: String
        var format: [String]
        var testAccuracy: Double?
        var accuracyMeasured: String
        var parameters: Int
        var multiplyAdds: Int
        var latencyMilliseconds: [String: Double]
        var latencyMeasured: String
        var seed: UInt64
        var input: [String: String]
        var mean: [Float]
        var std: [Float]
        /// The training settings as `swiftnas train` stored them in its checkpoint (JSON).
        var training: String
        var source: String
    }

    /// Median milliseconds of a forward pass at `batch` images (the sample repeated as needed).
    func latency(_ net: any Layer, _ images: Tensor, batch: Int) -> Double {
        let perImage = images.count / images.shape[0]
        var values = [Float](repeating: 0, count: batch * perImage)
        for i in 0..<values.count { values[i] = images.data[i % images.count] }
        let x = Tensor(shape: [batch] + Array(images.shape.dropFirst()), data: values)
        var times: [Double] = []
        withoutGrad {
            _ = net(x)  // warm-up
            for _ in 0..<(batch == 1 ? 30 : 7) {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = net(x)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        return times.sorted()[times.count / 2]
    }
}

extension ExportGraph {
    /// Weights of the exported network (batch-norm running statistics excluded; a DARTS network's
    /// auxiliary head, which is not exported, is not counted).
    var parameterCount: Int {
        tensors.filter { !$0.key.hasSuffix(".running_mean") && !$0.key.hasSuffix(".running_var") }.values.reduce(0) { $0 + $1.count }
    }

    /// Multiply-adds of one forward pass on one image (convolutions and linear layers).
    func multiplyAdds() -> Int {
        var shapes: [[Int]] = [inputShape]
        var total = 0
        for node in nodes {
            let s = shapes[node.inputs.first ?? 0]
            var out = s
            switch node.operation {
            case let .conv(_, _, stride, padding, cin, cout, kernel, dilation, groups):
                let span = dilation * (kernel - 1) + 1
                let h = (s[1] + 2 * padding - span) / stride + 1, w = (s[2] + 2 * padding - span) / stride + 1
                out = [cout, h, w]
                total += cout * (cin / groups) * kernel * kernel * h * w
            case let .maxPool(kernel, stride, padding), let .avgPool(kernel, stride, padding, _):
                out = [s[0], (s[1] + 2 * padding - kernel) / stride + 1, (s[2] + 2 * padding - kernel) / stride + 1]
            case .globalAvgPool: out = [s[0]]
            case .flattenChannelsLast: out = [s.reduce(1, *)]
            case let .linear(_, _, inFeatures, outFeatures):
                let tokens = s.count == 2 ? s[0] : 1
                out = s.count == 2 ? [tokens, outFeatures] : [outFeatures]
                total += tokens * inFeatures * outFeatures
            case .patchTokens: out = [s[1] * s[2], s[0]]
            case .prependToken: out = [s[0] + 1, s[1]]
            case let .attention(_, dim, _):
                // q/k/v and output projections, then q·kᵀ and weights·v.
                total += s[0] * dim * 4 * dim + 2 * s[0] * s[0] * dim
            case .firstToken: out = [s[1]]
            case .addParameter, .layerNorm, .gelu: break
            case .concat: out = [node.inputs.reduce(0) { $0 + shapes[$1][0] }] + s.dropFirst()
            case .batchNorm, .relu, .add, .zerosLike, .shift: break
            }
            shapes.append(out)
        }
        return total
    }
}
