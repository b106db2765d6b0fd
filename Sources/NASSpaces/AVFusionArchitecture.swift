import Foundation

/// One modality's feature extractor: `depth` blocks of k×k convolution → batch norm → ReLU →
/// 2×2 pooling, all `width` channels, then an average onto a 3×3 grid.
public struct ExtractorSetting: Hashable, Codable, Sendable {
    public var depth: Int
    public var width: Int
    public var kernel: Int

    public init(depth: Int, width: Int, kernel: Int) { (self.depth, self.width, self.kernel) = (depth, width, kernel) }
}

/// An image + audio classifier of the multimodal search space:
/// - `modalities`: `image` or `audio` alone (unimodal), or `both` fused;
/// - each modality's extractor, and the pooling (max or average) of their blocks;
/// - `fusion`: `early` (the spectrogram resized to the image's grid and stacked as a second
///   channel, one extractor with the image's settings), `intermediate` (the two extractors'
///   features combined, then a hidden layer of `fusionWidth`), or `late` (each modality its own
///   hidden layer and logits, the logits combined);
/// - `combine`: `concat` (then a linear layer), `sum` (of linear projections), or `gated` (a
///   sigmoid gate mixes the two, as Arevalo et al.'s gated multimodal unit).
/// Written `av[both|image=d2-w16-k3|audio=d3-w32-k5|pool=max|fusion=late|combine=gated|width=64]`.
public struct AVFusionArchitecture: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Modalities: String, Codable, Sendable, CaseIterable { case image, audio, both }
    public enum Pooling: String, Codable, Sendable, CaseIterable { case max, avg }
    public enum Fusion: String, Codable, Sendable, CaseIterable { case early, intermediate, late }
    public enum Combine: String, Codable, Sendable, CaseIterable { case concat, sum, gated }

    public var modalities: Modalities
    public var image: ExtractorSetting
    public var audio: ExtractorSetting
    public var pooling: Pooling
    public var fusion: Fusion
    public var combine: Combine
    public var fusionWidth: Int

    public init(modalities: Modalities, image: ExtractorSetting, audio: ExtractorSetting, pooling: Pooling,
                fusion: Fusion, combine: Combine, fusionWidth: Int) {
        (self.modalities, self.image, self.audio, self.pooling) = (modalities, image, audio, pooling)
        (self.fusion, self.combine, self.fusionWidth) = (fusion, combine, fusionWidth)
    }

    public var isFused: Bool { modalities == .both }

    public var description: String {
        func e(_ s: ExtractorSetting) -> String { "d\(s.depth)-w\(s.width)-k\(s.kernel)" }
        return "av[\(modalities.rawValue)|image=\(e(image))|audio=\(e(audio))|pool=\(pooling.rawValue)|fusion=\(fusion.rawValue)|combine=\(combine.rawValue)|width=\(fusionWidth)]"
    }

    public static let maxDepth = 4, maxWidth = 512, maxKernel = 15, maxFusionWidth = 4096

    /// Reads the notation; errors name the field.
    public init(parsing text: String) throws {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("av["), s.hasSuffix("]") else { throw AVFusionParseError("expected av[both|image=…|…], got '\(text)'") }
        let fields = s.dropFirst(3).dropLast().split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 7 else { throw AVFusionParseError("needs 7 fields (modalities|image|audio|pool|fusion|combine|width), got \(fields.count)") }
        guard let m = Modalities(rawValue: fields[0]) else { throw AVFusionParseError("modalities '\(fields[0])' is not image, audio or both") }
        var values: [String: String] = [:]
        for f in fields.dropFirst() {
            let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, values[kv[0]] == nil else { throw AVFusionParseError("'\(f)' is not key=value (each key once)") }
            values[kv[0]] = kv[1]
        }
        func extractor(_ key: String) throws -> ExtractorSetting {
            guard let v = values[key] else { throw AVFusionParseError("missing \(key)=d<depth>-w<width>-k<kernel>") }
            let parts = v.split(separator: "-")
            guard parts.count == 3, parts[0].first == "d", parts[1].first == "w", parts[2].first == "k",
                  let d = Int(parts[0].dropFirst()), let w = Int(parts[1].dropFirst()), let k = Int(parts[2].dropFirst()) else {
                throw AVFusionParseError("\(key)='\(v)' is not d<depth>-w<width>-k<kernel>")
            }
            guard (1...Self.maxDepth).contains(d) else { throw AVFusionParseError("\(key): depth must be 1…\(Self.maxDepth) (got \(d))") }
            guard (1...Self.maxWidth).contains(w) else { throw AVFusionParseError("\(key): width must be 1…\(Self.maxWidth) (got \(w))") }
            guard (1...Self.maxKernel).contains(k), k % 2 == 1 else { throw AVFusionParseError("\(key): kernel must be odd, 1…\(Self.maxKernel) (got \(k))") }
            return ExtractorSetting(depth: d, width: w, kernel: k)
        }
        func named<T: RawRepresentable>(_ key: String, _ type: T.Type, _ options: String) throws -> T where T.RawValue == String {
            guard let v = values[key], let t = T(rawValue: v) else { throw AVFusionParseError("\(key) must be one of \(options) (got '\(values[key] ?? "")')") }
            return t
        }
        guard let w = values["width"].flatMap(Int.init), (1...Self.maxFusionWidth).contains(w) else {
            throw AVFusionParseError("width must be 1…\(Self.maxFusionWidth) (got '\(values["width"] ?? "")')")
        }
        guard Set(values.keys) == ["image", "audio", "pool", "fusion", "combine", "width"] else {
            throw AVFusionParseError("unknown field among \(values.keys.sorted())")
        }
        self.init(modalities: m, image: try extractor("image"), audio: try extractor("audio"),
                  pooling: try named("pool", Pooling.self, "max, avg"), fusion: try named("fusion", Fusion.self, "early, intermediate, late"),
                  combine: try named("combine", Combine.self, "concat, sum, gated"), fusionWidth: w)
    }
}

public struct AVFusionParseError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ message: String) { description = "av architecture: \(message)" }
}
