import Foundation
import NASTensor

/// Weight initialisers matching PyTorch's `torch.nn.init`.
public enum Init {
    /// Fan-in and fan-out of a weight; conv weights are `[Cout, KH, KW, Cin/g]`.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans need a weight of rank ≥ 2, got \(shape)")
        let receptive = shape.count > 2 ? shape[1..<(shape.count - 1)].reduce(1, *) : 1
        let inputs = shape.count > 2 ? shape.last! : shape[1]
        return (inputs * receptive, shape[0] * receptive)
    }

    /// Kaiming (He) uniform: bound = gain·√(3/fan_in), gain = √(2/(1+a²)). PyTorch's default for
    /// `Linear` and `Conv2d` weights uses a = √5, which gives bound = 1/√fan_in.
    public static func kaimingUniform(_ shape: [Int], a: Float = Float(5).squareRoot(), using rng: inout SeededGenerator) -> Tensor {
        let gain = (2 / (1 + a * a)).squareRoot()
        let bound = gain * (3 / Float(fans(shape).fanIn)).squareRoot()
        return .uniform(shape, low: -bound, high: bound, using: &rng, requiresGrad: true)
    }

    /// Kaiming normal, fan-out mode with ReLU gain (what NAS codebases use for convs).
    public static func kaimingNormal(_ shape: [Int], fanOut: Bool = false, using rng: inout SeededGenerator) -> Tensor {
        let f = fanOut ? fans(shape).fanOut : fans(shape).fanIn
        return .normal(shape, std: (2 / Float(f)).squareRoot(), using: &rng, requiresGrad: true)
    }

    public static func xavierUniform(_ shape: [Int], gain: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        let (fi, fo) = fans(shape)
        let bound = gain * (6 / Float(fi + fo)).squareRoot()
        return .uniform(shape, low: -bound, high: bound, using: &rng, requiresGrad: true)
    }

    public static func xavierNormal(_ shape: [Int], gain: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        let (fi, fo) = fans(shape)
        return .normal(shape, std: gain * (2 / Float(fi + fo)).squareRoot(), using: &rng, requiresGrad: true)
    }

    /// Normal(mean, std) truncated to [a, b] by rejection (as `trunc_normal_`, used by ViTs).
    public static func truncatedNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, a: Float = -2, b: Float = 2,
                                       using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count {
            var v: Float
            repeat { v = mean + std * rng.nextNormal() } while v < a || v > b
            t[flat: i] = v
        }
        t.requiresGrad = true
        return t
    }

    /// PyTorch's default bias: U(−1/√fan_in, 1/√fan_in).
    public static func bias(_ count: Int, fanIn: Int, using rng: inout SeededGenerator) -> Tensor {
        let bound = 1 / Float(fanIn).squareRoot()
        return .uniform([count], low: -bound, high: bound, using: &rng, requiresGrad: true)
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(zeros: shape, requiresGrad: true) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape, requiresGrad: true) }
}
