import ArgumentParser
import Dispatch
import Foundation
import NASBench
import NASExperiment
import NASSpaces
import NASStrategies
import NASTensor

/// `swiftnas bench-strategies` (hidden; run by bench/nb201_strategies.sh): every strategy on the
/// NAS-Bench-201 table over many seeds, reported the way the NAS-Bench-201 paper does.
struct BenchStrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-strategies",
        abstract: "Benchmark search strategies on the NAS-Bench-201 table over many seeds.",
        discussion: """
        Each strategy runs once per seed with the largest budget; the result at a smaller budget is read \
        off the same run's prefix, which is exactly the run with that budget (budgets only stop a search). \
        Single-fidelity strategies get B queries of the objective; Hyperband/BOHB get the simulated cost \
        of B full (highest-fidelity) trainings. Queries to optimum: the first query after which the \
        reported architecture has the table's best report value (94.37 for CIFAR-10); the median counts \
        seeds that never got there within the run as later than all others.
        """,
        shouldDisplay: false)

    @Option(help: "Path of the NAS-Bench-201 table.") var benchmark: String?
    @Option(help: "Number of seeds (offset..<offset+n).") var seeds = 100
    @Option(name: .customLong("seed-offset"), help: "First seed; tuning runs use 1000 and up, reports 0 and up.")
    var seedOffset: UInt64 = 0
    @Option(help: "Comma-separated budgets in queries.") var budgets = "50,100,300"
    @Option(help: "Comma-separated strategies.") var strategies = StrategyCatalog.names.joined(separator: ",")
    @Option(help: "Objective metric.") var objective = "nb201_c10valid_valid_12"
    @Option(help: "Reported metric.") var report = "nats_c10_test_200"
    @Option(help: "Worker threads (one search per thread).") var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        try validateCounts([("--seeds", seeds, 1)])
        try validateThreads(threads)
    }

    struct SeedResult: Sendable {
        var reportAtBudget: [Double]
        var queriesToOptimum: Int?
        var decideSeconds: Double
        var trials: Int
    }

    /// Slots written by worker threads, one per seed; the lock orders the writes.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [SeedResult?]
        init(_ n: Int) { slots = Array(repeating: nil, count: n) }
        func set(_ i: Int, _ r: SeedResult) { lock.lock(); slots[i] = r; lock.unlock() }
        var all: [SeedResult] { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 } }
    }

    /// Error from a worker, kept for the main thread to rethrow.
    final class FirstError: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var error: Error?
        func record(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    }

    func run() throws {
        let budgetList = budgets.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.sorted()
        guard let maxBudget = budgetList.last, budgetList.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--budgets needs positive integers")
        }
        let names = strategies.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let table = try NB201Table.load(explicit: benchmark)
        let estimator = NB201TabularEstimator(table: table)
        guard let reportColumn = NB201Column(rawValue: report) else { throw ValidationError("unknown report metric \(report)") }
        let optimum = table.best(by: reportColumn).value
        let fullCost = Double(estimator.fidelities.map(\.epochs).max() ?? 1)

        emit("NAS-Bench-201 strategies: \(seeds) seeds from \(seedOffset), budgets \(budgetList.map(String.init).joined(separator: "/")) queries, "
              + "objective \(objective), reported \(report) (optimum \(String(format: "%.2f", optimum)))")
        emit("Hyperband/BOHB: budget B = cost of B trainings of \(Int(fullCost)) epochs; others: B queries.")
        emit("")
        var header = "| strategy |"
        var rule = "|---|"
        for b in budgetList { header += " test@\(b) |"; rule += "---|" }
        header += " median queries to optimum | found | decide ms/trial | queries made |"
        rule += "---|---|---|---|"
        emit(header)
        emit(rule)

        var summaries: [(name: String, means: [Double], median: String)] = []
        for name in names {
            let multiFidelity = StrategyCatalog.isMultiFidelity(name)
            let results = Results(seeds)
            let failure = FirstError()
            let nextSeed = Counter()
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, seeds))) { _ in
                while let seed = nextSeed.take(below: seeds) {
                    do {
                        results.set(seed, try runSeed(name: name, seed: seedOffset &+ UInt64(seed), estimator: estimator,
                                                      budgets: budgetList, maxBudget: maxBudget, multiFidelity: multiFidelity,
                                                      fullCost: fullCost, optimum: optimum))
                    } catch { failure.record(error) }
                }
            }
            if let e = failure.error { throw e }
            let all = results.all
            var row = "| \(name) |"
            var means: [Double] = []
            for (bi, _) in budgetList.enumerated() {
                let xs = all.map { $0.reportAtBudget[bi] }
                means.append(mean(xs))
                row += String(format: " %.2f ± %.2f |", mean(xs), sampleStandardDeviation(xs))
            }
            let found = all.compactMap(\.queriesToOptimum).sorted()
            let median = Self.median(found, total: all.count, cap: maxBudget)
            let decide = all.reduce(0) { $0 + $1.decideSeconds } / Double(max(all.reduce(0) { $0 + $1.trials }, 1))
            let meanTrials = Double(all.reduce(0) { $0 + $1.trials }) / Double(all.count)
            row += " \(median) | \(found.count)/\(all.count) | \(String(format: "%.3f", decide * 1000)) | \(String(format: "%.0f", meanTrials)) |"
            emit(row)
            summaries.append((name, means, median))
        }
        emit("")
        let at100 = budgetList.firstIndex(of: 100) ?? budgetList.count - 1
        let rea = summaries.first { $0.name == "rea" }
        let best = summaries.max { $0.means[at100] < $1.means[at100] }
        emit(String(format: "rea_mean_test_at_100=%.2f best_mean_test_at_100=%.2f best_median_queries_to_optimum=%@",
                     rea?.means[at100] ?? .nan, best?.means[at100] ?? .nan, best?.median ?? "n/a"))
    }

    /// Median with never-found seeds counted as later than every found one; ">cap" when more than
    /// half never found the optimum.
    static func median(_ found: [Int], total: Int, cap: Int) -> String {
        guard total > 0 else { return "n/a" }
        // Lower median of `total` values where the missing ones are +∞.
        let k = (total - 1) / 2
        if k < found.count {
            if total % 2 == 0, k + 1 < found.count { return String(format: "%.1f", Double(found[k] + found[k + 1]) / 2) }
            if total % 2 == 0 { return ">\(cap)" }
            return String(found[k])
        }
        return ">\(cap)"
    }

    func runSeed(name: String, seed: UInt64, estimator: NB201TabularEstimator, budgets: [Int], maxBudget: Int,
                 multiFidelity: Bool, fullCost: Double, optimum: Double) throws -> SeedResult {
        var request = SearchRequest()
        request.strategy = name
        request.seed = seed
        request.objective = objective
        request.report = report
        request.budget = multiFidelity ? Budget(cost: Double(maxBudget) * fullCost) : Budget(queries: maxBudget)
        let runner = try NB201Search.runner(request, estimator: estimator, store: InMemoryTrialStore())
        let summary = try runner.run()
        // Walk the trials once, noting the incumbent where each budget would have stopped the run.
        var tracker = IncumbentTracker(reportMetric: report)
        var atBudget = [Double](repeating: .nan, count: budgets.count)
        var cost = 0.0
        var toOptimum: Int?
        var decide = 0.0
        for (i, t) in summary.trials.enumerated() {
            tracker.update(t)
            cost += t.cost ?? 0
            decide += t.askSeconds + (t.tellSeconds ?? 0)
            let value = tracker.incumbent?.report ?? .nan
            if toOptimum == nil, value >= optimum { toOptimum = i + 1 }
            for (bi, b) in budgets.enumerated() where atBudget[bi].isNaN {
                let reached = multiFidelity ? cost >= Double(b) * fullCost : i + 1 >= b
                if reached { atBudget[bi] = value }
            }
        }
        for bi in budgets.indices where atBudget[bi].isNaN { atBudget[bi] = tracker.incumbent?.report ?? .nan }
        return SeedResult(reportAtBudget: atBudget, queriesToOptimum: toOptimum, decideSeconds: decide,
                          trials: summary.trials.count)
    }
}

/// Writes a line to standard output unbuffered, so a long benchmark shows rows as they finish.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Hands out seeds to worker threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take(below n: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < n else { return nil }
        next += 1
        return next - 1
    }
}
