import Foundation
import NASTensor

/// One recording of a spoken digit, named as the Free Spoken Digit Dataset names them:
/// `{digit}_{speaker}_{index}.wav`.
public struct SpokenDigitRecording: Hashable, Sendable {
    public let digit: Int
    public let speaker: String
    public let index: Int
    public let file: URL

    /// Every `*.wav` in `folder`; a name that does not follow the pattern is an error naming it.
    public static func list(_ folder: URL) throws -> [SpokenDigitRecording] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw DataError(file: folder.path, "cannot list the folder: \(error.localizedDescription)")
        }
        var out: [SpokenDigitRecording] = []
        for name in names.sorted() where name.lowercased().hasSuffix(".wav") {
            let parts = name.dropLast(4).split(separator: "_")
            guard parts.count == 3, let d = Int(parts[0]), (0...9).contains(d), let i = Int(parts[2]), !parts[1].isEmpty else {
                throw DataError(file: folder.appendingPathComponent(name).path, "not named {digit}_{speaker}_{index}.wav")
            }
            out.append(SpokenDigitRecording(digit: d, speaker: String(parts[1]), index: i, file: folder.appendingPathComponent(name)))
        }
        guard !out.isEmpty else { throw DataError(file: folder.path, "no .wav recordings") }
        return out
    }
}

/// An AV-MNIST-style set: each handwritten digit image paired with a spoken recording of the same
/// digit, as two aligned data sets — `image` (the images) and `audio` (log-mel spectrograms as
/// one-channel `mels × frames` images) with the same labels in the same order.
public struct AudioVisualSet: Sendable {
    public var image: Dataset
    public var audio: Dataset
    public var count: Int { image.count }
    public var labels: [Int] { image.labels }
}

/// Train, validation and test pairs whose speakers are disjoint (a model must recognise digits
/// spoken by voices it never heard), and whose images are disjoint.
public struct AudioVisualSplits: Sendable {
    public var train: AudioVisualSet
    public var validation: AudioVisualSet
    public var test: AudioVisualSet
    public var trainSpeakers: [String], validationSpeakers: [String], testSpeakers: [String]

    /// Speakers sorted by name: the last third (at least one) are the test speakers, the one
    /// before them validates, the rest train. With FSDD's six: george, jackson, lucas train;
    /// nicolas validates; theo and yweweler test.
    public static func speakerSplit(_ speakers: [String]) throws -> (train: [String], validation: [String], test: [String]) {
        let s = Array(Set(speakers)).sorted()
        guard s.count >= 3 else { throw DataError(file: "recordings", "need at least 3 speakers to split train/validation/test, found \(s)") }
        let test = max(1, s.count / 3)
        return (Array(s[..<(s.count - test - 1)]), [s[s.count - test - 1]], Array(s[(s.count - test)...]))
    }

    /// Pairs `images` (one channel, labels 0–9) with `recordings`: the images are shuffled with
    /// `seed` and cut 60/20/20 into train/validation/test, and each image gets a recording of its
    /// digit drawn (with `seed`, with replacement) from that split's speakers. Pixel values and
    /// spectrograms are standardised with the training pairs' mean and standard deviation.
    ///
    /// With `imageEnergy` < 1 the images are degraded as AV-MNIST degrades them (Vielzeuf et al.):
    /// each is rebuilt from the fewest leading principal components of the training images that
    /// hold that fraction of their variance, so that neither modality alone is enough.
    public static func make(images: Dataset, recordings: [SpokenDigitRecording], spectrogram: LogMelSpectrogram,
                            imageEnergy: Double = 1, seed: UInt64) throws -> AudioVisualSplits {
        guard imageEnergy > 0, imageEnergy <= 1 else { throw DataError(file: "image energy", "must be in (0, 1], got \(imageEnergy)") }
        try spectrogram.validate()
        guard images.channels == 1, images.count >= 10 else {
            throw DataError(file: "images", "need at least 10 one-channel images, got \(images.count) of \(images.channels) channels")
        }
        guard images.labels.allSatisfy({ (0...9).contains($0) }) else { throw DataError(file: "images", "labels must be digits 0–9") }
        let speakers = try speakerSplit(recordings.map(\.speaker))
        var rng = SeededGenerator(seed: seed)
        var order = Array(0..<images.count)
        order.seededShuffle(using: &rng)
        let a = images.count * 6 / 10, b = images.count * 8 / 10
        let parts = [Array(order[..<a]), Array(order[a..<b]), Array(order[b...])]
        var cache: [URL: [Float]] = [:]
        func pair(_ indices: [Int], _ who: [String]) throws -> AudioVisualSet {
            let byDigit = Dictionary(grouping: recordings.filter { who.contains($0.speaker) }, by: \.digit)
            var audio: [Float] = []
            audio.reserveCapacity(indices.count * spectrogram.mels * spectrogram.frames)
            for i in indices {
                let d = images.labels[i]
                guard let pool = byDigit[d], !pool.isEmpty else {
                    throw DataError(file: recordings.first?.file.deletingLastPathComponent().path ?? "recordings",
                                    "no recording of digit \(d) by \(who.joined(separator: ", ")) to pair with its images")
                }
                let r = pool[Int(rng.next() % UInt64(pool.count))]
                if cache[r.file] == nil {
                    let wav = try WAVAudio.read(r.file)
                    guard wav.sampleRate == spectrogram.sampleRate else {
                        throw DataError(file: r.file.path, "sampled at \(wav.sampleRate) Hz; the spectrogram expects \(spectrogram.sampleRate) Hz")
                    }
                    cache[r.file] = spectrogram(wav.samples)
                }
                audio += cache[r.file] ?? []
            }
            let sub = images.subset(indices)
            return AudioVisualSet(image: sub, audio: Dataset(images: audio, labels: sub.labels, height: spectrogram.mels,
                                                             width: spectrogram.frames, channels: 1, classCount: 10))
        }
        var train = try pair(parts[0], speakers.train)
        var validation = try pair(parts[1], speakers.validation)
        var test = try pair(parts[2], speakers.test)
        if imageEnergy < 1 {
            let pca = try PrincipalComponents(train.image, energy: imageEnergy)
            train.image = pca.reconstructed(train.image)
            validation.image = pca.reconstructed(validation.image)
            test.image = pca.reconstructed(test.image)
        }
        for keyPath in [\AudioVisualSet.image, \AudioVisualSet.audio] {
            let stats = train[keyPath: keyPath].channelStatistics()
            train[keyPath: keyPath] = train[keyPath: keyPath].normalized(mean: stats.mean, std: stats.std)
            validation[keyPath: keyPath] = validation[keyPath: keyPath].normalized(mean: stats.mean, std: stats.std)
            test[keyPath: keyPath] = test[keyPath: keyPath].normalized(mean: stats.mean, std: stats.std)
        }
        return AudioVisualSplits(train: train, validation: validation, test: test, trainSpeakers: speakers.train,
                                 validationSpeakers: speakers.validation, testSpeakers: speakers.test)
    }
}

/// The leading principal components of a data set's images that hold a fraction of its variance.
struct PrincipalComponents {
    let mean: [Double]
    let components: [[Double]]

    init(_ d: Dataset, energy: Double) throws {
        let n = d.count, p = d.imageSize
        var mean = [Double](repeating: 0, count: p)
        for i in 0..<n { for j in 0..<p { mean[j] += Double(d.images[i * p + j]) } }
        mean = mean.map { $0 / Double(n) }
        // Covariance through one GEMM of the centred images.
        var centred = [Float](repeating: 0, count: n * p)
        for i in 0..<n { for j in 0..<p { centred[i * p + j] = d.images[i * p + j] - Float(mean[j]) } }
        let x = Tensor(shape: [n, p], data: centred)
        let covariance = matmul(x, x, transposeA: true).array.map { Double($0) / Double(n) }
        guard let eigen = LinearAlgebra.symmetricEigen(covariance, n: p) else {
            throw DataError(file: "images", "principal components did not converge")
        }
        let total = eigen.values.map { max($0, 0) }.reduce(0, +)
        var kept = 0, sum = 0.0
        while kept < p, sum < energy * total { sum += max(eigen.values[kept], 0); kept += 1 }
        self.mean = mean
        components = Array(eigen.vectors.prefix(max(kept, 1)))
    }

    /// Each image replaced by the mean plus its projection on the kept components.
    func reconstructed(_ d: Dataset) -> Dataset {
        let p = d.imageSize
        var out = d
        for i in 0..<d.count {
            let centred = (0..<p).map { Double(d.images[i * p + $0]) - mean[$0] }
            var image = mean
            for v in components {
                var dot = 0.0
                for j in 0..<p { dot += centred[j] * v[j] }
                for j in 0..<p { image[j] += dot * v[j] }
            }
            for j in 0..<p { out.images[i * p + j] = Float(image[j]) }
        }
        return out
    }
}
