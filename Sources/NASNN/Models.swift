import NASTensor

/// Built-in networks for `swiftnas train`, all on channels-last images.
public enum ModelZoo {
    public static let names = ["cnn", "mlp", "refcnn", "vit"]

    /// Builds a model by name for images of `height × width × channels` and `classes` outputs.
    /// `parameters` set the model's own settings (only the ViT has any: `ViTConfig.apply`).
    public static func make(_ name: String, height: Int, width: Int, channels: Int, classes: Int,
                            parameters: [String: String] = [:], seed: UInt64) throws -> any Layer {
        var rng = SeededGenerator(seed: seed)
        guard height >= 1, width >= 1, channels >= 1, classes >= 2 else {
            throw ModelError(description: "model '\(name)' needs images of at least 1×1×1 and 2 classes (got \(height)×\(width)×\(channels), \(classes) classes)")
        }
        // The CNNs pool twice by 2 (cnn) or need a 3×3 neighbourhood (refcnn): smaller inputs cannot pass.
        if name == "cnn" || name == "refcnn", height < 4 || width < 4 {
            throw ModelError(description: "model '\(name)' needs images of at least 4×4 pixels; these are \(height)×\(width) (use --model mlp)")
        }
        if name != "vit", let key = parameters.keys.sorted().first {
            throw ModelError(description: "model '\(name)' has no parameter '\(key)' (only vit takes --param)")
        }
        switch name {
        case "vit":
            var config = ViTConfig(height: height, width: width, channels: channels, classes: classes)
            try config.apply(parameters)
            if let problem = config.problem { throw ModelError(description: problem) }
            return VisionTransformer(config, using: &rng)
        case "cnn": return smallCNN(height: height, width: width, channels: channels, classes: classes, using: &rng)
        case "mlp": return mlp(inputs: height * width * channels, classes: classes, using: &rng)
        case "refcnn": return referenceCNN(channels: channels, classes: classes, using: &rng)
        default: throw ModelError(description: "unknown model '\(name)'; choose one of \(names.joined(separator: ", "))")
        }
    }

    /// The small CNN: two conv3×3 (32, 64 channels) + batch norm + ReLU + 2×2 max-pool stages,
    /// then a 128-unit hidden layer with dropout 0.25 and a linear classifier.
    public static func smallCNN(height: Int, width: Int, channels: Int, classes: Int,
                                using rng: inout SeededGenerator) -> Sequential {
        let flat = (height / 4) * (width / 4) * 64
        return Sequential([
            Conv2d(channels, 32, kernel: 3, padding: 1, bias: false, using: &rng), BatchNorm(32), Lambda.relu, Lambda.maxPool(2),
            Conv2d(32, 64, kernel: 3, padding: 1, bias: false, using: &rng), BatchNorm(64), Lambda.relu, Lambda.maxPool(2),
            Lambda.flatten,
            Linear(flat, 128, using: &rng), Lambda.relu, Dropout(0.25, seed: rng.next()),
            Linear(128, classes, using: &rng),
        ])
    }

    /// A multilayer perceptron 784-256-128-10 style: two ReLU hidden layers.
    public static func mlp(inputs: Int, classes: Int, hidden: [Int] = [256, 128], using rng: inout SeededGenerator) -> Sequential {
        var layers: [any Layer] = [Lambda.flatten]
        var width = inputs
        for h in hidden {
            layers += [Linear(width, h, using: &rng), Lambda.relu]
            width = h
        }
        layers.append(Linear(width, classes, using: &rng))
        return Sequential(layers)
    }

    /// The engine benchmark's reference CNN: three conv3×3-16 + batch norm + ReLU, global average
    /// pool, linear classifier.
    public static func referenceCNN(channels: Int, classes: Int, using rng: inout SeededGenerator) -> Sequential {
        Sequential([
            Conv2d(channels, 16, kernel: 3, padding: 1, using: &rng), BatchNorm(16), Lambda.relu,
            Conv2d(16, 16, kernel: 3, padding: 1, using: &rng), BatchNorm(16), Lambda.relu,
            Conv2d(16, 16, kernel: 3, padding: 1, using: &rng), BatchNorm(16), Lambda.relu,
            Lambda.globalAvgPool,
            Linear(16, classes, using: &rng),
        ])
    }
}

public struct ModelError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
