import Foundation

/// How an op's output maps its gradient back to its inputs: one entry per input, `nil` where
/// that input needs no gradient.
typealias BackwardFunction = (_ gradOutput: Tensor) -> [Tensor?]

/// One recorded op on the tape.
final class Node {
    let inputs: [Tensor]
    let backward: BackwardFunction
    let name: String
    init(name: String, inputs: [Tensor], backward: @escaping BackwardFunction) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record themselves for differentiation. Per-thread, like PyTorch's grad mode.
public enum GradMode {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// True unless inside `withoutGrad`.
    public static var isEnabled: Bool {
        pthread_getspecific(key) == nil
    }

    static func set(enabled: Bool) {
        pthread_setspecific(key, enabled ? nil : UnsafeRawPointer(bitPattern: 1))
    }
}

/// Runs `body` without recording ops (inference, optimizer updates, evaluation).
public func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
    let was = GradMode.isEnabled
    GradMode.set(enabled: false)
    defer { GradMode.set(enabled: was) }
    return try body()
}

extension Tensor {
    /// Records `self` as the output of an op when any input needs a gradient.
    @discardableResult
    func recorded(_ name: String, _ inputs: [Tensor], _ backward: @escaping BackwardFunction) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        node = Node(name: name, inputs: inputs, backward: backward)
        return self
    }

    /// Reverse-mode differentiation from this tensor. A scalar seeds with 1; otherwise pass `gradient`.
    /// Leaves that require a gradient accumulate it into `grad`.
    public func backward(_ gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad")
        let seed = gradient ?? {
            precondition(count == 1, "backward() without a gradient needs a scalar, shape is \(shape)")
            return Tensor(repeating: 1, shape: shape)
        }()
        // Topological order by depth-first search (iterative: graphs can be deep).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        // Sums this pass allocated itself: nothing else refers to them, so they accumulate in place.
        var ownSums = Set<ObjectIdentifier>()
        withoutGrad {
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.node else {
                    // Leaves own their gradient storage: op gradients may alias one another.
                    if let existing = t.grad { addInPlace(existing, g) } else { t.grad = g.copy().reshaped(t.shape) }
                    continue
                }
                if t.retainsGrad { t.grad = t.grad.map { add($0, g.reshaped(t.shape)) } ?? g.copy().reshaped(t.shape) }
                let inputGrads = node.backward(g)
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    precondition(ig.count == input.count,
                                 "\(node.name) backward produced \(ig.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    if let acc = grads[key] {
                        if ownSums.contains(key) {
                            addInPlace(acc, ig)
                        } else {
                            // Out of place: gradients returned by ops may share storage.
                            grads[key] = add(acc, ig.reshaped(acc.shape))
                            ownSums.insert(key)
                        }
                    } else {
                        grads[key] = ig.shape == input.shape ? ig : ig.reshaped(input.shape)
                    }
                }
            }
        }
    }
}

/// a += b elementwise (same count), outside autograd.
func addInPlace(_ a: Tensor, _ b: Tensor) {
    precondition(a.count == b.count)
    let pa = UncheckedSendable(a.data), pb = UncheckedSendable(b.data)
    Parallel.forChunks(a.count, minChunk: elementwiseChunk) { _, range in
        for i in range { pa.value[i] += pb.value[i] }
    }
}
