import Foundation
import NASExperiment

/// The search progress line on standard error: a bar for the budget used and the best
/// objective so far. On a terminal it redraws in place with `\r`; in a log or pipe it prints a
/// plain line each time another tenth of the budget is used, so logs stay short.
struct SearchProgressDisplay {
    let reportMetric: String
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastTenth = -1
    private var lastDraw: UInt64 = 0

    init(reportMetric: String) { self.reportMetric = reportMetric }

    mutating func update(_ p: SearchProgress) {
        let fraction = p.fraction
        var status = "trial \(p.queries)"
        if let i = p.incumbent {
            status += String(format: "  best %.3f", i.objective)
            if let r = i.report { status += String(format: " (%@ %.2f)", reportMetric, r) }
        }
        if interactive {
            let now = DispatchTime.now().uptimeNanoseconds
            guard fraction >= 1 || now - lastDraw > 100_000_000 else { return }
            lastDraw = now
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r[\(bar)] \(Int(fraction * 100))% \(status)\u{1B}[K")
        } else {
            let tenth = Int(fraction * 10)
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            write("\(Int(fraction * 100))% \(status)\n")
        }
    }

    func finish() { if interactive { write("\n") } }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
