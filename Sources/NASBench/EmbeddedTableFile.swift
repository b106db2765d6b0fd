import Foundation

/// Finds the compact NAS-Bench-201 table that ships as a resource of this target.
///
/// SwiftPM's generated `Bundle.module` stops the process when the resource folder is missing, so
/// the lookup is done here and a missing file is an error the caller can report: first next to
/// the running executable (where `swift build` puts resource folders), then in the source tree
/// this file was compiled from (a binary copied elsewhere on the same machine still finds it).
enum EmbeddedTableFile {
    static let fileName = "nasbench201-compact.csv.gz"
    static let bundleName = "SwiftNAS_NASBench.resources"

    static func locate() throws -> String {
        var candidates: [URL] = [Bundle.main.bundleURL.appendingPathComponent(bundleName)]
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent(bundleName))
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources"))
        let files = candidates.map { $0.appendingPathComponent(fileName).path }
        if let found = files.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw NB201TableError.embeddedMissing(searched: files)
    }
}
