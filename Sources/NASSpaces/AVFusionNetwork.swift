import NASNN
import NASTensor

/// `depth` blocks of k×k convolution → batch norm → ReLU → 2×2 pooling (max or average), then an
/// average onto a 3×3 grid, flattened: `[N, H, W, C] → [N, 9·width]`. The grid keeps where things
/// are (a global average would not tell a 6 from a 9, nor an early formant from a late one).
final class FeatureExtractor: Module {
    static let grid = 3
    let convs: [Conv2d]
    let norms: [BatchNorm]
    let maxPooling: Bool

    init(inputChannels: Int, _ s: ExtractorSetting, maxPooling: Bool, using rng: inout SeededGenerator) {
        var c: [Conv2d] = [], n: [BatchNorm] = []
        for i in 0..<s.depth {
            c.append(Conv2d(i == 0 ? inputChannels : s.width, s.width, kernel: s.kernel, padding: s.kernel / 2, bias: false, using: &rng))
            n.append(BatchNorm(s.width))
        }
        (convs, norms, self.maxPooling) = (c, n, maxPooling)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (conv, norm) in zip(convs, norms) {
            h = relu(norm(conv(h)))
            // A side of 1 cannot be halved; the block then keeps it.
            if h.shape[1] >= 2, h.shape[2] >= 2 { h = maxPooling ? maxPool2d(h, kernel: 2) : avgPool2d(h, kernel: 2) }
        }
        let g = Self.grid
        return adaptiveAvgPool2d(h, outputSize: (g, g)).reshaped([h.shape[0], g * g * h.shape[3]])
    }
}

/// Linear → ReLU → linear to the class logits.
final class ClassifierHead: Module {
    let hidden: Linear, output: Linear
    init(_ inputs: Int, width: Int, classes: Int, using rng: inout SeededGenerator) {
        hidden = Linear(inputs, width, using: &rng)
        output = Linear(width, classes, using: &rng)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { output(relu(hidden(x))) }
}

/// The network an `AVFusionArchitecture` stands for: images `[N, H, W, 1]` and spectrograms
/// `[N, M, F, 1]` to class logits `[N, classes]` (a unimodal network reads only its modality).
public final class AVFusionNetwork: Module {
    public let architecture: AVFusionArchitecture
    let imageSize: (Int, Int)
    let imageExtractor: FeatureExtractor?
    let audioExtractor: FeatureExtractor?
    /// The head on one feature vector (unimodal, early, intermediate after `concat` or `sum`).
    let head: ClassifierHead?
    /// Late fusion: one head per modality.
    let imageHead: ClassifierHead?, audioHead: ClassifierHead?
    /// Intermediate `sum`/`gated`: the projections of each modality's features to the fusion width.
    let imageProjection: Linear?, audioProjection: Linear?
    /// `gated`: the gate's layer, reading both modalities; late `concat`: the logits' combiner.
    let mixer: Linear?

    public init(_ a: AVFusionArchitecture, imageSize: (Int, Int), classes: Int = 10, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        architecture = a
        self.imageSize = imageSize
        let pool = a.pooling == .max, fw = a.fusionWidth
        let cells = FeatureExtractor.grid * FeatureExtractor.grid
        let wi = a.image.width * cells, wa = a.audio.width * cells
        var imageExtractor: FeatureExtractor?, audioExtractor: FeatureExtractor?
        var head: ClassifierHead?, imageHead: ClassifierHead?, audioHead: ClassifierHead?
        var imageProjection: Linear?, audioProjection: Linear?, mixer: Linear?
        switch (a.modalities, a.fusion, a.combine) {
        case (.image, _, _):
            imageExtractor = FeatureExtractor(inputChannels: 1, a.image, maxPooling: pool, using: &rng)
            head = ClassifierHead(wi, width: fw, classes: classes, using: &rng)
        case (.audio, _, _):
            audioExtractor = FeatureExtractor(inputChannels: 1, a.audio, maxPooling: pool, using: &rng)
            head = ClassifierHead(wa, width: fw, classes: classes, using: &rng)
        case (.both, .early, _):
            imageExtractor = FeatureExtractor(inputChannels: 2, a.image, maxPooling: pool, using: &rng)
            head = ClassifierHead(wi, width: fw, classes: classes, using: &rng)
        case (.both, .intermediate, let combine):
            imageExtractor = FeatureExtractor(inputChannels: 1, a.image, maxPooling: pool, using: &rng)
            audioExtractor = FeatureExtractor(inputChannels: 1, a.audio, maxPooling: pool, using: &rng)
            switch combine {
            case .concat: head = ClassifierHead(wi + wa, width: fw, classes: classes, using: &rng)
            case .sum, .gated:
                imageProjection = Linear(wi, fw, using: &rng)
                audioProjection = Linear(wa, fw, using: &rng)
                if combine == .gated { mixer = Linear(wi + wa, fw, using: &rng) }
                head = ClassifierHead(fw, width: fw, classes: classes, using: &rng)
            }
        case (.both, .late, let combine):
            imageExtractor = FeatureExtractor(inputChannels: 1, a.image, maxPooling: pool, using: &rng)
            audioExtractor = FeatureExtractor(inputChannels: 1, a.audio, maxPooling: pool, using: &rng)
            imageHead = ClassifierHead(wi, width: fw, classes: classes, using: &rng)
            audioHead = ClassifierHead(wa, width: fw, classes: classes, using: &rng)
            if combine != .sum { mixer = Linear(2 * classes, classes, using: &rng) }
        }
        (self.imageExtractor, self.audioExtractor, self.head, self.imageHead, self.audioHead) =
            (imageExtractor, audioExtractor, head, imageHead, audioHead)
        (self.imageProjection, self.audioProjection, self.mixer) = (imageProjection, audioProjection, mixer)
    }

    /// Class logits of a batch of (image, spectrogram) pairs.
    public func callAsFunction(image: Tensor, audio: Tensor) -> Tensor {
        let a = architecture
        switch (a.modalities, a.fusion, a.combine) {
        case (.image, _, _): return head.map { $0(features(imageExtractor, image)) } ?? image
        case (.audio, _, _): return head.map { $0(features(audioExtractor, audio)) } ?? audio
        case (.both, .early, _):
            // The spectrogram averaged onto the image's grid becomes the second input channel.
            let resized = adaptiveAvgPool2d(audio, outputSize: imageSize)
            return head.map { $0(features(imageExtractor, concatenate([image, resized], axis: 3))) } ?? image
        case (.both, .intermediate, .concat):
            return head.map { $0(concatenate([features(imageExtractor, image), features(audioExtractor, audio)], axis: 1)) } ?? image
        case (.both, .intermediate, let combine):
            let fi = features(imageExtractor, image), fa = features(audioExtractor, audio)
            guard let pi = imageProjection?(fi), let pa = audioProjection?(fa), let head else { return fi }
            if combine == .sum { return head(pi + pa) }
            // Gated multimodal unit: z = σ(W[fᵢ; fₐ]), h = z ⊙ tanh(Pᵢfᵢ) + (1 − z) ⊙ tanh(Pₐfₐ).
            guard let mixer else { return fi }
            let z = sigmoid(mixer(concatenate([fi, fa], axis: 1)))
            let ti = tanh(pi), ta = tanh(pa)
            return head(ta + z * (ti - ta))
        case (.both, .late, let combine):
            guard let imageHead, let audioHead else { return image }
            let li = imageHead(features(imageExtractor, image)), la = audioHead(features(audioExtractor, audio))
            switch combine {
            case .sum: return li + la
            case .concat: return mixer.map { $0(concatenate([li, la], axis: 1)) } ?? li
            case .gated:
                guard let mixer else { return li }
                let z = sigmoid(mixer(concatenate([li, la], axis: 1)))
                return la + z * (li - la)
            }
        }
    }

    private func features(_ extractor: FeatureExtractor?, _ x: Tensor) -> Tensor { extractor.map { $0(x) } ?? x }
}
