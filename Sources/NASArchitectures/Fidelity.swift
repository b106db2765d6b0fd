/// How much training an evaluation stands for. Multi-fidelity strategies (Hyperband, BOHB) ask
/// for cheap low-fidelity evaluations first and promote the promising architectures.
public struct Fidelity: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    /// Training epochs (NAS-Bench-201 has 12- and 200-epoch schedules).
    public var epochs: Int

    public init(epochs: Int) { self.epochs = epochs }

    public static func < (a: Fidelity, b: Fidelity) -> Bool { a.epochs < b.epochs }
    public var description: String { "\(epochs) epochs" }
}
