import Foundation
import NASData
import NASTensor

// Data loading shared by the commands that take `--data`.

/// Loads (train, test) from an IDX folder, a CIFAR-10 folder or a CSV file.
func loadDataSet(_ path: String, testFraction: Double, seed: UInt64) throws -> (Dataset, Dataset) {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw DataError(file: path, "no such file or folder")
    }
    if isDir.boolValue {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if files.contains(where: { $0.hasPrefix("data_batch_") }) {
            let trainFiles = files.filter { $0.hasPrefix("data_batch_") }.sorted().map { (path as NSString).appendingPathComponent($0) }
            guard let testFile = files.first(where: { $0.hasPrefix("test_batch") }) else {
                throw DataError(file: path, "CIFAR folder has no test_batch.bin")
            }
            return (try DatasetReader.cifar(trainFiles), try DatasetReader.cifar([(path as NSString).appendingPathComponent(testFile)]))
        }
        return try DatasetReader.idxDirectory(path)
    }
    let all = try DatasetReader.csv(path)
    let (train, test) = all.split(validationFraction: testFraction, seed: seed)
    return (train, test)
}

/// A seeded batch of `size` training images, zero-padded to 32×32 (NB201's input size).
func proxyBatch(_ data: Dataset, size: Int, seed: UInt64) -> (Tensor, [Int]) {
    var rng = SeededGenerator(seed: seed)
    var idx = Array(0..<data.count)
    idx.shuffle(using: &rng)
    let picked = data.subset(Array(idx.prefix(size)))
    let stats = data.channelStatistics()
    let padded = picked.normalized(mean: stats.mean, std: stats.std).padded(to: 32)
    return (Tensor(shape: [size, 32, 32, padded.channels], data: padded.images), padded.labels)
}
