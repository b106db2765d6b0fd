/// An architecture as a small directed acyclic graph with one type label per node — what a
/// graph network (e.g. CTNAS's comparator) reads.
public struct CellGraph: Equatable, Sendable {
    /// Node type per node, each in `0..<typeCount`.
    public var nodeTypes: [Int]
    /// Directed edges `(from, to)`, from < to in topological order.
    public var edges: [(from: Int, to: Int)]
    public var typeCount: Int

    public init(nodeTypes: [Int], edges: [(from: Int, to: Int)], typeCount: Int) {
        self.nodeTypes = nodeTypes
        self.edges = edges
        self.typeCount = typeCount
    }

    public var nodeCount: Int { nodeTypes.count }

    public static func == (a: CellGraph, b: CellGraph) -> Bool {
        a.nodeTypes == b.nodeTypes && a.typeCount == b.typeCount
            && a.edges.map { [$0.from, $0.to] } == b.edges.map { [$0.from, $0.to] }
    }

    /// Symmetrically normalised adjacency with self-loops, D^-½ (A + Aᵀ + I) D^-½, row-major
    /// `[n·n]` (the propagation matrix of Kipf & Welling's GCN, the graph read both ways).
    public func normalisedAdjacency() -> [Float] {
        let n = nodeCount
        var a = [Float](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = 1 }
        for e in edges { a[e.from * n + e.to] = 1; a[e.to * n + e.from] = 1 }
        var degree = [Float](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<n { degree[i] += a[i * n + j] } }
        for i in 0..<n { for j in 0..<n where a[i * n + j] != 0 { a[i * n + j] /= (degree[i] * degree[j]).squareRoot() } }
        return a
    }
}

/// A categorical space whose architectures are cell graphs.
public protocol CellGraphSpace: CategoricalSearchSpace {
    /// Number of node types `cellGraph(of:)` uses.
    var graphNodeTypeCount: Int { get }
    func cellGraph(of a: Architecture) -> CellGraph
}

extension NB201SearchSpace: CellGraphSpace {
    /// Types: 0 input, 1 output, 2 + op (none, skip, conv1x1, conv3x3, avgpool).
    public var graphNodeTypeCount: Int { 2 + NB201Operation.allCases.count }

    /// The operation-on-node form CTNAS and NAS-Bench-201 predictors use: node 0 is the cell
    /// input, nodes 1…6 the six edges' operations in string order, node 7 the cell output. The op
    /// on edge j←i reads the input when i = 0, otherwise every op feeding node i; the output
    /// reads every op feeding node 3.
    public func cellGraph(of a: NB201Cell) -> CellGraph {
        let e = NB201Cell.edges
        var types = [0]
        for k in 0..<NB201Cell.edgeCount { types.append(2 + a[k].rawValue) }
        types.append(1)
        var edges: [(from: Int, to: Int)] = []
        for (k, edge) in e.enumerated() {
            if edge.from == 0 {
                edges.append((0, k + 1))
            } else {
                for (p, feeder) in e.enumerated() where feeder.to == edge.from { edges.append((p + 1, k + 1)) }
            }
        }
        for (p, feeder) in e.enumerated() where feeder.to == NB201Cell.nodeCount - 1 { edges.append((p + 1, 7)) }
        return CellGraph(nodeTypes: types, edges: edges, typeCount: graphNodeTypeCount)
    }
}
