import Foundation
import XCTest
import NASTensor

/// One case of a fixture file written by `scripts/make_torch_fixtures.py`.
struct FixtureCase {
    let name: String
    let meta: [String: FixtureValue]
    private let tensors: [String: FixtureTensor]

    /// A stored tensor as a fresh leaf (already in SwiftNAS layout).
    func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        guard let t = tensors[key] else { throw FixtureError.missing("\(name): tensor \(key)") }
        return Tensor(shape: t.shape, data: t.data, requiresGrad: requiresGrad)
    }

    func int(_ key: String) throws -> Int {
        guard case .int(let v) = meta[key] else { throw FixtureError.missing("\(name): integer \(key)") }
        return v
    }

    func float(_ key: String) throws -> Float {
        switch meta[key] {
        case .int(let v): return Float(v)
        case .double(let v): return Float(v)
        default: throw FixtureError.missing("\(name): number \(key)")
        }
    }

    func bool(_ key: String) throws -> Bool {
        guard case .bool(let v) = meta[key] else { throw FixtureError.missing("\(name): bool \(key)") }
        return v
    }

    func string(_ key: String) throws -> String {
        guard case .string(let v) = meta[key] else { throw FixtureError.missing("\(name): string \(key)") }
        return v
    }

    func ints(_ key: String) throws -> [Int] {
        guard case .ints(let v) = meta[key] else { throw FixtureError.missing("\(name): integer list \(key)") }
        return v
    }
}

enum FixtureValue: Decodable {
    case bool(Bool), int(Int), double(Double), string(String), ints([Int])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else { self = .ints(try c.decode([Int].self)) }
    }
}

struct FixtureTensor: Decodable {
    let shape: [Int]
    let data: [Float]
}

enum FixtureError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
        switch self { case .missing(let what): return "fixture is missing \(what)" }
    }
}

private struct FixtureFile: Decodable {
    struct RawCase: Decodable {
        let name: String
        let meta: [String: FixtureValue]
        let tensors: [String: FixtureTensor]
    }
    let cases: [RawCase]
}

extension FixtureCase {
    fileprivate init(_ raw: FixtureFile.RawCase) {
        name = raw.name
        meta = raw.meta
        tensors = raw.tensors
    }
}

/// Loads `Fixtures/<name>.json` from the test bundle.
func loadFixture(_ name: String) throws -> [FixtureCase] {
    let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")
        ?? Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(name).json")
    guard let url, let data = try? Data(contentsOf: url) else { throw FixtureError.missing("file \(name).json") }
    let cases = try JSONDecoder().decode(FixtureFile.self, from: data).cases.map(FixtureCase.init)
    guard !cases.isEmpty else { throw FixtureError.missing("cases in \(name).json") }
    return cases
}
