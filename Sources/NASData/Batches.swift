import NASTensor

/// Per-batch augmentation of channels-last images, each choice drawn from the batch's generator.
public struct Augmentation: Sendable {
    /// Zero-padding before a random crop back to the original size (0: no crop).
    public var cropPadding: Int = 0
    public var horizontalFlip: Bool = false
    /// Side of a zeroed square at a random centre (0: no cutout), as in DeVries & Taylor.
    public var cutout: Int = 0

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, cutout: Int = 0) {
        self.cropPadding = cropPadding; self.horizontalFlip = horizontalFlip; self.cutout = cutout
    }

    public var isIdentity: Bool { cropPadding == 0 && !horizontalFlip && cutout == 0 }

    /// Augments one image `[h, w, c]` in place.
    public func apply(_ image: UnsafeMutablePointer<Float>, h: Int, w: Int, c: Int, using rng: inout SeededGenerator) {
        if cropPadding > 0 {
            let dy = Int(rng.next() % UInt64(2 * cropPadding + 1)) - cropPadding
            let dx = Int(rng.next() % UInt64(2 * cropPadding + 1)) - cropPadding
            let src = Array(UnsafeBufferPointer(start: image, count: h * w * c))
            for y in 0..<h { for x in 0..<w {
                let sy = y + dy, sx = x + dx
                let inside = sy >= 0 && sy < h && sx >= 0 && sx < w
                for ch in 0..<c { image[(y * w + x) * c + ch] = inside ? src[(sy * w + sx) * c + ch] : 0 }
            }}
        }
        if horizontalFlip && rng.next() & 1 == 1 {
            for y in 0..<h { for x in 0..<(w / 2) { for ch in 0..<c {
                let a = (y * w + x) * c + ch, b = (y * w + (w - 1 - x)) * c + ch
                let t = image[a]; image[a] = image[b]; image[b] = t
            }}}
        }
        if cutout > 0 {
            let cy = Int(rng.next() % UInt64(h)), cx = Int(rng.next() % UInt64(w))
            for y in Swift.max(0, cy - cutout / 2)..<Swift.min(h, cy + cutout - cutout / 2) {
                for x in Swift.max(0, cx - cutout / 2)..<Swift.min(w, cx + cutout - cutout / 2) {
                    for ch in 0..<c { image[(y * w + x) * c + ch] = 0 }
                }
            }
        }
    }
}

/// One mini-batch: images `[B, H, W, C]` and their labels.
public struct Batch {
    public let images: Tensor
    public let labels: [Int]

    public init(images: Tensor, labels: [Int]) {
        self.images = images
        self.labels = labels
    }
}

/// Seeded mini-batches over a data set: the order of epoch `e` depends only on (seed, e), so a
/// resumed run sees exactly the batches an uninterrupted one would.
public struct BatchLoader {
    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let augmentation: Augmentation
    public let seed: UInt64

    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = false,
                augmentation: Augmentation = Augmentation(), seed: UInt64 = 0) {
        precondition(batchSize > 0, "batch size must be positive")
        self.dataset = dataset; self.batchSize = batchSize; self.shuffle = shuffle
        self.dropLast = dropLast; self.augmentation = augmentation; self.seed = seed
    }

    public func batchCount() -> Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The batches of epoch `e`, built lazily (random access, so a run can resume mid-epoch).
    public func epoch(_ e: Int) -> EpochBatches {
        var rng = SeededGenerator(seed: seed &+ UInt64(e) &* 0x9E37_79B9_7F4A_7C15)
        var order = Array(0..<dataset.count)
        if shuffle { order.shuffle(using: &rng) }
        return EpochBatches(loader: self, order: order, augmentationSeed: rng.next())
    }
}

/// The mini-batches of one epoch; batch `b` is assembled when it is read.
public struct EpochBatches: RandomAccessCollection {
    let loader: BatchLoader
    let order: [Int]
    let augmentationSeed: UInt64

    public var startIndex: Int { 0 }
    public var endIndex: Int { loader.batchCount() }

    public subscript(b: Int) -> Batch {
        let dataset = loader.dataset, batchSize = loader.batchSize
        // Each batch has its own augmentation stream, so it does not depend on which batches came before.
        var rng = SeededGenerator(seed: augmentationSeed &+ UInt64(b))
        let size = dataset.imageSize
        let idx = order[(b * batchSize)..<Swift.min((b + 1) * batchSize, order.count)]
        let t = Tensor(uninitializedShape: [idx.count, dataset.height, dataset.width, dataset.channels])
        dataset.images.withUnsafeBufferPointer { src in
            for (k, i) in idx.enumerated() {
                (t.data + k * size).update(from: src.baseAddress! + i * size, count: size)
                if !loader.augmentation.isIdentity {
                    loader.augmentation.apply(t.data + k * size, h: dataset.height, w: dataset.width,
                                              c: dataset.channels, using: &rng)
                }
            }
        }
        return Batch(images: t, labels: idx.map { dataset.labels[$0] })
    }
}
