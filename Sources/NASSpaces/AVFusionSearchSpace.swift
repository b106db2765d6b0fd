import Foundation

/// The multimodal search space: which modalities, each extractor's depth, width and kernel, the
/// pooling, and how the two are fused — eleven categorical decisions, in the order of the fields
/// of `AVFusionArchitecture`. The option lists are hand-set bounds (the run's checklist says so).
/// Unimodal architectures are in the space so that one search finds both the best fused model
/// and the best single-modality one under one budget.
public struct AVFusionSearchSpace: ChoiceVectorSpace, Codable, Equatable {
    public var depths = [1, 2, 3]
    public var widths = [8, 16, 32]
    public var kernels = [3, 5]
    public var fusionWidths = [32, 64, 128]

    public init() {}

    public var name: String { "avmnist" }

    public func validate() throws {
        for (values, what, range) in [(depths, "depths", 1...AVFusionArchitecture.maxDepth), (widths, "widths", 1...AVFusionArchitecture.maxWidth),
                                      (kernels, "kernels", 1...AVFusionArchitecture.maxKernel),
                                      (fusionWidths, "fusion widths", 1...AVFusionArchitecture.maxFusionWidth)] {
            guard !values.isEmpty, Set(values).count == values.count, values.allSatisfy(range.contains) else {
                throw AVFusionParseError("\(what) must be distinct values in \(range) (got \(values))")
            }
        }
        guard kernels.allSatisfy({ $0 % 2 == 1 }) else { throw AVFusionParseError("kernels must be odd (got \(kernels))") }
    }

    public var choiceCounts: [Int] {
        [3, depths.count, widths.count, kernels.count, depths.count, widths.count, kernels.count, 2, 3, 3, fusionWidths.count]
    }

    public func choices(of a: AVFusionArchitecture) -> [Int] {
        func at(_ v: Int, _ list: [Int]) -> Int { list.firstIndex(of: v) ?? 0 }
        return [AVFusionArchitecture.Modalities.allCases.firstIndex(of: a.modalities) ?? 0,
                at(a.image.depth, depths), at(a.image.width, widths), at(a.image.kernel, kernels),
                at(a.audio.depth, depths), at(a.audio.width, widths), at(a.audio.kernel, kernels),
                AVFusionArchitecture.Pooling.allCases.firstIndex(of: a.pooling) ?? 0,
                AVFusionArchitecture.Fusion.allCases.firstIndex(of: a.fusion) ?? 0,
                AVFusionArchitecture.Combine.allCases.firstIndex(of: a.combine) ?? 0, at(a.fusionWidth, fusionWidths)]
    }

    public func architecture(choices c: [Int]) -> AVFusionArchitecture {
        AVFusionArchitecture(modalities: AVFusionArchitecture.Modalities.allCases[c[0]],
                             image: ExtractorSetting(depth: depths[c[1]], width: widths[c[2]], kernel: kernels[c[3]]),
                             audio: ExtractorSetting(depth: depths[c[4]], width: widths[c[5]], kernel: kernels[c[6]]),
                             pooling: AVFusionArchitecture.Pooling.allCases[c[7]], fusion: AVFusionArchitecture.Fusion.allCases[c[8]],
                             combine: AVFusionArchitecture.Combine.allCases[c[9]], fusionWidth: fusionWidths[c[10]])
    }

    public func describe(_ a: AVFusionArchitecture) -> String { a.description }

    public func parse(_ s: String) throws -> AVFusionArchitecture {
        let a = try AVFusionArchitecture(parsing: s)
        for (value, options, what) in [(a.image.depth, depths, "image depth"), (a.image.width, widths, "image width"),
                                       (a.image.kernel, kernels, "image kernel"), (a.audio.depth, depths, "audio depth"),
                                       (a.audio.width, widths, "audio width"), (a.audio.kernel, kernels, "audio kernel"),
                                       (a.fusionWidth, fusionWidths, "fusion width")] where !options.contains(value) {
            throw AVFusionParseError("\(what) \(value) is not one of the space's \(options)")
        }
        return a
    }

    /// Architectures that compute the same function share a key: a unimodal network ignores the
    /// other modality's extractor, the fusion point and the combination (its head keeps the
    /// width), and early fusion ignores the audio extractor and the combination.
    public func isomorphismKey(_ a: AVFusionArchitecture) -> String {
        var b = a
        let neutralExtractor = ExtractorSetting(depth: depths[0], width: widths[0], kernel: kernels[0])
        switch a.modalities {
        case .image: (b.audio, b.fusion, b.combine) = (neutralExtractor, .early, .concat)
        case .audio: (b.image, b.fusion, b.combine) = (neutralExtractor, .early, .concat)
        case .both where a.fusion == .early: (b.audio, b.combine) = (neutralExtractor, .concat)
        case .both: break
        }
        return b.description
    }
}
