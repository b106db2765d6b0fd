import NASNN
import NASTensor

/// A plain CNN whose structure is its list of convolution widths — the space that architecture
/// pruning searches: blocks of 3×3 convolution → batch norm → ReLU, a 2×2 max pooling after every
/// second block, a global average and a linear classifier. Each block's output can be multiplied
/// by a per-channel gate (`gates`), which is how a relaxed channel selection runs the full network.
public final class PrunableCNN: Module, Layer {
    public let widths: [Int]
    public let inputChannels: Int, classes: Int
    let convs: [Conv2d]
    let norms: [BatchNorm]
    let classifier: Linear
    /// One gate tensor `[width]` per block, or nil to run ungated.
    public var gates: [Tensor]?

    public init(widths: [Int], inputChannels: Int = 1, classes: Int = 10, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        (self.widths, self.inputChannels, self.classes) = (widths, inputChannels, classes)
        var c: [Conv2d] = [], n: [BatchNorm] = []
        for (i, w) in widths.enumerated() {
            c.append(Conv2d(i == 0 ? inputChannels : widths[i - 1], w, kernel: 3, padding: 1, bias: false, using: &rng))
            n.append(BatchNorm(w))
        }
        (convs, norms) = (c, n)
        classifier = Linear(widths.last ?? inputChannels, classes, using: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, (conv, norm)) in zip(convs, norms).enumerated() {
            h = relu(norm(conv(h)))
            if let g = gates?[i] { h = h * g }
            if i % 2 == 1, h.shape[1] >= 2, h.shape[2] >= 2 { h = maxPool2d(h, kernel: 2) }
        }
        return classifier(globalAvgPool2d(h))
    }

    /// The first convolutions' weights `[Cout, 3, 3, Cin]`, for magnitude pruning.
    public var convolutionWeights: [Tensor] { convs.map(\.weight) }

    /// Parameters of the network with these widths (convolutions without bias, batch norm's
    /// scale and shift, the classifier), counted as `parameterCount` counts them.
    public static func parameterCount(widths: [Int], inputChannels: Int = 1, classes: Int = 10) -> Int {
        var total = 0, previous = inputChannels
        for w in widths {
            total += previous * 9 * w + 2 * w
            previous = w
        }
        return total + previous * classes + classes
    }
}
