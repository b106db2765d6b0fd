import Foundation
import XCTest
@testable import NASTensor

/// A test case that may change `Parallel.threadCount`: each test gets it back as it was.
class ThreadCountRestoringTestCase: XCTestCase {
    private var savedThreadCount = 1

    override func setUp() {
        super.setUp()
        savedThreadCount = Parallel.threadCount
    }

    override func tearDown() {
        Parallel.threadCount = savedThreadCount
        super.tearDown()
    }
}

// MARK: - Random inputs

/// Normal values `N(mean, std²)` from a seeded generator (plain leaf, no gradient yet).
func randn(_ shape: [Int], _ rng: inout SeededGenerator, mean: Float = 0, std: Float = 1) -> Tensor {
    Tensor.normal(shape, mean: mean, std: std, using: &rng)
}

/// Uniform values in `[low, high)`.
func randu(_ shape: [Int], _ rng: inout SeededGenerator, _ low: Float, _ high: Float) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, using: &rng)
}

/// Uniform magnitudes in `[low, high)` with random signs (keeps values away from zero).
func randSigned(_ shape: [Int], _ rng: inout SeededGenerator, _ low: Float, _ high: Float) -> Tensor {
    let t = randu(shape, &rng, low, high)
    for i in 0..<t.count where rng.nextFloat() < 0.5 { t.data[i] = -t.data[i] }
    return t
}

/// Moves every value closer than `margin` to one of `kinks` out to distance `margin`, so finite
/// differences never straddle a point where the op is not differentiable.
func awayFrom(_ t: Tensor, _ kinks: [Float], margin: Float = 0.05) -> Tensor {
    for i in 0..<t.count {
        for k in kinks where Swift.abs(t.data[i] - k) < margin {
            t.data[i] = t.data[i] >= k ? k + margin : k - margin
        }
    }
    return t
}

/// Pairwise distinct values (a shuffled ramp with spacing `spacing`): no ties for max-type ops.
func distinct(_ shape: [Int], _ rng: inout SeededGenerator, spacing: Float = 0.05) -> Tensor {
    let n = elementCount(shape)
    var values = (0..<n).map { Float($0) * spacing - Float(n) * spacing / 2 }
    values.shuffle(using: &rng)
    return Tensor(shape: shape, data: values)
}

// MARK: - Finite-difference gradient check

/// Compares autograd against central differences for the scalar `L = Σ f(inputs) ⊙ R` with a
/// fixed random `R`: the analytic gradient is seeded with `R` directly (`out.backward(R)`), the
/// numeric one evaluates `L` with a Float64 accumulation at `x ± step` for every input element.
/// Returns one line per disagreeing element (empty when the gradients agree), plus a line for
/// any input whose gradient is missing or numerically zero everywhere (a vacuous check).
func gradientMismatches(_ inputs: [Tensor], seed: UInt64 = 0x5EED, step: Float = 1e-2,
                        rtol: Double = 2e-3, atol: Double = 2e-4, _ f: ([Tensor]) -> Tensor) -> [String] {
    for t in inputs { t.requiresGrad = true; t.grad = nil }
    let out = f(inputs)
    guard out.requiresGrad else { return ["output does not require grad (op not recorded)"] }
    var rng = SeededGenerator(seed: seed)
    let r = randn(out.shape, &rng)
    out.backward(r)
    let weights = r.array.map(Double.init)

    func loss() -> Double {
        withoutGrad {
            let o = f(inputs)
            precondition(o.count == weights.count, "output size changed between evaluations")
            var s = 0.0
            for i in 0..<o.count { s += Double(o.data[i]) * weights[i] }
            return s
        }
    }

    var problems: [String] = []
    for (ti, t) in inputs.enumerated() {
        guard let g = t.grad else { problems.append("input \(ti) \(t.shape): no gradient"); continue }
        guard g.count == t.count else {
            problems.append("input \(ti) \(t.shape): gradient has shape \(g.shape)"); continue
        }
        var largest = 0.0
        for j in 0..<t.count {
            let x0 = t.data[j]
            let xp = x0 + step, xm = x0 - step
            t.data[j] = xp
            let lp = loss()
            t.data[j] = xm
            let lm = loss()
            t.data[j] = x0
            let numeric = (lp - lm) / (Double(xp) - Double(xm))
            let analytic = Double(g.data[j])
            largest = Swift.max(largest, Swift.abs(numeric))
            if !(Swift.abs(numeric - analytic) <= atol + rtol * Swift.max(Swift.abs(numeric), Swift.abs(analytic))) {
                problems.append("input \(ti) \(t.shape) element \(j): autograd \(analytic), numeric \(numeric)")
            }
        }
        if largest < 1e-3 { problems.append("input \(ti) \(t.shape): numeric gradient is zero, check is vacuous") }
    }
    return problems
}

/// Fails the test with the first few disagreements reported by `gradientMismatches`.
func assertGradients(_ name: String, _ inputs: [Tensor], step: Float = 1e-2, rtol: Double = 2e-3,
                     atol: Double = 2e-4, file: StaticString = #filePath, line: UInt = #line,
                     _ f: ([Tensor]) -> Tensor) {
    let problems = gradientMismatches(inputs, step: step, rtol: rtol, atol: atol, f)
    if !problems.isEmpty {
        let shown = problems.prefix(6).joined(separator: "\n  ")
        XCTFail("\(name): \(problems.count) gradient mismatches\n  \(shown)", file: file, line: line)
    }
}

// MARK: - Closeness

/// Asserts two value arrays agree elementwise: |a − e| ≤ atol + rtol·|e|, with `atol` scaled by
/// the largest expected magnitude (so it is a relative tolerance for the tensor as a whole).
func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-4, atol: Float = 1e-5,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(message()): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    let scale = Swift.max(1, expected.map { Swift.abs($0) }.max() ?? 0)
    var bad: [String] = []
    for i in 0..<actual.count {
        let tol = atol * scale + rtol * Swift.abs(expected[i])
        if !(Swift.abs(actual[i] - expected[i]) <= tol) {
            bad.append("[\(i)] \(actual[i]) vs \(expected[i])")
        }
    }
    if !bad.isEmpty {
        XCTFail("\(message()): \(bad.count)/\(actual.count) values differ: \(bad.prefix(6).joined(separator: ", "))",
                file: file, line: line)
    }
}

func assertClose(_ actual: Tensor?, _ expected: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard let actual else { XCTFail("\(message()): missing tensor", file: file, line: line); return }
    XCTAssertEqual(actual.shape, expected.shape, "\(message()): shape", file: file, line: line)
    assertClose(actual.array, expected.array, rtol: rtol, atol: atol, message(), file: file, line: line)
}
