import NASNN
import NASSpaces

/// The spaces a weight-sharing search runs on, by the names `swiftnas search --space` takes.
public enum SupernetSpace: String, CaseIterable, Codable, Sendable {
    /// NAS-Bench-201: one cell of six edges × five ops, graded by the benchmark's table.
    case nb201
    /// DARTS's CNN space: normal and reduction cells of four nodes, two inputs each, eight ops.
    case darts

    /// A supernet of this space for the search's settings (cell batch norms non-affine, as in
    /// the papers' search supernets).
    public func makeSupernet(_ c: WeightSharingConfig, inputChannels: Int, classes: Int, seed: UInt64) -> any Supernet {
        switch self {
        case .nb201:
            return NB201Supernet(config: NB201NetworkConfig(channels: c.channels, cellsPerStage: c.cellsPerStage,
                                                            inputChannels: inputChannels, classes: classes, affine: false), seed: seed)
        case .darts:
            return DARTSSupernet(config: DARTSNetworkConfig(channels: c.channels, layers: c.layers, inputChannels: inputChannels,
                                                            classes: classes, affine: false), seed: seed)
        }
    }
}
