import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that a reader — or a process started after a crash — sees either the old
/// file or the new one, never a half-written mix or nothing: the bytes go to a temporary file in
/// the same folder, are flushed to disk, and the temporary file is renamed over the target
/// (`rename(2)` replaces atomically).
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let file: String
        public let reason: String
        public var description: String { "cannot write \(file): \(reason)" }
    }

    public static func write(_ data: Data, to url: URL) throws {
        let path = url.path
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        func failure(_ what: String) -> WriteError { WriteError(file: path, reason: "\(what): \(String(cString: strerror(errno)))") }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(tmp)") }
        var written = 0
        let ok: Bool = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return true
        }
        guard ok, fsync(fd) == 0 else {
            let error = failure("writing failed")
            close(fd); unlink(tmp)
            throw error
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let error = failure("cannot rename \(tmp) over it")
            unlink(tmp)
            throw error
        }
    }

    /// Writes text as UTF-8.
    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }
}
