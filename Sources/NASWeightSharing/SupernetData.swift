import NASData
import NASTensor

/// The data of a weight-sharing search: a training subset split into a half that trains the
/// supernet weights and a half that trains (or scores) the architecture. The test set is never
/// touched: derived cells are graded by the NAS-Bench-201 table.
public struct SupernetData: Sendable {
    public let weightHalf: Dataset
    public let archHalf: Dataset
    public var classes: Int { max(weightHalf.classCount, archHalf.classCount) }
    public var inputChannels: Int { weightHalf.channels }
    public var imageSize: Int { weightHalf.height }

    public init(weightHalf: Dataset, archHalf: Dataset) {
        self.weightHalf = weightHalf
        self.archHalf = archHalf
    }

    /// The first `config.trainImages` images of `train`, resized to `config.imageSize`,
    /// normalised with their own statistics and split 50/50 with the run's seed.
    public init(train: Dataset, config: WeightSharingConfig, seed: UInt64) throws {
        // Resizing pools or pads both sides alike: only square images fit.
        guard train.height == train.width, train.height >= 1 else {
            throw WeightSharingError.badConfig("the supernet takes square images; these are \(train.height)×\(train.width)")
        }
        var d = train.prefix(config.trainImages)
        if d.height != config.imageSize {
            if config.imageSize < d.height { d = Self.averagePooled(d) }
            guard d.height <= config.imageSize else {
                throw WeightSharingError.badConfig("cannot fit \(train.height)×\(train.width) images into \(config.imageSize)")
            }
            if d.height < config.imageSize { d = d.padded(to: config.imageSize) }
        }
        let stats = d.channelStatistics()
        d = d.normalized(mean: stats.mean, std: stats.std)
        let (w, a) = d.split(validationFraction: 0.5, seed: seed)
        self.init(weightHalf: w, archHalf: a)
    }

    /// 2×2 average pooling of every image (28×28 → 14×14).
    static func averagePooled(_ d: Dataset) -> Dataset {
        let h = d.height / 2, w = d.width / 2, c = d.channels
        var out = [Float](repeating: 0, count: d.count * h * w * c)
        for n in 0..<d.count { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
            var s: Float = 0
            for dy in 0..<2 { for dx in 0..<2 { s += d.images[((n * d.height + 2 * y + dy) * d.width + 2 * x + dx) * c + ch] } }
            out[((n * h + y) * w + x) * c + ch] = s / 4
        }}}}
        return Dataset(images: out, labels: d.labels, height: h, width: w, channels: c, classCount: d.classCount)
    }
}
