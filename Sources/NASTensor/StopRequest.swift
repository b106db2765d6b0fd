import CKernels

/// A request to stop, made by Ctrl-C or SIGTERM. The CLI installs the handlers; searches and
/// training poll `StopRequest.pending` at points where their saved state is complete (between
/// trials, batches or epochs) and throw `StopRequest.Interrupted`, so a rerun of the same command
/// resumes with nothing lost. A second signal ends the process at once.
public enum StopRequest {
    public struct Interrupted: Error, CustomStringConvertible {
        public let signal: Int32
        public var description: String { "interrupted by \(signal == 15 ? "SIGTERM" : "Ctrl-C")" }
    }

    public static func installHandlers() { nas_install_stop_handlers() }

    /// The signal received, or nil.
    public static var pending: Int32? {
        let s = nas_stop_signal()
        return s == 0 ? nil : s
    }

    /// Throws `Interrupted` when a stop was requested.
    public static func check() throws {
        if let s = pending { throw Interrupted(signal: s) }
    }
}
