/// The five candidate operations on a NAS-Bench-201 edge, in the benchmark's own order
/// (the order of `op_codes` digits in the table and of NB201's `OPS` list).
public enum NB201Operation: Int, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case none = 0
    case skipConnect = 1
    case conv1x1 = 2
    case conv3x3 = 3
    case avgPool3x3 = 4

    /// The token NAS-Bench-201 writes in cell strings.
    public var token: String {
        switch self {
        case .none: return "none"
        case .skipConnect: return "skip_connect"
        case .conv1x1: return "nor_conv_1x1"
        case .conv3x3: return "nor_conv_3x3"
        case .avgPool3x3: return "avg_pool_3x3"
        }
    }

    public init?(token: Substring) {
        guard let op = NB201Operation.allCases.first(where: { $0.token == token }) else { return nil }
        self = op
    }

    public var description: String { token }

    /// `nor_conv_1x1` and `nor_conv_3x3` carry weights; `none`, `skip_connect` and
    /// `avg_pool_3x3` do not (the ops a collapsed DARTS cell is made of).
    public var hasParameters: Bool { self == .conv1x1 || self == .conv3x3 }
}
