import Foundation
import COpenBLAS

/// Wraps a value (usually a raw pointer) so it can cross into a concurrent closure. Kernels
/// guarantee that concurrent workers touch disjoint memory.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// The engine owns the cores: OpenBLAS runs single-threaded and kernels split work over
/// `threadCount` workers (measured: letting both spawn threads halves throughput on two cores).
/// Work is split into fixed contiguous chunks, so results depend only on the thread count.
public enum Parallel {
    private static let configured: Int = {
        openblas_set_num_threads(1)
        if let s = ProcessInfo.processInfo.environment["SWIFTNAS_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }()
    nonisolated(unsafe) private static var override: Int?

    /// Number of workers kernels use (environment `SWIFTNAS_THREADS`, default: all cores).
    public static var threadCount: Int {
        get { override ?? configured }
        set { _ = configured; override = max(1, newValue) }
    }

    /// Calls `body(chunkIndex, range)` for `threadCount` contiguous chunks of `0..<n`.
    /// Chunks smaller than `minChunk` are merged so tiny work stays on one thread.
    public static func forChunks(_ n: Int, minChunk: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let workers = max(1, min(threadCount, n / max(minChunk, 1)))
        if workers <= 1 || n <= 1 {
            if n > 0 { body(0, 0..<n) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let boxed = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = n * w / workers, hi = n * (w + 1) / workers
                if hi > lo { boxed.value(w, lo..<hi) }
            }
        }
    }

    /// Number of chunks `forChunks` will use for `n` items.
    public static func chunkCount(_ n: Int, minChunk: Int = 1) -> Int {
        max(1, min(threadCount, n / max(minChunk, 1)))
    }
}

/// The sum of `workers` rows of `width` partial results laid out row after row, added in worker
/// order (deterministic for a thread count).
func sumOfWorkerRows(_ partial: [Double], workers: Int, width: Int) -> [Double] {
    var total = [Double](repeating: 0, count: width)
    for w in 0..<workers { for i in 0..<width { total[i] += partial[w * width + i] } }
    return total
}
