import ArgumentParser
import Foundation
import NASBench
import NASData
import NASExperiment
import NASNN
import NASSpaces
import NASStrategies
import NASTensor

/// `swiftnas fuzz`: feeds every reader of user input with mutated valid inputs (truncation, byte
/// flips, inserted and deleted runs, numbers replaced by huge, negative or non-finite values,
/// tokens of the wrong type). A case passes when the reader returns or throws; a trap ends the
/// process, which `bench/fuzz.sh` counts as a crash and resumes after. The index of the running
/// case is kept in `--progress` so the script knows which case crashed or hung.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Run mutated inputs through every parser of user input (see bench/fuzz.sh).",
        discussion: """
        Targets: arch (NAS-Bench-201 cell strings), genotype (DARTS genotype strings), nago (NAGO \
        architecture strings; NAGO's BO state restored, asked and told), vit (--param settings of the ViT), glit (GLiT architecture strings, built and run when small), denseseg and av (segmentation and \
        multimodal architecture strings, built and run when small), autodeeplab (Auto-DeepLab strings, \
        checked against the trellis, built and run), wav (WAV bytes, then a log-mel spectrogram), table (the NAS-Bench-201 table loader), idx and csv \
        (data readers, then the training-data checks), yaml (search config files), safetensors \
        (checkpoint reader and restore into a model and optimizer), state (stored strategy state of \
        every strategy, restored and then asked and told), storeurl (postgresql:// store URLs), metrics (a \
        trial's stored metrics), modelfile (the model.json export reads, then the network built). Case i of a \
        seed is always the same input.
        """)

    @Option(help: "Seed of the mutations.") var seed: UInt64 = 0
    @Option(help: "First case index.") var start = 0
    @Option(help: "Number of cases.") var count = 10_000
    @Option(help: "File that holds the index of the case being run.") var progress: String?
    @Option(help: "Comma-separated targets (default: all).") var targets = FuzzTarget.allCases.map(\.rawValue).joined(separator: ",")

    func validate() throws {
        try validateCounts([("--start", start, 0), ("--count", count, 1)])
        for t in targets.split(separator: ",") where FuzzTarget(rawValue: String(t)) == nil {
            throw ValidationError("unknown fuzz target '\(t)'; known: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let chosen = targets.split(separator: ",").compactMap { FuzzTarget(rawValue: String($0)) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fuzzer = try Fuzzer(folder: folder)
        let progressFD = progress.map { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) } ?? -1
        var thrown = 0, accepted = 0
        for i in start..<(start + count) {
            if progressFD >= 0 {
                let text = String(i).padding(toLength: 20, withPad: " ", startingAt: 0)
                _ = text.withCString { pwrite(progressFD, $0, 20, 0) }
            }
            let target = chosen[i % chosen.count]
            var rng = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(i))
            do { try fuzzer.run(target, using: &rng); accepted += 1 } catch { thrown += 1 }
        }
        print("fuzz_chunk start=\(start) count=\(count) accepted=\(accepted) rejected=\(thrown)")
    }
}

enum FuzzTarget: String, CaseIterable { case arch, genotype, nago, vit, glit, denseseg, av, autodeeplab, wav, table, idx, csv, yaml, safetensors, state, storeurl, metrics, modelfile }

/// The valid inputs the mutations start from, and the mutations.
struct Fuzzer {
    let folder: URL
    let cells: [String]
    let smallTable: [UInt8]
    let checkpoint: [UInt8]
    let states: [(name: String, state: [UInt8])]
    let genotypes: [String]
    let nagoArchitectures: [String]
    let nagoState: [UInt8]

    init(folder: URL) throws {
        self.folder = folder
        var rng = SeededGenerator(seed: 1)
        cells = (0..<20).map { _ in NB201Cell(code: Int(rng.next() % UInt64(NB201Cell.spaceSize))).description }
        // A table of the first rows: the loader's checks all run; only the row count differs.
        var table = NB201Column.compactHeader.joined(separator: ",") + "\n"
        for i in 0..<40 {
            let values = NB201Column.allCases.indices.map { c in c == 13 && i % 7 == 0 ? "" : String(Double(i * 13 + c) / 7) }
            table += "\(i),\(NB201Cell(code: i).opCodes),(0)@none,\(values.joined(separator: ","))\n"
        }
        smallTable = Array(table.utf8)
        let model = ModelZoo.mlp(inputs: 4, classes: 3, hidden: [5], using: &rng)
        let adam = Adam(model.parameters())
        checkpoint = Array(try Safetensors.encode(Checkpoint(model: model, optimizer: adam, metadata: ["epochs_done": "1"]).allTensors,
                                                  metadata: ["epochs_done": "1"]))
        var states: [(String, [UInt8])] = []
        for name in StrategyCatalog.names where name != "nao" && name != "ctnas" {
            var (strategy, _) = try StrategyCatalog.make(name, space: NB201SearchSpace(), seed: 3,
                                                         fidelities: [Fidelity(epochs: 12), Fidelity(epochs: 200)])
            for k in 0..<6 {
                let p = try strategy.ask()
                try strategy.tell(Observation(architecture: p.architecture, fidelity: p.fidelity, objective: Double(k % 4) * 3, cost: 12))
            }
            states.append((name, Array(try strategy.state())))
        }
        self.states = states
        let darts = DARTSSearchSpace()
        genotypes = (0..<10).map { _ in darts.describe(darts.sample(using: &rng)) }
        let nago = NAGOSpace()
        nagoArchitectures = (0..<10).map { _ in nago.describe(nago.sample(using: &rng)) }
        var h = NAGOBayesianOptimisation.Hyperparameters()
        (h.initialSamples, h.candidates, h.localCandidates) = (2, 20, 5)
        var bo = try NAGOBayesianOptimisation(space: nago, hyperparameters: h, seed: 3)
        for k in 0..<4 {
            let p = try bo.ask()
            try bo.tell(Observation(architecture: p.architecture, fidelity: nil, objective: Double(k % 3) * 10, cost: 1))
        }
        nagoState = Array(try bo.state())
    }

    func run(_ target: FuzzTarget, using rng: inout SeededGenerator) throws {
        switch target {
        case .arch:
            let s = mutate(Array(cells[pick(cells.count, &rng)].utf8), &rng)
            _ = try NB201Cell(parsing: String(decoding: s, as: UTF8.self))
        case .genotype:
            let s = mutate(Array(genotypes[pick(genotypes.count, &rng)].utf8), &rng)
            _ = try DARTSSearchSpace().parse(String(decoding: s, as: UTF8.self))
        case .nago:
            // A NAGO architecture string, or NAGO's BO state restored and then asked and told.
            let space = NAGOSpace()
            if rng.next() % 2 == 0 {
                let s = mutate(Array(nagoArchitectures[pick(nagoArchitectures.count, &rng)].utf8), &rng)
                _ = space.parameterCount(of: try space.parse(String(decoding: s, as: UTF8.self)))
            } else {
                let mutated = Data(rng.next() % 2 == 0 ? mutateJSON(nagoState, &rng) : mutate(nagoState, &rng))
                var bo = try NAGOBayesianOptimisation(space: space, state: mutated)
                let p = try bo.ask()
                try bo.tell(Observation(architecture: p.architecture, fidelity: nil, objective: 50, cost: 1))
            }
        case .vit:
            // `--param key=value` settings of `train --model vit`, checked and built (never trained).
            let text = String(decoding: mutate(Array("patch=7,dim=16,depth=2,heads=2,mlp_ratio=2,norm=post".utf8), &rng), as: UTF8.self)
            let parameters = try keyValueOverrides(text.split(separator: ",").map(String.init))
            var config = ViTConfig()
            try config.apply(parameters)
            if let problem = config.problem { throw ValidationError(problem) }
            // Build the small ones (large valid sizes are legitimate and only slow to allocate).
            if config.blockWeights < 2_000_000 {
                _ = try ModelZoo.make("vit", height: 28, width: 28, channels: 1, classes: 10, parameters: parameters, seed: 0)
            }
        case .glit:
            // `train --space glit --arch` strings, checked, and the small ones built and run on two images.
            let s = mutate(Array("glit(patch=7,dim=16)[g1l1-d8-k3-e2-m2|g2l0-d4-k5-e1-m1|g0l2-d8-k7-e2-m3]".utf8), &rng)
            let architecture = try GLiTArchitecture(parsing: String(decoding: s, as: UTF8.self))
            let config = try architecture.config(height: 28, width: 28, channels: 1, classes: 10)
            if architecture.parameterCount(config) < 2_000_000 {
                var images = SeededGenerator(seed: 0)
                _ = withoutGrad { GLiTNetwork(architecture, config: config, seed: 0)(Tensor.normal([2, 28, 28, 1], using: &images)) }
            }
        case .denseseg:
            // `--space dense-seg --arch` strings, and the small ones built and run on a 16×16 tile.
            let s = mutate(Array("dense-seg[k3-g4-d1|k5-g8-d2|k3-g4-d1]".utf8), &rng)
            let a = try DenseSegArchitecture(parsing: String(decoding: s, as: UTF8.self))
            if a.levels <= 2, a.blocks.allSatisfy({ $0.growth * $0.depth <= 64 && $0.kernel <= 7 }) {
                var images = SeededGenerator(seed: 0)
                _ = withoutGrad { DenseSegNetwork(a, stemChannels: 4, seed: 0)(Tensor.normal([1, 16, 16, 1], using: &images)) }
            }
        case .av:
            // Multimodal architecture strings, and the small ones built and run on one pair.
            let s = mutate(Array("av[both|image=d2-w8-k3|audio=d1-w8-k5|pool=max|fusion=late|combine=gated|width=32]".utf8), &rng)
            let a = try AVFusionArchitecture(parsing: String(decoding: s, as: UTF8.self))
            if a.image.width <= 64, a.audio.width <= 64, a.fusionWidth <= 256 {
                var inputs = SeededGenerator(seed: 0)
                let image = Tensor.normal([1, 28, 28, 1], using: &inputs), audio = Tensor.normal([1, 32, 63, 1], using: &inputs)
                _ = withoutGrad { AVFusionNetwork(a, imageSize: (28, 28), seed: 0)(image: image, audio: audio) }
            }
        case .autodeeplab:
            // `--space autodeeplab --arch` strings, checked against the default trellis, built and run on one tile.
            let s = mutate(Array("adl[path=0-1-2-2|sep_conv_3x3~0+skip_connect~1|dil_conv_3x3~2+sep_conv_3x3~0|avg_pool_3x3~3+skip_connect~1]".utf8), &rng)
            let a = try AutoDeepLabArchitecture(parsing: String(decoding: s, as: UTF8.self))
            var c = AutoDeepLabConfig()
            (c.layers, c.blocks, c.channels) = (a.path.count, a.cell.count, 4)
            try a.check(against: c)
            var images = SeededGenerator(seed: 0)
            _ = withoutGrad { AutoDeepLabNetwork(config: c, architecture: a, seed: 0)(Tensor.normal([1, 16, 16, 1], using: &images)) }
        case .wav:
            let audio = WAVAudio(samples: (0..<40).map { Float($0 % 7) / 10 - 0.3 }, sampleRate: 8000)
            let decoded = try WAVAudio.decode(Data(mutate(Array(audio.encoded()), &rng)), name: "fuzz.wav")
            var g = LogMelSpectrogram()
            (g.samples, g.fftSize, g.hop, g.mels, g.sampleRate) = (64, 16, 8, 4, decoded.sampleRate)
            if (try? g.validate()) != nil { _ = g(decoded.samples) }
        case .table:
            _ = try NB201Table(csv: Data(maybeGzip(mutate(smallTable, &rng), &rng)))
        case .idx:
            let n = 3, h = 2 + pick(3, &rng), w = 2 + pick(3, &rng)
            var images: [UInt8] = [0, 0, 8, 3] + be32(n) + be32(h) + be32(w)
            images += (0..<(n * h * w)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var labels: [UInt8] = [0, 0, 8, 1] + be32(n) + (0..<n).map { UInt8($0) }
            if rng.next() % 2 == 0 { images = mutate(images, &rng) } else { labels = mutate(labels, &rng) }
            let ip = try write(maybeGzip(images, &rng), "images"), lp = try write(maybeGzip(labels, &rng), "labels")
            let d = try DatasetReader.idx(images: ip, labels: lp)
            try checkTrainable(train: d, test: d)
        case .csv:
            let header = rng.next() % 2 == 0 ? "label,a,b,c,d\n" : ""
            let rows = (0..<6).map { i in "\(i % 3),\(i),\(i * 2),0.5,\(i % 2)" }.joined(separator: "\n")
            let path = try write(maybeGzip(mutate(Array((header + rows + "\n").utf8), &rng), &rng), "data.csv")
            let d = try DatasetReader.csv(path)
            let (train, test) = d.split(validationFraction: 0.3, seed: 0)
            try checkTrainable(train: train, test: test)
        case .storeurl:
            // postgresql:// store URLs as --store and swiftnas worker read them (parsed, never connected).
            let s = mutate(Array("postgresql://nas:secret@db.example.org:5432/nas?sslmode=require&study=rea-s0".utf8), &rng)
            let location = try PostgresLocation(url: String(decoding: s, as: UTF8.self))
            if let study = location.study { try PostgresLocation.checkStudyName(study) }
        case .metrics:
            // A trial's stored metrics object, as both stores read it back.
            let s = mutate(Array(#"{"nb201_c10valid_valid_12":84.892,"params_m":0.316346,"naswot_score_v1":-2372.44}"#.utf8), &rng)
            _ = try TrialRecord.metrics(fromJSON: String(decoding: s, as: UTF8.self))
        case .modelfile:
            // model.json as swiftnas export reads it; the small networks it describes are built.
            let json = #"{"cells":1,"channels":4,"classes":10,"data":"d","height":32,"inputChannels":1,"mean":[0.3],"std":[0.35],"#
                + #""padTo":32,"parameters":{},"seed":0,"space":"nb201","arch":"|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|","testFraction":0.2,"width":32}"#
            let file = try write(mutate(Array(json.utf8), &rng), "model.json")
            let description = try TrainedModelFile.read(from: (file as NSString).deletingLastPathComponent)
            if description.channels * description.cells <= 64, description.classes <= 100,
               description.height * description.width * description.inputChannels <= 4096 {
                _ = try description.network()
            }
        case .yaml:
            let yaml = "space: nb201\nstrategy: rea\nseed: 3\nbudget: {queries: 20, cost: 300}\n"
                + "objective: nb201_c10valid_valid_12\nhyperparameters: {population_size: 10, sample_size: [3, 4]}\n"
            let config = try SearchConfigFile.load(try write(mutate(Array(yaml.utf8), &rng), "exp.yaml"))
            let budget = Budget(queries: config.budget?.queries, seconds: config.budget?.seconds, cost: config.budget?.cost)
            if let problem = budget.problem { throw ValidationError(problem) }
            if let name = config.strategy {
                _ = try StrategyCatalog.make(name, overrides: (config.hyperparameters ?? [:]).mapValues(\.text),
                                             space: NB201SearchSpace(), seed: config.seed ?? 0)
            }
        case .safetensors:
            let (tensors, metadata) = try Safetensors.decode(Data(mutate(checkpoint, &rng)))
            var r = SeededGenerator(seed: 1)
            let model = ModelZoo.mlp(inputs: 4, classes: 3, hidden: [5], using: &r)
            let c = Checkpoint(tensors: tensors, metadata: metadata)
            try c.restore(into: model, optimizer: Adam(model.parameters()))
        case .state:
            let (name, state) = states[pick(states.count, &rng)]
            // Half the cases keep the JSON valid and change one value or array (deeper checks).
            let mutated = Data(rng.next() % 2 == 0 ? mutateJSON(state, &rng) : mutate(state, &rng))
            var strategy = try StrategyCatalog.restore(name, space: NB201SearchSpace(), state: mutated)
            for k in 0..<3 {
                let p = try strategy.ask()
                try strategy.tell(Observation(architecture: p.architecture, fidelity: p.fidelity, objective: Double(k), cost: 12))
            }
        }
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

    private func pick(_ n: Int, _ rng: inout SeededGenerator) -> Int { Int(rng.next() % UInt64(max(n, 1))) }

    private func maybeGzip(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        guard rng.next() % 5 == 0, var z = try? gzip(bytes) else { return bytes }
        if rng.next() % 2 == 0, !z.isEmpty { z = mutate(z, &rng) }
        return z
    }

    /// Valid JSON with one value replaced, or one array shortened, lengthened or emptied.
    func mutateJSON(_ input: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed]) else { return input }
        var leaves = 0
        func count(_ v: Any) { leaves += 1; if let a = v as? [Any] { a.forEach(count) } else if let d = v as? [String: Any] { d.values.forEach(count) } }
        count(root)
        var target = pick(leaves, &rng)
        let replacements: [Any] = [-1, 0, Int.max, Int.min, 1e300, -1e300, "nan", "inf", "-inf", "x", [Any](), [String: Any](), NSNull(), true, 4_294_967_296]
        let choice = pick(replacements.count + 3, &rng)
        func rewrite(_ v: Any) -> Any {
            if target == 0 {
                target = -1
                if choice < replacements.count { return replacements[choice] }
                if let a = v as? [Any] {
                    switch choice - replacements.count {
                    case 0: return Array(a.dropLast())
                    case 1: return a + a.prefix(1)
                    default: return [Any]()
                    }
                }
                return replacements[choice % replacements.count]
            }
            target -= 1
            if let a = v as? [Any] { return a.map(rewrite) }
            if let d = v as? [String: Any] { return d.mapValues(rewrite) }
            return v
        }
        let changed = rewrite(root)
        guard let out = try? JSONSerialization.data(withJSONObject: changed, options: [.fragmentsAllowed]) else { return input }
        return Array(out)
    }

    /// One to three mutations of `input`.
    func mutate(_ input: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = input
        let replacements = ["-1", "0", "4294967295", "2147483648", "9223372036854775807", "-9223372036854775808",
                            "99999999999999999999999", "1e308", "1e400", "nan", "NaN", "inf", "-inf", "\"x\"", "[]", "{}",
                            "null", "true", "~", "-0", "0.5", "|", "+", "~9", "\u{0}", "\u{FF}", "\n", ","]
        for _ in 0...pick(3, &rng) {
            let at = pick(b.count + 1, &rng)
            switch pick(8, &rng) {
            case 0: b = Array(b.prefix(at))                                                // truncate
            case 1: if at < b.count { b[at] ^= UInt8(1 << pick(8, &rng)) }                 // flip a bit
            case 2: if at < b.count { b[at] = UInt8(truncatingIfNeeded: rng.next()) }      // random byte
            case 3: b.insert(contentsOf: (0..<(1 + pick(8, &rng))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            case 4: b.removeSubrange(at..<min(b.count, at + 1 + pick(16, &rng)))           // delete a run
            case 5: b.insert(contentsOf: b[at..<min(b.count, at + pick(32, &rng))], at: at) // repeat a run
            default:                                                                         // replace a number
                let digits = b.indices.filter { (48...57).contains(b[$0]) }
                guard !digits.isEmpty else { continue }
                var s = digits[pick(digits.count, &rng)], e = s
                while s > 0, (48...57).contains(b[s - 1]) || b[s - 1] == 46 { s -= 1 }
                while e + 1 < b.count, (48...57).contains(b[e + 1]) || b[e + 1] == 46 { e += 1 }
                b.replaceSubrange(s...e, with: Array(replacements[pick(replacements.count, &rng)].utf8))
            }
        }
        return b
    }
}
