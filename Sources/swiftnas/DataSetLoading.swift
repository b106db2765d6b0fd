import ArgumentParser
import Foundation
import NASData
import NASExperiment
import NASTensor

// Data loading shared by the commands that take `--data`.

/// Loads (train, test) from an IDX folder, a CIFAR-10 folder or a CSV file, and checks that the
/// two can train and test one classifier (images, labels, shapes, finite pixels).
func loadDataSet(_ path: String, testFraction: Double, seed: UInt64) throws -> (Dataset, Dataset) {
    let (train, test) = try readDataSet(path, testFraction: testFraction, seed: seed)
    try checkTrainable(train: train, test: test, trainName: "\(path) (training images)", testName: "\(path) (test images)")
    return (train, test)
}

private func readDataSet(_ path: String, testFraction: Double, seed: UInt64) throws -> (Dataset, Dataset) {
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
    guard testFraction.isFinite, testFraction > 0, testFraction < 1 else {
        throw ValidationError("--test-fraction must be in (0, 1) (got \(testFraction))")
    }
    let all = try DatasetReader.csv(path)
    let (train, test) = all.split(validationFraction: testFraction, seed: seed)
    return (train, test)
}

/// NB201 networks run on 32×32 images; smaller ones are zero-padded, larger ones cannot be used.
func checkNB201Input(_ d: Dataset, _ path: String) throws {
    guard d.height <= 32, d.width <= 32, d.height >= 1, d.width >= 1 else {
        throw DataError(file: path, "images are \(d.height)×\(d.width); NAS-Bench-201 networks take images of at most 32×32")
    }
}

/// Creates the output folder a flag names, with an error that names the flag.
func makeOutputFolder(_ path: String, flag: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw ValidationError("\(flag) \(path) is a file, not a folder") }
        return
    }
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw ValidationError("\(flag) \(path): cannot create the folder (\((error as NSError).localizedDescription))")
    }
}

/// Refuses an output folder that exists and holds files, unless `force`: results are never
/// written over something else by accident.
func checkFreshOutputFolder(_ path: String, flag: String, force: Bool) throws {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
    guard isFolder.boolValue else { throw ValidationError("\(flag) \(path) is a file, not a folder") }
    if !((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty, !force {
        throw ValidationError("\(flag) \(path) exists and is not empty; choose another folder or add --force")
    }
}

/// A --store that names nothing is an error before any work starts.
func checkStoreExists(_ store: String) throws {
    guard PostgresLocation.isPostgresURL(store) || FileManager.default.fileExists(atPath: store) else {
        throw ValidationError("no store at \(store)")
    }
}

/// A trial store to read, by its --store text: a postgresql:// URL, else an SQLite file opened
/// read-only (no lock, never written, readable while a search runs).
func openStoreForReading(_ store: String) throws -> any TrialStore {
    try checkStoreExists(store)
    return PostgresLocation.isPostgresURL(store) ? try PostgresTrialStore(url: store) : try SQLiteTrialStore(path: store, readOnly: true)
}

/// A search read back from its store, for the commands that show or export it; a store that
/// holds no experiment yet has no finished trial.
struct StoredSearch {
    let location: String
    let configuration: ExperimentConfiguration
    let trials: [TrialRecord]

    init(reading store: String) throws {
        let s = try openStoreForReading(store)
        guard let configuration = try s.configuration() else { throw ReportPage.NoFinishedTrial(store: s.location) }
        (location, self.configuration, trials) = (s.location, configuration, try s.trials())
    }
}

/// Flag checks shared by the commands: each (flag, value, minimum).
func validateCounts(_ checks: [(String, Int, Int)]) throws {
    for (flag, value, minimum) in checks where value < minimum {
        throw ValidationError("\(flag) must be at least \(minimum) (got \(value))")
    }
}

func validateThreads(_ threads: Int) throws {
    guard (1...1024).contains(threads) else { throw ValidationError("--threads must be from 1 to 1024 (got \(threads))") }
}

/// A seeded batch of `size` training images, zero-padded to 32×32 (NB201's input size).
func proxyBatch(_ data: Dataset, size: Int, seed: UInt64) -> (Tensor, [Int]) {
    var rng = SeededGenerator(seed: seed)
    var idx = Array(0..<data.count)
    idx.shuffle(using: &rng)
    let picked = data.subset(Array(idx.prefix(size)))
    let stats = data.channelStatistics()
    let padded = picked.normalized(mean: stats.mean, std: stats.std).padded(to: 32)
    return (Tensor(shape: [picked.count, 32, 32, padded.channels], data: padded.images), padded.labels)
}

/// The first `trainImages` training and `testImages` test images of an IDX folder, both
/// normalised with the training part's per-channel mean and standard deviation.
func firstImagesNormalized(_ path: String, trainImages: Int, testImages: Int) throws -> (train: Dataset, test: Dataset) {
    try validateCounts([("--train-images", trainImages, 1), ("--test-images", testImages, 1)])
    let (fullTrain, fullTest) = try DatasetReader.idxDirectory(path)
    guard fullTrain.count >= trainImages, fullTest.count >= testImages else {
        throw ValidationError("\(path) has \(fullTrain.count) training and \(fullTest.count) test images")
    }
    let train = fullTrain.prefix(trainImages), test = fullTest.prefix(testImages)
    let stats = train.channelStatistics()
    return (train.normalized(mean: stats.mean, std: stats.std), test.normalized(mean: stats.mean, std: stats.std))
}

/// A flag's comma-separated list of numbers (`--seeds 0,1,2`), refused with the flag's name when
/// empty or when an item is not a number.
func commaSeparated<T: LosslessStringConvertible>(_ text: String, _ flag: String) throws -> [T] {
    let items = text.split(separator: ",").map { T(String($0).trimmingCharacters(in: .whitespaces)) }
    guard !items.isEmpty, items.allSatisfy({ $0 != nil }) else {
        throw ValidationError("\(flag) must be a comma-separated list of numbers, got '\(text)'")
    }
    return items.compactMap { $0 }
}
