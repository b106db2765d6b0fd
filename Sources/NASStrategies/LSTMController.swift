import Foundation
import NASNN
import NASTensor

/// An LSTM policy that emits an architecture one decision at a time, as in NAS with reinforcement
/// learning (Zoph & Le) and ENAS: the controller of CTNAS (trained with its comparator's reward)
/// and of `ControllerReinforce` (trained with the estimator's). At step d it reads the
/// token of decision d − 1 (a start token first) and a shared output layer gives logits over
/// all tokens, of which decision d's own options form its categorical distribution.
final class LSTMController: Module {
    let embedding: Embedding
    let lstm: LSTM
    let output: Linear
    let layout: TokenLayout

    init(layout: TokenLayout, embeddingSize: Int, hiddenSize: Int, using rng: inout SeededGenerator) {
        self.layout = layout
        embedding = Embedding(layout.vocabulary + 1, embeddingSize, using: &rng)
        lstm = LSTM(inputSize: embeddingSize, hiddenSize: hiddenSize, using: &rng)
        output = Linear(hiddenSize, layout.vocabulary, using: &rng)
    }

    var startToken: Int { layout.vocabulary }

    /// Logits `[B, options]` of each decision, reading `previous(d)` (the tokens fed at step d).
    private func decisionLogits(batch b: Int, previous: (Int) -> [Int], each: (Int, Tensor) -> Void) {
        var state = (Tensor(zeros: [b, lstm.hiddenSize]), Tensor(zeros: [b, lstm.hiddenSize]))
        for d in 0..<layout.length {
            state = lstm.cell(embedding(previous(d)), state: state)
            let lo = layout.offsets[d]
            each(d, output(state.0).slice(axis: 1, lo..<(lo + layout.counts[d])))
        }
    }

    /// `count` architectures' choice vectors sampled from the policy (no gradient); with
    /// `greedy`, the most likely option at every step instead.
    func sample(_ count: Int, greedy: Bool = false, using rng: inout SeededGenerator) -> [[Int]] {
        var result = [[Int]](repeating: [], count: count)
        withoutGrad {
            decisionLogits(batch: count, previous: { d in
                d == 0 ? [Int](repeating: self.startToken, count: count)
                       : result.map { self.layout.offsets[d - 1] + $0[d - 1] }
            }) { _, logits in
                let p = softmax(logits).array, n = logits.shape[1]
                for r in 0..<count {
                    let row = p[(r * n)..<((r + 1) * n)]
                    var choice = n - 1
                    if greedy {
                        choice = row.indices.max { row[$0] < row[$1] }! - r * n
                    } else {
                        let u = Float(rng.unitDouble())
                        var acc: Float = 0
                        for o in 0..<n { acc += row[r * n + o]; if u < acc { choice = o; break } }
                    }
                    result[r].append(choice)
                }
            }
        }
        return result
    }

    /// Each decision's option probabilities along one architecture's `choices` (teacher-forced).
    func decisionProbabilities(_ choices: [Int]) -> [[Double]] {
        var result: [[Double]] = []
        withoutGrad {
            decisionLogits(batch: 1, previous: { d in
                [d == 0 ? self.startToken : self.layout.offsets[d - 1] + choices[d - 1]]
            }) { _, logits in result.append(softmax(logits).array.map(Double.init)) }
        }
        return result
    }

    /// The REINFORCE objective of a batch: −Σ_b w_b·log π(choices_b) − entropyWeight·mean_b H(π),
    /// with the log-probabilities and entropies summed over decisions (teacher-forced).
    func policyGradientLoss(_ choices: [[Int]], weights w: [Float], entropyWeight: Float) -> Tensor {
        let b = choices.count
        var total: Tensor?
        decisionLogits(batch: b, previous: { d in
            d == 0 ? [Int](repeating: self.startToken, count: b) : choices.map { self.layout.offsets[d - 1] + $0[d - 1] }
        }) { d, logits in
            let n = logits.shape[1]
            let logP = logSoftmax(logits)
            var picked = [Float](repeating: 0, count: b * n)
            for r in 0..<b { picked[r * n + choices[r][d]] = -w[r] }
            let entropy = (softmax(logits) * logP).sum() * (entropyWeight / Float(b))
            let term = (logP * Tensor(shape: [b, n], data: picked)).sum() + entropy
            total = total.map { $0 + term } ?? term
        }
        return total!
    }
}
