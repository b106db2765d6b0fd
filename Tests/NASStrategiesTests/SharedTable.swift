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

    /// Loaded once per test process. The table is part of the test data: a missing or unreadable
    /// file fails the tests that need it, with the loader's message.
    static let table: Result<NB201Table, Error> = Result { try NB201Table(contentsOf: path) }

    static func require() throws -> NB201Table { try table.get() }
}
