import NASTensor

/// y = x·Wᵀ + b, with W stored `[out, in]` as in PyTorch.
public final class Linear: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, using rng: inout SeededGenerator) {
        weight = Init.kaimingUniform([outFeatures, inFeatures], using: &rng)
        self.bias = bias ? Init.bias(outFeatures, fanIn: inFeatures, using: &rng) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// 2-D convolution on channels-last input; weight `[Cout, KH, KW, Cin/groups]`.
public final class Conv2d: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let options: Conv2dOptions

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, using rng: inout SeededGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) not divisible by \(groups) groups")
        weight = Init.kaimingUniform([outChannels, kernel, kernel, inChannels / groups], using: &rng)
        self.bias = bias ? Init.bias(outChannels, fanIn: inChannels / groups * kernel * kernel, using: &rng) : nil
        options = Conv2dOptions(stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv2d(x, weight, bias: bias, options) }
}

/// Transposed 2-D convolution (weights `[Cin, K, K, Cout]`, as `conv2d`'s adjoint wants them);
/// with kernel = stride = 2 it doubles the height and width, the upsampling of U-Net decoders.
public final class ConvTranspose2d: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let options: Conv2dOptions

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, bias: Bool = true,
                using rng: inout SeededGenerator) {
        // PyTorch's ConvTranspose2d computes its default bound from Cout·K·K.
        let bound = 1 / Float(outChannels * kernel * kernel).squareRoot()
        weight = .uniform([inChannels, kernel, kernel, outChannels], low: -bound, high: bound, using: &rng, requiresGrad: true)
        self.bias = bias ? .uniform([outChannels], low: -bound, high: bound, using: &rng, requiresGrad: true) : nil
        options = Conv2dOptions(stride: stride, padding: 0)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { convTranspose2d(x, weight, bias: bias, options) }
}

/// Batch normalisation over the channel (last) axis of `[N, H, W, C]` or `[N, C]`.
public final class BatchNorm: Module, Layer {
    public let weight: Tensor?
    public let bias: Tensor?
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let momentum: Float
    public let eps: Float
    /// When set the layer passes its input through unchanged (synflow scores networks without
    /// batch norm).
    public var isBypassed = false

    public init(_ channels: Int, affine: Bool = true, momentum: Float = 0.1, eps: Float = 1e-5) {
        weight = affine ? Init.ones([channels]) : nil
        bias = affine ? Init.zeros([channels]) : nil
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(repeating: 1, shape: [channels])
        self.momentum = momentum
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, adding: nil, channelSums: nil) }

    /// `residual + self(x)` (the sum formed in the normalisation's own pass), given x's per-channel
    /// sums and sums of squares when its producer formed them (`reluConv2dWithChannelSums`).
    public func callAsFunction(_ x: Tensor, adding residual: Tensor?, channelSums: [Double]?) -> Tensor {
        if isBypassed { return residual.map { $0 + x } ?? x }
        return batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                         training: training, momentum: momentum, eps: eps, adding: residual,
                         channelSums: training ? channelSums : nil)
    }
}

/// PyTorch's name for the same layer on images.
public typealias BatchNorm2d = BatchNorm

public final class LayerNorm: Module, Layer {
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float

    public init(_ dim: Int, affine: Bool = true, eps: Float = 1e-5) {
        weight = affine ? Init.ones([dim]) : nil
        bias = affine ? Init.zeros([dim]) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// Dropout with its own seeded generator (saved in checkpoints through `generatorState`).
public final class Dropout: Module, Layer {
    public let p: Float
    public var generator: SeededGenerator

    public init(_ p: Float, seed: UInt64 = 0) {
        self.p = p
        generator = SeededGenerator(seed: seed)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(x, p: p, training: training, using: &generator) }
}

/// Lookup table `[vocabulary, dim]`, initialised N(0, 1) as in PyTorch.
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ vocabulary: Int, _ dim: Int, using rng: inout SeededGenerator) {
        weight = .normal([vocabulary, dim], using: &rng, requiresGrad: true)
    }

    public func callAsFunction(_ indices: [Int], shape: [Int]? = nil) -> Tensor {
        embedding(weight, indices: indices, indexShape: shape)
    }
}

/// Layers applied in order.
public final class Sequential: Module, Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x, i = 0
        while i < layers.count {
            // ReLU then a convolution run as one op (`reluConv2d`); a batch norm right after takes
            // the per-channel sums that op formed. The same values as layer by layer, to within
            // float32 reordering.
            if i + 1 < layers.count, (layers[i] as? Lambda)?.name == "relu", let conv = layers[i + 1] as? Conv2d,
               conv.options.groups == 1 {
                let (y, sums) = reluConv2dWithChannelSums(h, conv.weight, bias: conv.bias, conv.options)
                if i + 2 < layers.count, let bn = layers[i + 2] as? BatchNorm {
                    h = bn(y, adding: nil, channelSums: sums)
                    i += 3
                } else {
                    h = y
                    i += 2
                }
                continue
            }
            h = layers[i](h)
            i += 1
        }
        return h
    }
}

/// A parameter-free function as a layer (activations, pooling, flattening).
public final class Lambda: Module, Layer {
    public let name: String
    /// The function's integer arguments (a pooling's kernel, stride, padding), for exports.
    public let settings: [String: Int]
    private let function: (Tensor) -> Tensor

    public init(_ name: String, settings: [String: Int] = [:], _ function: @escaping (Tensor) -> Tensor) {
        self.name = name
        self.settings = settings
        self.function = function
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { function(x) }

    public static var relu: Lambda { Lambda("relu", NASTensor.relu) }
    public static var gelu: Lambda { Lambda("gelu", NASTensor.gelu) }
    public static var flatten: Lambda { Lambda("flatten") { $0.flattened() } }
    public static var globalAvgPool: Lambda { Lambda("global_avg_pool", globalAvgPool2d) }
    public static func maxPool(_ k: Int, stride: Int? = nil, padding: Int = 0) -> Lambda {
        Lambda("max_pool", settings: ["kernel": k, "stride": stride ?? k, "padding": padding]) {
            maxPool2d($0, kernel: k, stride: stride, padding: padding)
        }
    }
}
