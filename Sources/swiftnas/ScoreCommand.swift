import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASSpaces
import NASTensor

/// `swiftnas score`: zero-cost proxies, exact parameter counts and multiply-adds for the
/// NAS-Bench-201 cells a user lists, as CSV — to compare with published zero-cost scores.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Zero-cost proxies, parameters and multiply-adds of listed NAS-Bench-201 cells, as CSV.",
        discussion: """
        --archs names a text file with one NAS-Bench-201 cell string per line (blank lines and \
        lines starting with # are skipped). Each cell is built as the benchmark's network \
        (--channels C, --cells N per stage) from --seed and scored on one mini-batch of --data \
        (its first --batch-size images after a seeded shuffle, normalised, padded to 32×32), or, \
        without --data, on a synthetic input of --input-shape with --classes classes — enough for \
        the proxies that need no data (synflow, params, flops).

        Columns: arch, then each proxy in --proxies order, then params (exact parameter count) \
        and multiply_adds (convolutions and the classifier, one image; NAS-Bench-201's flops \
        column also counts pooling, batch norm and additions, so it is larger). synflow is \
        ln(1 + S) of the summed synaptic flow S, computed in log space (NASLib reports ln S).
        """)

    @Option(help: "Text file of NAS-Bench-201 cell strings, one per line.") var archs: String
    @Option(help: "Comma-separated proxies: \(ZeroCostProxy.allCases.map(\.rawValue).joined(separator: ",")).")
    var proxies = "naswot,synflow,snip,grad_norm,fisher,jacob_cov"
    @Option(help: "Image data for the mini-batch (IDX folder, CIFAR-10 folder or CSV). Without it only data-free proxies run.")
    var data: String?
    @Option(name: .customLong("input-shape"), help: "Synthetic input CxHxW when --data is not given.") var inputShape = "3x32x32"
    @Option(help: "Classes of the classifier when --data is not given.") var classes = 10
    @Option(help: "Stem channels C.") var channels = 16
    @Option(help: "Cells per stage N.") var cells = 5
    @Option(name: .customLong("batch-size"), help: "Images in the mini-batch (NASWOT's 128).") var batchSize = 128
    @Option(help: "Seed of the networks' initialisation and of the batch.") var seed: UInt64 = 0
    @Option(help: "CSV output file (default: standard output).") var out: String?
    @Flag(help: "No progress bar.") var quiet = false

    /// Proxies that read the data batch or its labels.
    static let dataFree: Set<ZeroCostProxy> = [.synflow, .params, .flops]

    func validate() throws {
        guard (1...1024).contains(channels) else { throw ValidationError("--channels must be 1…1024, got \(channels)") }
        guard (1...64).contains(cells) else { throw ValidationError("--cells must be 1…64, got \(cells)") }
        guard (2...4096).contains(batchSize) else { throw ValidationError("--batch-size must be 2…4096, got \(batchSize)") }
        guard (2...100_000).contains(classes) else { throw ValidationError("--classes must be 2…100000, got \(classes)") }
        _ = try parsedProxies()
        _ = try parsedShape()
        var isDirectory: ObjCBool = false
        if let out, FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("--out \(out) is a folder; give a CSV file name")
        }
    }

    func parsedProxies() throws -> [ZeroCostProxy] {
        let names = proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw ValidationError("--proxies is empty") }
        let list = try names.map { name -> ZeroCostProxy in
            guard let p = ZeroCostProxy(rawValue: name) else {
                throw ValidationError("--proxies: unknown proxy '\(name.prefix(40))'; known: "
                    + ZeroCostProxy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return p
        }
        if data == nil, let needy = list.first(where: { !Self.dataFree.contains($0) }) {
            throw ValidationError("--proxies: \(needy.rawValue) needs a data batch; give --data, or use only "
                + Self.dataFree.map(\.rawValue).sorted().joined(separator: ", "))
        }
        return list.filter { $0 != .params && $0 != .flops }
    }

    func parsedShape() throws -> (channels: Int, height: Int, width: Int) {
        let parts = inputShape.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 3, let c = parts[0], let h = parts[1], let w = parts[2],
              (1...64).contains(c), (4...32).contains(h), (4...32).contains(w), h % 4 == 0, w % 4 == 0 else {
            throw ValidationError("--input-shape must be CxHxW with C 1…64 and H, W multiples of 4 up to 32 (e.g. 3x32x32), got '\(inputShape.prefix(40))'")
        }
        return (c, h, w)
    }

    /// The cells of `path`, with errors that name the file and line.
    static func readCells(_ path: String) throws -> [NB201Cell] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("--archs \(path): cannot be read as UTF-8 text")
        }
        var cells: [NB201Cell] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do { cells.append(try NB201Cell(parsing: line)) } catch {
                throw ValidationError("--archs \(path) line \(i + 1): \(error)")
            }
        }
        guard !cells.isEmpty else { throw ValidationError("--archs \(path): no cell strings in it") }
        return cells
    }

    func run() throws {
        let scored = try parsedProxies()
        let cellList = try Self.readCells(archs)
        let batch: Tensor, labels: [Int], config: NB201NetworkConfig
        if let data {
            let (train, test) = try loadDataSet(data, testFraction: 0.2, seed: seed)
            try checkNB201Input(train, data)
            (batch, labels) = proxyBatch(train, size: min(batchSize, train.count), seed: seed)
            config = NB201NetworkConfig(channels: channels, cellsPerStage: cells, inputChannels: train.channels,
                                        classes: max(train.classCount, test.classCount))
        } else {
            let s = try parsedShape()
            var rng = SeededGenerator(seed: seed)
            let n = min(batchSize, 2)
            batch = Tensor(shape: [n, s.height, s.width, s.channels], data: (0..<(n * s.height * s.width * s.channels)).map { _ in rng.nextNormal() })
            labels = (0..<n).map { $0 % classes }
            config = NB201NetworkConfig(channels: channels, cellsPerStage: cells, inputChannels: s.channels, classes: classes)
        }
        let scorer = ZeroCostScorer(config: config, batch: batch, labels: labels)
        var rows = ["arch," + (scored.map(\.rawValue) + ["params", "multiply_adds"]).joined(separator: ",")]
        var bar = ProgressBar(total: cellList.count, label: "scoring")
        for (i, cell) in cellList.enumerated() {
            try StopRequest.check()
            let s = scorer.scores(cell, proxies: scored + [.params, .flops], seed: seed)
            let values = scored.map { p in s[p].map { String(format: "%.6g", $0) } ?? "" }
                + [String(Int(s[.params] ?? 0)), String(Int(s[.flops] ?? 0))]
            rows.append(cell.description + "," + values.joined(separator: ","))
            if !quiet { bar.update(i + 1, "") }
        }
        if !quiet { bar.finish() }
        let csv = rows.joined(separator: "\n") + "\n"
        if let out { try AtomicFile.write(csv, to: URL(fileURLWithPath: out)) } else { print(csv, terminator: "") }
    }
}
