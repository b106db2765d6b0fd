extension NB201Cell {
    /// The four input→output routes through the cell, as edge indices in travel order.
    public static let routes: [[Int]] = [
        [3],        // 0 → 3
        [0, 4],     // 0 → 1 → 3
        [1, 5],     // 0 → 2 → 3
        [0, 2, 5],  // 0 → 1 → 2 → 3
    ]

    /// Operations that let information through; a route with a `none` edge carries nothing and
    /// so has no feature (as in BANANAS, where only paths from input to output count).
    static let pathOperations: [NB201Operation] = [.skipConnect, .conv1x1, .conv3x3, .avgPool3x3]

    /// Length of the path encoding: 4 + 16 + 16 + 64 labelled paths.
    public static let pathEncodingLength = routes.reduce(0) { $0 + pow4($1.count) }

    private static func pow4(_ n: Int) -> Int { (0..<n).reduce(1) { acc, _ in acc * 4 } }

    /// Indices of the features that are 1 in the path encoding (at most four, one per route).
    ///
    /// BANANAS (White et al., AAAI 2021) encodes an architecture by which labelled input→output
    /// paths it contains. The encoding is what makes its neural predictors accurate: two cells
    /// that share paths share features, whatever edges the paths use elsewhere.
    public var activePaths: [Int] {
        var active: [Int] = []
        var offset = 0
        for route in Self.routes {
            var index = 0
            var open = true
            for edge in route {
                let op = self[edge]
                guard op != .none else { open = false; break }
                index = index * 4 + (op.rawValue - 1)
            }
            if open { active.append(offset + index) }
            offset += Self.pow4(route.count)
        }
        return active
    }
}
