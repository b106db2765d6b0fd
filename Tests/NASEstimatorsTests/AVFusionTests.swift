import Foundation
@testable import NASData
import NASEstimators
import NASExperiment
import NASNN
@testable import NASSpaces
import NASStrategies
import NASTensor
import XCTest

/// Synthetic pairs: each modality shows its digit's class in one half of the classes only
/// (images tell classes 0–4 apart, spectrograms 5–9), so only a fused model can know every class.
func complementaryPairs(count: Int, seed: UInt64) -> AudioVisualSet {
    var rng = SeededGenerator(seed: seed)
    var images: [Float] = [], audio: [Float] = [], labels: [Int] = []
    for i in 0..<count {
        let label = i % 10
        labels.append(label)
        for p in 0..<64 { images.append((label < 5 && p % 5 == label ? 1 : 0) + Float.random(in: -0.3...0.3, using: &rng)) }
        for p in 0..<48 { audio.append((label >= 5 && p % 5 == label - 5 ? 1 : 0) + Float.random(in: -0.3...0.3, using: &rng)) }
    }
    return AudioVisualSet(image: Dataset(images: images, labels: labels, height: 8, width: 8, channels: 1, classCount: 10),
                          audio: Dataset(images: audio, labels: labels, height: 6, width: 8, channels: 1, classCount: 10))
}

func complementarySplits() -> AudioVisualSplits {
    AudioVisualSplits(train: complementaryPairs(count: 400, seed: 1), validation: complementaryPairs(count: 100, seed: 2),
                      test: complementaryPairs(count: 100, seed: 3), trainSpeakers: ["a"], validationSpeakers: ["b"], testSpeakers: ["c"])
}

final class AVFusionTests: XCTestCase {
    let space = AVFusionSearchSpace()

    func testNotationRoundTripsAndErrorsNameTheField() throws {
        let text = "av[both|image=d2-w16-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]"
        XCTAssertEqual(try AVFusionArchitecture(parsing: text).description, text)
        XCTAssertEqual(try space.parse(text).description, text)
        for (bad, mentions) in [("av[both]", "7 fields"), ("av[all|image=d2-w16-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]", "modalities"),
                                ("av[both|image=d9-w16-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]", "image: depth"),
                                ("av[both|image=d2-w16-k4|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]", "kernel must be odd"),
                                ("av[both|image=d2-w16-k3|audio=d3-w32-k5|pool=min|fusion=late|combine=gated|width=64]", "pool"),
                                ("av[both|image=d2-w16-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=0]", "width"),
                                ("x", "expected")] {
            XCTAssertThrowsError(try AVFusionArchitecture(parsing: bad), bad) { XCTAssertTrue("\($0)".contains(mentions), "\(bad): \($0)") }
        }
        XCTAssertThrowsError(try space.parse("av[both|image=d2-w24-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]")) {
            XCTAssertTrue("\($0)".contains("image width 24"), "\($0)")
        }
    }

    func testSpaceMovesAndIsomorphism() throws {
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<30 {
            let a = space.sample(using: &rng)
            XCTAssertEqual(space.architecture(choices: space.choices(of: a)), a)
            XCTAssertNotEqual(space.mutate(a, using: &rng), a)
        }
        XCTAssertEqual(space.neighbors(of: space.architecture(choices: Array(repeating: 0, count: 11))).count,
                       space.choiceCounts.map { $0 - 1 }.reduce(0, +))
        let a = try space.parse("av[image|image=d2-w16-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]")
        let b = try space.parse("av[image|image=d2-w16-k3|audio=d1-w8-k3|pool=max|fusion=early|combine=sum|width=64]")
        XCTAssertEqual(space.isomorphismKey(a), space.isomorphismKey(b))
        let c = try space.parse("av[both|image=d2-w16-k3|audio=d1-w8-k3|pool=max|fusion=late|combine=sum|width=64]")
        XCTAssertNotEqual(space.isomorphismKey(b), space.isomorphismKey(c))
    }

    /// Every fusion point × combination builds, gives logits per class, trains both extractors
    /// when fused, and a unimodal network ignores the other modality.
    func testEveryFusionBuildsAndReadsTheRightInputs() throws {
        var rng = SeededGenerator(seed: 4)
        let image = Tensor.normal([3, 8, 8, 1], std: 1, using: &rng), audio = Tensor.normal([3, 6, 8, 1], std: 1, using: &rng)
        let other = Tensor.normal([3, 6, 8, 1], std: 1, using: &rng)
        for m in AVFusionArchitecture.Modalities.allCases {
            for f in AVFusionArchitecture.Fusion.allCases {
                for c in AVFusionArchitecture.Combine.allCases {
                    let a = AVFusionArchitecture(modalities: m, image: .init(depth: 2, width: 4, kernel: 3), audio: .init(depth: 1, width: 3, kernel: 5),
                                                 pooling: .avg, fusion: f, combine: c, fusionWidth: 8)
                    let net = AVFusionNetwork(a, imageSize: (8, 8), seed: 1)
                    let logits = net(image: image, audio: audio)
                    XCTAssertEqual(logits.shape, [3, 10], "\(a)")
                    logits.sum().backward()
                    let touched = net.namedParameters().filter { ($0.1.grad?.array ?? []).contains { $0 != 0 } }.map(\.0)
                    let readsAudio = m == .audio || (m == .both && f != .early)
                    XCTAssertEqual(touched.contains { $0.hasPrefix("imageExtractor") }, m != .audio, "\(a): \(touched)")
                    XCTAssertEqual(touched.contains { $0.hasPrefix("audioExtractor") }, readsAudio, "\(a): \(touched)")
                    net.eval()
                    let changed = net(image: image, audio: other).array != net(image: image, audio: audio).array
                    XCTAssertEqual(changed, m != .image, "\(a)")
                }
            }
        }
    }

    /// When each modality knows only half of the classes, a fused network learns all ten and each
    /// unimodal one about half: fusion is doing its job.
    func testFusionBeatsEitherModalityOnComplementaryPairs() throws {
        let estimator = try AVFusionTrainingEstimator(space: space, splits: complementarySplits(), epochs: 15, batchSize: 32,
                                                      learningRate: 5e-3, seed: 0)
        func accuracy(_ text: String) throws -> Double { try XCTUnwrap(estimator.evaluate(space.parse(text), fidelity: nil).metrics["valid_accuracy"]) }
        let fused = try accuracy("av[both|image=d1-w8-k3|audio=d1-w8-k3|pool=max|fusion=intermediate|combine=concat|width=32]")
        let image = try accuracy("av[image|image=d1-w8-k3|audio=d1-w8-k3|pool=max|fusion=intermediate|combine=concat|width=32]")
        let audio = try accuracy("av[audio|image=d1-w8-k3|audio=d1-w8-k3|pool=max|fusion=intermediate|combine=concat|width=32]")
        XCTAssertGreaterThan(fused, 90)
        XCTAssertLessThan(image, 65)
        XCTAssertLessThan(audio, 65)
    }

    /// A random search killed after two trials and again between an ask and its evaluation ends
    /// with the trials of one never stopped; the checklist is stored with the experiment.
    func testSearchResumesAndStoresTheChecklist() throws {
        let estimator = try AVFusionTrainingEstimator(space: space, splits: complementarySplits(), epochs: 1, seed: 0)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("av-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var checklist = HumanInterventionChecklist()
        checklist.add("search", "budget", "5 queries", setBy: "flag --budget")
        checklist.add("searched", "modalities", "chosen per trial", setBy: "searched")
        func runner(_ name: String) throws -> ExperimentRunner<AVFusionSearchSpace> {
            try CategoricalSearchSetup.runner(strategy: "random", seed: 7, budget: Budget(queries: 5), space: space, estimator: estimator,
                                              objective: "valid_accuracy", report: "test_accuracy", estimatorDescription: "pairs",
                                              checklist: checklist, store: SQLiteTrialStore(path: folder.appendingPathComponent(name).path))
        }
        let whole = try runner("whole.sqlite").run()
        let killed = try runner("killed.sqlite")
        killed.stopAfterTrials = 2
        _ = try killed.run()
        let again = try runner("killed.sqlite")
        again.stopAfterAskOfTrial = 3
        _ = try again.run()
        let resumed = try runner("killed.sqlite").run()
        func rows(_ s: ExperimentSummary) -> [String] { s.trials.filter { $0.status == .complete }.map { "\($0.architecture) \($0.objective ?? -1)" } }
        XCTAssertEqual(rows(resumed), rows(whole))
        XCTAssertEqual(rows(whole).count, 5)
        let stored = try SQLiteTrialStore(path: folder.appendingPathComponent("killed.sqlite").path).configuration()
        XCTAssertEqual(stored?.checklist, checklist)
        XCTAssertTrue(checklist.table().contains("1 decisions hand-set, 1 searched"))
    }
}
