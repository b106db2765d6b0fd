import ArgumentParser
import Foundation
import NASBench
import NASData
import NASEstimators
import NASSpaces
import NASTensor

/// `swiftnas bench-zero-cost`: proxy quality on NAS-Bench-201 and the NASWOT search time
/// (used by bench/zero_cost.sh).
struct BenchZeroCostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-zero-cost",
        abstract: "Rank correlation of every zero-cost proxy with NAS-Bench-201 accuracy, and NASWOT search cost.",
        discussion: """
        Scores --archs seeded random NB201 cells (C=16, N=5) on one Fashion-MNIST batch (28×28 \
        padded to 32×32, one input channel), reports each proxy's Spearman correlation with \
        nats_c10_test_200, jacob_cov's with the table's published naswot_score_v1, the wall-clock \
        time of a NASWOT search with N=100, and the NASWOT search over 100 seeds at N=10 and N=100 \
        drawn from the scored pool.
        """)

    @Option(help: "NAS-Bench-201 table (CSV); default $SWIFTNAS_NB201.") var benchmark: String?
    @Option(help: "Fashion-MNIST folder (IDX files).") var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Random architectures to score.") var archs = 1000
    @Option(name: .customLong("batch-size"), help: "NASWOT / jacob_cov batch.") var batchSize = 128
    @Option(help: "Seed.") var seed: UInt64 = 0

    func run() throws {
        let table = try NB201Table.load(explicit: benchmark)
        let (train, _) = try DatasetReader.idxDirectory(data)
        let (batch, labels) = proxyBatch(train, size: batchSize, seed: seed)
        let scorer = ZeroCostScorer(config: NB201NetworkConfig(inputChannels: 1), batch: batch, labels: labels)

        // The NASWOT search itself: score 100 fresh random cells, keep the best.
        var rng = SeededGenerator(seed: seed &+ 1)
        let space = NB201SearchSpace()
        let searchCells = (0..<100).map { _ in space.sample(using: &rng) }
        let t0 = Date()
        let searchScores = searchCells.map { scorer.scores($0, proxies: [.naswot], seed: seed)[.naswot]! }
        let best = searchCells[searchScores.indices.max { searchScores[$0] < searchScores[$1] }!]
        let searchSeconds = Date().timeIntervalSince(t0)
        print(String(format: "naswot search N=100: %.2f s, chose %@ (nats_c10_test_200 %.2f)", searchSeconds,
                     best.description, table.value(.natsC10Test200, for: best) ?? .nan))

        var cells: [NB201Cell] = []
        var seen = Set<NB201Cell>()
        while cells.count < archs { let c = space.sample(using: &rng); if seen.insert(c).inserted { cells.append(c) } }
        var scores: [ZeroCostProxy: [Double]] = [:]
        var bar = ProgressBar(total: archs, label: "scoring")
        for (i, cell) in cells.enumerated() {
            for (p, v) in scorer.scores(cell, proxies: ZeroCostProxy.allCases, seed: seed) { scores[p, default: []].append(v) }
            bar.update(i + 1, "")
        }
        bar.finish()
        let test = cells.map { table.value(.natsC10Test200, for: $0) ?? .nan }
        print("proxy       spearman vs nats_c10_test_200   zero-cost paper (NB201, CIFAR-10)")
        let paper: [ZeroCostProxy: String] = [.gradNorm: "0.594", .snip: "0.596", .fisher: "0.36", .synflow: "0.737", .jacobCov: "0.731"]
        for p in ZeroCostProxy.allCases {
            let name = p.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            print(String(format: "%@ %8.3f                        %@", name, spearman(scores[p]!, test), paper[p] ?? "-"))
        }
        let published = cells.map { table.value(.naswotScoreV1, for: $0) ?? .nan }
        let a = spearman(scores[.naswot]!, test), b = spearman(scores[.jacobCov]!, published)

        // NASWOT search over 100 seeds, N samples drawn from the scored pool.
        for n in [10, 100] {
            var accs: [Double] = []
            for s in 0..<100 {
                var r = SeededGenerator(seed: UInt64(1000 + s))
                let picks = (0..<n).map { _ in Int(r.next() % UInt64(cells.count)) }
                let chosen = picks.max { scores[.naswot]![$0] < scores[.naswot]![$1] }!
                accs.append(test[chosen])
            }
            print(String(format: "naswot search N=%d over 100 seeds: %.2f ± %.2f (published v1: %@)", n, mean(accs),
                         sampleStandardDeviation(accs), n == 10 ? "91.53 ± 1.62" : "91.61 ± 1.71"))
        }
        print(String(format: "spearman_naswot_test=%.3f spearman_jacobcov_published=%.3f naswot_n100_seconds=%.2f", a, b, searchSeconds))
    }
}
