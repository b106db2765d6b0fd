import Foundation
import NASData
import NASTensor
import XCTest

/// Fashion-MNIST as the README's install step puts it (Debian's `dataset-fashion-mnist`), or
/// `$SWIFTNAS_FMNIST`.
let fashionMNIST = ProcessInfo.processInfo.environment["SWIFTNAS_FMNIST"] ?? "/usr/share/datasets/fashion-mnist"

/// A fresh temporary folder, removed by the caller.
func temporaryFolder(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

final class DataReaderTests: XCTestCase {
    func testFashionMNISTFromGzippedIDX() throws {
        let (train, test) = try DatasetReader.idxDirectory(fashionMNIST)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(train.imageShape, [28, 28, 1])
        XCTAssertEqual(train.classCount, 10)
        // The README: exactly 6,000 training and 1,000 test images per class.
        XCTAssertEqual(train.labels.filter { $0 == 3 }.count, 6_000)
        XCTAssertEqual(test.labels.filter { $0 == 9 }.count, 1_000)
        XCTAssertEqual(train.images.max(), 1)
        XCTAssertEqual(train.images.min(), 0)
    }

    func testUncompressedIDXMatchesGzipped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Write 3 images of 2×2 and their labels by hand.
        var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]
        images += [0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0]
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]
        try Data(images).write(to: dir.appendingPathComponent("img"))
        try Data(labels).write(to: dir.appendingPathComponent("lab"))
        let d = try DatasetReader.idx(images: dir.appendingPathComponent("img").path, labels: dir.appendingPathComponent("lab").path)
        XCTAssertEqual(d.labels, [7, 0, 9])
        XCTAssertEqual(d.imageShape, [2, 2, 1])
        XCTAssertEqual(d.images[1], 1)
        XCTAssertEqual(d.images[2], 0.2, accuracy: 1e-6)
    }

    func testIDXErrorsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("idxbad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad").path
        try Data([0, 0, 8, 1, 0, 0, 0, 1, 5]).write(to: URL(fileURLWithPath: bad))
        let truncated = dir.appendingPathComponent("truncated").path
        try Data([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]).write(to: URL(fileURLWithPath: truncated))
        let labels = dir.appendingPathComponent("labels").path
        try Data([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]).write(to: URL(fileURLWithPath: labels))

        XCTAssertThrowsError(try DatasetReader.idx(images: bad, labels: labels)) { e in
            XCTAssertEqual((e as? DataError)?.file, bad)
            XCTAssertTrue("\(e)".contains("magic number 2051"), "\(e)")
        }
        XCTAssertThrowsError(try DatasetReader.idx(images: truncated, labels: labels)) { e in
            XCTAssertTrue("\(e)".contains("2 images of 2×2"), "\(e)")
        }
        XCTAssertThrowsError(try DatasetReader.idx(images: dir.appendingPathComponent("nope").path, labels: labels)) { e in
            XCTAssertTrue("\(e)".contains("file not found"), "\(e)")
        }
        // A gzip file cut in half.
        let gz = try Data(contentsOf: URL(fileURLWithPath: "\(fashionMNIST)/t10k-labels-idx1-ubyte.gz"))
        let cut = dir.appendingPathComponent("cut.gz").path
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try readPossiblyGzipped(cut)) { e in
            XCTAssertEqual((e as? DataError)?.file, cut)
            XCTAssertTrue("\(e)".contains("truncated") || "\(e)".contains("corrupt"), "\(e)")
        }
    }

    func testCIFARBinaryBatchWrittenByTheTest() throws {
        // Two CIFAR-10 records: label byte, then R, G, B planes of 32×32.
        var bytes: [UInt8] = []
        for (label, base) in [(3, 10), (8, 200)] {
            bytes.append(UInt8(label))
            for c in 0..<3 { for p in 0..<1024 { bytes.append(UInt8((base + c * 20 + p) % 256)) } }
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cifar-\(UUID().uuidString).bin")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let d = try DatasetReader.cifar([url.path])
        XCTAssertEqual(d.labels, [3, 8])
        XCTAssertEqual(d.imageShape, [32, 32, 3])
        // Pixel (row 0, column 5) of image 1, channel G (plane 1): channels-last in memory.
        let p = 5, c = 1
        XCTAssertEqual(d.images[d.imageSize + p * 3 + c], Float((200 + 20 + p) % 256) / 255, accuracy: 1e-6)

        // CIFAR-100 records carry coarse and fine labels.
        var b100: [UInt8] = [4, 77]
        b100 += [UInt8](repeating: 9, count: 3072)
        let url100 = FileManager.default.temporaryDirectory.appendingPathComponent("c100-\(UUID().uuidString).bin")
        try Data(b100).write(to: url100)
        defer { try? FileManager.default.removeItem(at: url100) }
        XCTAssertEqual(try DatasetReader.cifar([url100.path], cifar100: true).labels, [77])
        XCTAssertEqual(try DatasetReader.cifar([url100.path], cifar100: true, fineLabels: false).labels, [4])

        // A record cut short is reported with the file name.
        try Data(bytes.dropLast(10)).write(to: url)
        XCTAssertThrowsError(try DatasetReader.cifar([url.path])) { e in
            XCTAssertTrue("\(e)".contains(url.path) && "\(e)".contains("3073-byte"), "\(e)")
        }
    }

    func testCSVImageFiles() throws {
        // The three layouts of the CSV image files users have, written here: MNIST-like (784
        // pixels 0-255, label last, gzipped), sklearn digits (64 values 0-16, label last), and
        // MNIST-1D (a header whose first name is "label", 40 real values).
        let dir = try temporaryFolder("csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 3)
        func row(_ values: [String]) -> String { values.joined(separator: ",") }
        var mnistRows: [String] = []
        for i in 0..<50 {
            let pixels: [String] = (0..<784).map { _ in String(rng.next() % 256) }
            mnistRows.append(row(pixels + [String(i % 10)]))
        }
        let mnistText: String = mnistRows.joined(separator: "\n") + "\n"
        let mnistPath = dir.appendingPathComponent("mnist.csv.gz").path
        try Data(try gzip(Array(mnistText.utf8))).write(to: URL(fileURLWithPath: mnistPath))
        let mnist = try DatasetReader.csv(mnistPath)
        XCTAssertEqual(mnist.count, 50)
        XCTAssertEqual(mnist.imageShape, [28, 28, 1])
        XCTAssertEqual(mnist.labels.filter { $0 == 0 }.count, 5)
        XCTAssertEqual(mnist.labels.first, 0)
        XCTAssertLessThanOrEqual(mnist.images.max() ?? 2, 1)
        var digitRows: [String] = []
        for i in 0..<30 {
            let values: [String] = (0..<64).map { j in String((i + j) % 17) }
            digitRows.append(row(values + [String(i % 10)]))
        }
        let digitsPath = dir.appendingPathComponent("digits.csv").path
        try digitRows.joined(separator: "\n").write(toFile: digitsPath, atomically: true, encoding: .utf8)
        let digits = try DatasetReader.csv(digitsPath)
        XCTAssertEqual(digits.count, 30)
        XCTAssertEqual(digits.imageShape, [8, 8, 1])
        XCTAssertEqual(digits.labels.filter { $0 == 0 }.count, 3)
        XCTAssertEqual(digits.images.max(), 1)
        var m1dRows: [String] = ["label," + (0..<40).map { "x\($0)" }.joined(separator: ",")]
        for i in 0..<20 {
            let values: [String] = (0..<40).map { j in String(Double(j - i) / 7) }
            m1dRows.append(row([String(i % 10)] + values))
        }
        let m1dPath = dir.appendingPathComponent("mnist1d.csv").path
        try m1dRows.joined(separator: "\n").write(toFile: m1dPath, atomically: true, encoding: .utf8)
        let m1d = try DatasetReader.csv(m1dPath)
        XCTAssertEqual(m1d.count, 20)
        XCTAssertEqual(m1d.imageShape, [1, 40, 1])
        XCTAssertEqual(m1d.labels[3], 3)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).csv")
        try "1,2,3,0\n4,5,x,1\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try DatasetReader.csv(url.path)) { e in
            XCTAssertEqual("\(e)", "\(url.path): row 2, column 3: 'x' is not a number")
        }
        try "1,2,3,0\n4,5,1\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DatasetReader.csv(url.path)) { e in
            XCTAssertEqual("\(e)", "\(url.path): row 2 has 3 columns, expected 4")
        }
    }
}

final class BatchingTests: XCTestCase {
    func dataset(_ n: Int) -> Dataset {
        Dataset(images: (0..<(n * 4 * 4 * 2)).map { Float($0) }, labels: (0..<n).map { $0 % 3 }, height: 4, width: 4, channels: 2)
    }

    func testSplitIsSeededAndDisjoint() {
        let d = dataset(50)
        let (a, b) = d.split(validationFraction: 0.2, seed: 7)
        let (a2, b2) = d.split(validationFraction: 0.2, seed: 7)
        let (_, b3) = d.split(validationFraction: 0.2, seed: 8)
        XCTAssertEqual(a.count, 40); XCTAssertEqual(b.count, 10)
        XCTAssertEqual(b.images, b2.images); XCTAssertEqual(a.labels, a2.labels)
        XCTAssertNotEqual(b.images, b3.images)
        let firstPixels = Set(stride(from: 0, to: a.images.count, by: 32).map { a.images[$0] })
        for i in 0..<b.count { XCTAssertFalse(firstPixels.contains(b.images[i * 32])) }
    }

    func testEpochOrderDependsOnlyOnSeedAndEpoch() {
        let loader = BatchLoader(dataset(10), batchSize: 4, seed: 3)
        XCTAssertEqual(loader.batchCount(), 3)
        let e1 = loader.epoch(1).map { $0.labels }, again = loader.epoch(1).map { $0.labels }
        XCTAssertEqual(e1, again)
        XCTAssertEqual(loader.epoch(1)[2].images.array, loader.epoch(1)[2].images.array)
        XCTAssertNotEqual(loader.epoch(0).flatMap { $0.images.array }, loader.epoch(1).flatMap { $0.images.array })
        // Every image appears once per epoch.
        let firsts = loader.epoch(2).flatMap { b in (0..<b.labels.count).map { b.images.array[$0 * 32] } }
        XCTAssertEqual(Set(firsts).count, 10)
        XCTAssertEqual(BatchLoader(dataset(10), batchSize: 4, dropLast: true).batchCount(), 2)
    }

    func testAugmentations() {
        var rng = SeededGenerator(seed: 1)
        let h = 4, w = 4
        let original = (0..<(h * w)).map { Float($0 + 1) }
        // Flip only: either unchanged or an exact mirror.
        for _ in 0..<8 {
            var img = original
            img.withUnsafeMutableBufferPointer { Augmentation(horizontalFlip: true).apply($0.baseAddress!, h: h, w: w, c: 1, using: &rng) }
            let mirrored = (0..<h).flatMap { y in (0..<w).map { x in original[y * w + (w - 1 - x)] } }
            XCTAssertTrue(img == original || img == mirrored)
        }
        // Crop: a shifted copy with zeros entering from the border; every value is from the image.
        var img = original
        img.withUnsafeMutableBufferPointer { Augmentation(cropPadding: 2).apply($0.baseAddress!, h: h, w: w, c: 1, using: &rng) }
        XCTAssertTrue(img.allSatisfy { $0 == 0 || original.contains($0) })
        // Cutout zeroes at most a 2×2 square and leaves the rest.
        img = original
        img.withUnsafeMutableBufferPointer { Augmentation(cutout: 2).apply($0.baseAddress!, h: h, w: w, c: 1, using: &rng) }
        let zeros = img.filter { $0 == 0 }.count
        XCTAssertTrue((1...4).contains(zeros))
        XCTAssertEqual(zip(img, original).filter { $0 != $1 }.count, zeros)
    }

    func testNormalisationAndRandomLabels() {
        let d = dataset(20)
        let (mean, std) = d.channelStatistics()
        let n = d.normalized(mean: mean, std: std)
        let (m2, s2) = n.channelStatistics()
        for c in 0..<2 { XCTAssertEqual(m2[c], 0, accuracy: 1e-3); XCTAssertEqual(s2[c], 1, accuracy: 1e-3) }
        let r = d.withRandomLabels(seed: 5)
        XCTAssertEqual(r.labels, d.withRandomLabels(seed: 5).labels)
        XCTAssertNotEqual(r.labels, d.labels)
        XCTAssertTrue(r.labels.allSatisfy { (0..<3).contains($0) })
        XCTAssertEqual(d.padded(to: 6).imageShape, [6, 6, 2])
    }
}
