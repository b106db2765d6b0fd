extension NB201Cell {
    /// A string shared by exactly the cells that NATS-Bench treats as the same computation —
    /// the partition of the table's `nats_unique_str` column (6,466 classes).
    ///
    /// Each node is written as the sorted sum of what its incoming edges deliver; the output
    /// node's expression is the key. The rules mirror how NATS-Bench decides isomorphism:
    ///   * `skip_connect` delivers its input expression unchanged, so skip edges flatten;
    ///   * `none` delivers zero (`#`), and so does any edge whose input is exactly zero;
    ///   * any other op wraps its input: `(<input>)@<op>`;
    ///   * terms are sorted byte-wise and joined with `+`, so edge order does not matter.
    /// Zero terms are kept (not cancelled) and an op applied to a sum of zeros is not
    /// simplified, because the benchmark keeps those cells apart too.
    public var isomorphismKey: String {
        var nodes: [[UInt8]] = [Array("0".utf8)]
        let zero = Array("#".utf8)
        var edge = 0
        for _ in 1..<NB201Cell.nodeCount {
            var terms: [[UInt8]] = []
            for input in 0..<nodes.count {
                let op = self[edge]
                edge += 1
                let x = nodes[input]
                if op == .none || x == zero {
                    terms.append(zero)
                } else if op == .skipConnect {
                    terms.append(x)
                } else {
                    terms.append(Array("(".utf8) + x + Array(")@".utf8) + Array(op.token.utf8))
                }
            }
            // Byte-wise order (not String's Unicode ordering) so the key is locale-free.
            terms.sort { $0.lexicographicallyPrecedes($1) }
            var joined: [UInt8] = []
            for (i, t) in terms.enumerated() {
                if i > 0 { joined.append(UInt8(ascii: "+")) }
                joined += t
            }
            nodes.append(joined)
        }
        return String(decoding: nodes[NB201Cell.nodeCount - 1], as: UTF8.self)
    }
}
