import NASTensor

/// GLiT's locality module (Chen et al., ICCV 2021) on `[B, T, D]` tokens: a 1-D convolution
/// over the token sequence in the inverted-bottleneck form — pointwise convolution to `hidden`
/// channels, batch norm, SiLU, depthwise convolution of `kernel` taps along the tokens, batch
/// norm, SiLU, pointwise convolution to `outputs` channels. Laid out like PyTorch's
/// `Conv1d(D, hidden, 1, bias=False)`, `BatchNorm1d(hidden)`, `Conv1d(hidden, hidden, kernel,
/// padding=kernel // 2, groups=hidden, bias=False)`, `BatchNorm1d(hidden)`,
/// `Conv1d(hidden, outputs, 1, bias=False)` on `[B, C, T]` (pointwise weights without their
/// trailing 1; the depthwise weight `[hidden, kernel]`).
///
/// In a supernet the module is built at its largest size and a path uses the first channels
/// and the middle taps (`callAsFunction(_:hidden:outputs:kernel:)`).
public final class LocalityModule: Module, Layer {
    public let expand: Linear
    public let norm1: BatchNorm
    public let depthwise: Tensor
    public let norm2: BatchNorm
    public let project: Linear

    public init(dim: Int, hidden: Int, outputs: Int, kernel: Int, using rng: inout SeededGenerator) {
        precondition(kernel % 2 == 1, "LocalityModule: the kernel must be odd to keep the token count")
        expand = Linear(dim, hidden, bias: false, using: &rng)
        norm1 = BatchNorm(hidden)
        depthwise = Init.kaimingUniform([hidden, kernel], using: &rng)
        norm2 = BatchNorm(hidden)
        project = Linear(hidden, outputs, bias: false, using: &rng)
    }

    public var hidden: Int { depthwise.shape[0] }
    public var kernel: Int { depthwise.shape[1] }
    public var outputs: Int { project.weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, hidden: hidden, outputs: outputs, kernel: kernel) }

    /// The module cut to its first `hidden` and `outputs` channels and its middle `kernel` taps.
    public func callAsFunction(_ x: Tensor, hidden h: Int, outputs o: Int, kernel k: Int) -> Tensor {
        let (b, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        // Batch norm over every token of every item, per channel (BatchNorm1d on [B, C, T]).
        func norm(_ bn: BatchNorm, _ y: Tensor) -> Tensor { bn(y.reshaped([b * t, h]), channels: h).reshaped([b, t, h]) }
        let offset = (kernel - k) / 2
        let taps = sliced(sliced(depthwise, axis: 0, 0..<h), axis: 1, offset..<(offset + k))
        var y = silu(norm(norm1, expand(x, outputs: h, inputs: d)))
        y = silu(norm(norm2, depthwiseConv1d(y, taps)))
        return project(y, outputs: o, inputs: h)
    }
}
