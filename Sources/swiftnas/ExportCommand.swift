import ArgumentParser
import Foundation
import NASEstimators
import NASExperiment
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
        Reads a folder written by `swiftnas train` (a zoo model — cnn, mlp, refcnn, vit — or --space nb201 or darts), or \
        with --store the chosen architecture of a search (NB201 cell or DARTS genotype, initial weights), and writes \
        into --out: model.onnx (opset 17, input NCHW float32 with a free batch size), model.py (a standalone \
        PyTorch module; only torch imported) with model.safetensors (its weights, PyTorch layouts and names), \
        sample.safetensors (64 normalised test images, NCHW, and SwiftNAS's outputs on them, to check a \
        runtime against) and metadata.json (architecture, test accuracy and how it was measured, parameters, \
        multiply-adds, latency at batch 1 and 64 on this machine, seed and training data). \
        scripts/check_export.py DIR runs onnxruntime and PyTorch on the sample and prints the largest differences.
        """)

    @Option(name: .customLong("run"), help: "Folder written by swiftnas train (holds model.json and checkpoint.safetensors).")
    var runFolder: String?

    @Option(help: "Or a search store (SQLite file or postgresql://…?study=NAME): export the network of its chosen architecture (an NB201 cell or a DARTS genotype) with initial weights, to train elsewhere.")
    var store: String?

    @Option(help: "With --store: stem channels C of the network (default 16).")
    var channels = 16

    @Option(help: "With --store: NB201 cells per stage N, or DARTS layers (default 5 and 8).")
    var cells: Int?

    @Option(name: .customLong("input-channels"), help: "With --store: image channels (default 3, CIFAR).")
    var inputChannels = 3

    @Option(help: "With --store: classes (default 10).")
    var classes = 10

    @Option(help: "Folder to write the export into; refused if it exists and is not empty, unless --force.")
    var out: String

    @Flag(help: "Write into an existing, non-empty folder.")
    var force = false

    func validate() throws {
        guard (runFolder == nil) != (store == nil) else { throw ValidationError("give --run (a trained model) or --store (a search), one of them") }
        if runFolder != nil, cells != nil || channels != 16 || inputChannels != 3 || classes != 10 {
            throw ValidationError("--channels, --cells, --input-channels and --classes apply with --store; --run's model.json holds the network's shape")
        }
        try validateCounts([("--channels", channels, 1), ("--cells", cells ?? 1, 1), ("--input-channels", inputChannels, 1), ("--classes", classes, 2)])
        if channels > 1024 || (cells ?? 1) > 100 || inputChannels > 64 || classes > 100_000 {
            throw ValidationError("--channels ≤ 1024, --cells ≤ 100, --input-channels ≤ 64, --classes ≤ 100000")
        }
        try checkFreshOutputFolder(out, flag: "--out", force: force)
    }

    /// What is exported and what is known about it.
    struct Source {
        var net: any Layer
        var graph: ExportGraph
        var images: Tensor
        var metadata: Metadata
    }

    func run() throws {
        let source = try store.map(fromStore) ?? fromRun(runFolder ?? "")
        let (net, graph, images) = (source.net, source.graph, source.images)
        var metadata = source.metadata
        let outputs = withoutGrad { net(images) }
        metadata.parameters = graph.parameterCount
        metadata.multiplyAdds = graph.multiplyAdds()
        metadata.latencyMilliseconds = ["batch_1": latency(net, images, batch: 1), "batch_64": latency(net, images, batch: 64)]

        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let folder = URL(fileURLWithPath: out)
        let title = metadata.architecture + (metadata.weights.hasPrefix("trained") ? ", trained" : ", initial weights")
        try AtomicFile.write(try ONNXExport.model(graph, docString: title), to: folder.appendingPathComponent("model.onnx"))
        try AtomicFile.write(PyTorchExport.source(graph, title: title), to: folder.appendingPathComponent("model.py"))
        try Safetensors.write(graph.tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent("model.safetensors"))
        let imagesNCHW = images.rank == 4 ? images.permuted([0, 3, 1, 2]) : images
        try Safetensors.write(["input": imagesNCHW, "output": outputs], to: folder.appendingPathComponent("sample.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(try encoder.encode(metadata), to: folder.appendingPathComponent("metadata.json"))
        print("exported \(metadata.architecture) (\(metadata.parameters) parameters, \(metadata.multiplyAdds) multiply-adds"
            + (metadata.testAccuracy.map { String(format: ", %.2f %% test accuracy", $0) } ?? "") + ", \(metadata.weights)) to \(out): "
            + "model.onnx, model.py, model.safetensors, sample.safetensors, metadata.json")
    }

    /// A model trained by `swiftnas train`, its checkpoint and 64 of its test images.
    func fromRun(_ runFolder: String) throws -> Source {
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
        let graph = try Self.graph(net, height: description.height, width: description.width, classes: description.classes,
                                   inputChannels: description.inputChannels, what: description.architecture)
        let history = checkpoint.metadata["history"].flatMap { try? JSONDecoder().decode([EpochRecord].self, from: Data($0.utf8)) } ?? []
        let metadata = Metadata(
            architecture: description.architecture, weights: "trained by swiftnas train",
            testAccuracy: history.last.map { $0.testAccuracy * 100 },
            accuracyMeasured: history.last.map { "top-1 accuracy on the \(Int(description.testFraction * 100)) % held-out test split of \(description.data) (seed \(description.seed)) after epoch \($0.epoch), by swiftnas train" }
                ?? "not measured: the checkpoint has no finished epoch",
            seed: description.seed, input: Self.input(graph, normalise: "(x - mean) / std per channel, then zero-pad to \(description.padTo.map(String.init) ?? "no padding")"),
            mean: description.mean, std: description.std, training: checkpoint.metadata["config"] ?? "", search: nil, source: runFolder)
        return Source(net: net, graph: graph, images: try description.testImages(64), metadata: metadata)
    }

    /// The chosen architecture of a search (its final trial, else its best) as a network with the
    /// search seed's initial weights; the sample inputs are seeded noise.
    func fromStore(_ store: String) throws -> Source {
        let search = try StoredSearch(reading: store)
        let configuration = search.configuration
        let summary = ExperimentSummary(configuration: configuration, trials: search.trials, resumedTrials: 0)
        guard let chosen = summary.finalTrial ?? summary.incumbent.flatMap({ i in summary.trials.first { $0.number == i.trial } }) else {
            throw ReportPage.NoFinishedTrial(store: search.location)
        }
        let net: any Layer
        let architecture: String
        if let cell = try? NB201Cell(parsing: chosen.architecture) {
            let n = cells ?? 5
            net = NB201Network(cell: cell, config: NB201NetworkConfig(channels: channels, cellsPerStage: n, inputChannels: inputChannels,
                                                                     classes: classes), seed: configuration.seed)
            architecture = "nb201 \(cell) C=\(channels) N=\(n)"
        } else if let genotype = try? DARTSGenotype(parsing: chosen.architecture) {
            let layers = max(cells ?? 8, 3)
            net = DARTSNetwork(genotype: genotype, config: DARTSNetworkConfig(channels: channels, layers: layers, inputChannels: inputChannels,
                                                                             classes: classes), seed: configuration.seed)
            architecture = "darts \(genotype) C=\(channels) layers=\(layers)"
        } else {
            throw ValidationError("the store's chosen architecture \(chosen.architecture.prefix(80)) is not an NB201 cell or a DARTS genotype; export takes those from a store")
        }
        net.train(false)
        let graph = try Self.graph(net, height: 32, width: 32, classes: classes, inputChannels: inputChannels, what: architecture)
        var rng = SeededGenerator(seed: configuration.seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reported = chosen.metrics[configuration.report]
        let metadata = Metadata(
            architecture: architecture, weights: "initial (untrained, seed \(configuration.seed)): a search keeps no trained weights",
            testAccuracy: reported,
            accuracyMeasured: reported.map { _ in "\(configuration.report) of trial \(chosen.number), as the search's estimator (\(configuration.estimator)) reported it" }
                ?? "not in the store: the search's estimator gave no \(configuration.report)",
            seed: configuration.seed, input: Self.input(graph, normalise: "as the data it will be trained on"),
            mean: [], std: [], training: "", search: String(decoding: try encoder.encode(configuration), as: UTF8.self), source: search.location)
        return Source(net: net, graph: graph, images: Tensor.normal([64, 32, 32, inputChannels], using: &rng), metadata: metadata)
    }

    static func graph(_ net: any Layer, height: Int, width: Int, classes: Int, inputChannels: Int, what: String) throws -> ExportGraph {
        if let nb201 = net as? NB201Network { return ExportGraph.nb201(nb201) }
        if let vit = net as? VisionTransformer { return ExportGraph.vit(vit) }
        if let darts = net as? DARTSNetwork { return try ExportGraph.darts(darts, height: height, width: width) }
        if let sequential = net as? Sequential {
            return try ExportGraph.sequential(sequential, inputShape: [inputChannels, height, width], classes: classes)
        }
        throw ExportGraph.Unsupported(what: what)
    }

    static func input(_ graph: ExportGraph, normalise: String) -> [String: String] {
        ["layout": "NCHW float32", "shape": "[N, \(graph.inputShape.map(String.init).joined(separator: ", "))]", "normalise": normalise]
    }

    struct Metadata: Codable {
        var architecture: String
        var format = ["onnx opset \(ONNXExport.opset)", "pytorch model.py + safetensors"]
        /// Trained by `swiftnas train`, or the initial weights of a search's chosen architecture.
        var weights: String
        var testAccuracy: Double?
        var accuracyMeasured: String
        var parameters = 0
        var multiplyAdds = 0
        var latencyMilliseconds: [String: Double] = [:]
        var latencyMeasured = "median of SwiftNAS forward passes in evaluation mode on this machine (\(Parallel.threadCount) threads)"
        var seed: UInt64
        var input: [String: String]
        var mean: [Float]
        var std: [Float]
        /// The training settings as `swiftnas train` stored them in its checkpoint (JSON).
        var training: String
        /// The search's settings as its store keeps them (JSON), when exported from a store.
        var search: String?
        /// The run folder or the store.
        var source: String

        init(architecture: String, weights: String, testAccuracy: Double?, accuracyMeasured: String, seed: UInt64,
             input: [String: String], mean: [Float], std: [Float], training: String, search: String?, source: String) {
            (self.architecture, self.weights, self.testAccuracy, self.accuracyMeasured, self.seed) = (architecture, weights, testAccuracy, accuracyMeasured, seed)
            (self.input, self.mean, self.std, self.training, self.search, self.source) = (input, mean, std, training, search, source)
        }
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
