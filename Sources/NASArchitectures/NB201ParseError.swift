/// Why a string is not a NAS-Bench-201 cell, with the offending token and its position
/// (0-based character offset into the input) so a user can find the typo in a long string.
public struct NB201ParseError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case empty
        case unknownOperation
        case missingInputIndex
        case wrongInputIndex(expected: Int)
        case expectedDelimiter(String)
        case tooFewEdges(node: Int)
        case tooManyEdges(node: Int)
        case trailingText
    }

    public let input: String
    public let token: String
    public let position: Int
    public let reason: Reason

    public var description: String {
        let at = "'\(token)' at position \(position)"
        let what: String
        switch reason {
        case .empty:
            what = "the string is empty"
        case .unknownOperation:
            what = "unknown operation \(at); expected one of "
                + NB201Operation.allCases.map(\.token).joined(separator: ", ")
        case .missingInputIndex:
            what = "edge token \(at) has no '~<input node>' suffix"
        case let .wrongInputIndex(expected):
            what = "input node \(at) should be ~\(expected) (edges are listed by input node 0, 1, ...)"
        case let .expectedDelimiter(d):
            what = "expected '\(d)' but found \(at)"
        case let .tooFewEdges(node):
            what = "node \(node) must list \(node) edge(s) but its group ends at \(at)"
        case let .tooManyEdges(node):
            what = "node \(node) must list \(node) edge(s); extra edge \(at)"
        case .trailingText:
            what = "unexpected text \(at) after the third node"
        }
        return "invalid NAS-Bench-201 cell string \"\(input)\": \(what)"
    }
}

extension NB201Cell {
    /// Parses the exact format NAS-Bench-201 writes: `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
    public init(parsing input: String) throws {
        let chars = Array(input)
        var pos = 0

        func fail(_ reason: NB201ParseError.Reason, from start: Int, to end: Int? = nil) -> NB201ParseError {
            let stop = min(max(end ?? start + 1, start), chars.count)
            let token = start < chars.count ? String(chars[start..<max(stop, start + 1)]) : "<end of string>"
            return NB201ParseError(input: input, token: token, position: start, reason: reason)
        }
        /// End of the token starting at `start`: the next `|` or `+`.
        func tokenEnd(_ start: Int) -> Int {
            var p = start
            while p < chars.count, chars[p] != "|", chars[p] != "+" { p += 1 }
            return p
        }
        func expect(_ c: Character) throws {
            guard pos < chars.count, chars[pos] == c else {
                throw fail(.expectedDelimiter(String(c)), from: pos, to: tokenEnd(pos))
            }
            pos += 1
        }

        if chars.isEmpty { throw NB201ParseError(input: input, token: "", position: 0, reason: .empty) }
        var ops: [NB201Operation] = []
        for node in 1..<NB201Cell.nodeCount {
            if node > 1 { try expect("+") }
            try expect("|")
            for expectedInput in 0..<node {
                let start = pos
                let end = tokenEnd(start)
                if start == end {
                    // `||`, `|+` or the end of the string where an edge should be.
                    throw fail(.tooFewEdges(node: node), from: start)
                }
                let token = chars[start..<end]
                guard let tilde = token.firstIndex(of: "~") else {
                    throw fail(.missingInputIndex, from: start, to: end)
                }
                guard let op = NB201Operation(token: Substring(String(chars[start..<tilde]))) else {
                    throw fail(.unknownOperation, from: start, to: tilde)
                }
                let indexText = String(chars[(tilde + 1)..<end])
                // Exactly the digit NAS-Bench-201 writes: `~00` or `~+0` are not the same string.
                guard indexText == String(expectedInput) else {
                    throw fail(.wrongInputIndex(expected: expectedInput), from: tilde, to: end)
                }
                ops.append(op)
                pos = end
                try expect("|")
            }
            if pos < chars.count, chars[pos] != "+" {
                throw fail(.tooManyEdges(node: node), from: pos, to: tokenEnd(pos))
            }
        }
        if pos != chars.count { throw fail(.trailingText, from: pos, to: chars.count) }
        self.init(ops: ops)
    }
}
