import Foundation
import XCTest
import NASBench

/// The NAS-Bench-201 table the tests use: the compact copy that ships with SwiftNAS, so the
/// tests need nothing outside the repository.
enum SharedTable {
    /// Loaded once per test process. A missing or unreadable table fails the tests that need it,
    /// with the loader's message.
    static let table: Result<NB201Table, Error> = Result { try NB201Table.embedded() }

    static func require() throws -> NB201Table { try table.get() }
}
