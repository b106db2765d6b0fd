import NASTensor

/// An in-memory labelled image set, channels-last: `images` holds `count × height × width × channels`
/// float values, `labels` the class of each image.
public struct Dataset: Sendable {
    public var images: [Float]
    public var labels: [Int]
    public let height: Int, width: Int, channels: Int
    public let classCount: Int

    public init(images: [Float], labels: [Int], height: Int, width: Int, channels: Int, classCount: Int? = nil) {
        precondition(images.count == labels.count * height * width * channels,
                     "dataset: \(images.count) values for \(labels.count) images of \(height)×\(width)×\(channels)")
        self.images = images
        self.labels = labels
        self.height = height; self.width = width; self.channels = channels
        self.classCount = classCount ?? ((labels.max() ?? -1) + 1)
    }

    public var count: Int { labels.count }
    public var imageSize: Int { height * width * channels }
    public var imageShape: [Int] { [height, width, channels] }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        var out = [Float]()
        out.reserveCapacity(indices.count * imageSize)
        for i in indices { out.append(contentsOf: images[(i * imageSize)..<((i + 1) * imageSize)]) }
        return Dataset(images: out, labels: indices.map { labels[$0] }, height: height, width: width,
                       channels: channels, classCount: classCount)
    }

    /// The first `n` images (or all).
    public func prefix(_ n: Int) -> Dataset { subset(Array(0..<min(n, count))) }

    /// A seeded, class-agnostic split into (train, validation) with `validationFraction` held out.
    public func split(validationFraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        precondition(validationFraction >= 0 && validationFraction < 1, "validation fraction must be in [0, 1)")
        var rng = SeededGenerator(seed: seed)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        let nVal = Int((Double(count) * validationFraction).rounded())
        return (subset(Array(order[nVal...]).sorted()), subset(Array(order[..<nVal]).sorted()))
    }

    /// Per-channel mean and standard deviation.
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        var s = [Double](repeating: 0, count: channels), ss = [Double](repeating: 0, count: channels)
        for (i, v) in images.enumerated() { let c = i % channels; s[c] += Double(v); ss[c] += Double(v) * Double(v) }
        let n = Double(count * height * width)
        let mean = s.map { $0 / n }
        let std = zip(ss, mean).map { ((($0 / n) - $1 * $1).squareRoot()) }
        return (mean.map(Float.init), std.map { Float(Swift.max($0, 1e-8)) })
    }

    /// Returns `(x − mean) / std` per channel.
    public func normalized(mean: [Float], std: [Float]) -> Dataset {
        precondition(mean.count == channels && std.count == channels, "normalisation needs \(channels) means and stds")
        var out = images
        for i in out.indices { let c = i % channels; out[i] = (out[i] - mean[c]) / std[c] }
        return Dataset(images: out, labels: labels, height: height, width: width, channels: channels, classCount: classCount)
    }

    /// Zero-pads each image to `size × size` (centred), e.g. 28×28 → 32×32.
    public func padded(to size: Int) -> Dataset {
        precondition(size >= height && size >= width, "cannot pad \(height)×\(width) to \(size)")
        let top = (size - height) / 2, left = (size - width) / 2
        var out = [Float](repeating: 0, count: count * size * size * channels)
        for n in 0..<count { for y in 0..<height { for x in 0..<width { for c in 0..<channels {
            out[((n * size + y + top) * size + x + left) * channels + c] = images[((n * height + y) * width + x) * channels + c]
        }}}}
        return Dataset(images: out, labels: labels, height: size, width: size, channels: channels, classCount: classCount)
    }

    /// Replaces the labels with seeded uniformly random ones (as RLNAS trains on).
    public func withRandomLabels(seed: UInt64) -> Dataset {
        var rng = SeededGenerator(seed: seed)
        let random = labels.map { _ in Int(rng.next() % UInt64(classCount)) }
        return Dataset(images: images, labels: random, height: height, width: width, channels: channels, classCount: classCount)
    }
}
