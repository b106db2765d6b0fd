import Foundation

/// Mono audio read from a RIFF/WAVE file of 16-bit signed little-endian PCM samples (the format of
/// the Free Spoken Digit Dataset and of most speech corpora); several channels are averaged.
/// Samples are scaled to [−1, 1). Any other encoding is refused with an error naming the file.
public struct WAVAudio: Equatable, Sendable {
    public var samples: [Float]
    public let sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Files above this size are refused before they are read (an hour of 16-bit stereo at 48 kHz).
    public static let maxBytes = 1 << 30

    public static func read(_ url: URL) throws -> WAVAudio {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard let size = attributes?[.size] as? Int else { throw DataError(file: url.path, "no such file") }
        guard size <= maxBytes else { throw DataError(file: url.path, "\(size) bytes exceed the limit of \(maxBytes)") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError(file: url.path, "cannot read: \(error.localizedDescription)") }
        return try decode(data, name: url.path)
    }

    /// Parses WAV bytes; `name` is used in errors.
    public static func decode(_ data: Data, name: String) throws -> WAVAudio {
        let bytes = [UInt8](data)
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func tag(_ at: Int) -> String { String(decoding: bytes[at..<(at + 4)], as: UTF8.self) }
        guard bytes.count >= 12, tag(0) == "RIFF", tag(8) == "WAVE" else {
            throw DataError(file: name, "not a WAV file (no RIFF/WAVE header)")
        }
        var format: (code: Int, channels: Int, rate: Int, bits: Int)? = nil
        var at = 12
        while at + 8 <= bytes.count {
            let id = tag(at), length = u32(at + 4), body = at + 8
            guard length <= bytes.count - body else { throw DataError(file: name, "chunk '\(id)' runs past the end of the file (truncated?)") }
            if id == "fmt " {
                guard length >= 16 else { throw DataError(file: name, "fmt chunk of \(length) bytes is too short") }
                format = (u16(body), u16(body + 2), u32(body + 4), u16(body + 14))
            } else if id == "data" {
                guard let f = format else { throw DataError(file: name, "data chunk before the fmt chunk") }
                // 0xFFFE (WAVE_FORMAT_EXTENSIBLE) may also carry PCM, but is refused: nothing here writes it.
                guard f.code == 1, f.bits == 16 else {
                    throw DataError(file: name, "not 16-bit PCM (format code \(f.code), \(f.bits) bits per sample); convert it, e.g. `sox in.wav -b 16 -e signed-integer out.wav`")
                }
                guard (1...16).contains(f.channels), (1...768_000).contains(f.rate) else {
                    throw DataError(file: name, "implausible format: \(f.channels) channels at \(f.rate) Hz")
                }
                let frames = length / (2 * f.channels)
                var samples = [Float](repeating: 0, count: frames)
                for i in 0..<frames {
                    var sum: Float = 0
                    for c in 0..<f.channels {
                        let p = body + 2 * (i * f.channels + c)
                        sum += Float(Int16(bitPattern: UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8))
                    }
                    samples[i] = sum / Float(f.channels) / 32768
                }
                return WAVAudio(samples: samples, sampleRate: f.rate)
            }
            at = body + length + (length & 1)   // chunks are padded to even sizes
        }
        throw DataError(file: name, format == nil ? "no fmt chunk" : "no data chunk")
    }

    /// 16-bit PCM mono WAV bytes of `samples` (clipped to [−1, 1]), for tests and tools.
    public func encoded() -> Data {
        var out = Data()
        func put32(_ v: Int) { out.append(contentsOf: [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) }) }
        func put16(_ v: Int) { out.append(contentsOf: [0, 8].map { UInt8(truncatingIfNeeded: v >> $0) }) }
        out.append(contentsOf: Array("RIFF".utf8)); put32(36 + 2 * samples.count); out.append(contentsOf: Array("WAVE".utf8))
        out.append(contentsOf: Array("fmt ".utf8)); put32(16); put16(1); put16(1); put32(sampleRate); put32(2 * sampleRate); put16(2); put16(16)
        out.append(contentsOf: Array("data".utf8)); put32(2 * samples.count)
        for s in samples { put16(Int((max(-1, min(1, s)) * 32767).rounded())) }
        return out
    }
}
