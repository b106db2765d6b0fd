import Foundation
import NASEstimators

/// A one-line progress bar on standard error. On a terminal it redraws in place; otherwise
/// (CI logs, pipes) it prints a plain line every tenth of the work so logs stay short.
struct ProgressBar {
    let total: Int
    let label: String
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastDecile = -1
    private var lastDraw = Date.distantPast

    init(total: Int, label: String) {
        self.total = max(total, 1)
        self.label = label
    }

    mutating func update(_ done: Int, _ status: String) {
        let fraction = Double(min(done, total)) / Double(total)
        if interactive {
            // Redraw at most 10 times a second.
            guard done >= total || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            let width = 24, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write("\r\(label) \(bar) \(done)/\(total) \(status)\u{1B}[K".data(using: .utf8)!)
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write("\(label) \(Int(fraction * 100))% \(done)/\(total) \(status)\n".data(using: .utf8)!)
        }
    }

    /// Ends the bar's line.
    func finish() {
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}

/// One progress bar per epoch of a training run, fed the trainer's per-batch progress; each bar's
/// line ends with its epoch's last batch.
final class EpochProgressBars: @unchecked Sendable {
    private let label: String
    private let status: (BatchProgress) -> String
    private var bar: ProgressBar?

    init(label: String = "epoch", status: @escaping (BatchProgress) -> String) {
        self.label = label
        self.status = status
    }

    func update(_ p: BatchProgress) {
        if p.batch == 0 { bar?.finish(); bar = ProgressBar(total: p.batches, label: "\(label) \(p.epoch + 1)/\(p.epochs)") }
        bar?.update(p.batch + 1, status(p))
        if p.batch + 1 == p.batches { bar?.finish(); bar = nil }
    }
}
