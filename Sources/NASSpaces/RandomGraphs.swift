import Foundation

/// The three random-graph models NAGO (and RandWire before it) draws its graphs from.
public enum RandomGraphModel: String, Codable, Sendable, CaseIterable {
    /// Erdős–Rényi G(n, p): every pair joined independently with probability p.
    case erdosRenyi = "er"
    /// Barabási–Albert: nodes arrive one at a time and attach m edges preferentially by degree.
    case barabasiAlbert = "ba"
    /// Watts–Strogatz: a ring lattice joining each node to its k nearest neighbours, each edge
    /// rewired to a uniformly random endpoint with probability p.
    case wattsStrogatz = "ws"
}

/// An undirected graph on nodes 0..<n with sorted `(i, j)`, i < j, edges; read as a DAG by
/// orienting every edge from the lower to the higher index (RandWire's rule), so node order is
/// a topological order.
public struct UndirectedGraph: Codable, Equatable, Sendable {
    public let nodeCount: Int
    public private(set) var edges: [Edge]

    public struct Edge: Codable, Hashable, Sendable, Comparable {
        public let from: Int
        public let to: Int
        public init(_ a: Int, _ b: Int) { from = min(a, b); to = max(a, b) }
        public static func < (a: Edge, b: Edge) -> Bool { (a.from, a.to) < (b.from, b.to) }
    }

    public init(nodeCount: Int, edges: Set<Edge>) {
        self.nodeCount = nodeCount
        self.edges = edges.sorted()
    }

    public func degrees() -> [Int] {
        var d = [Int](repeating: 0, count: nodeCount)
        for e in edges { d[e.from] += 1; d[e.to] += 1 }
        return d
    }

    /// Predecessors of each node in the DAG reading.
    public func predecessors() -> [[Int]] {
        var p = [[Int]](repeating: [], count: nodeCount)
        for e in edges { p[e.to].append(e.from) }
        return p
    }

    /// Nodes with no successor in the DAG reading (their outputs form the graph's output).
    public func sinks() -> [Int] {
        var hasSuccessor = [Bool](repeating: false, count: nodeCount)
        for e in edges { hasSuccessor[e.from] = true }
        return (0..<nodeCount).filter { !hasSuccessor[$0] }
    }

    /// Erdős–Rényi G(n, p).
    public static func erdosRenyi(nodes n: Int, p: Double, using rng: inout some RandomNumberGenerator) -> UndirectedGraph {
        var e = Set<Edge>()
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) where rng.unitDouble() < p { e.insert(Edge(i, j)) } }
        return UndirectedGraph(nodeCount: n, edges: e)
    }

    /// Barabási–Albert with m edges per arriving node (1 ≤ m < n): the first arriving node
    /// (index m) joins all of 0..<m; each later node joins m distinct earlier nodes drawn with
    /// probability proportional to degree (networkx's construction).
    public static func barabasiAlbert(nodes n: Int, m: Int, using rng: inout some RandomNumberGenerator) -> UndirectedGraph {
        precondition(m >= 1 && m < n, "Barabási–Albert needs 1 ≤ m < n (m = \(m), n = \(n))")
        var e = Set<Edge>()
        var targets = Array(0..<m)
        // Every edge endpoint once: drawing uniformly from it is drawing by degree.
        var repeated: [Int] = []
        for source in m..<n {
            for t in targets { e.insert(Edge(source, t)) }
            repeated += targets
            repeated += Array(repeating: source, count: m)
            var chosen = Set<Int>()
            var ordered: [Int] = []
            while ordered.count < m, source + 1 < n {
                let t = repeated[rng.uniformIndex(below: repeated.count)]
                if chosen.insert(t).inserted { ordered.append(t) }
            }
            targets = ordered
        }
        return UndirectedGraph(nodeCount: n, edges: e)
    }

    /// Watts–Strogatz with k nearest neighbours (k even, 2 ≤ k < n) and rewiring probability p:
    /// for each node i and each offset 1…k/2, the lattice edge (i, i+offset) is replaced with
    /// probability p by (i, w), w uniform among nodes that are neither i nor already joined to i.
    public static func wattsStrogatz(nodes n: Int, k: Int, p: Double, using rng: inout some RandomNumberGenerator) -> UndirectedGraph {
        precondition(k >= 2 && k % 2 == 0 && k < n, "Watts–Strogatz needs an even k with 2 ≤ k < n (k = \(k), n = \(n))")
        var e = Set<Edge>()
        for i in 0..<n { for o in 1...(k / 2) { e.insert(Edge(i, (i + o) % n)) } }
        for o in 1...(k / 2) {
            for i in 0..<n {
                guard rng.unitDouble() < p else { continue }
                let old = Edge(i, (i + o) % n)
                guard e.contains(old) else { continue }
                let free = (0..<n).filter { $0 != i && !e.contains(Edge(i, $0)) }
                guard !free.isEmpty else { continue }
                e.remove(old)
                e.insert(Edge(i, free[rng.uniformIndex(below: free.count)]))
            }
        }
        return UndirectedGraph(nodeCount: n, edges: e)
    }
}
