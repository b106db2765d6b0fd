import Foundation
@testable import NASData
import NASTensor
import XCTest

final class AudioTests: XCTestCase {
    func testWAVRoundTripsAndRefusesOtherEncodings() throws {
        let audio = WAVAudio(samples: [0, 0.5, -0.5, 1, -1, 0.25], sampleRate: 8000)
        let back = try WAVAudio.decode(audio.encoded(), name: "round trip")
        XCTAssertEqual(back.sampleRate, 8000)
        for (a, b) in zip(back.samples, audio.samples) { XCTAssertEqual(a, b, accuracy: 1 / 32768) }
        // Stereo 16-bit: the two channels are averaged.
        var stereo = Data("RIFF".utf8) + le32(36 + 8) + Data("WAVE".utf8) + Data("fmt ".utf8) + le32(16)
        stereo += le16(1) + le16(2) + le32(8000) + le32(32000) + le16(4) + le16(16) + Data("data".utf8) + le32(8)
        stereo += le16(16384) + le16(0) + le16(0xC000) + le16(0xC000)
        XCTAssertEqual(try WAVAudio.decode(stereo, name: "stereo").samples, [0.25, -0.5])
        // 8-bit PCM, float and truncated files are refused, naming the file.
        var eightBit = audio.encoded()
        eightBit[34] = 8
        var float = audio.encoded()
        float[20] = 3
        for (bytes, mentions) in [(eightBit, "not 16-bit PCM"), (float, "format code 3"), (audio.encoded().prefix(30), "truncated"),
                                  (Data("hello".utf8), "not a WAV file"), (audio.encoded().prefix(12), "no fmt chunk")] {
            XCTAssertThrowsError(try WAVAudio.decode(Data(bytes), name: "x.wav")) { error in
                XCTAssertTrue("\(error)".contains("x.wav") && "\(error)".contains(mentions), "\(error)")
            }
        }
    }

    private func le32(_ v: Int) -> Data { Data([0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) }) }
    private func le16(_ v: Int) -> Data { Data([0, 8].map { UInt8(truncatingIfNeeded: v >> $0) }) }

    func testFFTEqualsTheDefinition() {
        let n = 64
        let x = (0..<n).map { sin(Double($0) * 0.3) + 0.1 * Double($0 % 7) }
        var re = x, im = [Double](repeating: 0, count: n)
        fft(&re, &im)
        for k in 0..<n {
            var r = 0.0, i = 0.0
            for t in 0..<n { r += x[t] * cos(-2 * .pi * Double(k * t) / Double(n)); i += x[t] * sin(-2 * .pi * Double(k * t) / Double(n)) }
            XCTAssertEqual(re[k], r, accuracy: 1e-9)
            XCTAssertEqual(im[k], i, accuracy: 1e-9)
        }
    }

    /// Against NumPy (scripts/make_logmel_fixtures.py): the same signal, FFT, window and mel bank.
    func testLogMelMatchesNumPy() throws {
        var g = LogMelSpectrogram()
        (g.samples, g.fftSize, g.hop, g.mels) = (2048, 256, 128, 16)
        try g.validate()
        XCTAssertEqual(g.frames, logMelFixtureFrames)
        let got = g(logMelFixturePCM.map { Float($0) / 32768 })
        XCTAssertEqual(got.count, logMelFixtureExpected.count)
        var worst: Float = 0
        for (a, b) in zip(got, logMelFixtureExpected) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThan(worst, 1e-4, "largest difference from NumPy \(worst)")
        // Every filter is a triangle peaking at 1 (or just below, between FFT bins).
        for f in g.melFilters() { XCTAssertTrue((f.max() ?? 0) > 0.3 && (f.max() ?? 2) <= 1) }
        g.fftSize = 200
        XCTAssertThrowsError(try g.validate())
    }

    /// A folder of recordings of tones, one pitch per digit, for pairing tests.
    func toneFolder(speakers: [String], digits: ClosedRange<Int> = 0...9, perDigit: Int = 2) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wav-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for s in speakers { for d in digits { for i in 0..<perDigit {
            let samples = (0..<2000).map { Float(0.3 * sin(Double($0) * Double(d + 1) * 0.05 + Double(i))) }
            try WAVAudio(samples: samples, sampleRate: 8000).encoded().write(to: folder.appendingPathComponent("\(d)_\(s)_\(i).wav"))
        }}}
        return folder
    }

    func digits(count: Int) -> Dataset {
        Dataset(images: (0..<(count * 16)).map { Float(($0 * 7) % 11) / 10 }, labels: (0..<count).map { $0 % 10 }, height: 4, width: 4, channels: 1)
    }

    func testPairsHaveMatchingDigitsAndDisjointSpeakers() throws {
        let folder = try toneFolder(speakers: ["ann", "bob", "cem", "dan", "eve", "fay"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let recordings = try SpokenDigitRecording.list(folder)
        XCTAssertEqual(recordings.count, 120)
        var g = LogMelSpectrogram()
        (g.samples, g.mels) = (2048, 8)
        let splits = try AudioVisualSplits.make(images: digits(count: 100), recordings: recordings, spectrogram: g, seed: 1)
        XCTAssertEqual([splits.train.count, splits.validation.count, splits.test.count], [60, 20, 20])
        XCTAssertEqual(splits.trainSpeakers, ["ann", "bob", "cem"])
        XCTAssertEqual(splits.validationSpeakers, ["dan"])
        XCTAssertEqual(splits.testSpeakers, ["eve", "fay"])
        for set in [splits.train, splits.validation, splits.test] {
            XCTAssertEqual(set.image.labels, set.audio.labels)
            XCTAssertEqual(set.audio.imageShape, [8, g.frames, 1])
        }
        // Same seed, same pairs; the spectrogram of a pair is one of its digit's tones.
        let again = try AudioVisualSplits.make(images: digits(count: 100), recordings: recordings, spectrogram: g, seed: 1)
        XCTAssertEqual(again.test.audio.images, splits.test.audio.images)
        // A digit nobody in a split recorded cannot be paired; the error names the folder and digit.
        let partial = try toneFolder(speakers: ["ann", "bob", "cem"], digits: 0...8)
        defer { try? FileManager.default.removeItem(at: partial) }
        XCTAssertThrowsError(try AudioVisualSplits.make(images: digits(count: 100), recordings: SpokenDigitRecording.list(partial),
                                                        spectrogram: g, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("digit 9") && "\(error)".contains(partial.lastPathComponent), "\(error)")
        }
        XCTAssertThrowsError(try AudioVisualSplits.speakerSplit(["a", "b"]))
        try Data("x".utf8).write(to: folder.appendingPathComponent("bad-name.wav"))
        XCTAssertThrowsError(try SpokenDigitRecording.list(folder)) { XCTAssertTrue("\($0)".contains("bad-name.wav")) }
    }

    func testPrincipalComponentsKeepTheRequestedEnergy() throws {
        var rng = SeededGenerator(seed: 3)
        // Images on a 2-D plane of a 16-D space plus small noise: two components hold almost all variance.
        let count = 200
        var images: [Float] = []
        for _ in 0..<count {
            let a = Float.random(in: -1...1, using: &rng), b = Float.random(in: -1...1, using: &rng)
            for j in 0..<16 { images.append(a * Float(j % 4) + b * Float(j / 4) * 0.5 + Float.random(in: -0.01...0.01, using: &rng)) }
        }
        let d = Dataset(images: images, labels: [Int](repeating: 0, count: count), height: 4, width: 4, channels: 1)
        let all = try PrincipalComponents(d, energy: 0.999)
        XCTAssertEqual(all.components.count, 2)
        for (i, u) in all.components.enumerated() {
            for (j, v) in all.components.enumerated() {
                XCTAssertEqual(zip(u, v).map { $0 * $1 }.reduce(0, +), i == j ? 1 : 0, accuracy: 1e-9)
            }
        }
        let rebuilt = all.reconstructed(d)
        for (a, b) in zip(rebuilt.images, d.images) { XCTAssertEqual(a, b, accuracy: 0.05) }
        XCTAssertEqual(try PrincipalComponents(d, energy: 0.3).components.count, 1)
    }
}
