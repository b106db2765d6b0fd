import NASNN
import NASSpaces

/// The spaces a weight-sharing search runs on, by the names `swiftnas search --space` takes.
public enum SupernetSpace: String, CaseIterable, Codable, Sendable {
    /// NAS-Bench-201: one cell of six edges × five ops, graded by the benchmark's table.
    case nb201
    /// DARTS's CNN space: normal and reduction cells of four nodes, two inputs each, eight ops.
    case darts
    /// GLiT's transformer space: per block the global/local split of the heads, the head
    /// dimension, the locality module's kernel and expansion, the MLP ratio.
    case glit

    /// The GLiT network settings of a search's config.
    public static func glitConfig(_ c: WeightSharingConfig, imageSize: Int, inputChannels: Int, classes: Int) -> GLiTSpaceConfig {
        var g = GLiTSpaceConfig()
        (g.height, g.width, g.channels, g.classes) = (imageSize, imageSize, inputChannels, classes)
        (g.patch, g.dim, g.depth, g.heads) = (c.patch, c.embedDim, c.depth, c.heads)
        return g
    }

    /// What keeps a supernet of this space from being built with these settings, or nil.
    public func problem(_ c: WeightSharingConfig, imageSize: Int, inputChannels: Int, classes: Int) -> String? {
        self == .glit ? Self.glitConfig(c, imageSize: imageSize, inputChannels: inputChannels, classes: classes).problem : nil
    }

    /// A supernet of this space for the search's settings (cell batch norms non-affine, as in
    /// the papers' search supernets).
    /// - Precondition: `problem(c, …) == nil` (`WeightSharingSearch` checks it).
    public func makeSupernet(_ c: WeightSharingConfig, imageSize: Int, inputChannels: Int, classes: Int, seed: UInt64) -> any Supernet {
        switch self {
        case .nb201:
            return NB201Supernet(config: NB201NetworkConfig(channels: c.channels, cellsPerStage: c.cellsPerStage,
                                                            inputChannels: inputChannels, classes: classes, affine: false), seed: seed)
        case .darts:
            return DARTSSupernet(config: DARTSNetworkConfig(channels: c.channels, layers: c.layers, inputChannels: inputChannels,
                                                            classes: classes, affine: false), seed: seed)
        case .glit:
            return GLiTSupernet(config: Self.glitConfig(c, imageSize: imageSize, inputChannels: inputChannels, classes: classes), seed: seed)
        }
    }
}
