/// One NAS-Bench-201 cell: a 4-node DAG whose six edges (j ← i, i < j) each carry one of five
/// operations. Stored as a single base-5 number so that the value is two bytes, trivially
/// hashable, and sortable in the order of the table's `op_codes` column.
public struct NB201Cell: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Number of intermediate + output nodes fed by edges (node 0 is the cell input).
    public static let nodeCount = 4
    /// Number of edges; edge order is 1←0, 2←0, 2←1, 3←0, 3←1, 3←2 (the string's order).
    public static let edgeCount = 6
    /// Size of the space: 5^6.
    public static let spaceSize = 15_625
    /// `(to, from)` for each edge index.
    public static let edges: [(to: Int, from: Int)] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]

    /// Base-5 code, edge 0 most significant: the six `op_codes` digits read as a base-5 number.
    public let code: Int

    public init(code: Int) {
        precondition((0..<Self.spaceSize).contains(code), "NB201 cell code \(code) out of range")
        self.code = code
    }

    public init(ops: [NB201Operation]) {
        precondition(ops.count == Self.edgeCount, "an NB201 cell has exactly six edges")
        self.code = ops.reduce(0) { $0 * 5 + $1.rawValue }
    }

    /// The operation on edge `edge` (0..<6).
    public subscript(edge: Int) -> NB201Operation {
        var c = code
        for _ in 0..<(Self.edgeCount - 1 - edge) { c /= 5 }
        return NB201Operation(rawValue: c % 5)!
    }

    public var ops: [NB201Operation] { (0..<Self.edgeCount).map { self[$0] } }

    /// A copy with edge `edge` set to `op`.
    public func replacing(edge: Int, with op: NB201Operation) -> NB201Cell {
        var o = ops
        o[edge] = op
        return NB201Cell(ops: o)
    }

    /// The cell whose `op_codes` digits are `digits` (six digits 0–4), or nil.
    public init?(opCodes digits: String) {
        let values = digits.utf8.map { Int($0) - Int(UInt8(ascii: "0")) }
        guard values.count == Self.edgeCount, values.allSatisfy({ (0..<5).contains($0) }) else { return nil }
        self.code = values.reduce(0) { $0 * 5 + $1 }
    }

    /// The six op digits as the table's `op_codes` column writes them (e.g. `333132`).
    public var opCodes: String { ops.map { String($0.rawValue) }.joined() }

    /// The exact NAS-Bench-201 string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|…|`.
    public var description: String {
        var s = ""
        var edge = 0
        for node in 1..<Self.nodeCount {
            if node > 1 { s += "+" }
            s += "|"
            for input in 0..<node {
                s += self[edge].token + "~" + String(input) + "|"
                edge += 1
            }
        }
        return s
    }

    public static func < (a: NB201Cell, b: NB201Cell) -> Bool { a.code < b.code }
}

/// Architectures are stored and exported as their NB201 string, which people can read and
/// paste into the official API.
extension NB201Cell: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try NB201Cell(parsing: try container.decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
