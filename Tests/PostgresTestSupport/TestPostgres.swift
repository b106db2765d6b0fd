import Foundation

/// The PostgreSQL server that the store tests run against: `$SWIFTNAS_TEST_POSTGRES` (a URL; `.ci/run`
/// starts a throw-away server and sets it), or else a throw-away server this test process starts
/// with `scripts/postgres-sandbox.sh` and stops when it exits. If neither works, the tests that
/// need a server fail with the reason, saying how to get one.
public enum TestPostgres {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// A server URL (no study), started once per test process.
    public static func url() throws -> String { try server.get() }

    /// The URL with a study name of its own, so that tests never share a study.
    public static func study(_ prefix: String) throws -> String {
        try url() + "?study=\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    private static let server: Result<String, Unavailable> = start()

    private static func start() -> Result<String, Unavailable> {
        if let given = ProcessInfo.processInfo.environment["SWIFTNAS_TEST_POSTGRES"], !given.isEmpty { return .success(given) }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = repository.appendingPathComponent("scripts/postgres-sandbox.sh").path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-test-postgres-\(getpid())").path
        let out = folder + ".url", err = folder + ".err"
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: err) }
        guard let status = bash([script, "start", folder], stdout: out, stderr: err) else {
            return .failure(Unavailable(description: "cannot run \(script)"))
        }
        let url = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let message = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        guard status == 0, !url.isEmpty else {
            return .failure(Unavailable(description: "these tests need a PostgreSQL server and none could be started "
                + "(set SWIFTNAS_TEST_POSTGRES to a postgresql:// URL, or install PostgreSQL with scripts/install-deps.sh): "
                + message.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        sandbox = (script, folder)
        atexit {
            guard let (script, folder) = TestPostgres.sandbox else { return }
            _ = TestPostgres.bash([script, "stop", folder], stdout: "/dev/null", stderr: "/dev/null")
            try? FileManager.default.removeItem(atPath: folder)
        }
        return .success(url)
    }

    /// Runs bash with `arguments` and waits for it; its exit status, or nil if it could not start.
    /// Not Foundation's `Process`: on Linux it learns of the exit through a descriptor that the
    /// server the script leaves running inherits, so it would wait for the server to end.
    private static func bash(_ arguments: [String], stdout: String, stderr: String) -> Int32? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/bin/bash"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    nonisolated(unsafe) private static var sandbox: (script: String, folder: String)?
}
