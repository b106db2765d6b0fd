import XCTest
@testable import NASTensor

/// Average pooling with stride 1 and a multiple of 16 channels takes a vectorised path; it must
/// agree with the general kernel (used for other channel counts) on every window, borders included.
final class PoolingFastPathTests: XCTestCase {
    func testStrideOneFastPathMatchesTheGeneralKernel() {
        var rng = SeededGenerator(seed: 9)
        for (h, w, k, p) in [(7, 6, 3, 1), (5, 9, 2, 0), (6, 6, 3, 0), (5, 5, 5, 2)] {
            for include in [false, true] {
                let wide = Tensor.normal([2, h, w, 17], using: &rng)
                let fast = avgPool2d(wide.slice(axis: 3, 0..<16), kernel: k, stride: 1, padding: p, countIncludePad: include)
                let general = avgPool2d(wide, kernel: k, stride: 1, padding: p, countIncludePad: include).slice(axis: 3, 0..<16)
                XCTAssertEqual(fast.shape, general.shape)
                for i in 0..<fast.count {
                    XCTAssertEqual(fast[flat: i], general[flat: i], accuracy: 1e-5, "\(h)×\(w) k\(k) p\(p) include \(include) at \(i)")
                }
            }
        }
    }
}
