import NASNN
import NASTensor

/// One layer of a dense block: batch norm → ReLU → k×k convolution adding `growth` channels
/// (DenseNet's pre-activation order), padded so the size is kept.
final class DenseLayer: Module, Layer {
    let norm: BatchNorm
    let conv: Conv2d

    init(_ inChannels: Int, growth: Int, kernel: Int, using rng: inout SeededGenerator) {
        norm = BatchNorm(inChannels)
        conv = Conv2d(inChannels, growth, kernel: kernel, padding: kernel / 2, bias: false, using: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { conv(relu(norm(x))) }
}

/// A dense block (Huang et al., 2017): every layer reads the block's input concatenated with all
/// earlier layers' outputs, and the block returns all of them concatenated (`in + depth·growth`
/// channels).
final class DenseBlock: Module, Layer {
    let layers: [DenseLayer]
    let outChannels: Int

    init(_ inChannels: Int, _ setting: DenseBlockSetting, using rng: inout SeededGenerator) {
        var l: [DenseLayer] = []
        for i in 0..<setting.depth {
            l.append(DenseLayer(inChannels + i * setting.growth, growth: setting.growth, kernel: setting.kernel, using: &rng))
        }
        layers = l
        outChannels = inChannels + setting.depth * setting.growth
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var features = [x]
        for layer in layers { features.append(layer(concatenate(features, axis: 3))) }
        return concatenate(features, axis: 3)
    }
}

/// Batch norm → ReLU → 1×1 convolution → 2×2 max pooling (the encoder's transition down).
final class TransitionDown: Module, Layer {
    let norm: BatchNorm
    let conv: Conv2d

    init(_ channels: Int, using rng: inout SeededGenerator) {
        norm = BatchNorm(channels)
        conv = Conv2d(channels, channels, kernel: 1, bias: false, using: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { maxPool2d(conv(relu(norm(x))), kernel: 2) }
}

/// The densely connected encoder–decoder of Mortazi & Bagci's segmentation search (the
/// FC-DenseNet family): a 3×3 stem, then per level a dense block whose output is kept for the
/// skip connection and a transition down; a bottleneck dense block; per level back up, a 2×2
/// transposed convolution to the skip's channels, concatenation with the skip, and a dense block;
/// batch norm → ReLU → 1×1 convolution to one logit per pixel. Every block's kernel, growth and
/// depth come from the architecture. `[N, H, W, C] → [N, H, W, 1]`, H and W divisible by 2^levels.
public final class DenseSegNetwork: Module, Layer {
    public let architecture: DenseSegArchitecture
    let stem: Conv2d
    let encoder: [DenseBlock]
    let down: [TransitionDown]
    let bottleneck: DenseBlock
    let up: [ConvTranspose2d]
    let decoder: [DenseBlock]
    let headNorm: BatchNorm
    let head: Conv2d

    public init(_ architecture: DenseSegArchitecture, inputChannels: Int = 1, stemChannels: Int = 16, seed: UInt64) {
        self.architecture = architecture
        var rng = SeededGenerator(seed: seed)
        let levels = architecture.levels, blocks = architecture.blocks
        stem = Conv2d(inputChannels, stemChannels, kernel: 3, padding: 1, bias: false, using: &rng)
        var channels = stemChannels
        var enc: [DenseBlock] = [], dn: [TransitionDown] = [], skipChannels: [Int] = []
        for l in 0..<levels {
            let block = DenseBlock(channels, blocks[l], using: &rng)
            channels = block.outChannels
            enc.append(block)
            skipChannels.append(channels)
            dn.append(TransitionDown(channels, using: &rng))
        }
        encoder = enc
        down = dn
        bottleneck = DenseBlock(channels, blocks[levels], using: &rng)
        channels = bottleneck.outChannels
        var u: [ConvTranspose2d] = [], dec: [DenseBlock] = []
        for (i, l) in stride(from: levels - 1, through: 0, by: -1).enumerated() {
            u.append(ConvTranspose2d(channels, skipChannels[l], kernel: 2, stride: 2, using: &rng))
            let block = DenseBlock(2 * skipChannels[l], blocks[levels + 1 + i], using: &rng)
            channels = block.outChannels
            dec.append(block)
        }
        up = u
        decoder = dec
        headNorm = BatchNorm(channels)
        head = Conv2d(channels, 1, kernel: 1, using: &rng)
    }

    /// The weights `DenseSegNetwork(a, inputChannels:stemChannels:)` holds, counted without
    /// building it (so an oversized string can be refused before memory is allocated).
    public static func parameterCount(_ a: DenseSegArchitecture, inputChannels: Int = 1, stemChannels: Int = 16) -> Int {
        func block(_ c: Int, _ s: DenseBlockSetting) -> (params: Int, out: Int) {
            var p = 0
            for i in 0..<s.depth {
                let cin = c + i * s.growth
                p += 2 * cin + cin * s.kernel * s.kernel * s.growth
            }
            return (p, c + s.depth * s.growth)
        }
        var total = inputChannels * 9 * stemChannels, c = stemChannels, skips: [Int] = []
        for l in 0..<a.levels {
            let b = block(c, a.blocks[l])
            total += b.params + 2 * b.out + b.out * b.out
            c = b.out
            skips.append(c)
        }
        let bottom = block(c, a.blocks[a.levels])
        total += bottom.params
        c = bottom.out
        for (i, l) in stride(from: a.levels - 1, through: 0, by: -1).enumerated() {
            total += c * 4 * skips[l] + skips[l]
            let b = block(2 * skips[l], a.blocks[a.levels + 1 + i])
            total += b.params
            c = b.out
        }
        return total + 2 * c + c + 1
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = stem(x)
        var skips: [Tensor] = []
        for (block, transition) in zip(encoder, down) {
            h = block(h)
            skips.append(h)
            h = transition(h)
        }
        h = bottleneck(h)
        for (i, (upsample, block)) in zip(up, decoder).enumerated() {
            h = block(concatenate([skips[skips.count - 1 - i], upsample(h)], axis: 3))
        }
        return head(relu(headNorm(h)))
    }
}
