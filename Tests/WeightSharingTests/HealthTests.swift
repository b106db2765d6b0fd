import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor
@testable import NASWeightSharing
import XCTest

/// The supernet health check and the collapse detector (SupernetHealth), and the restarts.
final class HealthTests: XCTestCase {
    func testParameterFreeShareCountsNoneSkipAndPool() throws {
        let collapsed = try NB201Cell(parsing: "|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|skip_connect~1|avg_pool_3x3~2|")
        let space = NB201Supernet(config: NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 1, classes: 3, affine: false), seed: 0).space
        func share(_ cell: NB201Cell) -> Double {
            let (free, of) = space.parameterFreeShare(NB201Supernet.architecture(cell))
            return Double(free) / Double(of)
        }
        XCTAssertEqual(share(collapsed), 1)
        let mixed = try NB201Cell(parsing: "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|skip_connect~1|avg_pool_3x3~2|")
        XCTAssertEqual(share(mixed), 4.0 / 6, accuracy: 1e-12)
    }

    func testDetectorNeedsBothAParameterFreeCellAndAStall() {
        // Accuracy still rising: no collapse however parameter-free the cell is.
        XCTAssertFalse(SupernetHealth.fires(accuracies: [0.2, 0.3, 0.4, 0.5, 0.6], share: 1, threshold: 0.8, patience: 2))
        // Stalled for 2 epochs (best at index 2 of 5) with a 5/6 cell: fires at patience 2, not 3.
        XCTAssertTrue(SupernetHealth.fires(accuracies: [0.2, 0.3, 0.6, 0.5, 0.55], share: 5.0 / 6, threshold: 0.8, patience: 2))
        XCTAssertFalse(SupernetHealth.fires(accuracies: [0.2, 0.3, 0.6, 0.5, 0.55], share: 5.0 / 6, threshold: 0.8, patience: 3))
        // Stalled, but the cell still computes on three edges.
        XCTAssertFalse(SupernetHealth.fires(accuracies: [0.6, 0.5, 0.5, 0.5, 0.5], share: 0.5, threshold: 0.8, patience: 2))
        // A tie with the best is no improvement: the first maximum counts.
        XCTAssertTrue(SupernetHealth.fires(accuracies: [0.6, 0.6, 0.6], share: 1, threshold: 1, patience: 2))
        // Nothing to compare with in the first epoch.
        XCTAssertFalse(SupernetHealth.fires(accuracies: [0.1], share: 1, threshold: 0.8, patience: 1))
    }

    func run(_ method: WeightSharingMethod, _ overrides: [String: String], checkpoint: URL? = nil,
             stopAfter: Int? = nil) throws -> WeightSharingResult {
        var c = try TestData.config.overridden(overrides)
        c.epochs = Int(overrides["epochs"] ?? "5") ?? 5
        let s = try WeightSharingSearch(method: method, config: c, seed: 4, data: TestData.supernetData, checkpoint: checkpoint)
        s.stopAfterEpochs = stopAfter
        return try s.run()
    }

    /// A detector that fires as soon as it can (any cell, stalled for one epoch) on a run whose
    /// derived-cell accuracy cannot rise for ever: warn trains on unchanged, stop ends the stage,
    /// rollback ends it with the best epoch's cell.
    func testOnCollapseWarnStopAndRollback() throws {
        let eager = ["collapse_share": "0.01", "collapse_patience": "1", "epochs": "8"]
        let warn = try run(.darts, eager.merging(["on_collapse": "warn"]) { $1 })
        let plain = try run(.darts, ["epochs": "8", "collapse_share": "1", "collapse_patience": "20"])
        XCTAssertEqual(warn.health.count, 8)
        XCTAssertEqual(warn.cell, plain.cell, "warn must not change the trajectory")
        XCTAssertEqual(warn.health.map(\.validationAccuracy), plain.health.map(\.validationAccuracy))
        XCTAssertEqual(warn.health.filter(\.collapse).count, 1, "the detector fires once per stage")
        guard let fired = warn.health.first(where: \.collapse) else { return XCTFail("the eager detector never fired") }

        let stop = try run(.darts, eager.merging(["on_collapse": "stop"]) { $1 })
        XCTAssertEqual(stop.health.count, fired.epoch, "stop ends the stage at the firing epoch")
        XCTAssertEqual(stop.architecture, fired.architecture)
        XCTAssertEqual(stop.epochsRun, fired.epoch)

        let rollback = try run(.darts, eager.merging(["on_collapse": "rollback"]) { $1 })
        let upToFiring = Array(warn.health.prefix(fired.epoch))
        let best = upToFiring.first { $0.validationAccuracy == upToFiring.map(\.validationAccuracy).max() }
        XCTAssertEqual(rollback.architecture, best?.architecture, "rollback returns the best-validating epoch's cell")
        XCTAssertEqual(rollback.collapse, "main:\(fired.epoch)")
    }

    func testRollbackSurvivesAKill() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-health-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let o = ["collapse_share": "0.01", "collapse_patience": "1", "epochs": "8", "on_collapse": "rollback"]
        let reference = try run(.darts, o, checkpoint: dir.appendingPathComponent("a.safetensors"))
        let killed = dir.appendingPathComponent("b.safetensors")
        XCTAssertThrowsError(try run(.darts, o, checkpoint: killed, stopAfter: 2))
        let resumed = try run(.darts, o, checkpoint: killed)
        XCTAssertEqual(resumed.cell, reference.cell)
        XCTAssertEqual(resumed.health, reference.health, "the health record is restored from the checkpoint")
    }

    func testEveryRelaxedMethodIsMonitoredAndSinglePathOnesAreNot() throws {
        for method in [WeightSharingMethod.darts2, .fewshotDarts, .dnal, .mdenas] {
            let r = try run(method, ["epochs": "2"])
            XCTAssertFalse(r.health.isEmpty, "\(method)")
            XCTAssertTrue(r.health.allSatisfy { (0...1).contains($0.validationAccuracy) && (0...1).contains($0.parameterFreeShare) })
        }
        XCTAssertTrue(try run(.spos, ["epochs": "2"]).health.isEmpty)
        // Few-shot DARTS checks the one-shot stage and each of the five sub-supernets.
        XCTAssertEqual(Set(try run(.fewshotDarts, ["epochs": "2"]).health.map(\.stage)), ["main", "sub0", "sub1", "sub2", "sub3", "sub4"])
    }

    func testRestartsPickTheBestValidatingRestartAndOneRestartIsThePlainRun() throws {
        let plain = try run(.darts, ["epochs": "2"])
        let one = try run(.darts, ["epochs": "2", "restarts": "1"])
        XCTAssertEqual(one.cell, plain.cell)
        XCTAssertEqual(one.score, plain.score)
        XCTAssertEqual(one.health, plain.health)
        let three = try run(.darts, ["epochs": "2", "restarts": "3"])
        XCTAssertEqual(Set(three.health.map(\.stage)), ["main", "restart1", "restart2"])
        XCTAssertEqual(three.epochsRun, 6)
        // The winner's score is its recalibrated accuracy, the best of the three restarts' final cells.
        let finals = Dictionary(grouping: three.health, by: \.stage).values.compactMap { $0.max { $0.epoch < $1.epoch } }
        XCTAssertTrue(finals.contains { $0.architecture == three.architecture })
        XCTAssertEqual(three.score, finals.map(\.validationAccuracy).max() ?? -1, accuracy: 1e-6)
        let spos = try run(.spos, ["epochs": "2", "restarts": "2"])
        XCTAssertEqual(spos.epochsRun, 4)
    }

    func testCollapseSettingsAreValidated() {
        for bad in [["on_collapse": "panic"], ["collapse_share": "0"], ["collapse_share": "1.5"], ["collapse_patience": "0"],
                    ["restarts": "0"], ["restarts": "99"], ["collapse_share": "nan"]] {
            XCTAssertThrowsError(try WeightSharingConfig().overridden(bad), "\(bad)") { XCTAssertTrue($0 is WeightSharingError) }
        }
        XCTAssertEqual(try WeightSharingConfig().overridden(["on_collapse": "rollback"]).onCollapse, .rollback)
    }
}
