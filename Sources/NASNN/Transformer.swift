import NASTensor

/// A transformer encoder block on `[B, T, D]` tokens, laid out like PyTorch's
/// `nn.TransformerEncoderLayer(batch_first=True, activation="gelu")` (same parameter names and
/// order): multi-head self-attention and a two-layer GELU MLP, each with a residual connection.
///
/// `normFirst` is the choice Xiong et al. (ICML 2020) study: Pre-LN computes
/// `x + f(LN(x))` for each sub-layer, Post-LN (the original transformer) `LN(x + f(x))`.
public final class TransformerBlock: Module, Layer {
    public let normFirst: Bool
    public let selfAttention: MultiHeadAttention
    public let linear1: Linear
    public let linear2: Linear
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    /// After the attention, inside the MLP (after GELU) and after the MLP, as in PyTorch (which
    /// also drops attention weights inside its attention module; this block does not).
    public let dropout1: Dropout
    public let dropout: Dropout
    public let dropout2: Dropout

    public init(dim: Int, heads: Int, mlpRatio: Int = 4, dropout p: Float = 0, normFirst: Bool,
                using rng: inout SeededGenerator) {
        self.normFirst = normFirst
        selfAttention = MultiHeadAttention(dim: dim, heads: heads, using: &rng)
        linear1 = Linear(dim, mlpRatio * dim, using: &rng)
        linear2 = Linear(mlpRatio * dim, dim, using: &rng)
        norm1 = LayerNorm(dim)
        norm2 = LayerNorm(dim)
        dropout1 = Dropout(p, seed: rng.next())
        dropout = Dropout(p, seed: rng.next())
        dropout2 = Dropout(p, seed: rng.next())
    }

    func attentionBlock(_ x: Tensor) -> Tensor { dropout1(selfAttention(x)) }
    func feedForward(_ x: Tensor) -> Tensor { dropout2(linear2(dropout(gelu(linear1(x))))) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if normFirst {
            let h = x + attentionBlock(norm1(x))
            return h + feedForward(norm2(h))
        }
        let h = norm1(x + attentionBlock(x))
        return norm2(h + feedForward(h))
    }
}

/// The settings of a `VisionTransformer`.
public struct ViTConfig: Codable, Equatable, Sendable {
    public var height = 28
    public var width = 28
    public var channels = 1
    public var classes = 10
    /// Side of the square patches (the patch embedding is a convolution with this stride).
    public var patch = 4
    public var dim = 64
    public var depth = 6
    public var heads = 4
    public var mlpRatio = 4
    public var dropout: Float = 0
    /// Pre-LN blocks (and a final layer norm) when true, Post-LN blocks when false.
    public var normFirst = true

    public init() {}

    /// The default ViT for images of `height × width × channels` and `classes` outputs.
    public init(height: Int, width: Int, channels: Int, classes: Int) {
        (self.height, self.width, self.channels, self.classes) = (height, width, channels, classes)
    }

    /// Weights in the blocks (attention 4·dim², MLP 2·mlp_ratio·dim² per block), the bulk of
    /// the model: what `problem` bounds.
    public var blockWeights: Int { depth * (4 + 2 * mlpRatio) * dim * dim }

    /// Settings from `key=value` strings (`swiftnas train --model vit --param depth=12`): keys
    /// `patch`, `dim`, `depth`, `heads`, `mlp_ratio`, `dropout` and `norm` (`pre` or `post`).
    public mutating func apply(_ parameters: [String: String]) throws {
        for (key, text) in parameters.sorted(by: { $0.key < $1.key }) {
            func int() throws -> Int {
                guard let v = Int(text) else { throw ModelError(description: "vit: \(key) must be an integer (got '\(text)')") }
                return v
            }
            switch key {
            case "patch": patch = try int()
            case "dim": dim = try int()
            case "depth": depth = try int()
            case "heads": heads = try int()
            case "mlp_ratio": mlpRatio = try int()
            case "dropout":
                guard let v = Float(text) else { throw ModelError(description: "vit: dropout must be a number (got '\(text)')") }
                dropout = v
            case "norm":
                guard text == "pre" || text == "post" else { throw ModelError(description: "vit: norm is pre or post (got '\(text)')") }
                normFirst = text == "pre"
            default:
                throw ModelError(description: "vit has no parameter '\(key)'; it has patch, dim, depth, heads, mlp_ratio, dropout, norm")
            }
        }
    }

    /// Tokens per image, the class token not counted.
    public var patches: Int { (height / patch) * (width / patch) }

    /// What makes these settings unbuildable, naming the setting, or nil.
    public var problem: String? {
        for (name, v) in [("patch", patch), ("dim", dim), ("depth", depth), ("heads", heads), ("mlp_ratio", mlpRatio)] where v < 1 {
            return "vit: \(name) must be at least 1 (got \(v))"
        }
        if dim > 4096 || depth > 256 || mlpRatio > 64 { return "vit: dim ≤ 4096, depth ≤ 256 and mlp_ratio ≤ 64" }
        // Weights, gradients and Adam's two moments take 16 bytes per parameter: refuse sizes that
        // would exhaust memory before they are allocated.
        if blockWeights > 400_000_000 {
            return "vit: depth \(depth) × width \(dim) × mlp_ratio \(mlpRatio) has about \(blockWeights / 1_000_000) M block weights; at most 400 M"
        }
        if height % patch != 0 || width % patch != 0 {
            return "vit: patch \(patch) does not divide the \(height)×\(width) images"
        }
        if dim % heads != 0 { return "vit: dim \(dim) is not divisible by heads \(heads)" }
        if !(dropout >= 0 && dropout < 1) { return "vit: dropout must be in [0, 1) (got \(dropout))" }
        return nil
    }
}

/// A Vision Transformer (Dosovitskiy et al., ICLR 2021) on channels-last images: a patch
/// embedding (a `patch × patch` convolution with stride `patch`), a class token, learned
/// position embeddings, `depth` transformer blocks, a final layer norm (Pre-LN only: a Post-LN
/// block already ends in one), and a linear head on the class token.
public final class VisionTransformer: Module, Layer {
    public let config: ViTConfig
    public let patchEmbedding: Conv2d
    public let classToken: Tensor
    public let positionEmbedding: Tensor
    public let blocks: [TransformerBlock]
    public let norm: LayerNorm?
    public let head: Linear

    /// - Precondition: `config.problem == nil` (`ModelZoo.make` checks it and throws).
    public init(_ config: ViTConfig, using rng: inout SeededGenerator) {
        self.config = config
        patchEmbedding = Conv2d(config.channels, config.dim, kernel: config.patch, stride: config.patch, using: &rng)
        // ViT's initialisation of the class token and position embeddings: N(0, 0.02²), truncated.
        classToken = Init.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng)
        positionEmbedding = Init.truncatedNormal([1, config.patches + 1, config.dim], std: 0.02, using: &rng)
        blocks = (0..<config.depth).map { _ in
            TransformerBlock(dim: config.dim, heads: config.heads, mlpRatio: config.mlpRatio, dropout: config.dropout,
                             normFirst: config.normFirst, using: &rng)
        }
        norm = config.normFirst ? LayerNorm(config.dim) : nil
        head = Linear(config.dim, config.classes, using: &rng)
    }

    /// The tokens after the blocks (and the final norm), `[B, patches + 1, dim]`.
    public func tokens(_ x: Tensor) -> Tensor {
        let b = x.shape[0], d = config.dim
        // [B, H/p, W/p, D] is already the row-major patch order PyTorch's flatten(2) gives.
        let patches = patchEmbedding(x).reshaped([b, config.patches, d])
        var h = concatenate([classToken.expanded(to: [b, 1, d]), patches], axis: 1) + positionEmbedding
        for block in blocks { h = block(h) }
        return norm.map { $0(h) } ?? h
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let b = x.shape[0]
        return head(tokens(x).slice(axis: 1, 0..<1).reshaped([b, config.dim]))
    }
}
