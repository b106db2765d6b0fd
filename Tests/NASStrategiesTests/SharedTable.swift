import Foundation
import XCTest
import NASBench

/// The NAS-Bench-201 table lives outside the repository, in `../shared/data` next to the package.
enum SharedTable {
    static let path: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // …/Tests/NASStrategiesTests/SharedTable.swift → root
        return url.deletingLastPathComponent().appendingPathComponent("shared/data/nasbench201/nasbench201.csv").path
    }()

    /// Loaded once per test process; tests that need it skip when the data is absent.
    static let table: NB201Table? = try? NB201Table(contentsOf: path)

    static func require() throws -> NB201Table {
        guard let t = table else { throw XCTSkip("NAS-Bench-201 table not found at \(path)") }
        return t
    }
}
