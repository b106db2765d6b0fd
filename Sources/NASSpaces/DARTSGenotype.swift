/// A DARTS genotype in the notation of the DARTS code (`genotypes.py`):
/// `Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), …], normal_concat=range(2, 6),
/// reduce=[…], reduce_concat=range(2, 6))`. Each cell lists two (operation, input) pairs per
/// intermediate node, node by node; input 0 and 1 are the outputs of the two previous cells,
/// input j ≥ 2 is node j − 2 of the same cell. SwiftNAS writes each node's pair in ascending
/// input order; it reads either order.
public struct DARTSGenotype: Equatable, Hashable, Sendable, CustomStringConvertible {
    public struct Edge: Equatable, Hashable, Sendable {
        public var operation: String
        public var input: Int
        public init(_ operation: String, _ input: Int) { self.operation = operation; self.input = input }
    }

    /// The eight operations of DARTS's space, in the order of its `PRIMITIVES` list.
    public static let operations = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                                    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
    public static let nodes = 4

    public var normal: [Edge]
    public var reduce: [Edge]

    public init(normal: [Edge], reduce: [Edge]) throws {
        self.normal = normal; self.reduce = reduce
        try Self.check(normal, "normal"); try Self.check(reduce, "reduce")
    }

    static func check(_ edges: [Edge], _ cell: String) throws {
        guard edges.count == 2 * nodes else {
            throw DARTSGenotypeError("the \(cell) cell needs \(2 * nodes) (operation, input) pairs, two per node; it has \(edges.count)")
        }
        for node in 0..<nodes {
            let pair = edges[(2 * node)..<(2 * node + 2)]
            for e in pair {
                guard operations.contains(e.operation), e.operation != "none" else {
                    throw DARTSGenotypeError("\(cell) node \(node + 2): '\(e.operation)' is not an operation of the DARTS space "
                                             + "(\(operations.dropFirst().joined(separator: ", ")))")
                }
                guard (0..<(node + 2)).contains(e.input) else {
                    throw DARTSGenotypeError("\(cell) node \(node + 2): input \(e.input) is not 0…\(node + 1)")
                }
            }
            guard pair.first?.input != pair.last?.input else {
                throw DARTSGenotypeError("\(cell) node \(node + 2) takes input \(pair.first?.input ?? 0) twice; "
                                         + "the DARTS space holds one operation per edge")
            }
        }
    }

    public var description: String {
        func list(_ edges: [Edge]) -> String {
            "[" + edges.map { "('\($0.operation)', \($0.input))" }.joined(separator: ", ") + "]"
        }
        return "Genotype(normal=\(list(normal)), normal_concat=range(2, 6), reduce=\(list(reduce)), reduce_concat=range(2, 6))"
    }

    /// Parses the notation above (whitespace free; `range(2, 6)` or `[2, 3, 4, 5]` for the concats).
    public init(parsing text: String) throws {
        var p = Parser(Array(text.unicodeScalars))
        try p.expectWord("Genotype"); try p.expect("(")
        var fields: [String: [Edge]] = [:]
        while true {
            let name = try p.word()
            try p.expect("=")
            switch name {
            case "normal", "reduce":
                guard fields[name] == nil else { throw p.error("field '\(name)' given twice") }
                fields[name] = try p.edgeList()
            case "normal_concat", "reduce_concat":
                let concat = try p.concat()
                guard concat == [2, 3, 4, 5] else {
                    throw p.error("\(name) must be range(2, 6): SwiftNAS's DARTS cells concatenate their four nodes")
                }
            default:
                throw p.error("unknown field '\(name)' (normal, normal_concat, reduce, reduce_concat)")
            }
            if try p.accept(",") { continue }
            try p.expect(")")
            break
        }
        guard p.atEnd else { throw p.error("text after the closing parenthesis") }
        guard let normal = fields["normal"], let reduce = fields["reduce"] else {
            throw DARTSGenotypeError("a genotype needs both normal=[…] and reduce=[…]")
        }
        try self.init(normal: normal, reduce: reduce)
    }

    /// The same genotype with each node's pair in ascending input order.
    public var canonical: DARTSGenotype {
        func sorted(_ edges: [Edge]) -> [Edge] {
            (0..<Self.nodes).flatMap { n in edges[(2 * n)..<(2 * n + 2)].sorted { $0.input < $1.input } }
        }
        var g = self
        g.normal = sorted(normal); g.reduce = sorted(reduce)
        return g
    }
}

public struct DARTSGenotypeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ message: String) { description = "invalid DARTS genotype: " + message }
}

/// A small recursive-descent reader for the genotype notation.
private struct Parser {
    let text: [Unicode.Scalar]
    var i = 0
    init(_ text: [Unicode.Scalar]) { self.text = text }

    var atEnd: Bool { mutating get { skipSpace(); return i == text.count } }

    func error(_ m: String) -> DARTSGenotypeError { DARTSGenotypeError("\(m) (at character \(i + 1))") }

    mutating func skipSpace() { while i < text.count, text[i].properties.isWhitespace { i += 1 } }

    mutating func accept(_ c: Unicode.Scalar) throws -> Bool {
        skipSpace()
        if i < text.count, text[i] == c { i += 1; return true }
        return false
    }

    mutating func expect(_ c: Unicode.Scalar) throws {
        guard try accept(c) else { throw error("expected '\(c)'") }
    }

    mutating func word() throws -> String {
        skipSpace()
        let start = i
        while i < text.count, text[i].properties.isAlphabetic || text[i] == "_" || ("0"..."9").contains(text[i]) { i += 1 }
        guard i > start else { throw error("expected a name") }
        return String(String.UnicodeScalarView(text[start..<i]))
    }

    mutating func expectWord(_ w: String) throws {
        let start = i
        guard try word() == w else { i = start; throw error("expected '\(w)'") }
    }

    mutating func integer() throws -> Int {
        skipSpace()
        let start = i
        while i < text.count, ("0"..."9").contains(text[i]) { i += 1 }
        guard i > start, i - start < 10, let n = Int(String(String.UnicodeScalarView(text[start..<i]))) else {
            throw error("expected an input index")
        }
        return n
    }

    mutating func quoted() throws -> String {
        skipSpace()
        guard i < text.count, text[i] == "'" || text[i] == "\"" else { throw error("expected a quoted operation name") }
        let quote = text[i]
        i += 1
        let start = i
        while i < text.count, text[i] != quote { i += 1 }
        guard i < text.count else { throw error("unterminated operation name") }
        defer { i += 1 }
        return String(String.UnicodeScalarView(text[start..<i]))
    }

    mutating func edgeList() throws -> [DARTSGenotype.Edge] {
        try expect("[")
        var out: [DARTSGenotype.Edge] = []
        if try accept("]") { return out }
        repeat {
            try expect("(")
            let op = try quoted()
            try expect(",")
            let input = try integer()
            try expect(")")
            out.append(DARTSGenotype.Edge(op, input))
        } while try accept(",")
        try expect("]")
        return out
    }

    mutating func concat() throws -> [Int] {
        if try accept("[") {
            var out: [Int] = []
            repeat { out.append(try integer()) } while try accept(",")
            try expect("]")
            return out
        }
        try expectWord("range"); try expect("(")
        let a = try integer(); try expect(","); let b = try integer(); try expect(")")
        return a < b ? Array(a..<b) : []
    }
}
