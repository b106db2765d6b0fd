import ArgumentParser
import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// `<out>/model.json`, written by `swiftnas train` beside its checkpoint: what network was
/// trained on what data, so that `swiftnas export` can rebuild it, load the checkpoint and feed
/// it the same test images.
struct TrainedModelFile: Codable, Equatable {
    /// A model of the zoo (`cnn`, `mlp`, `refcnn`, `vit`) with its `--param` settings, or nil for `--space nb201`.
    var model: String?
    var parameters: [String: String] = [:]
    /// `nb201` (a cell string, stem channels C and cells per stage N) or `darts` (a genotype, C, and
    /// its layers and auxiliary-head weight, which decide the checkpoint's tensors).
    var space: String?
    var arch: String?
    var channels = 16
    var cells = 5
    var layers: Int?
    var auxiliaryWeight: Float?
    /// The images as the network sees them (after padding): height, width, channels; and classes.
    var height: Int
    var width: Int
    var inputChannels: Int
    var classes: Int
    /// Per-channel statistics of the training images that every input is normalised with.
    var mean: [Float]
    var std: [Float]
    /// Images smaller than this were zero-padded to it (NB201 networks take 32×32), after normalising.
    var padTo: Int?
    var data: String
    var testFraction: Double
    var seed: UInt64

    static let fileName = "model.json"

    func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent(Self.fileName))
    }

    static func read(from folder: String) throws -> TrainedModelFile {
        let path = (folder as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(folder) has no \(fileName): export reads a folder written by swiftnas train (a zoo model or --space nb201)")
        }
        let file: TrainedModelFile
        do { file = try JSONDecoder().decode(TrainedModelFile.self, from: data) } catch {
            throw DataError(file: path, "not a SwiftNAS model description (\(String("\(error)".prefix(160))))")
        }
        if let problem = file.problem { throw DataError(file: path, problem) }
        return file
    }

    /// What is out of range, or nil: the file is read from disk and may have been edited.
    var problem: String? {
        if !(1...4096).contains(channels) { return "channels is \(channels), not in 1…4096" }
        if !(1...100).contains(cells) { return "cells is \(cells), not in 1…100" }
        if !(1...4096).contains(height) || !(1...4096).contains(width) { return "the image size \(height)×\(width) is not in 1…4096" }
        if !(1...64).contains(inputChannels) { return "inputChannels is \(inputChannels), not in 1…64" }
        if !(2...100_000).contains(classes) { return "classes is \(classes), not in 2…100000" }
        if mean.count != inputChannels || std.count != inputChannels { return "mean and std need one value per input channel" }
        if !(mean + std).allSatisfy(\.isFinite) || !std.allSatisfy({ $0 > 0 }) { return "mean and std must be finite, std positive" }
        if !(testFraction > 0 && testFraction < 1) { return "testFraction must be in (0, 1)" }
        if space == "nb201", height != 32 || width != 32 { return "an NB201 network takes 32×32 images, not \(height)×\(width)" }
        if let p = padTo, !(1...4096).contains(p) { return "padTo is \(p), not in 1…4096" }
        if let l = layers, !(3...100).contains(l) { return "layers is \(l), not in 3…100" }
        if let w = auxiliaryWeight, !(w.isFinite && w >= 0) { return "auxiliaryWeight must be finite and ≥ 0" }
        return nil
    }

    /// The untrained network this file describes (its weights come from the checkpoint).
    func network() throws -> any Layer {
        switch space {
        case nil:
            return try ModelZoo.make(model ?? "cnn", height: height, width: width, channels: inputChannels, classes: classes,
                                     parameters: parameters, seed: seed)
        case "nb201":
            let cell = try NB201Cell(parsing: arch ?? "")
            return NB201Network(cell: cell, config: NB201NetworkConfig(channels: channels, cellsPerStage: cells,
                                                                      inputChannels: inputChannels, classes: classes), seed: seed)
        case "darts":
            let genotype = try DARTSGenotype(parsing: arch ?? "")
            return DARTSNetwork(genotype: genotype, config: DARTSNetworkConfig(channels: channels, layers: layers ?? 8, inputChannels: inputChannels,
                                                                             classes: classes, affine: true, auxiliaryWeight: auxiliaryWeight ?? 0),
                                seed: seed)
        case let other?:
            throw ValidationError("export supports the zoo models, --space nb201 and --space darts, not --space \(other)")
        }
    }

    /// What the model is, for titles and metadata.
    var architecture: String {
        if space == "nb201" { return "nb201 \(arch ?? "") C=\(channels) N=\(cells)" }
        if space == "darts" { return "darts \(arch ?? "") C=\(channels) layers=\(layers ?? 8)" }
        let settings = parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? "")" }.joined(separator: " ")
        return (model ?? "cnn") + (settings.isEmpty ? "" : " " + settings)
    }

    /// The first `count` test images as the network sees them (normalised, padded), channels-last.
    func testImages(_ count: Int) throws -> Tensor {
        var (_, test) = try loadDataSet(data, testFraction: testFraction, seed: seed)
        test = test.prefix(count).normalized(mean: mean, std: std)
        if let size = padTo, test.height < size || test.width < size { test = test.padded(to: size) }
        guard test.height == height, test.width == width, test.channels == inputChannels else {
            throw DataError(file: data, "its test images are \(test.height)×\(test.width)×\(test.channels), the model takes \(height)×\(width)×\(inputChannels)")
        }
        return Tensor(shape: [test.count, height, width, inputChannels], data: test.images)
    }
}
