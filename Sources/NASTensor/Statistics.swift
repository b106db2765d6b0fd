// Summary statistics of plain number lists, in one place: the benchmark tables (mean ± sample
// standard deviation over seeds) and the rank correlation that zero-cost proxy papers report.

/// Arithmetic mean (NaN for an empty list).
public func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

/// Sample standard deviation (divisor n − 1; 0 for a single value).
public func sampleStandardDeviation(_ x: [Double]) -> Double {
    let m = mean(x)
    return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(x.count - 1, 1))).squareRoot()
}

/// Spearman's rank correlation (Pearson correlation of ranks, ties given their mean rank),
/// the measure zero-cost proxy papers report. Pairs with a non-finite value are dropped.
/// Lists of different lengths are compared over their common prefix.
public func spearman(_ x: [Double], _ y: [Double]) -> Double {
    let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
    let rx = ranks(pairs.map(\.0)), ry = ranks(pairs.map(\.1))
    let n = Double(pairs.count)
    let mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(rx, ry) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
    return sxy / (sxx * syy).squareRoot()
}

/// 1-based ranks with ties averaged.
func ranks(_ v: [Double]) -> [Double] {
    let order = v.indices.sorted { v[$0] < v[$1] }
    var r = [Double](repeating: 0, count: v.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
        let mean = Double(i + j) / 2 + 1
        for k in i...j { r[order[k]] = mean }
        i = j + 1
    }
    return r
}
