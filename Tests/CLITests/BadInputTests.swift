import Foundation
import NASData
import NASNN
import NASTensor
import PostgresTestSupport
import XCTest

/// Runs the `swiftnas` executable on bad input, one test per class of input: every case must end
/// within seconds with a one-line error that names the flag or file, and an exit status that is
/// an error (1) or ArgumentParser's usage status (64) — never a trap, a hang or a silent success.
final class BadInputTests: XCTestCase {
    /// The executable SwiftPM built beside this test bundle.
    static let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("swiftnas").path

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    struct Outcome { var status: Int32; var stdout: String; var stderr: String; var seconds: Double }

    @discardableResult
    func swiftnas(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 30) throws -> Outcome {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "no swiftnas at \(Self.binary)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = folder.appendingPathComponent("stdout-\(UUID().uuidString)"), err = folder.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        let start = Date()
        try p.run()
        while p.isRunning, Date().timeIntervalSince(start) < timeout { usleep(10_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); XCTFail("swiftnas \(arguments) did not finish in \(timeout) s") }
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus,
                       stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "",
                       seconds: Date().timeIntervalSince(start))
    }

    /// The command fails cleanly: exit 1 or 64, not by a signal, within `seconds`, with an error
    /// line that mentions `mentions`.
    func assertRefused(_ arguments: [String], mentions: String, environment: [String: String] = [:], seconds: Double = 5,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let o = try swiftnas(arguments, environment: environment)
        XCTAssertTrue(o.status == 1 || o.status == 64, "exit \(o.status) for \(arguments): \(o.stderr.suffix(400))", file: file, line: line)
        XCTAssertTrue(o.stderr.contains("Error:"), "no error line for \(arguments)", file: file, line: line)
        XCTAssertTrue(o.stderr.contains(mentions), "\(arguments): '\(o.stderr.suffix(400))' does not mention '\(mentions)'", file: file, line: line)
        XCTAssertFalse(o.stderr.contains("Fatal error"), "\(arguments) trapped", file: file, line: line)
        XCTAssertLessThan(o.seconds, seconds, "\(arguments) took \(o.seconds) s", file: file, line: line)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Runs SQL on a database file with Python's sqlite3, as a user editing a store by hand would.
    func sqlite(_ sql: String, on file: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", file, sql]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, sql)
    }

    func write(_ text: String, _ name: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// A small valid CSV image set: 40 rows of 16 pixels (4×4) and a label 0…3 last.
    func tinyCSV(_ name: String = "tiny.csv", rows: Int = 40, label: (Int) -> String = { String($0 % 4) }) throws -> String {
        let lines = (0..<rows).map { i in ((0..<16).map { j in String((i * 7 + j * 3) % 17) } + [label(i)]).joined(separator: ",") }
        return try write(lines.joined(separator: "\n") + "\n", name)
    }

    func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

    /// An IDX folder with `n` training and `m` test images of h×w and the labels given.
    func idxFolder(_ name: String, train n: Int, test m: Int, h: Int = 4, w: Int = 4, claimed: Int? = nil,
                   labels: (Int) -> UInt8 = { UInt8($0 % 3) }) throws -> String {
        let dir = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (stem, count) in [("train", n), ("t10k", m)] {
            let images: [UInt8] = [0, 0, 8, 3] + be32(claimed ?? count) + be32(h) + be32(w) + (0..<(count * h * w)).map { UInt8($0 % 251) }
            let labelBytes: [UInt8] = [0, 0, 8, 1] + be32(count) + (0..<count).map(labels)
            try Data(images).write(to: dir.appendingPathComponent("\(stem)-images-idx3-ubyte"))
            try Data(labelBytes).write(to: dir.appendingPathComponent("\(stem)-labels-idx1-ubyte"))
        }
        return dir.path
    }

    // MARK: Data

    func testBadDataFilesAreRefusedNamingTheFile() throws {
        let huge = try idxFolder("huge", train: 5, test: 5, claimed: 2_000_000_000)
        try assertRefused(["train", "--data", huge, "--model", "mlp", "--epochs", "1"], mentions: "train-images-idx3-ubyte")
        let empty = try idxFolder("empty", train: 0, test: 4)
        try assertRefused(["train", "--data", empty, "--model", "mlp", "--epochs", "1"], mentions: "has no images")
        let bothEmpty = try idxFolder("bothempty", train: 0, test: 0)
        try assertRefused(["train", "--data", bothEmpty, "--model", "mlp", "--epochs", "1"], mentions: "has no images")
        try assertRefused(["search", "--strategy", "naswot", "--data", empty, "--samples", "2"], mentions: "has no images")
        let headerOnly = try write("label,a,b,c,d\n", "header.csv")
        try assertRefused(["train", "--data", headerOnly, "--model", "mlp"], mentions: "no rows")
        let bigLabel = try tinyCSV("biglabel.csv") { $0 == 3 ? "2000000000" : String($0 % 4) }
        try assertRefused(["train", "--data", bigLabel, "--model", "mlp"], mentions: "row 4")
        let maxLabel = try tinyCSV("maxlabel.csv") { $0 == 5 ? String(Int.max) : String($0 % 4) }
        try assertRefused(["train", "--data", maxLabel, "--model", "mlp"], mentions: "row 6")
        let line = try write((0..<30).map { i in ((0..<40).map { _ in "1" } + [String(i % 2)]).joined(separator: ",") }.joined(separator: "\n"), "line.csv")
        try assertRefused(["train", "--data", line, "--model", "cnn"], mentions: "4×4")
        try assertRefused(["search", "--strategy", "darts", "--data", line], mentions: "square images")
        try assertRefused(["search", "--strategy", "naswot", "--data", line, "--samples", "2"], mentions: "at most 32×32")
        let stray = try idxFolder("stray", train: 30, test: 10) { $0 == 7 ? 255 : UInt8($0 % 3) }
        try assertRefused(["train", "--data", stray, "--model", "mlp"], mentions: "labels are not class indices")
        let nan = try tinyCSV("nan.csv")
        var text = try String(contentsOfFile: nan, encoding: .utf8)
        text = text.replacingOccurrences(of: "\n3,", with: "\nnan,")
        try text.write(toFile: nan, atomically: true, encoding: .utf8)
        try assertRefused(["train", "--data", nan, "--model", "mlp", "--test-fraction", "0.5"], mentions: "non-finite pixel")
        // Test images of another size than the training images.
        let mixed = try idxFolder("mixed", train: 10, test: 4)
        let other: [UInt8] = [0, 0, 8, 3] + be32(4) + be32(5) + be32(5) + [UInt8](repeating: 1, count: 100)
        try Data(other).write(to: URL(fileURLWithPath: mixed).appendingPathComponent("t10k-images-idx3-ubyte"))
        try assertRefused(["train", "--data", mixed, "--model", "mlp"], mentions: "5×5×1")
    }

    // MARK: Flags

    func testFlagsOutOfRangeAreRefusedNamingTheFlag() throws {
        let data = try tinyCSV()
        let cases: [([String], String)] = [
            (["--batch-size", "0"], "--batch-size"), (["--batch-size=-3"], "--batch-size"),
            (["--test-fraction", "1"], "--test-fraction"), (["--test-fraction", "nan"], "--test-fraction"),
            (["--test-fraction=-1"], "--test-fraction"), (["--epochs=-1"], "--epochs"), (["--epochs", "0"], "--epochs"),
            (["--lr=-1"], "--lr"), (["--label-smoothing", "2"], "--label-smoothing"), (["--clip=-1"], "--clip"),
            (["--cutout=-2"], "--cutout"), (["--crop-padding=-1"], "--crop-padding"), (["--warmup-epochs=-1"], "--warmup-epochs"),
            (["--train-limit=-5"], "--train-limit"), (["--threads", "0"], "--threads"),
            (["--space", "nb201", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--channels", "0"], "--channels"),
            (["--space", "nb201", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--cells=-1"], "--cells"),
        ]
        for (flags, flag) in cases {
            try assertRefused(["train", "--data", data, "--model", "mlp"] + flags, mentions: flag)
        }
        try assertRefused(["train", "--data", data, "--model", "mlp"], mentions: "SWIFTNAS_THREADS", environment: ["SWIFTNAS_THREADS": "abc"])
        try assertRefused(["train", "--data", data, "--model", "mlp", "--out", data], mentions: "--out \(data) is a file")
        try assertRefused(["train", "--data", data, "--model", "mlp", "--channels", "8"], mentions: "--channels applies with --space")
        try assertRefused(["train", "--data", data, "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], mentions: "--arch applies with --space")
        try assertRefused(["train", "--data", data, "--model", "mlp", "--space", "nb201", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
                          mentions: "--model and --param are for the built-in models")
        try assertRefused(["train", "--data", data, "--model", "mlp", "--momentum", "0.5"], mentions: "--momentum applies to --optimizer sgd")
        let images = try idxFolder("vit", train: 8, test: 4, h: 8, w: 8)
        try assertRefused(["train", "--data", images, "--model", "vit", "--param", "patch=3"], mentions: "patch 3 does not divide the 8×8 images")
        try assertRefused(["train", "--data", images, "--model", "cnn", "--param", "depth=2"], mentions: "only vit takes --param")
        // GLiT architectures: a bad string, a patch that does not divide, an even kernel, a space a method cannot search.
        let glit = "glit(patch=4,dim=8)[g1l1-d4-k3-e1-m2|g2l0-d4-k3-e1-m2]"
        try assertRefused(["train", "--data", images, "--space", "glit", "--arch", "glit[g1l1]"], mentions: "glit architecture must read")
        try assertRefused(["train", "--data", images, "--space", "glit", "--arch", glit.replacingOccurrences(of: "patch=4", with: "patch=3")],
                          mentions: "patch 3 does not divide the 8×8 images")
        try assertRefused(["train", "--data", images, "--space", "glit", "--arch", glit.replacingOccurrences(of: "k3", with: "k4")],
                          mentions: "kernels must be odd")
        try assertRefused(["train", "--data", images, "--space", "glit", "--arch", "glit(patch=4,dim=8)[g1l1-d4-k3-e1-m2|g1l0-d4-k3-e1-m2]"],
                          mentions: "1 heads, the space has 2")
        try assertRefused(["search", "--space", "glit", "--strategy", "darts", "--data", images], mentions: "searched by glit or spos")
        try assertRefused(["search", "--space", "nb201", "--strategy", "glit", "--data", images], mentions: "searches --space glit only")
        try assertRefused(["search", "--space", "glit", "--strategy", "glit", "--data", images, "--param", "weight_optimizer=adam"],
                          mentions: "'weight_optimizer' must be sgd or adamw")
        try assertRefused(["ln-training", "--data", images, "--out", path("lnt"), "--lrs", "fast"], mentions: "--lrs must be a comma-separated list")
        try assertRefused(["ln-gradients", "--data", images, "--out", path("lng"), "--depths", "0,6"], mentions: "--depths must be in 1…64")
        try assertRefused(["ln-gradients", "--data", images, "--out", path("lng"), "--patch", "3"], mentions: "patch 3 does not divide")
        try assertRefused(["federated", "--data", images, "--out", path("fl"), "--alphas", "0,1"], mentions: "alpha must be positive")
        try assertRefused(["federated", "--data", images, "--out", path("fl"), "--models", "resnet"], mentions: "unknown model 'resnet'")
        try assertRefused(["federated", "--data", images, "--out", path("fl"), "--algorithm", "gossip"], mentions: "fedavg or cyclic")
        try assertRefused(["train", "--data", folder.path, "--model", "mlp"], mentions: "file not found in the data folder")
        try assertRefused(["search", "--strategy", "rea", "--benchmark", folder.path], mentions: "cannot read NAS-Bench-201 table")
        try assertRefused(["search", "--strategy", "rea", "--budget-cost", "nan"], mentions: "--budget-cost")
        try assertRefused(["search", "--strategy", "rea", "--budget", "0"], mentions: "--budget")
        try assertRefused(["search", "--strategy", "rea", "--budget-seconds=-1"], mentions: "--budget-seconds")
        try assertRefused(["search", "--strategy", "naswot", "--samples", "0"], mentions: "--samples")
        try assertRefused(["search", "--strategy", "rea", "--objective", "accuracy"], mentions: "unknown metric 'accuracy'")
        try assertRefused(["search", "--strategy", "rea", "--param", "population"], mentions: "key=value")
        // A flag of another kind of strategy is refused, not ignored.
        try assertRefused(["search", "--strategy", "rea", "--samples", "5"], mentions: "--samples applies to --strategy naswot only")
        try assertRefused(["search", "--strategy", "darts", "--proxy", "synflow"], mentions: "--proxy applies to --strategy naswot only")
        try assertRefused(["search", "--strategy", "naswot", "--param", "population=3"], mentions: "naswot has no hyper-parameter 'population'")
        for (setting, mentions) in [("momentum=2", "--momentum must be in [0, 1)"), ("lr", "--train-param expects key=value"),
                                    ("depth=3", "--train-param has no key 'depth'"), ("lr=fast", "--train-param lr=fast: not a number"),
                                    ("schedule=linear", "expected cosine, step or constant"), ("flip=yes", "expected true or false")] {
            try assertRefused(["search", "--strategy", "naswot", "--train-epochs", "1", "--train-param", setting], mentions: mentions)
        }
        try assertRefused(["search", "--strategy", "rea", "--train-param", "lr=0.1"], mentions: "--train-param applies to --strategy naswot only")
        try assertRefused(["search", "--strategy", "rea", "--checkpoint", path("c.safetensors")], mentions: "--checkpoint applies")
        try assertRefused(["search", "--strategy", "rea", "--data", folder.path], mentions: "--data applies")
    }

    // MARK: Config files and tables

    func testConfigTyposAndBadBudgetsAreRefused() throws {
        let cases: [(yaml: String, mentions: String)] = [
            ("stratgy: bananas\nbudget: 20\n", "unknown key 'stratgy'"),
            ("strategy: rea\nbudget: 0\n", "budget queries must be at least 1"),
            ("strategy: rea\nbudget: {cost: -5}\n", "budget cost"),
            ("strategy: rea\nbudget: {queries: 5, secnds: 3}\n", "unknown budget key 'secnds'"),
            ("strategy: rea\n? [a, b]\n: 3\nbudget: 5\n", "config-4.yaml"),
            ("strategy: [rea\n", "config-5.yaml"),
        ]
        for (i, c) in cases.enumerated() {
            try assertRefused(["search", "--config", try write(c.yaml, "config-\(i).yaml")], mentions: c.mentions)
        }
    }

    func testBadTablesGetShortErrors() throws {
        let header = "arch_index,op_codes,nats_unique_str,nats_c10_test_200,nats_c100_test_200,nats_in16_test_200,nb201_c10_test_200,"
            + "nb201_c10valid_valid_200,nb201_c10valid_test_200,nb201_c10_test_12,nb201_c10valid_valid_12,nb201_c100_test_12,"
            + "nb201_c100_valid_12,nb201_in16_test_12,nb201_in16_valid_12,params_m,naswot_score_v1\n"
        let inf = try write(header + "0,000000,#,inf" + String(repeating: ",1", count: 13) + "\n", "inf.csv")
        try assertRefused(["search", "--strategy", "rea", "--benchmark", inf], mentions: "not a finite number")
        let garbage = try write(String(repeating: "garbage", count: 20_000), "garbage.csv")
        let o = try swiftnas(["search", "--strategy", "rea", "--benchmark", garbage])
        XCTAssertEqual(o.status, 1)
        XCTAssertLessThan(o.stderr.count, 400, o.stderr)
        XCTAssertTrue(o.stderr.contains("garbage.csv"))
    }

    // MARK: Checkpoints

    /// Trains one epoch on tiny data, then resumes from tampered copies of the checkpoint.
    func testTamperedCheckpointsAreRefused() throws {
        let data = try tinyCSV()
        let out = path("run")
        let first = try swiftnas(["train", "--data", data, "--model", "mlp", "--epochs", "2", "--out", out, "--optimizer", "adam"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let checkpoint = URL(fileURLWithPath: out).appendingPathComponent("checkpoint.safetensors")
        let (tensors, metadata) = try Safetensors.read(checkpoint)
        func resumeWith(_ t: [String: Tensor], _ m: [String: String], mentions: String, data other: String? = nil) throws {
            try Safetensors.write(t, metadata: m, to: checkpoint)
            try assertRefused(["train", "--data", other ?? data, "--model", "mlp", "--epochs", "2", "--out", out, "--resume"], mentions: mentions)
        }
        var m = metadata
        m["epochs_done"] = "999"
        try resumeWith(tensors, m, mentions: "epochs_done is 999")
        m["epochs_done"] = "-3"
        try resumeWith(tensors, m, mentions: "epochs_done is -3")
        var t = tensors
        t["optimizer.step"] = Tensor(shape: [1], data: [.infinity])
        try resumeWith(t, metadata, mentions: "'step' is inf")
        try resumeWith(tensors, metadata, mentions: "other data", data: try tinyCSV("other.csv", rows: 44))
        // A tensor whose shape overflows when multiplied, written by hand.
        var header = Array("{\"model.x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: header.count >> (8 * i)) }
        try Data(bytes + header + [UInt8](repeating: 0, count: 16)).write(to: checkpoint)
        try assertRefused(["train", "--data", data, "--model", "mlp", "--epochs", "2", "--out", out, "--resume"], mentions: "larger than the file")
    }

    /// A run killed between its checkpoint and its log line leaves a log that `--resume` repairs:
    /// one line per epoch, in order.
    func testResumeRewritesTheLogFromTheCheckpoint() throws {
        let data = try tinyCSV()
        let out = path("log-run")
        XCTAssertEqual(try swiftnas(["train", "--data", data, "--model", "mlp", "--epochs", "2", "--out", out]).status, 0)
        let log = URL(fileURLWithPath: out).appendingPathComponent("log.jsonl")
        let good = try String(contentsOf: log, encoding: .utf8)
        // Simulate a kill after the checkpoint of epoch 2 but before its log line, plus a stray duplicate.
        let lines = good.split(separator: "\n")
        try (String(lines[0]) + "\n" + String(lines[0]) + "\n").write(to: log, atomically: true, encoding: .utf8)
        XCTAssertEqual(try swiftnas(["train", "--data", data, "--model", "mlp", "--epochs", "2", "--out", out, "--resume"]).status, 0)
        let repaired = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(repaired.count, 2)
        XCTAssertEqual(repaired.map { $0.contains("\"epoch\":1") }, [true, false])
        XCTAssertEqual(repaired.map { $0.contains("\"epoch\":2") }, [false, true])
    }

    // MARK: Stores

    func testForeignAndBusyStoresAreRefusedAndExportIsReadOnly() throws {
        // A SQLite file that is not a store: refused, and its bytes are unchanged.
        let foreign = path("foreign.sqlite")
        try sqlite("create table notes(x)", on: foreign)
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        try assertRefused(["search", "--strategy", "rea", "--budget", "3", "--store", foreign], mentions: "not a SwiftNAS trial store")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: foreign)), before)
        let text = try write("hello", "text.sqlite")
        try assertRefused(["search", "--strategy", "rea", "--budget", "3", "--store", text], mentions: "not a SwiftNAS trial store")
        try assertRefused(["trials", "--store", foreign], mentions: "not a SwiftNAS trial store")

        // A finished store exported from a read-only file: works and writes nothing.
        let store = path("run.sqlite")
        XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "5", "--store", store, "--quiet"]).status, 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: store)
        let stamp = try FileManager.default.attributesOfItem(atPath: store)[.modificationDate] as? Date
        let export = try swiftnas(["trials", "--store", store, "--format", "csv"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout.split(separator: "\n").count, 6)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: store)[.modificationDate] as? Date, stamp)
    }

    /// `swiftnas nago` end to end on a tiny IDX set: its trials land in the store, the same
    /// command resumes from it, and flags that do not fit the strategy are refused.
    func testNAGORunsThroughTheStoreAndResumes() throws {
        let data = try idxFolder("fmnist", train: 50, test: 20, h: 28, w: 28) { UInt8($0 % 10) }
        let out = path("nago")
        let run = ["nago", "--data", data, "--out", out, "--trials", "3", "--train-images", "30", "--valid-images", "20",
                   "--test-images", "10", "--epochs", "1", "--param", "initial_samples=2"]
        let first = try swiftnas(run, timeout: 120)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("nago_pareto_points="), first.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/trials.sqlite"))
        XCTAssertEqual(try String(contentsOfFile: out + "/trials.csv", encoding: .utf8).split(separator: "\n").count, 4)
        let again = try swiftnas(run, timeout: 120)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("resumed 3 trials"), again.stdout)
        XCTAssertFalse(again.stdout.contains("trial   1 "), "a finished search trains nothing again")
        let export = try swiftnas(["trials", "--store", out + "/trials.sqlite", "--format", "csv"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains(";seed="), export.stdout)
        try assertRefused(run + ["--seed", "1"], mentions: "seed: stored 0, requested 1")
        try assertRefused(["nago", "--data", data, "--out", path("n2"), "--strategy", "bananas"], mentions: "does not run on NAGO's space")
        try assertRefused(["nago", "--data", data, "--out", path("n3"), "--strategy", "rea", "--single-objective"], mentions: "--single-objective")
        try assertRefused(["nago", "--data", data, "--out", path("n4"), "--param", "bogus=1"], mentions: "bogus")
    }

    func testASecondSearchOnARunningStoreIsRefusedAtOnce() throws {
        let store = path("busy.sqlite")
        let first = Process()
        first.executableURL = URL(fileURLWithPath: Self.binary)
        first.arguments = ["search", "--strategy", "rea", "--budget-seconds", "4", "--budget", "1000000", "--store", store, "--quiet"]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { first.terminate() }; first.waitUntilExit() }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: store + ".lock"), Date() < deadline { usleep(20_000) }
        usleep(300_000)
        try assertRefused(["search", "--strategy", "rea", "--budget-seconds", "4", "--budget", "1000000", "--store", store],
                          mentions: "in use by another search (process \(first.processIdentifier)")
        // SIGTERM stops the first at a trial boundary with a message, and the store resumes.
        first.terminate()
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 128 + 15)
        let resumed = try swiftnas(["search", "--strategy", "rea", "--budget-seconds", "4", "--budget", "1000000", "--store", store, "--quiet"],
                                   timeout: 60)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resumed from the store") && !resumed.stdout.contains("(0 resumed"), resumed.stdout)
    }

    func testTamperedStoredArchitectureIsRefused() throws {
        let store = path("tamper.sqlite")
        XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "5", "--store", store, "--quiet"]).status, 0)
        try sqlite("update trials set architecture='|zero~0|' where number=2", on: store)
        try assertRefused(["search", "--strategy", "rea", "--budget", "5", "--store", store], mentions: "trial row 2")
        // A valid but different architecture, or a changed objective, is caught by the row's checksum.
        for change in ["architecture='|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'",
                       "objective=99.9"] {
            let copy = path("tamper-\(change.count).sqlite")
            XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "5", "--store", copy, "--quiet"]).status, 0)
            try sqlite("update trials set \(change) where number=3", on: copy)
            try assertRefused(["search", "--strategy", "rea", "--budget", "5", "--store", copy], mentions: "changed outside SwiftNAS")
        }
    }

    // MARK: score

    /// `swiftnas score`: bad lists and flags are refused naming the file line or flag; a good list
    /// scores every cell, finite synflow for the conv-heaviest cell, the exact parameter count.
    func testScoreRefusesBadInputAndScoresAList() throws {
        let conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
        let empty = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
        let bad = try write("# two cells\n\(conv)\n|nor_conv_3x3~0|+|bogus~0|none~1|\n", "bad.txt")
        try assertRefused(["score", "--archs", bad, "--proxies", "synflow"], mentions: "line 3")
        try assertRefused(["score", "--archs", try write("# nothing\n\n", "none.txt"), "--proxies", "synflow"], mentions: "no cell strings")
        try assertRefused(["score", "--archs", path("missing.txt"), "--proxies", "synflow"], mentions: "missing.txt")
        let good = try write("\(conv)\n\n\(empty)\n", "good.txt")
        try assertRefused(["score", "--archs", good, "--proxies", "naswot"], mentions: "needs a data batch")
        try assertRefused(["score", "--archs", good, "--proxies", "synflo"], mentions: "unknown proxy 'synflo'")
        try assertRefused(["score", "--archs", good, "--proxies", "synflow", "--input-shape", "3x32"], mentions: "--input-shape")
        try assertRefused(["score", "--archs", good, "--proxies", "synflow", "--input-shape", "3x33x32"], mentions: "--input-shape")
        try assertRefused(["score", "--archs", good, "--proxies", "synflow", "--channels", "0"], mentions: "--channels")
        try assertRefused(["score", "--archs", good, "--proxies", "synflow", "--out", folder.path], mentions: "is a folder")

        let csv = path("scores.csv")
        let o = try swiftnas(["score", "--archs", good, "--proxies", "synflow,params", "--input-shape", "3x32x32", "--quiet", "--out", csv], timeout: 120)
        XCTAssertEqual(o.status, 0, o.stderr)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.first.map { $0.joined(separator: ",") }, "arch,synflow,params,multiply_adds")
        XCTAssertEqual(rows.count, 3)
        guard rows.count == 3 else { return }
        XCTAssertEqual(String(rows[1][0]), conv)
        let synflow = Double(rows[1][1]) ?? .nan
        XCTAssertTrue(synflow.isFinite && synflow > 100, "synflow of the all-conv3x3 cell: \(rows[1][1])")
        XCTAssertEqual(Double(rows[2][1]), 0, "a cell with no path scores 0")
        // NAS-Bench-201 lists 1,531,546 parameters (1.531546 M) for the all-conv3x3 cell at the CIFAR-10 build.
        XCTAssertEqual(String(rows[1][2]), "1531546")
    }

    // MARK: Segmentation

    /// A folder with image/ and label/ PNGs: `count` gray w×h images with masks (one mask of
    /// another size when `badMask` names it).
    func segmentationFolder(_ name: String, count: Int = 5, side: Int = 16, badMask: Int? = nil) throws -> String {
        let root = folder.appendingPathComponent(name)
        for sub in ["image", "label"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for i in 0..<count {
            let pixels = (0..<(side * side)).map { UInt8(($0 * 13 + i * 7) % 256) }
            try PNGImage(width: side, height: side, channels: 1, pixels: pixels).encoded()
                .write(to: root.appendingPathComponent("image/\(i).png"))
            let m = i == badMask ? side / 2 : side
            try PNGImage(width: m, height: m, channels: 1, pixels: (0..<(m * m)).map { $0 % 5 == 0 ? 255 : 0 }).encoded()
                .write(to: root.appendingPathComponent("label/\(i).png"))
        }
        return root.path
    }

    func testSegmentationFlagsAndFilesAreChecked() throws {
        let good = try segmentationFolder("seg")
        let common = ["train", "--task", "segment", "--data", good, "--downsample", "1", "--tile", "8", "--epochs", "1", "--out", path("out")]
        try assertRefused(["train", "--task", "detect", "--data", good], mentions: "--task")
        try assertRefused(["train", "--data", good, "--tile", "8"], mentions: "--tile applies to segmentation only")
        try assertRefused(common + ["--cells", "2"], mentions: "--cells")
        try assertRefused(common + ["--model", "cnn"], mentions: "--model cnn")
        try assertRefused(common + ["--space", "nb201", "--arch", "x"], mentions: "--space dense-seg")
        try assertRefused(common + ["--space", "dense-seg", "--arch", "dense-seg[k4-g8-d2]"], mentions: "kernel must be odd")
        try assertRefused(common + ["--foreground", "grey"], mentions: "--foreground")
        try assertRefused(common + ["--space", "dense-seg", "--arch", "dense-seg[k15-g256-d16|k15-g256-d16|k15-g256-d16]"], mentions: "weights")
        try assertRefused(common + ["--overlap", "8"], mentions: "--overlap")
        try assertRefused(common + ["--test-fold", "5"], mentions: "--test-fold")
        try assertRefused(["train", "--task", "segment", "--data", good, "--downsample", "1", "--tile", "6", "--out", path("out")],
                          mentions: "divisible by 2^2")
        try assertRefused(["train", "--task", "segment", "--data", good, "--downsample", "1", "--tile", "32", "--out", path("out")],
                          mentions: "tile side")
        try assertRefused(["train", "--task", "segment", "--data", good, "--folds", "9", "--downsample", "1", "--tile", "8", "--out", path("out")],
                          mentions: "cannot make 9 folds")
        let mismatched = try segmentationFolder("mismatch", badMask: 3)
        try assertRefused(["train", "--task", "segment", "--data", mismatched, "--downsample", "1", "--tile", "8"], mentions: "label/3.png")
        let noLabels = folder.appendingPathComponent("nolabels/image")
        try FileManager.default.createDirectory(at: noLabels, withIntermediateDirectories: true)
        try assertRefused(["train", "--task", "segment", "--data", path("nolabels")], mentions: "image/ and label/")
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: good).appendingPathComponent("image/9.png"))
        try assertRefused(["train", "--task", "segment", "--data", good, "--downsample", "1", "--tile", "8"], mentions: "9.png")

        let seg = try segmentationFolder("seg2")
        try assertRefused(["search", "--space", "dense-seg", "--budget", "1"], mentions: "--data")
        try assertRefused(["search", "--space", "dense-seg", "--data", seg, "--samples", "3"], mentions: "--samples")
        try assertRefused(["search", "--space", "dense-seg", "--data", seg, "--strategy", "ctnas", "--downsample", "1", "--tile", "8"],
                          mentions: "ctnas")
        try assertRefused(["search", "--space", "dense-seg", "--data", seg, "--train-epochs", "0"], mentions: "--train-epochs")
        try assertRefused(["search", "--space", "nb201", "--tile", "8"], mentions: "--tile applies to segmentation only")
        try assertRefused(["search", "--space", "autodeeplab"], mentions: "--data")
        try assertRefused(["search", "--space", "autodeeplab", "--data", seg, "--param", "a=1"], mentions: "--param")
        try assertRefused(["search", "--space", "autodeeplab", "--data", seg, "--downsample", "1", "--tile", "12"], mentions: "divisible")
        try assertRefused(["train", "--task", "segment", "--data", seg, "--downsample", "1", "--tile", "8", "--epochs", "1", "--out", path("out"),
                           "--space", "autodeeplab", "--arch", "adl[path=0-2-2-2|skip_connect~0|skip_connect~0|skip_connect~0]"], mentions: "layer 1")
    }

    /// Training and a two-trial search run end to end on a tiny set, and the search resumes.
    func testSegmentationTrainingAndSearchRun() throws {
        let seg = try segmentationFolder("seg", count: 6)
        let o = try swiftnas(["train", "--task", "segment", "--data", seg, "--downsample", "1", "--tile", "8", "--overlap", "4",
                              "--epochs", "2", "--channels", "4", "--out", path("unet")], timeout: 120)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("held-out Dice"), o.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("unet/checkpoint.safetensors")))
        let args = ["search", "--space", "dense-seg", "--strategy", "reinforce-lstm", "--data", seg, "--downsample", "1", "--tile", "8",
                    "--overlap", "0", "--train-epochs", "1", "--budget", "2", "--store", path("s.sqlite"), "--quiet"]
        let first = try swiftnas(args, timeout: 300)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("best: trial"), first.stdout)
        let again = try swiftnas(args, timeout: 300)
        XCTAssertTrue(again.stdout.contains("(2 resumed from the store)"), again.stdout)
        try assertRefused(args.map { $0 == "reinforce-lstm" ? "random" : $0 }, mentions: "s.sqlite")
    }

    // MARK: Multimodal

    /// 50 rows of 28×28 pixels with the digit last, and spoken "digits" (tones) by three speakers.
    func avFiles(digits: ClosedRange<Int> = 0...9) throws -> (csv: String, audio: String) {
        let rows = (0..<50).map { i in ((0..<784).map { String(($0 * 3 + i * 11) % 256) } + [String(i % 10)]).joined(separator: ",") }
        let csv = try write(rows.joined(separator: "\n") + "\n", "digits.csv")
        let audio = folder.appendingPathComponent("recordings")
        try FileManager.default.createDirectory(at: audio, withIntermediateDirectories: true)
        for speaker in ["ann", "bob", "cem"] {
            for d in digits {
                let samples = (0..<1500).map { Float(0.3 * sin(Double($0) * Double(d + 1) * 0.05)) }
                try WAVAudio(samples: samples, sampleRate: 8000).encoded().write(to: audio.appendingPathComponent("\(d)_\(speaker)_0.wav"))
            }
        }
        return (csv, audio.path)
    }

    /// The checklist printed by the run names every flag the user set, each as hand-set.
    func testMultimodalSearchPrintsTheChecklistOfEveryFlag() throws {
        let (csv, audio) = try avFiles()
        let store = path("av.sqlite")
        let o = try swiftnas(["search", "--space", "avmnist", "--strategy", "random", "--data", csv, "--audio", audio, "--seed", "3",
                              "--budget", "2", "--train-epochs", "1", "--image-energy", "0.5", "--param", "max_redraws=50",
                              "--store", store, "--quiet"], timeout: 120)
        XCTAssertEqual(o.status, 0, o.stderr)
        for flag in ["--strategy", "--data", "--audio", "--seed", "--budget", "--train-epochs", "--image-energy", "--param", "--store", "--quiet"] {
            XCTAssertTrue(o.stdout.contains("| flag \(flag)\n"), "checklist lacks \(flag):\n\(o.stdout)")
        }
        XCTAssertTrue(o.stdout.contains("| searched"), o.stdout)
        XCTAssertTrue(o.stdout.contains("best unimodal") && o.stdout.contains("best fused"), o.stdout)
    }

    func testMultimodalInputIsChecked() throws {
        let (csv, audio) = try avFiles()
        try assertRefused(["search", "--space", "nb201", "--audio", audio], mentions: "--audio applies to --space avmnist only")
        try assertRefused(["search", "--space", "avmnist", "--data", csv], mentions: "--audio")
        try assertRefused(["search", "--space", "avmnist", "--data", csv, "--audio", audio, "--image-energy", "0"], mentions: "--image-energy")
        try assertRefused(["search", "--space", "avmnist", "--data", csv, "--audio", audio, "--tile", "8"], mentions: "--tile")
        var eightBit = WAVAudio(samples: [0, 0.1], sampleRate: 8000).encoded()
        eightBit[34] = 8
        try eightBit.write(to: URL(fileURLWithPath: audio).appendingPathComponent("3_ann_1.wav"))
        try assertRefused(["search", "--space", "avmnist", "--data", csv, "--audio", audio, "--budget", "1"], mentions: "not 16-bit PCM", seconds: 30)
        try FileManager.default.removeItem(atPath: URL(fileURLWithPath: audio).appendingPathComponent("3_ann_1.wav").path)
        for s in ["ann", "bob", "cem"] { try FileManager.default.removeItem(atPath: URL(fileURLWithPath: audio).appendingPathComponent("7_\(s)_0.wav").path) }
        try assertRefused(["search", "--space", "avmnist", "--data", csv, "--audio", audio, "--budget", "1"], mentions: "no recording of digit 7", seconds: 30)
    }

    // MARK: prune

    func testPruneRunsResumesAndRefusesBadFlags() throws {
        let source = try idxFolder("source", train: 60, test: 20)
        let target = try tinyCSV("target.csv", rows: 40)
        let args = ["prune", "--source", source, "--target", target, "--out", path("prune"), "--widths", "4,4", "--source-epochs", "1",
                    "--steps", "5", "--target-train", "20", "--target-epochs", "2", "--seeds", "0,1"]
        let first = try swiftnas(args, timeout: 120)
        XCTAssertEqual(first.status, 0, first.stderr)
        let rows = try String(contentsOfFile: path("prune/results.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 7, "\(rows)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("prune/selection.json")))
        let again = try swiftnas(args, timeout: 120)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("selection: read from"), again.stdout)
        XCTAssertFalse(again.stdout.contains("seed 0: target test accuracy"), "finished rows were trained again")
        try assertRefused(args.map { $0 == "5" ? "6" : $0 }, mentions: "other settings", seconds: 30)
        try assertRefused(["prune", "--target", target, "--widths", "4,0"], mentions: "--widths")
        try assertRefused(["prune", "--target", target, "--noise", "1"], mentions: "--noise")
        try assertRefused(["prune", "--target", target, "--penalty", "-1"], mentions: "--penalty")
        try assertRefused(["prune", "--target", target, "--seeds", "x"], mentions: "--seeds")
        try assertRefused(["prune", "--source", source, "--target", path("none.csv"), "--out", path("p2"), "--widths", "4",
                           "--source-epochs", "1", "--steps", "2"], mentions: "none.csv", seconds: 30)
    }

    // MARK: - PostgreSQL stores

    func testPostgresStoreRefusals() throws {
        let server = try TestPostgres.url()
        let study = try TestPostgres.study("cli-refusals")
        let wrong = server.replacingOccurrences(of: #"swiftnas:[^@]*@"#, with: "swiftnas:wrong@", options: .regularExpression)
        let search = ["search", "--strategy", "rea", "--budget", "5"]
        try assertRefused(search + ["--store", "postgresql://swiftnas@127.0.0.1:1/postgres?study=x"], mentions: "Connection refused")
        try assertRefused(search + ["--store", wrong + "?study=x"], mentions: "password authentication failed")
        try assertRefused(search + ["--store", server], mentions: "name the study")
        try assertRefused(search + ["--store", path("s.sqlite"), "--workers", "2"], mentions: "--workers needs a postgresql://")
        try assertRefused(search + ["--store", path("s.sqlite"), "--study", "x"], mentions: "--study applies to postgresql://")
        try assertRefused(search + ["--store", study, "--workers", "-1"], mentions: "--workers")
        try assertRefused(search + ["--store", study, "--stale-after", "1", "--heartbeat", "2"], mentions: "--heartbeat")
        try assertRefused(["search", "--space", "dense-seg", "--strategy", "random", "--store", study], mentions: "NAS-Bench-201 table searches")
        try assertRefused(["worker", "--store", path("s.sqlite")], mentions: "--store must be a postgresql:// URL")
        try assertRefused(["worker", "--store", try TestPostgres.study("cli-missing")], mentions: "does not exist")
        XCTAssertEqual(try swiftnas(search + ["--store", study, "--quiet"], timeout: 60).status, 0)
        try assertRefused(search + ["--store", study, "--seed", "1"], mentions: "seed: stored 0, requested 1")
    }

    func testWorkersShareAStudyAndAStoppedWorkerHandsItsTrialBack() throws {
        let study = try TestPostgres.study("cli-workers")
        // Each trial waits 12 × 0.25 s, so the worker is mid-trial when it is stopped.
        let search = ["search", "--strategy", "rea", "--budget", "4", "--seed", "5", "--simulate-time", "0.25", "--store", study, "--quiet"]
        XCTAssertEqual(try swiftnas(search + ["--workers", "0"]).status, 0)
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: Self.binary)
        worker.arguments = ["worker", "--store", study, "--quiet"]
        worker.standardOutput = FileHandle.nullDevice
        worker.standardError = FileHandle.nullDevice
        try worker.run()
        defer { if worker.isRunning { worker.terminate() }; worker.waitUntilExit() }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !(try swiftnas(["trials", "--store", study]).stdout.contains(",asked,")) { usleep(100_000) }
        let start = Date()
        worker.terminate()
        worker.waitUntilExit()
        XCTAssertEqual(worker.terminationStatus, 128 + 15)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "the worker did not stop mid-trial")
        let handedBack = try swiftnas(["trials", "--store", study]).stdout
        XCTAssertTrue(handedBack.contains(",queued,"), handedBack)
        // The rerun with two worker processes finishes the study: every trial complete once.
        let finished = try swiftnas(search + ["--workers", "2"], timeout: 60)
        XCTAssertEqual(finished.status, 0, finished.stderr)
        XCTAssertTrue(finished.stdout.contains("2 workers"), finished.stdout)
        let rows = try swiftnas(["trials", "--store", study, "--format", "csv"]).stdout.split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, 4)
        XCTAssertTrue(rows.allSatisfy { $0.contains(",complete,") }, rows.joined(separator: "\n"))
    }

    // MARK: - Report

    func testReportDrawsTheSearchAndRendersInChromium() throws {
        let store = path("report.sqlite"), out = path("report")
        XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "60", "--seed", "2", "--store", store, "--quiet"]).status, 0)
        let made = try swiftnas(["report", "--store", store, "--out", out])
        XCTAssertEqual(made.status, 0, made.stderr)
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        for title in ["Best so far", "Every trial", "Operations of the best decile", "Pareto front", "Final architecture", "Settings"] {
            XCTAssertTrue(html.contains("<h2>\(title)</h2>"), "no section \(title)")
        }
        XCTAssertFalse(html.contains("<script"), "the report has no scripts")
        // One dot per finished trial in the scatter plot (the first dotted series), six edges in the cell.
        let scatter = try XCTUnwrap(html.components(separatedBy: "Objective of each trial").last?.components(separatedBy: "</svg>").first)
        XCTAssertEqual(scatter.components(separatedBy: "h0").count - 1, 60)
        XCTAssertEqual(html.components(separatedBy: "marker-end").count - 1, 6)
        // The best cell of the search is the one drawn and named.
        let best = try XCTUnwrap(try swiftnas(["search", "--strategy", "rea", "--budget", "60", "--seed", "2", "--store", store, "--quiet"])
            .stdout.split(separator: "\n").first { $0.hasPrefix("best: trial") }?.split(separator: " ").last)
        XCTAssertTrue(html.contains("<code>\(best)</code>"), "the final architecture is not the search's best \(best)")

        try assertRefused(["report", "--store", store, "--out", out], mentions: "--force")
        XCTAssertEqual(try swiftnas(["report", "--store", store, "--out", out, "--force"]).status, 0)
        try assertRefused(["report", "--store", path("none.sqlite"), "--out", path("r2")], mentions: "no store at")
        let empty = try TestPostgres.study("cli-report-empty")
        XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "5", "--store", empty, "--workers", "0"]).status, 0)
        try assertRefused(["report", "--store", empty, "--out", path("r3")], mentions: "no finished trial")

        // A real browser loads it: a screenshot that is not blank, the titles in the rendered DOM, no console errors.
        let chromium = try XCTUnwrap(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                     "these tests need Chromium (scripts/install-deps.sh installs it)")
        let shot = path("report.png")
        let browser = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
        let rendered = try run(chromium, browser + ["--window-size=1400,2400", "--screenshot=\(shot)", "file://\(out)/index.html"])
        XCTAssertFalse(rendered.contains("CONSOLE"), "console messages: \(rendered.suffix(600))")
        let image = try PNGImage.read(URL(fileURLWithPath: shot), channels: 1)
        let dark = image.pixels.filter { $0 < 128 }.count
        XCTAssertGreaterThan(dark, image.pixels.count / 200, "the screenshot is (nearly) blank")
        let dom = try run(chromium, browser + ["--dump-dom", "file://\(out)/index.html"])
        XCTAssertTrue(dom.contains("Operations of the best decile") && dom.contains("<svg"), String(dom.prefix(400)))
    }

    /// Runs a program to its end (60 s at most) and returns standard output and error together.
    func run(_ program: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let log = folder.appendingPathComponent("run-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); XCTFail("\(program) did not finish in 60 s") }
        return (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }

    // MARK: - Export

    /// The repository's .venv Python (scripts/install-deps.sh puts torch, onnxruntime and safetensors there).
    static let python: String = {
        let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".venv/bin/python3").path
        return ProcessInfo.processInfo.environment["SWIFTNAS_PYTHON"] ?? venv
    }()

    static let checkScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/check_export.py").path

    /// DARTS-V2's genotype: separable, dilated and pooling operations, skips and factorized reductions.
    static let genotype = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
        + "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
        + "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
        + "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"

    /// The main job's path end to end on a small scale: NASWOT picks a cell, the cell is trained
    /// with the recipe the flags set, the summary names that recipe and the time of each phase,
    /// and the same store with another recipe is refused.
    func testNASWOTTrainsTheChosenCellWithTheRecipeGiven() throws {
        let data = ProcessInfo.processInfo.environment["SWIFTNAS_FMNIST"] ?? "/usr/share/datasets/fashion-mnist"
        let store = path("naswot.sqlite")
        let common = ["search", "--strategy", "naswot", "--samples", "3", "--data", data, "--train-epochs", "1", "--train-limit", "600",
                      "--channels", "4", "--cells", "1", "--store", store, "--quiet"]
        let o = try swiftnas(common + ["--train-param", "batch_size=32", "--train-param", "lr=0.05"], timeout: 120)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("lr 0.05") && o.stdout.contains("batch 32"), o.stdout)
        XCTAssertTrue(o.stdout.contains("trained 1 epochs: validation"), o.stdout)
        XCTAssertTrue(o.stdout.contains("phases: reading data") && o.stdout.contains("scoring 3 cells")
                      && o.stdout.contains("training and testing the chosen cell"), o.stdout)
        try assertRefused(common + ["--train-param", "batch_size=64"], mentions: "batch 64")
    }

    /// A cnn, an NB201 network, a Post-LN ViT and a DARTS network trained briefly on Fashion-MNIST (from apt), exported, and run by
    /// onnxruntime and PyTorch on the 64 test images of the export: outputs within 1e-4 of SwiftNAS's.
    func testExportedModelsGiveSwiftNASsOutputsInONNXRuntimeAndPyTorch() throws {
        let data = ProcessInfo.processInfo.environment["SWIFTNAS_FMNIST"] ?? "/usr/share/datasets/fashion-mnist"
        let cell = "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|"
        for (name, model) in [("cnn", ["--model", "cnn", "--train-limit", "1000"]),
                              ("nb201", ["--space", "nb201", "--arch", cell, "--channels", "4", "--cells", "1", "--train-limit", "500"]),
                              ("vit", ["--model", "vit", "--param", "patch=7", "--param", "dim=32", "--param", "depth=2", "--param", "heads=4",
                                       "--param", "norm=post", "--train-limit", "500"]),
                              ("darts", ["--space", "darts", "--arch", Self.genotype, "--channels", "4", "--layers", "3",
                                         "--auxiliary-weight", "0.4", "--train-limit", "64", "--batch-size", "32"])] {
            let trained = path("\(name)-run"), exported = path("\(name)-export")
            let t = try swiftnas(["train", "--data", data, "--epochs", "1", "--out", trained] + model, timeout: 120)
            XCTAssertEqual(t.status, 0, t.stderr)
            let e = try swiftnas(["export", "--run", trained, "--out", exported])
            XCTAssertEqual(e.status, 0, e.stderr)
            let check = try run(Self.python, [Self.checkScript, exported])
            XCTAssertTrue(check.contains("onnx_max_abs_diff="), "\(name): \(check.suffix(800))")
            let diffs = check.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { part -> Double? in
                part.contains("_max_abs_diff=") ? Double(part.split(separator: "=").last ?? "") : nil
            }
            XCTAssertEqual(diffs.count, 2, check)
            XCTAssertTrue(diffs.allSatisfy { $0 <= 1e-4 }, "\(name): \(check)")
            let metadata = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: exported + "/metadata.json"))) as? [String: Any])
            XCTAssertNotNil(metadata["test_accuracy"] as? Double)
            XCTAssertGreaterThan(metadata["parameters"] as? Int ?? 0, 1000)
            XCTAssertNotNil((metadata["latency_milliseconds"] as? [String: Double])?["batch_64"])
        }
        if let m = try? String(contentsOfFile: path("nb201-export") + "/model.py", encoding: .utf8) {
            XCTAssertFalse(m.contains("import numpy") || m.contains("import safetensors"), "model.py imports only torch")
        }
        // Refusals: an existing, non-empty output folder; a folder train did not write; a checkpoint of another model.
        try assertRefused(["export", "--run", path("cnn-run"), "--out", path("cnn-export")], mentions: "--force")
        try assertRefused(["export", "--run", folder.path, "--out", path("x1")], mentions: "has no model.json")
        let description = path("nb201-run") + "/model.json"
        let text = try String(contentsOfFile: description, encoding: .utf8)
        try text.replacingOccurrences(of: "\"channels\" : 4", with: "\"channels\" : 8").write(toFile: description, atomically: true, encoding: .utf8)
        try assertRefused(["export", "--run", path("nb201-run"), "--out", path("x2")], mentions: "does not hold the model")
        try text.replacingOccurrences(of: "\"channels\" : 4", with: "\"channels\" : -1").write(toFile: description, atomically: true, encoding: .utf8)
        try assertRefused(["export", "--run", path("nb201-run"), "--out", path("x3")], mentions: "channels is -1")

        // From a search store: the chosen cell's network with the search seed's initial weights.
        let store = path("search.sqlite")
        XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "30", "--store", store, "--quiet"]).status, 0)
        let fromStore = try swiftnas(["export", "--store", store, "--channels", "8", "--cells", "1", "--out", path("store-export")])
        XCTAssertEqual(fromStore.status, 0, fromStore.stderr)
        let checked = try run(Self.python, [Self.checkScript, path("store-export")])
        XCTAssertTrue(checked.contains("onnx_max_abs_diff="), checked)
        let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("store-export") + "/metadata.json"))) as? [String: Any])
        XCTAssertTrue((meta["weights"] as? String ?? "").hasPrefix("initial"), "\(meta)")
        XCTAssertTrue((meta["search"] as? String ?? "").contains("\"strategy\":\"rea\""), "\(meta)")
        XCTAssertEqual(meta["source"] as? String, store)
        let empty = try TestPostgres.study("cli-export-empty")
        XCTAssertEqual(try swiftnas(["search", "--strategy", "rea", "--budget", "5", "--store", empty, "--workers", "0"]).status, 0)
        try assertRefused(["export", "--store", empty, "--out", path("x4")], mentions: "no finished trial")
        try assertRefused(["export", "--out", path("x5")], mentions: "give --run")
        try assertRefused(["export", "--run", path("cnn-run"), "--store", store, "--out", path("x6")], mentions: "give --run")
    }

    /// The dashboard serves the report live while a search writes the store: Chromium loads it,
    /// later loads show more trials, a bad store or port is refused, SIGTERM stops it cleanly.
    func testDashboardServesTheLivePageToChromium() throws {
        let store = path("live.sqlite")
        try assertRefused(["dashboard", "--store", path("none.sqlite")], mentions: "no store at")
        // 40 trials of 12 × 0.02 s each: about 10 s of search to watch.
        let search = Process()
        search.executableURL = URL(fileURLWithPath: Self.binary)
        search.arguments = ["search", "--strategy", "rea", "--seed", "3", "--budget", "40", "--simulate-time", "0.02", "--store", store, "--quiet"]
        search.standardOutput = FileHandle.nullDevice
        search.standardError = FileHandle.nullDevice
        try search.run()
        defer { if search.isRunning { search.terminate() }; search.waitUntilExit() }
        while search.isRunning, !FileManager.default.fileExists(atPath: store) { usleep(20_000) }
        try assertRefused(["dashboard", "--store", store, "--port", "70000"], mentions: "--port")
        let port = 20000 + Int(getpid() % 20000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Self.binary)
        server.arguments = ["dashboard", "--store", store, "--port", "\(port)", "--refresh", "1"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() }; server.waitUntilExit() }
        let chromium = try XCTUnwrap(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                     "these tests need Chromium (scripts/install-deps.sh installs it)")
        let browser = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
        let url = "http://127.0.0.1:\(port)/"
        var counts: [Int] = []
        var dom = ""
        for _ in 0..<100 where counts.last != 40 {
            dom = try run(chromium, browser + ["--dump-dom", url])
            if let range = dom.range(of: #"\d+ finished trials"#, options: .regularExpression),
               let n = Int(dom[range].split(separator: " ")[0]) { counts.append(n) }
            usleep(100_000)
        }
        XCTAssertEqual(counts.last, 40, String(dom.suffix(600)))
        XCTAssertGreaterThan(Set(counts).count, 1, "the page did not follow the search: \(counts)")
        XCTAssertTrue(dom.contains("<svg") && dom.contains("Every trial"), "the live page has no plots")
        XCTAssertFalse(dom.contains("CONSOLE"), "console messages: \(dom.suffix(600))")
        let shot = path("live.png")
        _ = try run(chromium, browser + ["--window-size=1400,1600", "--screenshot=\(shot)", url])
        let image = try PNGImage.read(URL(fileURLWithPath: shot), channels: 1)
        XCTAssertGreaterThan(image.pixels.filter { $0 < 128 }.count, image.pixels.count / 200, "the screenshot is (nearly) blank")
        server.terminate()
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0, "the dashboard does not stop cleanly")
    }
}
