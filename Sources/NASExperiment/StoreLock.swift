import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive, advisory lock on `<store>.lock`, held while a process writes to the store.
///
/// `flock` locks belong to the open file, so the kernel drops the lock when the process ends,
/// even by SIGKILL: a killed search never leaves a store locked. The file holds the holder's
/// process id, so a refused second writer can say who holds the store. Within one process the
/// lock is shared (reference-counted), so a program may open the same store more than once.
final class StoreLock {
    private let key: String

    private nonisolated(unsafe) static var held: [String: (fd: Int32, users: Int)] = [:]
    private static let mutex = NSLock()

    init(store: String) throws {
        let path = store + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrialStoreError.corrupt(store: store, reason: "cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        // The same file reached by another path is the same store: key by device and inode.
        var info = stat()
        fstat(fd, &info)
        key = "\(info.st_dev):\(info.st_ino)"
        Self.mutex.lock()
        defer { Self.mutex.unlock() }
        if let entry = Self.held[key] {
            close(fd)
            Self.held[key] = (entry.fd, entry.users + 1)
            return
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw TrialStoreError.inUse(store: store, holder: holder.isEmpty ? "another process" : holder)
        }
        let text = "process \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        Self.held[key] = (fd, 1)
    }

    deinit {
        Self.mutex.lock()
        defer { Self.mutex.unlock() }
        guard let entry = Self.held[key] else { return }
        if entry.users > 1 {
            Self.held[key] = (entry.fd, entry.users - 1)
        } else {
            close(entry.fd)
            Self.held[key] = nil
        }
    }
}
