import NASTensor

/// Two 3×3 convolutions, each followed by batch norm and ReLU (U-Net's unit at every level).
public final class DoubleConv: Module, Layer {
    let first: Conv2d, firstNorm: BatchNorm
    let second: Conv2d, secondNorm: BatchNorm

    public init(_ inChannels: Int, _ outChannels: Int, using rng: inout SeededGenerator) {
        first = Conv2d(inChannels, outChannels, kernel: 3, padding: 1, bias: false, using: &rng)
        firstNorm = BatchNorm(outChannels)
        second = Conv2d(outChannels, outChannels, kernel: 3, padding: 1, bias: false, using: &rng)
        secondNorm = BatchNorm(outChannels)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        relu(secondNorm(second(relu(firstNorm(first(x))))))
    }
}

/// A U-Net (Ronneberger et al., 2015) at CPU scale for binary segmentation: `levels` halvings by
/// 2×2 max pooling with the width doubling at each, a bottleneck, and a decoder that upsamples with
/// 2×2 transposed convolutions and concatenates the encoder's map of the same size before its own
/// convolutions; a 1×1 convolution gives one logit per pixel. Convolutions are padded, so the
/// output has the input's size: `[N, H, W, C] → [N, H, W, 1]`, with H and W divisible by 2^levels.
public final class UNet: Module, Layer {
    public let levels: Int
    let down: [DoubleConv]
    let bottom: DoubleConv
    let up: [ConvTranspose2d]
    let decode: [DoubleConv]
    let head: Conv2d

    public init(inputChannels: Int = 1, width: Int = 16, levels: Int = 2, using rng: inout SeededGenerator) {
        self.levels = levels
        let widths = (0...levels).map { width << $0 }
        var d: [DoubleConv] = []
        for l in 0..<levels { d.append(DoubleConv(l == 0 ? inputChannels : widths[l - 1], widths[l], using: &rng)) }
        down = d
        bottom = DoubleConv(levels == 0 ? inputChannels : widths[levels - 1], widths[levels], using: &rng)
        var u: [ConvTranspose2d] = [], c: [DoubleConv] = []
        for l in stride(from: levels - 1, through: 0, by: -1) {
            u.append(ConvTranspose2d(widths[l + 1], widths[l], kernel: 2, stride: 2, using: &rng))
            c.append(DoubleConv(2 * widths[l], widths[l], using: &rng))
        }
        up = u
        decode = c
        head = Conv2d(widths[0], 1, kernel: 1, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var skips: [Tensor] = []
        var h = x
        for block in down {
            h = block(h)
            skips.append(h)
            h = maxPool2d(h, kernel: 2)
        }
        h = bottom(h)
        for (i, (upsample, block)) in zip(up, decode).enumerated() {
            h = block(concatenate([skips[levels - 1 - i], upsample(h)], axis: 3))
        }
        return head(h)
    }
}
