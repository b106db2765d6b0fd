import Foundation
import NASTensor

/// Gray images with binary masks of the same size, in memory: `images` holds
/// `count × height × width` values in [0, 1], `masks` as many 0/1 values (1 = foreground).
public struct SegmentationSet: Sendable, Equatable {
    public var images: [Float]
    public var masks: [Float]
    public let height: Int, width: Int
    /// Where each image came from (file names), for errors and reports.
    public var names: [String]

    public init(images: [Float], masks: [Float], height: Int, width: Int, names: [String]) throws {
        guard height > 0, width > 0, images.count == names.count * height * width, masks.count == images.count else {
            throw DataError(file: "segmentation set", "\(names.count) images of \(height)×\(width) need \(names.count * height * width) pixels and as many mask values, got \(images.count) and \(masks.count)")
        }
        self.init(checked: images, masks, height, width, names)
    }

    /// For sizes that agree by construction (subsets of a checked set).
    private init(checked images: [Float], _ masks: [Float], _ height: Int, _ width: Int, _ names: [String]) {
        (self.images, self.masks, self.height, self.width, self.names) = (images, masks, height, width, names)
    }

    public var count: Int { names.count }
    public var pixelsPerImage: Int { height * width }

    /// Reads every `*.png` in `imageFolder` with the same-named file in `maskFolder` (ISBI 2012's
    /// `train/image/N.png` + `train/label/N.png`). Mask pixels above 127 are foreground, or those
    /// at or below it with `invertMasks` (ISBI's membranes are the dark pixels). Files are taken
    /// in numeric order when their names are numbers, otherwise by name.
    public static func load(imageFolder: URL, maskFolder: URL, invertMasks: Bool = false) throws -> SegmentationSet {
        let names = try pngNames(in: imageFolder)
        guard !names.isEmpty else { throw DataError(file: imageFolder.path, "no .png images") }
        var images: [Float] = [], masks: [Float] = []
        var size: (Int, Int)? = nil
        for name in names {
            let image = try PNGImage.read(imageFolder.appendingPathComponent(name))
            let maskURL = maskFolder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: maskURL.path) else {
                throw DataError(file: maskURL.path, "missing: every image needs a mask of the same name")
            }
            let mask = try PNGImage.read(maskURL)
            guard mask.width == image.width, mask.height == image.height else {
                throw DataError(file: maskURL.path, "mask is \(mask.width)×\(mask.height), its image \(image.width)×\(image.height)")
            }
            if let (h, w) = size, h != image.height || w != image.width {
                throw DataError(file: imageFolder.appendingPathComponent(name).path,
                                "\(image.width)×\(image.height), the first image is \(w)×\(h): all images need one size")
            }
            size = (image.height, image.width)
            images += image.pixels.map { Float($0) / 255 }
            masks += mask.pixels.map { ($0 > 127) != invertMasks ? 1 : 0 }
        }
        return try SegmentationSet(images: images, masks: masks, height: size?.0 ?? 0, width: size?.1 ?? 0, names: names)
    }

    private static func pngNames(in folder: URL) throws -> [String] {
        let all: [String]
        do { all = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw DataError(file: folder.path, "cannot list the folder: \(error.localizedDescription)")
        }
        let pngs = all.filter { $0.lowercased().hasSuffix(".png") }
        let stems = pngs.map { Int($0.dropLast(4)) }
        if stems.allSatisfy({ $0 != nil }) {
            return zip(pngs, stems).sorted { $0.1 ?? 0 < $1.1 ?? 0 }.map { $0.0 }
        }
        return pngs.sorted()
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> SegmentationSet {
        let n = pixelsPerImage
        var im: [Float] = [], ma: [Float] = []
        for i in indices {
            im += images[(i * n)..<((i + 1) * n)]
            ma += masks[(i * n)..<((i + 1) * n)]
        }
        return SegmentationSet(checked: im, ma, height, width, indices.map { names[$0] })
    }

    /// Every image shrunk by `factor` in each direction: images by averaging each factor×factor
    /// square, masks by majority (foreground when at least half the square is). Sizes that
    /// `factor` does not divide lose their last rows and columns.
    public func downsampled(by factor: Int) throws -> SegmentationSet {
        guard factor >= 1, factor <= min(height, width) else {
            throw DataError(file: "downsample", "factor must be in 1…\(min(height, width)) for \(width)×\(height) images, got \(factor)")
        }
        if factor == 1 { return self }
        let h = height / factor, w = width / factor, n = pixelsPerImage
        var im = [Float](repeating: 0, count: count * h * w), ma = im
        let area = Float(factor * factor)
        for i in 0..<count {
            for y in 0..<h {
                for x in 0..<w {
                    var si: Float = 0, sm: Float = 0
                    for dy in 0..<factor {
                        for dx in 0..<factor {
                            let at = i * n + (y * factor + dy) * width + x * factor + dx
                            si += images[at]
                            sm += masks[at]
                        }
                    }
                    im[(i * h + y) * w + x] = si / area
                    ma[(i * h + y) * w + x] = sm / area >= 0.5 ? 1 : 0
                }
            }
        }
        return SegmentationSet(checked: im, ma, h, w, names)
    }

    /// Fold `fold` of `folds` contiguous folds: (train, held out). Contiguous, not shuffled,
    /// because neighbouring slices of a serial-section stack look alike; shuffling would leak
    /// near-copies of the held-out slices into training.
    public func fold(_ fold: Int, of folds: Int) throws -> (train: SegmentationSet, heldOut: SegmentationSet) {
        guard folds >= 2, folds <= count else {
            throw DataError(file: "folds", "needs 2…\(count) folds for \(count) images, got \(folds)")
        }
        guard fold >= 0, fold < folds else { throw DataError(file: "fold", "must be in 0..<\(folds), got \(fold)") }
        let lo = count * fold / folds, hi = count * (fold + 1) / folds
        return (subset(Array(0..<lo) + Array(hi..<count)), subset(Array(lo..<hi)))
    }
}

/// Square tiles of a `height × width` plane that cover it with at least `overlap` pixels shared
/// between neighbours; the last tile of a row or column is flush with the edge.
public struct Tiling: Sendable, Equatable {
    public let height: Int, width: Int, tile: Int, overlap: Int
    /// Top-left corners `(row, column)`, row-major.
    public let origins: [(Int, Int)]

    public init(height: Int, width: Int, tile: Int, overlap: Int) throws {
        guard tile > 0, tile <= height, tile <= width else {
            throw DataError(file: "tile", "tile side must be in 1…\(Swift.min(height, width)) for \(height)×\(width) images, got \(tile)")
        }
        guard overlap >= 0, overlap < tile else { throw DataError(file: "overlap", "must be in 0..<\(tile), got \(overlap)") }
        func starts(_ extent: Int) -> [Int] {
            let step = tile - overlap
            var s = Array(stride(from: 0, through: extent - tile, by: step))
            if let last = s.last, last + tile < extent { s.append(extent - tile) }
            return s
        }
        let rows = starts(height), cols = starts(width)
        (self.height, self.width, self.tile, self.overlap) = (height, width, tile, overlap)
        origins = rows.flatMap { r in cols.map { (r, $0) } }
    }

    public static func == (a: Tiling, b: Tiling) -> Bool {
        (a.height, a.width, a.tile, a.overlap) == (b.height, b.width, b.tile, b.overlap)
    }

    /// The tiles of one plane (`height × width` values), each `tile × tile`, concatenated.
    public func tiles(of plane: ArraySlice<Float>) -> [Float] {
        let base = plane.startIndex
        var out: [Float] = []
        out.reserveCapacity(origins.count * tile * tile)
        for (r, c) in origins {
            for y in 0..<tile {
                let start: Int = base + (r + y) * width + c
                out += plane[start..<(start + tile)]
            }
        }
        return out
    }

    /// Puts per-tile predictions back into one plane, averaging where tiles overlap.
    public func stitch(_ tiles: [Float]) -> [Float] {
        var sum = [Float](repeating: 0, count: height * width), hits = [Float](repeating: 0, count: height * width)
        for (t, (r, c)) in origins.enumerated() {
            for y in 0..<tile {
                for x in 0..<tile {
                    sum[(r + y) * width + c + x] += tiles[(t * tile + y) * tile + x]
                    hits[(r + y) * width + c + x] += 1
                }
            }
        }
        return zip(sum, hits).map { $0 / $1 }
    }
}

/// The eight symmetries of a square (rotations by 0/90/180/270° with and without a left–right
/// flip), applied alike to an image tile and its mask.
public enum Dihedral: Int, CaseIterable, Sendable {
    case identity, rotate90, rotate180, rotate270, flip, flipRotate90, flipRotate180, flipRotate270

    /// The transform of a `side × side` tile (row-major): output pixel (y, x) reads the source
    /// pixel this symmetry maps there. `rotate90` turns the tile a quarter counter-clockwise.
    public func apply(_ tile: ArraySlice<Float>, side n: Int) -> [Float] {
        let base = tile.startIndex
        var out = [Float](repeating: 0, count: n * n)
        let quarterTurns = rawValue % 4, flipped = rawValue >= 4
        for y in 0..<n {
            for x in 0..<n {
                // Undo the rotation, then the flip, to find the source pixel.
                var (sy, sx) = (y, x)
                for _ in 0..<quarterTurns { (sy, sx) = (sx, n - 1 - sy) }
                if flipped { sx = n - 1 - sx }
                out[y * n + x] = tile[base + sy * n + sx]
            }
        }
        return out
    }
}

/// Overlap of a binary prediction with a binary target (values > 0.5 count as foreground).
public enum SegmentationMetrics {
    /// 2|P ∩ T| / (|P| + |T|); 1 when both are empty (nothing to find, nothing found).
    public static func dice(_ prediction: [Float], _ target: [Float]) -> Double {
        let (both, p, t) = counts(prediction, target)
        return p + t == 0 ? 1 : 2 * Double(both) / Double(p + t)
    }

    /// |P ∩ T| / |P ∪ T|; 1 when both are empty.
    public static func iou(_ prediction: [Float], _ target: [Float]) -> Double {
        let (both, p, t) = counts(prediction, target)
        return p + t - both == 0 ? 1 : Double(both) / Double(p + t - both)
    }

    private static func counts(_ prediction: [Float], _ target: [Float]) -> (Int, Int, Int) {
        var both = 0, p = 0, t = 0
        for (a, b) in zip(prediction, target) {
            let pa = a > 0.5, tb = b > 0.5
            if pa { p += 1 }
            if tb { t += 1 }
            if pa && tb { both += 1 }
        }
        return (both, p, t)
    }
}
