import Foundation

/// Log-mel spectrogram of a mono signal, the usual front end for spoken-digit models:
///
/// 1. the signal is cut or zero-padded at the end to `samples` values;
/// 2. frames of `fftSize` values start every `hop` values (no centring padding), each multiplied
///    by the periodic Hann window w[n] = ½ − ½·cos(2πn / fftSize);
/// 3. power spectrum |rFFT|² of each frame (bins 0…fftSize/2);
/// 4. `mels` triangular filters on the HTK mel scale (mel = 2595·log₁₀(1 + f/700)), their edges
///    evenly spaced in mel from 0 Hz to the Nyquist frequency, unnormalised;
/// 5. natural log of each filter's energy + 1e-6.
///
/// The result is `mels × frames`, row-major (one row per mel band), frames = 1 + (samples − fftSize)/hop.
/// `scripts/make_logmel_fixtures.py` computes the same with NumPy's FFT for the tests.
public struct LogMelSpectrogram: Codable, Equatable, Sendable {
    public var sampleRate = 8000
    public var samples = 8192
    public var fftSize = 256
    public var hop = 128
    public var mels = 32

    public init() {}

    public var frames: Int { 1 + (samples - fftSize) / hop }

    public func validate() throws {
        guard fftSize >= 8, fftSize <= 1 << 16, fftSize & (fftSize - 1) == 0 else {
            throw DataError(file: "spectrogram", "FFT size must be a power of two in 8…65536 (got \(fftSize))")
        }
        guard hop >= 1, samples >= fftSize, samples <= 1 << 24 else {
            throw DataError(file: "spectrogram", "needs hop ≥ 1 and fftSize ≤ samples ≤ 2^24 (got hop \(hop), samples \(samples))")
        }
        guard mels >= 1, mels <= fftSize / 2, sampleRate >= 1 else {
            throw DataError(file: "spectrogram", "mel bands must be in 1…\(fftSize / 2) (got \(mels)) and the sample rate positive")
        }
    }

    /// The filter bank, `mels × (fftSize/2 + 1)` weights.
    public func melFilters() -> [[Double]] {
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        func hertz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }
        let bins = fftSize / 2 + 1, top = mel(Double(sampleRate) / 2)
        let edges = (0...(mels + 1)).map { hertz(top * Double($0) / Double(mels + 1)) }
        return (0..<mels).map { m in
            (0..<bins).map { k in
                let f = Double(k) * Double(sampleRate) / Double(fftSize)
                let up = (f - edges[m]) / (edges[m + 1] - edges[m]), down = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1])
                return max(0, min(up, down))
            }
        }
    }

    /// The log-mel values of `signal`, `mels × frames` row-major.
    public func callAsFunction(_ signal: [Float]) -> [Float] {
        let filters = melFilters(), n = fftSize, bins = n / 2 + 1
        var x = [Double](repeating: 0, count: samples)
        for i in 0..<min(samples, signal.count) { x[i] = Double(signal[i]) }
        let window = (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
        var out = [Float](repeating: 0, count: mels * frames)
        var re = [Double](repeating: 0, count: n), im = re
        for t in 0..<frames {
            for i in 0..<n { re[i] = x[t * hop + i] * window[i]; im[i] = 0 }
            fft(&re, &im)
            let power = (0..<bins).map { re[$0] * re[$0] + im[$0] * im[$0] }
            for m in 0..<mels {
                var e = 0.0
                for k in 0..<bins where filters[m][k] > 0 { e += filters[m][k] * power[k] }
                out[m * frames + t] = Float(log(e + 1e-6))
            }
        }
        return out
    }
}

/// In-place iterative radix-2 FFT (the length is a power of two).
func fft(_ re: inout [Double], _ im: inout [Double]) {
    let n = re.count
    var j = 0
    for i in 1..<n {
        var bit = n >> 1
        while j & bit != 0 { j ^= bit; bit >>= 1 }
        j |= bit
        if i < j { re.swapAt(i, j); im.swapAt(i, j) }
    }
    var length = 2
    while length <= n {
        let angle = -2 * Double.pi / Double(length)
        for start in stride(from: 0, to: n, by: length) {
            for k in 0..<(length / 2) {
                let (c, s) = (cos(angle * Double(k)), sin(angle * Double(k)))
                let a = start + k, b = a + length / 2
                let tr = re[b] * c - im[b] * s, ti = re[b] * s + im[b] * c
                (re[b], im[b]) = (re[a] - tr, im[a] - ti)
                (re[a], im[a]) = (re[a] + tr, im[a] + ti)
            }
        }
        length <<= 1
    }
}
