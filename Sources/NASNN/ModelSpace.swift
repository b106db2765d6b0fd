import NASTensor

/// One decision of a model space: which candidate of a layer choice, which inputs of an input
/// choice, which value of a value choice.
public struct Decision: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case layer
        /// Keep `chosen` of the candidates (inputs).
        case input(chosen: Int)
        case value
    }

    public var label: String
    public var kind: Kind
    public var candidates: [String]
    /// Candidates without weights (skip, pooling, none): a collapsed DARTS cell is made of them.
    public var parameterFree: [Bool]
    /// Candidates whose output is always zero (`none`).
    public var zero: [Bool]
    /// Candidates a fixed architecture may not hold (see `LayerChoice.relaxationOnly`).
    public var relaxationOnly: [Bool]
    /// Input choices: the label of the layer choice on each input (ranks inputs on derivation).
    public var strengths: [String] = []
}

/// A fixed architecture of a model space: for each decision, in the space's order, the index of
/// the chosen candidate (the sorted chosen indices for an input choice). A layer choice whose
/// edge no input choice keeps holds -1 (it computes nothing), so that two architectures that
/// compute the same network are equal.
public struct ArchitectureChoices: Hashable, Codable, Sendable, Comparable {
    public var choices: [[Int]]

    public init(_ choices: [[Int]]) { self.choices = choices }

    /// Lexicographic over the flattened choices (NAS-Bench-201: the order of the cell codes).
    public static func < (a: ArchitectureChoices, b: ArchitectureChoices) -> Bool {
        a.choices.flatMap { $0 }.lexicographicallyPrecedes(b.choices.flatMap { $0 })
    }
}

/// How a supernet's choices behave in one forward pass.
public enum SupernetMode {
    /// Continuous relaxation (DARTS, DNAL): `weights` is `[rows, width]` (one row per layer or
    /// value decision, `ModelSpace.rows`), candidate k of a row scaled by `weights[row, k]`; it
    /// may carry a gradient back to the architecture parameters it was computed from.
    case weighted(Tensor)
    /// One fixed architecture: a single path (SPOS, RLNAS, MdeNAS, evaluation).
    case path(ArchitectureChoices)
    /// The mean of the candidates `mask[row][k]` on each row.
    case masked([[Bool]])
}

/// What every choice module of a supernet reads during one forward pass.
public struct ChoiceContext {
    public enum Kind {
        case path(ArchitectureChoices)
        /// `[row][candidate]` one-element weights; nil: the candidate takes no part.
        case mixture([[Tensor?]])
    }

    public let kind: Kind
    let space: ModelSpace

    /// The index of the decision labelled `label`.
    public func index(_ label: String) -> Int { space.decisionIndex[label]! }
    /// The weight row of decision `d`.
    public func row(_ d: Int) -> Int { space.rowOfDecision[d]! }
}

/// The decisions of a supernet, collected from its module tree (first appearance of each label),
/// with everything a method needs to sample, derive and compare architectures without knowing
/// the space: the architecture-parameter layout (`rows` × `width`), candidate masks, and the
/// links between input choices and the layer choices they rank.
public struct ModelSpace: Sendable {
    public let decisions: [Decision]
    /// Decisions with a row of architecture parameters (layer and value choices), in order.
    public let rows: [Int]
    /// Candidates per row of the architecture parameters (the largest decision).
    public let width: Int
    let decisionIndex: [String: Int]
    let rowOfDecision: [Int: Int]
    /// For each row, the input decision and input index that keep it (nil: always used).
    let keptBy: [(decision: Int, input: Int)?]

    public init(decisions: [Decision]) {
        self.decisions = decisions
        var index: [String: Int] = [:]
        for (i, d) in decisions.enumerated() { index[d.label] = i }
        decisionIndex = index
        rows = decisions.indices.filter { if case .input = decisions[$0].kind { return false } else { return true } }
        width = rows.map { decisions[$0].candidates.count }.max() ?? 0
        var rowOf: [Int: Int] = [:]
        for (r, d) in rows.enumerated() { rowOf[d] = r }
        rowOfDecision = rowOf
        var kept = [(decision: Int, input: Int)?](repeating: nil, count: rows.count)
        for (d, decision) in decisions.enumerated() {
            for (i, label) in decision.strengths.enumerated() {
                if let ld = index[label], let r = rowOf[ld] { kept[r] = (d, i) }
            }
        }
        keptBy = kept
    }

    /// The space of the choice modules in `module` (same label: same decision; the first wins).
    public init(collecting module: Module) {
        var seen: [String: Decision] = [:]
        var order: [Decision] = []
        for (_, m) in module.namedModules() {
            let decision: Decision
            if let c = m as? LayerChoice { decision = c.decision }
            else if let c = m as? InputChoice { decision = c.decision }
            else if let c = m as? ValueChoice { decision = c.decision }
            else { continue }
            if let other = seen[decision.label] {
                precondition(other == decision, "choices labelled '\(decision.label)' have different candidates")
                continue
            }
            seen[decision.label] = decision
            order.append(decision)
        }
        self.init(decisions: order)
    }

    public func index(of label: String) -> Int? { decisionIndex[label] }

    /// The context choices read for `mode` (`allowed`: the supernet's own candidate mask).
    public func context(_ mode: SupernetMode, allowed: [[Bool]]) -> ChoiceContext {
        switch mode {
        case .path(let a):
            return ChoiceContext(kind: .path(a), space: self)
        case .weighted(let w):
            precondition(w.shape == [rows.count, width], "supernet weights must be [\(rows.count), \(width)], got \(w.shape)")
            // One scalar per (row, candidate), shared by every choice with that label, so the
            // gradient sums over them.
            let scalars: [[Tensor?]] = rows.enumerated().map { r, d in
                let row = w.slice(axis: 0, r..<(r + 1)).reshaped([width])
                return (0..<width).map { k in
                    k < decisions[d].candidates.count && allowed[r][k] && !decisions[d].zero[k] ? row.slice(axis: 0, k..<(k + 1)) : nil
                }
            }
            return ChoiceContext(kind: .mixture(scalars), space: self)
        case .masked(let mask):
            let weights: [[Tensor?]] = rows.indices.map { r in
                let on = (0..<width).filter { mask[r][$0] && allowed[r][$0] }
                precondition(!on.isEmpty, "masked mode: row \(r) keeps no candidate")
                let share = Tensor(shape: [1], data: [1 / Float(on.count)])
                return (0..<width).map { on.contains($0) ? share : nil }
            }
            return ChoiceContext(kind: .mixture(weights), space: self)
        }
    }

    /// Every candidate of every row (padding beyond a decision's candidates is off).
    public var fullMask: [[Bool]] {
        rows.map { d in (0..<width).map { $0 < decisions[d].candidates.count } }
    }

    /// `mask` without the candidates a fixed architecture may not hold.
    public func discrete(_ mask: [[Bool]]) -> [[Bool]] {
        rows.enumerated().map { r, d in (0..<width).map { mask[r][$0] && !decisions[d].relaxationOnly[$0] } }
    }

    /// Whether decision `d` of `a` computes anything (a layer choice on an input nobody keeps does not).
    public func isUsed(_ a: ArchitectureChoices, decision d: Int) -> Bool {
        guard let r = rowOfDecision[d], let k = keptBy[r] else { return true }
        return a.choices[k.decision].contains(k.input)
    }

    /// Unused layer choices set to -1 and used ones left at -1 drawn from `mask`, so that the
    /// result is a valid, canonical architecture.
    public func repaired(_ a: ArchitectureChoices, mask: [[Bool]], using rng: inout SeededGenerator) -> ArchitectureChoices {
        var out = a
        for (r, d) in rows.enumerated() where keptBy[r] != nil {
            if !isUsed(a, decision: d) { out.choices[d] = [-1] }
            else if out.choices[d] == [-1] { out.choices[d] = draw(d, mask: mask, using: &rng) }
        }
        return out
    }

    /// A uniformly random value of decision `d` among the candidates `mask` allows.
    public func draw(_ d: Int, mask: [[Bool]], using rng: inout SeededGenerator) -> [Int] {
        let decision = decisions[d]
        if case .input(let chosen) = decision.kind {
            var picked: [Int] = []
            while picked.count < chosen {
                let i = Int(rng.next() % UInt64(decision.candidates.count))
                if !picked.contains(i) { picked.append(i) }
            }
            return picked.sorted()
        }
        let r = rowOfDecision[d]!
        let allowed = (0..<width).filter { mask[r][$0] && !decision.relaxationOnly[$0] }
        return [allowed[Int(rng.next() % UInt64(allowed.count))]]
    }

    /// A uniformly random architecture among those `mask` allows.
    public func uniform(mask: [[Bool]], using rng: inout SeededGenerator) -> ArchitectureChoices {
        let a = ArchitectureChoices(decisions.indices.map { draw($0, mask: mask, using: &rng) })
        return repaired(a, mask: mask, using: &rng)
    }

    /// The architecture a relaxation stands for: on each row the allowed candidate with the
    /// largest `values[row * width + k]` (ties: the first); each input choice keeps the inputs
    /// whose layer choice has the largest `strengths` value on a candidate a fixed architecture
    /// may hold (DARTS: the strongest non-`none` weight of the edge).
    public func argmax(_ values: [Float], strengths: [Float]? = nil, mask: [[Bool]]) -> ArchitectureChoices {
        let strengths = strengths ?? values
        let discreteMask = discrete(mask)
        var out: [[Int]] = decisions.map { _ in [] }
        for (r, d) in rows.enumerated() {
            var best = -Float.infinity, bk = 0
            for k in 0..<width where discreteMask[r][k] && values[r * width + k] > best { best = values[r * width + k]; bk = k }
            out[d] = [bk]
        }
        for (d, decision) in decisions.enumerated() {
            guard case .input(let chosen) = decision.kind else { continue }
            let strength: [Float] = decision.strengths.map { label in
                guard let r = rowOfDecision[decisionIndex[label]!] else { return -.infinity }
                return (0..<width).filter { discreteMask[r][$0] }.map { strengths[r * width + $0] }.max() ?? -.infinity
            }
            let order = strength.indices.sorted { (strength[$0], $1) > (strength[$1], $0) }
            out[d] = Array(order.prefix(chosen)).sorted()
        }
        var rng = SeededGenerator(seed: 0)   // unused: every used row already has a candidate
        return repaired(ArchitectureChoices(out), mask: mask, using: &rng)
    }

    /// How many architectures `mask` allows (as a Double: the DARTS space holds ~10^18).
    public func size(mask: [[Bool]]) -> Double {
        var n = 1.0
        let m = discrete(mask)
        for (d, decision) in decisions.enumerated() {
            if case .input(let chosen) = decision.kind {
                var c = 1.0
                for i in 0..<chosen { c = c * Double(decision.candidates.count - i) / Double(i + 1) }
                n *= c
            } else if keptBy[rowOfDecision[d]!] == nil {
                n *= Double(m[rowOfDecision[d]!].filter { $0 }.count)
            } else {
                n *= Double(m[rowOfDecision[d]!].filter { $0 }.count)   // an upper bound for kept rows
            }
        }
        return n
    }

    /// The share of used layer choices of `a` whose candidate has no parameters.
    public func parameterFreeShare(_ a: ArchitectureChoices) -> (free: Int, of: Int) {
        var free = 0, total = 0
        for d in rows where decisions[d].kind == .layer && isUsed(a, decision: d) {
            total += 1
            if decisions[d].parameterFree[a.choices[d][0]] { free += 1 }
        }
        return (free, total)
    }

    /// Whether `a` is an architecture of this space with every choice among those `mask` allows.
    public func allows(_ a: ArchitectureChoices, mask: [[Bool]]) -> Bool {
        guard a.choices.count == decisions.count else { return false }
        for (d, decision) in decisions.enumerated() {
            let c = a.choices[d]
            if case .input(let chosen) = decision.kind {
                guard c.count == chosen, c == c.sorted(), Set(c).count == chosen,
                      c.allSatisfy({ (0..<decision.candidates.count).contains($0) }) else { return false }
                continue
            }
            guard c.count == 1 else { return false }
            if c[0] == -1 { if isUsed(a, decision: d) { return false } else { continue } }
            guard (0..<decision.candidates.count).contains(c[0]), mask[rowOfDecision[d]!][c[0]],
                  !decision.relaxationOnly[c[0]] else { return false }
        }
        return true
    }
}

/// A network with choice modules that runs in every `SupernetMode`. Architecture parameters are
/// not part of it: methods keep them apart, with their own optimizer.
public protocol Supernet: Module {
    var space: ModelSpace { get }
    /// Candidates allowed on each row (`mask[row][k]`); all true except in few-shot
    /// sub-supernets, where the split decision keeps one. Every mode honours it.
    var mask: [[Bool]] { get set }
    /// The forward pass with every choice reading `context`.
    func forward(_ x: Tensor, _ context: ChoiceContext) -> Tensor
    /// The architecture in the notation users know (a NAS-Bench-201 cell string, a DARTS genotype).
    func describe(_ a: ArchitectureChoices) -> String
    /// Whether the architecture's output depends on its input (RLNAS scores others 0).
    func isConnected(_ a: ArchitectureChoices) -> Bool
    /// Weights of the stand-alone network of `a`, where the space counts them (searches bound
    /// them: `min_parameters`/`max_parameters`); nil elsewhere.
    func pathParameterCount(_ a: ArchitectureChoices) -> Int?
}

extension Supernet {
    public func callAsFunction(_ x: Tensor, mode: SupernetMode) -> Tensor {
        if case .path(let a) = mode { precondition(space.allows(a, mask: mask), "\(describe(a)) is not in this (sub-)supernet") }
        return forward(x, space.context(mode, allowed: mask))
    }

    public func isConnected(_ a: ArchitectureChoices) -> Bool { true }

    public func pathParameterCount(_ a: ArchitectureChoices) -> Int? { nil }

    /// Parameters outside every layer choice (stem, reductions, classifier), which every path uses.
    public func sharedParameters() -> [Tensor] { parameters(skippingChoices: self) }

    private func parameters(skippingChoices m: Module) -> [Tensor] {
        var out = m.directParameters()
        for (_, c) in m.namedChildren() where !(c is LayerChoice) { out += parameters(skippingChoices: c) }
        return out
    }

    /// Every layer choice module, in module order.
    public var layerChoices: [LayerChoice] { namedModules().compactMap { $0.1 as? LayerChoice } }

    /// The weights the path `a` uses, in a fixed order: the shared ones, then per layer choice
    /// (module order) the chosen candidate's parameters followed by its stand-in weights.
    public func pathVector(_ a: ArchitectureChoices) -> [Tensor] {
        var out = sharedParameters()
        for choice in layerChoices {
            let k = a.choices[space.index(of: choice.label)!][0]
            guard k >= 0 else { continue }
            out += choice.candidates[k].parameters() + choice.candidates[k].standInWeights
        }
        return out
    }
}
