import NASNN
import NASTensor

/// SPOS's evolutionary search over the architectures of any model space (Guo et al., ECCV 2020):
/// a random initial population, then each generation the top-k seen so far breed half the new
/// population by mutation (each decision re-drawn with `mutationProbability`) and half by
/// uniform crossover (each decision from either parent); duplicates are not re-evaluated. Ties
/// in fitness go to the architecture that comes first (`ArchitectureChoices` order).
/// Architectures `feasible` rejects (a parameter bound) are drawn again, never scored; nil when
/// none was found.
public enum ChoiceEvolution {
    public struct Outcome: Sendable {
        public var architecture: ArchitectureChoices
        public var fitness: Double
        public var evaluated: Int
    }

    public static func search(space: ModelSpace, population: Int, generations: Int, parents: Int, mutationProbability: Float,
                              mask: [[Bool]], using rng: inout SeededGenerator,
                              feasible: (ArchitectureChoices) -> Bool = { _ in true },
                              fitness: (ArchitectureChoices) -> Double) -> Outcome? {
        var scores: [ArchitectureChoices: Double] = [:]
        var order: [ArchitectureChoices] = []
        func evaluate(_ c: ArchitectureChoices) {
            guard scores[c] == nil else { return }
            scores[c] = fitness(c)
            order.append(c)
        }
        // At most as many distinct architectures as the masked space holds.
        let target = Int(min(Double(population), space.size(mask: mask)))
        var tries = 0
        while order.count < target && tries < 100 * population {
            let c = space.uniform(mask: mask, using: &rng)
            if feasible(c) { evaluate(c) }
            tries += 1
        }
        guard !order.isEmpty else { return nil }
        func top() -> [ArchitectureChoices] {
            Array(order.sorted { (scores[$0] ?? 0, $1) > (scores[$1] ?? 0, $0) }.prefix(parents))
        }
        for _ in 0..<generations {
            let elite = top()
            var children: [ArchitectureChoices] = []
            tries = 0
            while children.count < population && tries < 50 * population {
                tries += 1
                var child: ArchitectureChoices
                if children.count < population / 2 {
                    let p = elite[Int(rng.next() % UInt64(elite.count))]
                    child = ArchitectureChoices(space.decisions.indices.map { d in
                        rng.nextFloat() < mutationProbability ? space.draw(d, mask: mask, using: &rng) : p.choices[d]
                    })
                } else {
                    let a = elite[Int(rng.next() % UInt64(elite.count))], b = elite[Int(rng.next() % UInt64(elite.count))]
                    child = ArchitectureChoices(space.decisions.indices.map { rng.next() & 1 == 0 ? a.choices[$0] : b.choices[$0] })
                }
                child = space.repaired(child, mask: mask, using: &rng)
                if scores[child] == nil && !children.contains(child) && feasible(child) { children.append(child) }
            }
            children.forEach(evaluate)
        }
        guard let best = top().first else { return nil }
        return Outcome(architecture: best, fitness: scores[best] ?? 0, evaluated: order.count)
    }
}
