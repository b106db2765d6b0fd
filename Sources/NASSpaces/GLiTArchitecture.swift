import Foundation
import NASNN

/// One block of a GLiT network (Chen et al., ICCV 2021): how its heads split between global
/// self-attention and locality modules (the first search level), and its dimensions (the
/// second): the head dimension, the locality module's kernel and expansion ratio, the MLP ratio.
public struct GLiTBlockShape: Hashable, Codable, Sendable {
    public var globalHeads: Int
    public var localHeads: Int
    public var headDim: Int
    public var kernel: Int
    public var expansion: Int
    public var mlpRatio: Int

    public init(globalHeads: Int, localHeads: Int, headDim: Int, kernel: Int, expansion: Int, mlpRatio: Int) {
        self.globalHeads = globalHeads; self.localHeads = localHeads; self.headDim = headDim
        self.kernel = kernel; self.expansion = expansion; self.mlpRatio = mlpRatio
    }

    public var heads: Int { globalHeads + localHeads }
    /// Channels the locality module expands to: `expansion × localHeads × headDim`.
    public var localHidden: Int { expansion * localHeads * headDim }

    /// `g2l2-d16-k5-e2-m4`: 2 global and 2 local heads of dimension 16, kernel 5, expansion 2, MLP ratio 4.
    public var description: String { "g\(globalHeads)l\(localHeads)-d\(headDim)-k\(kernel)-e\(expansion)-m\(mlpRatio)" }

    public init(parsing text: Substring) throws {
        let fields = text.split(separator: "-", omittingEmptySubsequences: false)
        func number(_ field: Substring, _ prefix: Character, _ name: String) throws -> Int {
            guard field.first == prefix, let v = Int(field.dropFirst()), v >= 0 else {
                throw ModelError(description: "glit block '\(text)': \(name) must be '\(prefix)<number>' (got '\(field)')")
            }
            guard v <= 4096 else { throw ModelError(description: "glit block '\(text)': \(name) \(v) is over 4096") }
            return v
        }
        guard fields.count == 5 else {
            throw ModelError(description: "glit block '\(text)' must read g<global>l<local>-d<head dim>-k<kernel>-e<expansion>-m<mlp ratio>")
        }
        let heads = fields[0].split(separator: "l", omittingEmptySubsequences: false)
        guard heads.count == 2 else { throw ModelError(description: "glit block '\(text)': heads must read g<global>l<local> (got '\(fields[0])')") }
        self.init(globalHeads: try number(heads[0], "g", "global heads"), localHeads: try number("l" + heads[1], "l", "local heads"),
                  headDim: try number(fields[1], "d", "head dim"), kernel: try number(fields[2], "k", "kernel"),
                  expansion: try number(fields[3], "e", "expansion"), mlpRatio: try number(fields[4], "m", "mlp ratio"))
    }
}

/// The fixed settings of a GLiT network or supernet — the image, the patch embedding and the
/// token width — and the candidates of the search.
public struct GLiTSpaceConfig: Codable, Equatable, Sendable {
    public var height = 28, width = 28, channels = 1, classes = 10
    public var patch = 7
    public var dim = 64
    public var depth = 4
    /// Heads per block, split between global and local (GLiT's first level).
    public var heads = 4
    public var headDims = [8, 16, 24]
    public var kernels = [3, 5, 7]
    public var expansions = [1, 2]
    public var mlpRatios = [2, 3, 4]

    public init() {}

    public var tokens: Int { (height / patch) * (width / patch) + 1 }

    /// The largest block of the space (the supernet's capacity).
    public var largest: GLiTBlockShape {
        GLiTBlockShape(globalHeads: heads, localHeads: heads, headDim: headDims.max() ?? 1, kernel: kernels.max() ?? 1,
                       expansion: expansions.max() ?? 1, mlpRatio: mlpRatios.max() ?? 1)
    }

    /// What makes these settings unbuildable, naming the setting, or nil.
    public var problem: String? {
        for (name, v) in [("patch", patch), ("dim", dim), ("depth", depth), ("heads", heads), ("classes", classes)] where v < 1 {
            return "glit: \(name) must be at least 1 (got \(v))"
        }
        if dim > 1024 || depth > 64 || heads > 32 { return "glit: dim ≤ 1024, depth ≤ 64 and heads ≤ 32" }
        if height % patch != 0 || width % patch != 0 { return "glit: patch \(patch) does not divide the \(height)×\(width) images" }
        for (name, list) in [("head dims", headDims), ("expansions", expansions), ("mlp ratios", mlpRatios)] {
            if list.isEmpty || list.contains(where: { $0 < 1 || $0 > 64 }) { return "glit: \(name) must be 1…64 (got \(list))" }
        }
        if kernels.isEmpty || kernels.contains(where: { $0 < 1 || $0 % 2 == 0 || $0 > 63 }) {
            return "glit: kernels must be odd, 1…63 (got \(kernels))"
        }
        // Weights, gradients and Adam's moments take 16 bytes a weight: refuse sizes that would
        // exhaust memory before they are allocated (the largest block bounds every path).
        let largestNetwork = GLiTArchitecture(patch: patch, dim: dim, blocks: Array(repeating: largest, count: depth))
        if largestNetwork.parameterCount(self) > 400_000_000 {
            return "glit: dim \(dim) × depth \(depth) × the largest block \(largest.description) is over 400 M weights"
        }
        return nil
    }

    /// The names of a block's five decisions: global heads (0…heads; the rest are local), head
    /// dimension, the locality module's kernel and expansion, MLP ratio.
    static let decisionNames = ["global", "head_dim", "kernel", "expansion", "mlp_ratio"]

    /// The values of a block's five decisions, ascending, in `decisionNames`' order.
    var decisionValues: [[Int]] {
        [Array(0...max(heads, 0)), headDims.sorted(), kernels.sorted(), expansions.sorted(), mlpRatios.sorted()]
    }

    /// The search's decisions: per block `block<i>.global`, `.head_dim`, `.kernel`, `.expansion`, `.mlp_ratio`.
    public var modelSpace: ModelSpace {
        let values = decisionValues
        return ModelSpace(decisions: (0..<depth).flatMap { i in
            zip(Self.decisionNames, values).map { ValueChoice(label: "block\(i).\($0)", values: $1).decision }
        })
    }

    /// The decisions of GLiT's first search level (the global/local split of each block).
    public var levelOneDecisions: [Int] { (0..<depth).map { Self.decisionNames.count * $0 } }

    /// The architecture a path of `modelSpace` stands for (an index out of range reads as the nearest value).
    public func architecture(_ a: ArchitectureChoices) -> GLiTArchitecture {
        let values = decisionValues, n = Self.decisionNames.count
        let blocks = (0..<depth).map { i -> GLiTBlockShape in
            let v = values.enumerated().map { j, candidates -> Int in
                let k = a.choices.indices.contains(n * i + j) ? a.choices[n * i + j].first ?? 0 : 0
                return candidates[min(max(k, 0), candidates.count - 1)]
            }
            return GLiTBlockShape(globalHeads: v[0], localHeads: heads - v[0], headDim: v[1], kernel: v[2], expansion: v[3], mlpRatio: v[4])
        }
        return GLiTArchitecture(patch: patch, dim: dim, blocks: blocks)
    }

    /// The path of `modelSpace` that stands for `g`, or the reason `g` is not in this space.
    public func path(of g: GLiTArchitecture) throws -> ArchitectureChoices {
        guard g.patch == patch, g.dim == dim, g.blocks.count == depth else {
            throw ModelError(description: "glit: \(g) has patch \(g.patch), dim \(g.dim) and \(g.blocks.count) blocks; the space has \(patch), \(dim) and \(depth)")
        }
        let values = decisionValues
        var out: [[Int]] = []
        for shape in g.blocks {
            if let p = problem(shape) { throw ModelError(description: "glit: \(p)") }
            for (value, candidates) in zip([shape.globalHeads, shape.headDim, shape.kernel, shape.expansion, shape.mlpRatio], values) {
                out.append([candidates.firstIndex(of: value) ?? 0])
            }
        }
        return ArchitectureChoices(out)
    }

    /// What keeps `block` out of this space, or nil.
    func problem(_ block: GLiTBlockShape) -> String? {
        if block.heads != heads { return "\(block.description): \(block.heads) heads, the space has \(heads)" }
        if !headDims.contains(block.headDim) { return "\(block.description): head dim \(block.headDim) not among \(headDims)" }
        if !kernels.contains(block.kernel) { return "\(block.description): kernel \(block.kernel) not among \(kernels)" }
        if !expansions.contains(block.expansion) { return "\(block.description): expansion \(block.expansion) not among \(expansions)" }
        if !mlpRatios.contains(block.mlpRatio) { return "\(block.description): mlp ratio \(block.mlpRatio) not among \(mlpRatios)" }
        return nil
    }
}

/// A GLiT architecture: one block shape per block, written with the network's fixed settings,
/// `glit(patch=7,dim=64)[g2l2-d16-k5-e2-m4|g4l0-d8-k3-e1-m2|…]`, so the string alone rebuilds
/// the network (`swiftnas train --space glit --arch …`).
public struct GLiTArchitecture: Hashable, Codable, Sendable, CustomStringConvertible {
    public var patch: Int
    public var dim: Int
    public var blocks: [GLiTBlockShape]

    public init(patch: Int, dim: Int, blocks: [GLiTBlockShape]) {
        self.patch = patch; self.dim = dim; self.blocks = blocks
    }

    public var description: String {
        "glit(patch=\(patch),dim=\(dim))[" + blocks.map(\.description).joined(separator: "|") + "]"
    }

    public init(parsing text: String) throws {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("glit("), let close = s.firstIndex(of: ")"), s[close...].hasPrefix(")["), s.hasSuffix("]") else {
            throw ModelError(description: "glit architecture must read glit(patch=P,dim=D)[block|block|…] (got '\(text)')")
        }
        var patch: Int?, dim: Int?
        for item in s[s.index(s.startIndex, offsetBy: 5)..<close].split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let v = Int(kv[1].trimmingCharacters(in: .whitespaces)) else {
                throw ModelError(description: "glit architecture: '\(item)' must be key=integer")
            }
            switch kv[0].trimmingCharacters(in: .whitespaces) {
            case "patch": patch = v
            case "dim": dim = v
            case let other: throw ModelError(description: "glit architecture: unknown setting '\(other)'; it has patch and dim")
            }
        }
        guard let patch, let dim else { throw ModelError(description: "glit architecture: needs patch= and dim=") }
        let body = s[s.index(close, offsetBy: 2)..<s.index(before: s.endIndex)]
        let blocks = try body.split(separator: "|", omittingEmptySubsequences: false).map { try GLiTBlockShape(parsing: $0) }
        self.init(patch: patch, dim: dim, blocks: blocks)
    }

    /// The network settings for images of `height × width × channels` and `classes` outputs,
    /// or the problem that keeps this architecture from being built on them.
    public func config(height: Int, width: Int, channels: Int, classes: Int) throws -> GLiTSpaceConfig {
        var c = GLiTSpaceConfig()
        (c.height, c.width, c.channels, c.classes, c.patch, c.dim, c.depth) = (height, width, channels, classes, patch, dim, blocks.count)
        c.heads = blocks.first?.heads ?? 0
        c.headDims = Array(Set(blocks.map(\.headDim))).sorted()
        c.kernels = Array(Set(blocks.map(\.kernel))).sorted()
        c.expansions = Array(Set(blocks.map(\.expansion))).sorted()
        c.mlpRatios = Array(Set(blocks.map(\.mlpRatio))).sorted()
        if let p = c.problem { throw ModelError(description: p) }
        for b in blocks {
            if b.heads < 1 { throw ModelError(description: "glit block \(b.description) has no head") }
            if let p = c.problem(b) { throw ModelError(description: "glit: \(p)") }
        }
        return c
    }

    /// Weights of the network on `c`'s images (batch-norm running statistics not counted).
    public func parameterCount(_ c: GLiTSpaceConfig) -> Int {
        let d = dim
        var n = patch * patch * c.channels * d + d + d + c.tokens * d + 2 * d + d * c.classes + c.classes
        for b in blocks {
            let q = b.globalHeads * b.headDim, h = b.localHidden
            n += 2 * d + 3 * (d * q + q)                                  // norm1, q/k/v
            if b.localHeads > 0 { n += d * h + 2 * h + h * b.kernel + 2 * h + h * b.localHeads * b.headDim }
            n += b.heads * b.headDim * d + d + 2 * d                      // output projection, norm2
            n += 2 * b.mlpRatio * d * d + b.mlpRatio * d + d              // MLP
        }
        return n
    }

    /// Multiply-adds of one image's forward pass (matrix products, attention and convolutions).
    public func multiplyAccumulates(_ c: GLiTSpaceConfig) -> Int {
        let d = dim, t = c.tokens
        var n = (t - 1) * patch * patch * c.channels * d + d * c.classes
        for b in blocks {
            let q = b.globalHeads * b.headDim, h = b.localHidden
            n += t * d * 3 * q + 2 * t * t * q                            // projections, scores and context
            n += t * (d * h + h * b.kernel + h * b.localHeads * b.headDim) // locality module
            n += t * b.heads * b.headDim * d + 2 * t * b.mlpRatio * d * d  // output projection, MLP
        }
        return n
    }

    /// The plain ViT of `dim`, `heads` global heads of `dim / heads` and MLP ratio `mlpRatio` in
    /// this notation: the baseline GLiT is compared with, counted by the same formulas.
    public static func plainViT(patch: Int, dim: Int, depth: Int, heads: Int, mlpRatio: Int) -> GLiTArchitecture {
        GLiTArchitecture(patch: patch, dim: dim, blocks: Array(repeating: GLiTBlockShape(
            globalHeads: heads, localHeads: 0, headDim: dim / max(heads, 1), kernel: 1, expansion: 1, mlpRatio: mlpRatio), count: depth))
    }
}
