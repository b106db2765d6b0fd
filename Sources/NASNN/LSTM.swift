import Foundation
import NASTensor

/// One LSTM step with PyTorch's layout and gate order (input, forget, cell, output):
///
///     gates = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh          [B, 4H], split as i | f | g | o
///     c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
///     h' = σ(o) ⊙ tanh(c')
///
/// Weights `weight_ih [4H, I]`, `weight_hh [4H, H]`, biases `bias_ih [4H]`, `bias_hh [4H]`, all
/// initialised U(−1/√H, 1/√H) as `torch.nn.LSTMCell` does, so a state dict moves between the two
/// unchanged. Built from engine ops, so the backward pass is the engine's.
public final class LSTMCell: Module {
    public let weightIh: Tensor
    public let weightHh: Tensor
    public let biasIh: Tensor
    public let biasHh: Tensor
    public let inputSize: Int
    public let hiddenSize: Int

    public init(inputSize: Int, hiddenSize: Int, using rng: inout SeededGenerator) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let k = 1 / Float(hiddenSize).squareRoot()
        weightIh = .uniform([4 * hiddenSize, inputSize], low: -k, high: k, using: &rng, requiresGrad: true)
        weightHh = .uniform([4 * hiddenSize, hiddenSize], low: -k, high: k, using: &rng, requiresGrad: true)
        biasIh = .uniform([4 * hiddenSize], low: -k, high: k, using: &rng, requiresGrad: true)
        biasHh = .uniform([4 * hiddenSize], low: -k, high: k, using: &rng, requiresGrad: true)
    }

    /// Names as PyTorch writes them (`weight_ih`, …), so fixtures and checkpoints line up.
    public func torchNamedParameters() -> [(String, Tensor)] {
        [("weight_ih", weightIh), ("weight_hh", weightHh), ("bias_ih", biasIh), ("bias_hh", biasHh)]
    }

    /// x·W_ihᵀ + b_ih for inputs `[N, I]` (hoisted out of the time loop by `LSTM`).
    func inputProjection(_ x: Tensor) -> Tensor { matmul(x, weightIh, transposeB: true) + biasIh }

    /// One step from a precomputed input projection `[B, 4H]`.
    func step(projected: Tensor, state: (h: Tensor, c: Tensor)) -> (h: Tensor, c: Tensor) {
        let hs = hiddenSize
        let gates = projected + matmul(state.h, weightHh, transposeB: true) + biasHh
        let i = sigmoid(gates.slice(axis: 1, 0..<hs))
        let f = sigmoid(gates.slice(axis: 1, hs..<(2 * hs)))
        let g = tanh(gates.slice(axis: 1, (2 * hs)..<(3 * hs)))
        let o = sigmoid(gates.slice(axis: 1, (3 * hs)..<(4 * hs)))
        let c = f * state.c + i * g
        return (o * tanh(c), c)
    }

    /// One step: input `[B, I]`, state `([B, H], [B, H])` (zeros when nil) → new `(h, c)`.
    public func callAsFunction(_ x: Tensor, state: (h: Tensor, c: Tensor)? = nil) -> (h: Tensor, c: Tensor) {
        precondition(x.rank == 2 && x.shape[1] == inputSize, "LSTMCell: input must be [B, \(inputSize)], got \(x.shape)")
        let b = x.shape[0]
        let s = state ?? (Tensor(zeros: [b, hiddenSize]), Tensor(zeros: [b, hiddenSize]))
        return step(projected: inputProjection(x), state: s)
    }
}

/// A single-layer LSTM over a batch-first sequence `[B, T, I]` (PyTorch's `nn.LSTM` with
/// `batch_first=True`, one layer, unidirectional). Returns every step's hidden state `[B, T, H]`
/// and the final `(h, c)`, each `[B, H]`.
public final class LSTM: Module {
    public let cell: LSTMCell

    public init(inputSize: Int, hiddenSize: Int, using rng: inout SeededGenerator) {
        cell = LSTMCell(inputSize: inputSize, hiddenSize: hiddenSize, using: &rng)
    }

    public var hiddenSize: Int { cell.hiddenSize }

    public func callAsFunction(_ x: Tensor, state: (h: Tensor, c: Tensor)? = nil)
        -> (output: Tensor, h: Tensor, c: Tensor) {
        precondition(x.rank == 3 && x.shape[2] == cell.inputSize,
                     "LSTM: input must be [B, T, \(cell.inputSize)], got \(x.shape)")
        let b = x.shape[0], t = x.shape[1], hs = cell.hiddenSize
        // One GEMM for every step's input projection.
        let projected = cell.inputProjection(x.reshaped([b * t, cell.inputSize])).reshaped([b, t, 4 * hs])
        var s = state ?? (Tensor(zeros: [b, hs]), Tensor(zeros: [b, hs]))
        var outputs: [Tensor] = []
        outputs.reserveCapacity(t)
        for step in 0..<t {
            s = cell.step(projected: projected.slice(axis: 1, step..<(step + 1)).reshaped([b, 4 * hs]), state: s)
            outputs.append(s.h)
        }
        return (stack(outputs).permuted([1, 0, 2]), s.h, s.c)
    }
}
