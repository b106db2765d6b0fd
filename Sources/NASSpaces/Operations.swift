import NASNN
import NASTensor

/// An operation a layer choice can hold, by the name users know from NAS-Bench-201 and DARTS.
public struct OperationSpec: Sendable {
    public let name: String
    public let summary: String
    /// Builds the operation for `channels` in and out with `stride` (1, or 2 on the input edges
    /// of a DARTS reduction cell) and affine or non-affine batch norms.
    public let make: @Sendable (_ channels: Int, _ stride: Int, _ affine: Bool, _ rng: inout SeededGenerator) -> CandidateOperation
}

/// Every operation of every space. Adding an operation is one entry here; a space then names it
/// in its candidate list (docs/model_spaces.md shows an example).
public enum OperationRegistry {
    public static let all: [OperationSpec] = [
        OperationSpec(name: "none", summary: "the zero operation (no edge)") { _, _, _, _ in
            CandidateOperation("none", isZero: true) { _ in nil }
        },
        OperationSpec(name: "skip_connect", summary: "identity; a factorized reduction at stride 2") { c, stride, affine, rng in
            if stride == 1 { return CandidateOperation("skip_connect", standInWeights: [identityKernel(c)]) { $0 } }
            let reduce = FactorizedReduce(c, c, affine: affine, using: &rng)
            return CandidateOperation("skip_connect", body: reduce) { reduce($0) }
        },
        OperationSpec(name: "avg_pool_3x3", summary: "3×3 average pooling (padding not counted)") { c, stride, _, _ in
            CandidateOperation("avg_pool_3x3", standInWeights: [Tensor(repeating: 1.0 / 9, shape: [c, 9])]) {
                avgPool2d($0, kernel: 3, stride: stride, padding: 1, countIncludePad: false)
            }
        },
        OperationSpec(name: "max_pool_3x3", summary: "3×3 max pooling") { _, stride, _, _ in
            CandidateOperation("max_pool_3x3") { maxPool2d($0, kernel: 3, stride: stride, padding: 1) }
        },
        convolution("nor_conv_1x1", "ReLU, 1×1 convolution, batch norm (NAS-Bench-201)", kernel: 1),
        convolution("nor_conv_3x3", "ReLU, 3×3 convolution, batch norm (NAS-Bench-201)", kernel: 3),
        separable("sep_conv_3x3", kernel: 3),
        separable("sep_conv_5x5", kernel: 5),
        dilated("dil_conv_3x3", kernel: 3),
        dilated("dil_conv_5x5", kernel: 5),
    ]

    public static func spec(_ name: String) -> OperationSpec? { all.first { $0.name == name } }

    /// The operation `name`; the name must be in `all` (spaces name their candidates in code).
    public static func make(_ name: String, channels: Int, stride: Int = 1, affine: Bool,
                            using rng: inout SeededGenerator) -> CandidateOperation {
        guard let spec = spec(name) else { preconditionFailure("no operation named '\(name)' in OperationRegistry") }
        return spec.make(channels, stride, affine, &rng)
    }

    static func identityKernel(_ c: Int) -> Tensor {
        Tensor(shape: [c, c], data: (0..<(c * c)).map { $0 / c == $0 % c ? 1 : 0 })
    }

    private static func convolution(_ name: String, _ summary: String, kernel k: Int) -> OperationSpec {
        OperationSpec(name: name, summary: summary) { c, stride, affine, rng in
            let unit = ReLUConvBN(c, c, kernel: k, stride: stride, padding: k / 2, affine: affine, using: &rng)
            return CandidateOperation(name, body: unit) { unit($0, observer: nil) }
        }
    }

    private static func separable(_ name: String, kernel k: Int) -> OperationSpec {
        OperationSpec(name: name, summary: "two ReLU, depthwise \(k)×\(k), pointwise, batch norm stacks (DARTS)") { c, stride, affine, rng in
            let unit = SeparableConv(c, c, kernel: k, stride: stride, affine: affine, using: &rng)
            return CandidateOperation(name, body: unit) { unit($0) }
        }
    }

    private static func dilated(_ name: String, kernel k: Int) -> OperationSpec {
        OperationSpec(name: name, summary: "ReLU, depthwise \(k)×\(k) with dilation 2, pointwise, batch norm (DARTS)") { c, stride, affine, rng in
            let unit = DilatedConv(c, c, kernel: k, stride: stride, dilation: 2, affine: affine, using: &rng)
            return CandidateOperation(name, body: unit) { unit($0) }
        }
    }
}

/// ReLU → depthwise k×k (dilated) → pointwise 1×1 → batch norm: DARTS's `DilConv`.
public final class DilatedConv: Module {
    public let depthwise: Conv2d
    public let pointwise: Conv2d
    public let bn: BatchNorm

    public init(_ cin: Int, _ cout: Int, kernel k: Int, stride: Int, dilation: Int, affine: Bool,
                using rng: inout SeededGenerator) {
        depthwise = Conv2d(cin, cin, kernel: k, stride: stride, padding: dilation * (k - 1) / 2, dilation: dilation,
                           groups: cin, bias: false, using: &rng)
        pointwise = Conv2d(cin, cout, kernel: 1, bias: false, using: &rng)
        bn = BatchNorm(cout, affine: affine)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { bn(pointwise(depthwise(relu(x)))) }
}

/// Two dilation-1 `DilatedConv` stacks, the first with the stride: DARTS's `SepConv`.
public final class SeparableConv: Module {
    public let first: DilatedConv
    public let second: DilatedConv

    public init(_ cin: Int, _ cout: Int, kernel k: Int, stride: Int, affine: Bool, using rng: inout SeededGenerator) {
        first = DilatedConv(cin, cin, kernel: k, stride: stride, dilation: 1, affine: affine, using: &rng)
        second = DilatedConv(cin, cout, kernel: k, stride: 1, dilation: 1, affine: affine, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { second(first(x)) }
}

/// Halves the resolution without losing pixels: ReLU, then two stride-2 1×1 convolutions on the
/// image and on the image shifted by one pixel, concatenated, batch norm (DARTS's `FactorizedReduce`).
public final class FactorizedReduce: Module {
    public let convA: Conv2d
    public let convB: Conv2d
    public let bn: BatchNorm

    public init(_ cin: Int, _ cout: Int, affine: Bool, using rng: inout SeededGenerator) {
        precondition(cout % 2 == 0, "FactorizedReduce needs an even number of output channels, got \(cout)")
        convA = Conv2d(cin, cout / 2, kernel: 1, stride: 2, bias: false, using: &rng)
        convB = Conv2d(cin, cout / 2, kernel: 1, stride: 2, bias: false, using: &rng)
        bn = BatchNorm(cout, affine: affine)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let r = relu(x)
        let h = x.shape[1], w = x.shape[2]
        let shifted = r.slice(axis: 1, 1..<h).slice(axis: 2, 1..<w).padded([(0, 0), (0, 1), (0, 1), (0, 0)])
        return bn(concatenate([convA(r), convB(shifted)], axis: 3))
    }
}
