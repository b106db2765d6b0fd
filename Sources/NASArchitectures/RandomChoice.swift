/// Integer draws written out here rather than taken from `Int.random(in:using:)`, so that the
/// stream of choices a seed produces is fixed by SwiftNAS itself and not by a standard-library
/// version.
extension RandomNumberGenerator {
    /// Uniform integer in `0..<bound` (bound > 0), by rejection so there is no modulo bias.
    public mutating func uniformIndex(below bound: Int) -> Int {
        precondition(bound > 0, "uniformIndex needs a positive bound")
        let b = UInt64(bound)
        // Largest multiple of b that fits; draws at or above it are rejected.
        let limit = UInt64.max - (UInt64.max % b)
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// Uniform real in [0, 1) with 53 bits of precision.
    public mutating func unitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
