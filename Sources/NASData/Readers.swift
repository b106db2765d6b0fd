import Foundation

/// Readers for the standard formats. Pixels are scaled to [0, 1].
public enum DatasetReader {
    /// IDX files (MNIST / Fashion-MNIST), gzipped or not: an image file (magic 2051) and a label
    /// file (magic 2049) with the same count.
    public static func idx(images imagePath: String, labels labelPath: String) throws -> Dataset {
        let img = try readPossiblyGzipped(imagePath)
        let lab = try readPossiblyGzipped(labelPath)
        func be32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        guard img.count >= 16, be32(img, 0) == 2051 else {
            throw DataError(file: imagePath, "not an IDX image file (expected magic number 2051\(img.count >= 4 ? ", found \(be32(img, 0))" : ""))")
        }
        guard lab.count >= 8, be32(lab, 0) == 2049 else {
            throw DataError(file: labelPath, "not an IDX label file (expected magic number 2049\(lab.count >= 4 ? ", found \(be32(lab, 0))" : ""))")
        }
        let n = be32(img, 4), rows = be32(img, 8), cols = be32(img, 12)
        guard rows >= 1, cols >= 1 else {
            throw DataError(file: imagePath, "header says images of \(rows)×\(cols) pixels")
        }
        // The header's sizes are untrusted: multiply with overflow checks before comparing.
        let (perImage, o1) = rows.multipliedReportingOverflow(by: cols)
        let (total, o2) = n.multipliedReportingOverflow(by: perImage)
        guard !o1, !o2, img.count - 16 == total else {
            throw DataError(file: imagePath, "header says \(n) images of \(rows)×\(cols) but the file has \(img.count) bytes")
        }
        let nl = be32(lab, 4)
        guard nl == n, lab.count == 8 + n else {
            throw DataError(file: labelPath, "has \(nl) labels (\(lab.count - 8) bytes of data) for \(n) images in \(imagePath)")
        }
        let pixels = img[16...].map { Float($0) / 255 }
        return Dataset(images: pixels, labels: lab[8...].map { Int($0) }, height: rows, width: cols, channels: 1)
    }

    /// A folder with the four MNIST-style files (`train-images-idx3-ubyte[.gz]`, …).
    public static func idxDirectory(_ dir: String) throws -> (train: Dataset, test: Dataset) {
        func find(_ stem: String) throws -> String {
            for name in [stem + ".gz", stem] {
                let p = (dir as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw DataError(file: (dir as NSString).appendingPathComponent(stem + "[.gz]"), "file not found in the data folder")
        }
        return (try idx(images: find("train-images-idx3-ubyte"), labels: find("train-labels-idx1-ubyte")),
                try idx(images: find("t10k-images-idx3-ubyte"), labels: find("t10k-labels-idx1-ubyte")))
    }

    /// CIFAR binary batches: records of label byte(s) then 3×32×32 channel-major pixels.
    /// CIFAR-100 records carry a coarse and a fine label; `fineLabels` picks the fine one.
    public static func cifar(_ paths: [String], cifar100: Bool = false, fineLabels: Bool = true) throws -> Dataset {
        let labelBytes = cifar100 ? 2 : 1
        let record = labelBytes + 3072
        var images = [Float](), labels = [Int]()
        for path in paths {
            let bytes = try readPossiblyGzipped(path)
            guard !bytes.isEmpty, bytes.count % record == 0 else {
                throw DataError(file: path, "size \(bytes.count) is not a multiple of the \(record)-byte CIFAR\(cifar100 ? "-100" : "-10") record")
            }
            images.reserveCapacity(images.count + bytes.count / record * 3072)
            for r in 0..<(bytes.count / record) {
                let base = r * record
                let label = Int(bytes[base + (cifar100 && fineLabels ? 1 : 0)])
                guard label < (cifar100 ? (fineLabels ? 100 : 20) : 10) else {
                    throw DataError(file: path, "record \(r) has label \(label), out of range")
                }
                labels.append(label)
                // Channel-major (CHW) on disk → channels-last (HWC) in memory.
                for p in 0..<1024 { for c in 0..<3 { images.append(Float(bytes[base + labelBytes + c * 1024 + p]) / 255) } }
            }
        }
        return Dataset(images: images, labels: labels, height: 32, width: 32, channels: 3, classCount: cifar100 ? (fineLabels ? 100 : 20) : 10)
    }

    public enum LabelColumn: String, Sendable { case first, last }

    /// CSV with one image per row (optionally gzipped, optional header row). Pixel values are
    /// divided by `scale` (default: 255 when the largest value exceeds 16, else the largest value).
    public static func csv(_ path: String, labelColumn: LabelColumn? = nil, shape: (Int, Int, Int)? = nil,
                           scale: Float? = nil) throws -> Dataset {
        let bytes = try readPossiblyGzipped(path)
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw DataError(file: path, "not UTF-8 text") }
        var lines = text.split(whereSeparator: \.isNewline)
        guard let first = lines.first else { throw DataError(file: path, "empty file") }
        let hasHeader = Float(first.split(separator: ",").first.map(String.init) ?? "") == nil
        guard lines.count > (hasHeader ? 1 : 0) else { throw DataError(file: path, "has a header but no rows") }
        var column = labelColumn
        if hasHeader {
            // A header row: a column named "label" says where the label is.
            let names = first.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if column == nil { column = names.first == "label" ? .first : .last }
            lines.removeFirst()
        }
        let labelAt = column ?? .last
        var values = [Float](), labels = [Int]()
        var width = -1
        for (i, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if width < 0 { width = fields.count }
            guard fields.count == width, width >= 2 else {
                throw DataError(file: path, "row \(i + 1) has \(fields.count) columns, expected \(width)")
            }
            let labelField = labelAt == .first ? fields.first! : fields.last!
            guard let label = Int(labelField.trimmingCharacters(in: .whitespaces)), label >= 0, label < maximumClassCount else {
                throw DataError(file: path, "row \(i + 1): label '\(labelField.prefix(40))' is not a class index 0…\(maximumClassCount - 1)")
            }
            labels.append(label)
            for (j, f) in (labelAt == .first ? fields.dropFirst() : fields.dropLast()).enumerated() {
                guard let v = Float(f.trimmingCharacters(in: .whitespaces)) else {
                    throw DataError(file: path, "row \(i + 1), column \(j + 1): '\(f)' is not a number")
                }
                values.append(v)
            }
        }
        let features = width - 1
        let (h, w, c) = shape ?? {
            let side = Int(Double(features).squareRoot().rounded())
            return side * side == features ? (side, side, 1) : (1, features, 1)
        }()
        guard h * w * c == features else {
            throw DataError(file: path, "rows have \(features) values, which is not an image of \(h)×\(w)×\(c)")
        }
        let maxValue = values.max() ?? 1
        let divisor = scale ?? (maxValue > 16 ? 255 : (maxValue > 0 && maxValue <= 16 && values.allSatisfy { $0 >= 0 } ? maxValue : 1))
        if divisor != 1 { for i in values.indices { values[i] /= divisor } }
        return Dataset(images: values, labels: labels, height: h, width: w, channels: c)
    }
}
