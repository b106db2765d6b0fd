import NASNN
import NASTensor

/// A Pre-LN GLiT block on `[B, T, D]` tokens: `x + proj([global heads ‖ local heads](LN(x)))`,
/// then `x + MLP(LN(x))`. The global heads are multi-head self-attention (q, k and v packed in
/// one projection, as in a ViT); the local heads are one `LocalityModule` whose output has
/// `localHeads × headDim` channels; their outputs side by side feed the output projection.
///
/// The block is built at a capacity and runs any smaller shape on the leading slices of its
/// weights: a stand-alone block's capacity is its own shape, a supernet block's the space's
/// largest (every candidate of every decision).
public final class GLiTBlock: Module {
    public let capacity: GLiTBlockShape
    public let norm1: LayerNorm
    /// `[3 · globalHeads · headDim, D]` at capacity: q rows first, then k, then v.
    public let qkv: Linear?
    public let local: LocalityModule?
    public let proj: Linear
    public let norm2: LayerNorm
    public let fc1: Linear
    public let fc2: Linear

    /// `projectionHeads`: the most heads a shape of this block has (global + local).
    public init(dim d: Int, capacity c: GLiTBlockShape, projectionHeads: Int, using rng: inout SeededGenerator) {
        capacity = c
        norm1 = LayerNorm(d)
        let q = c.globalHeads * c.headDim
        if q > 0 {
            let l = Linear(d, 3 * q, using: &rng)
            l.weight.assign(Init.xavierUniform([3 * q, d], using: &rng))
            l.bias?.fill(0)
            qkv = l
        } else { qkv = nil }
        local = c.localHeads > 0
            ? LocalityModule(dim: d, hidden: c.localHidden, outputs: c.localHeads * c.headDim, kernel: c.kernel, using: &rng) : nil
        proj = Linear(projectionHeads * c.headDim, d, using: &rng)
        proj.bias?.fill(0)
        norm2 = LayerNorm(d)
        fc1 = Linear(d, c.mlpRatio * d, using: &rng)
        fc2 = Linear(c.mlpRatio * d, d, using: &rng)
    }

    public func callAsFunction(_ x: Tensor, shape s: GLiTBlockShape) -> Tensor {
        let (b, d) = (x.shape[0], x.shape[2])
        let h = norm1(x)
        var heads: [Tensor] = []
        if s.globalHeads > 0, let qkv {
            let n = s.globalHeads * s.headDim, stride = capacity.globalHeads * capacity.headDim
            let part = { (i: Int) in splitHeads(qkv(h, rows: (i * stride)..<(i * stride + n), inputs: d), heads: s.globalHeads) }
            heads.append(attentionContext(part(0), part(1), part(2), batch: b, heads: s.globalHeads))
        }
        if s.localHeads > 0, let local {
            heads.append(local(h, hidden: s.localHidden, outputs: s.localHeads * s.headDim, kernel: s.kernel))
        }
        let mixed = heads.count == 1 ? heads[0] : concatenate(heads, axis: 2)
        let y = x + proj(mixed, outputs: d, inputs: s.heads * s.headDim)
        let hidden = s.mlpRatio * d
        return y + fc2(gelu(fc1(norm2(y), outputs: hidden, inputs: d)), outputs: d, inputs: hidden)
    }

    /// A block of exactly `s` holding the slices of this block's weights that `s` uses.
    func extracted(_ s: GLiTBlockShape, dim d: Int) -> GLiTBlock {
        var rng = SeededGenerator(seed: 0)
        let out = GLiTBlock(dim: d, capacity: s, projectionHeads: s.heads, using: &rng)
        withoutGrad {
            func copy(_ to: Tensor?, _ from: Tensor?, rows: Range<Int>? = nil, columns: Range<Int>? = nil) {
                guard let to, var t = from else { return }
                if let rows { t = t.slice(axis: 0, rows) }
                if let columns { t = t.slice(axis: 1, columns) }
                to.assign(t)
            }
            for (a, b) in [(out.norm1, norm1), (out.norm2, norm2)] { copy(a.weight, b.weight); copy(a.bias, b.bias) }
            if let q = out.qkv, let big = qkv {
                let n = s.globalHeads * s.headDim, stride = capacity.globalHeads * capacity.headDim
                let rows = (0..<3).map { ($0 * stride)..<($0 * stride + n) }
                q.weight.assign(concatenate(rows.map { big.weight.slice(axis: 0, $0) }, axis: 0))
                if let bias = q.bias, let bigBias = big.bias { bias.assign(concatenate(rows.map { bigBias.slice(axis: 0, $0) }, axis: 0)) }
            }
            if let l = out.local, let big = local {
                let h = s.localHidden, offset = (big.kernel - s.kernel) / 2
                copy(l.expand.weight, big.expand.weight, rows: 0..<h)
                for (a, b) in [(l.norm1, big.norm1), (l.norm2, big.norm2)] {
                    for (x, y) in [(a.weight, b.weight), (a.bias, b.bias), (a.runningMean, b.runningMean), (a.runningVar, b.runningVar)] {
                        copy(x, y, rows: 0..<h)
                    }
                }
                copy(l.depthwise, big.depthwise, rows: 0..<h, columns: offset..<(offset + s.kernel))
                copy(l.project.weight, big.project.weight, rows: 0..<(s.localHeads * s.headDim), columns: 0..<h)
            }
            copy(out.proj.weight, proj.weight, columns: 0..<(s.heads * s.headDim)); copy(out.proj.bias, proj.bias)
            copy(out.fc1.weight, fc1.weight, rows: 0..<(s.mlpRatio * d)); copy(out.fc1.bias, fc1.bias, rows: 0..<(s.mlpRatio * d))
            copy(out.fc2.weight, fc2.weight, columns: 0..<(s.mlpRatio * d)); copy(out.fc2.bias, fc2.bias)
        }
        return out
    }
}

/// A GLiT network on channels-last images: the ViT stem (a `patch × patch` convolution of
/// stride `patch`, a class token, learned position embeddings), GLiT blocks, a final layer norm
/// and a linear head on the class token. `shapes` are the blocks' shapes in `callAsFunction(_:)`
/// (a stand-alone network: its architecture; inside a supernet: set per forward pass).
public final class GLiTNetwork: Module, Layer {
    public let config: GLiTSpaceConfig
    public let patchEmbedding: Conv2d
    public let classToken: Tensor
    public let positionEmbedding: Tensor
    public let blocks: [GLiTBlock]
    public let norm: LayerNorm
    public let head: Linear
    public let shapes: [GLiTBlockShape]

    /// The stand-alone network of `architecture` on the images `config` describes.
    /// - Precondition: `architecture.config(…)` accepted it (`swiftnas train` checks).
    public convenience init(_ architecture: GLiTArchitecture, config: GLiTSpaceConfig, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.init(config: config, capacities: architecture.blocks, projectionHeads: architecture.blocks.map(\.heads), using: &rng)
    }

    init(config c: GLiTSpaceConfig, capacities: [GLiTBlockShape], projectionHeads: [Int], using rng: inout SeededGenerator) {
        config = c
        patchEmbedding = Conv2d(c.channels, c.dim, kernel: c.patch, stride: c.patch, using: &rng)
        classToken = Init.truncatedNormal([1, 1, c.dim], std: 0.02, using: &rng)
        positionEmbedding = Init.truncatedNormal([1, c.tokens, c.dim], std: 0.02, using: &rng)
        blocks = zip(capacities, projectionHeads).map { GLiTBlock(dim: c.dim, capacity: $0, projectionHeads: $1, using: &rng) }
        norm = LayerNorm(c.dim)
        head = Linear(c.dim, c.classes, using: &rng)
        shapes = capacities
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, shapes: shapes) }

    public func callAsFunction(_ x: Tensor, shapes: [GLiTBlockShape]) -> Tensor {
        let b = x.shape[0], d = config.dim
        let patches = patchEmbedding(x).reshaped([b, config.tokens - 1, d])
        var h = concatenate([classToken.expanded(to: [b, 1, d]), patches], axis: 1) + positionEmbedding
        for (block, shape) in zip(blocks, shapes) { h = block(h, shape: shape) }
        return head(norm(h).slice(axis: 1, 0..<1).reshaped([b, d]))
    }
}

/// GLiT's supernet: one `GLiTNetwork` at the space's largest block, and per block five value
/// decisions (`GLiTSpaceConfig.modelSpace`) — `block<i>.global` (global heads 0…heads; the rest are local: the first search
/// level), `block<i>.head_dim`, `.kernel`, `.expansion`, `.mlp_ratio` (the second). A path runs
/// the leading slices of the shared weights; it computes exactly the stand-alone network that
/// `instantiate` builds from them. Mixtures have no meaning here: they run the largest path.
public final class GLiTSupernet: Module, Layer, Supernet {
    public let network: GLiTNetwork
    public let space: ModelSpace
    public var mask: [[Bool]]

    /// - Precondition: `config.problem == nil` (the weight-sharing search checks it).
    public init(config c: GLiTSpaceConfig, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        network = GLiTNetwork(config: c, capacities: Array(repeating: c.largest, count: c.depth),
                              projectionHeads: Array(repeating: c.heads, count: c.depth), using: &rng)
        space = c.modelSpace
        mask = space.fullMask
    }

    public var config: GLiTSpaceConfig { network.config }

    /// The decisions of GLiT's first search level (the global/local split of each block).
    public var levelOneDecisions: [Int] { config.levelOneDecisions }

    /// The architecture a path stands for.
    public func architecture(_ a: ArchitectureChoices) -> GLiTArchitecture { config.architecture(a) }

    public func describe(_ a: ArchitectureChoices) -> String { architecture(a).description }

    public func pathParameterCount(_ a: ArchitectureChoices) -> Int? { architecture(a).parameterCount(config) }

    public func callAsFunction(_ x: Tensor) -> Tensor { network(x) }

    public func forward(_ x: Tensor, _ context: ChoiceContext) -> Tensor {
        switch context.kind {
        case .path(let a): return network(x, shapes: architecture(a).blocks)
        case .mixture: return network(x, shapes: architecture(ArchitectureChoices(space.decisions.map { [$0.candidates.count - 1] })).blocks)
        }
    }

    /// The stand-alone network of `a` holding this supernet's current weights.
    public func instantiate(_ a: ArchitectureChoices) throws -> GLiTNetwork {
        let g = architecture(a)
        var rng = SeededGenerator(seed: 0)
        let net = GLiTNetwork(config: config, capacities: g.blocks, projectionHeads: g.blocks.map(\.heads), using: &rng)
        try withoutGrad {
            for (to, from) in [(net.patchEmbedding.weight, network.patchEmbedding.weight), (net.classToken, network.classToken),
                               (net.positionEmbedding, network.positionEmbedding), (net.head.weight, network.head.weight)] {
                to.assign(from)
            }
            for (to, from) in [(net.patchEmbedding.bias, network.patchEmbedding.bias), (net.norm.weight, network.norm.weight),
                               (net.norm.bias, network.norm.bias), (net.head.bias, network.head.bias)] {
                if let to, let from { to.assign(from) }
            }
            for (i, shape) in g.blocks.enumerated() {
                let block = network.blocks[i].extracted(shape, dim: config.dim)
                try net.blocks[i].load(stateDict: block.stateDict())
            }
        }
        return net
    }
}
