import NASTensor

/// A candidate of a layer choice: a module whose output may be "zero" (`nil`, DARTS's and
/// NAS-Bench-201's `none`), which the sums of a cell skip instead of adding a tensor of zeros.
/// The operation registry (NASSpaces) builds them by name.
public final class CandidateOperation: Module {
    public let name: String
    /// The module holding the operation's weights (nil for parameter-free operations).
    public let body: Module?
    /// The output for an input (nil: the zero operation).
    private let apply: (Tensor) -> Tensor?
    /// Fixed weights that stand for a parameter-free operation in a path's weight vector
    /// (RLNAS's angle metric): an identity kernel for a skip, a uniform kernel for a pooling.
    public let standInWeights: [Tensor]
    /// Whether the output is always zero (`none`).
    public let isZero: Bool

    public init(_ name: String, body: Module? = nil, standInWeights: [Tensor] = [], isZero: Bool = false,
                apply: @escaping (Tensor) -> Tensor?) {
        self.name = name; self.body = body; self.apply = apply
        self.standInWeights = standInWeights; self.isZero = isZero
    }

    public func callAsFunction(_ x: Tensor) -> Tensor? { apply(x) }
}

/// Chooses one of several candidate operations (NNI's `LayerChoice`). Choices with the same
/// label are one decision: NAS-Bench-201 shares its six edge choices across all cells, DARTS
/// shares each edge of the normal cell across the normal cells.
public final class LayerChoice: Module {
    public let label: String
    public let candidates: [CandidateOperation]
    /// Candidates that exist only in the relaxed supernet and never in a fixed architecture
    /// (DARTS's `none`, whose weight only tells how strong an edge is).
    public let relaxationOnly: [Bool]

    public init(label: String, candidates: [CandidateOperation], relaxationOnly: Set<String> = []) {
        self.label = label
        self.candidates = candidates
        self.relaxationOnly = candidates.map { relaxationOnly.contains($0.name) }
    }

    public var decision: Decision {
        Decision(label: label, kind: .layer, candidates: candidates.map(\.name),
                 parameterFree: candidates.map { $0.parameterCount == 0 }, zero: candidates.map(\.isZero),
                 relaxationOnly: relaxationOnly)
    }

    /// The output under `context`: one candidate on a path, the weighted sum of the candidates
    /// with a weight in a mixture (zero outputs skipped; nil when nothing contributes).
    public func callAsFunction(_ x: Tensor, _ context: ChoiceContext) -> Tensor? {
        let d = context.index(label)
        switch context.kind {
        case .path(let a):
            return candidates[a.choices[d][0]](x)
        case .mixture(let weights):
            var sum: Tensor? = nil
            for (k, op) in candidates.enumerated() {
                guard let w = weights[context.row(d)][k], let y = op(x) else { continue }
                let term = y * w
                sum = sum.map { $0 + term } ?? term
            }
            return sum
        }
    }
}

/// Chooses `chosen` of `count` incoming tensors (NNI's `InputChoice`): a DARTS node keeps two of
/// the edges into it. In a mixture every input takes part (the edges' own layer choices weigh
/// them); a fixed architecture keeps the chosen ones. `strengths[i]` names the layer choice on
/// input i, whose weights rank the inputs when an architecture is derived from a relaxation.
public final class InputChoice: Module {
    public let label: String
    public let count: Int
    public let chosen: Int
    public let strengths: [String]

    public init(label: String, count: Int, chosen: Int, strengths: [String]) {
        precondition(chosen >= 1 && chosen <= count && strengths.count == count, "InputChoice \(label): bad shape")
        self.label = label; self.count = count; self.chosen = chosen; self.strengths = strengths
    }

    public var decision: Decision {
        Decision(label: label, kind: .input(chosen: chosen), candidates: (0..<count).map { "input\($0)" },
                 parameterFree: Array(repeating: true, count: count), zero: Array(repeating: false, count: count),
                 relaxationOnly: Array(repeating: false, count: count), strengths: strengths)
    }

    /// The inputs that take part under `context`, ascending.
    public func active(_ context: ChoiceContext) -> [Int] {
        switch context.kind {
        case .mixture: return Array(0..<count)
        case .path(let a): return a.choices[context.index(label)]
        }
    }
}

/// A categorical hyper-parameter such as a width or a kernel size (NNI's `ValueChoice`): the
/// module that owns it reads the chosen value on a path, or the weights of a mixture.
public final class ValueChoice: Module {
    public let label: String
    public let values: [Int]

    public init(label: String, values: [Int]) {
        self.label = label; self.values = values
    }

    public var decision: Decision {
        Decision(label: label, kind: .value, candidates: values.map(String.init),
                 parameterFree: Array(repeating: true, count: values.count), zero: Array(repeating: false, count: values.count),
                 relaxationOnly: Array(repeating: false, count: values.count))
    }

    /// The chosen value on a path; nil in a mixture.
    public func value(_ context: ChoiceContext) -> Int? {
        if case .path(let a) = context.kind { return values[a.choices[context.index(label)][0]] }
        return nil
    }

    /// One weight per value in a mixture (nil: the value takes no part); nil on a path.
    public func weights(_ context: ChoiceContext) -> [Tensor?]? {
        if case .mixture(let w) = context.kind { return w[context.row(context.index(label))] }
        return nil
    }
}
