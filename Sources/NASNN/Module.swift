import NASTensor

/// Base class of every network component. Parameters, buffers and sub-modules are found by
/// reflection over stored properties (as in MLX): a `Tensor` property that requires a gradient
/// is a parameter, one that doesn't is a buffer (e.g. running statistics); `Module` and
/// `[Module]` properties are children, named by property name and index (`layers.0.weight`).
open class Module {
    /// Training or evaluation mode (batch norm, dropout).
    public private(set) var training = true

    public init() {}

    /// Direct children, in declaration order.
    public func namedChildren() -> [(String, Module)] {
        var result: [(String, Module)] = []
        forEachProperty { name, value in
            if let m = value as? Module { result.append((name, m)) }
            else if let ms = value as? [Module] { for (i, m) in ms.enumerated() { result.append(("\(name).\(i)", m)) } }
        }
        return result
    }

    /// This module and all its descendants with their dotted paths ("" for self).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var result: [(String, Module)] = [(prefix, self)]
        for (name, child) in namedChildren() {
            result += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return result
    }

    /// Tensors held directly by this module (not its children).
    public func directTensors() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        forEachProperty { name, value in if let t = value as? Tensor { result.append((name, t)) } }
        return result
    }

    private func forEachProperty(_ body: (String, Any) -> Void) {
        var mirrors: [Mirror] = []
        var m: Mirror? = Mirror(reflecting: self)
        while let mm = m { mirrors.append(mm); m = mm.superclassMirror }
        // Superclass properties first, so names follow declaration order down the hierarchy.
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard let label = child.label else { continue }
                let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
                // Unwrap optionals (e.g. an optional bias).
                let unwrapped = Mirror(reflecting: child.value)
                if unwrapped.displayStyle == .optional {
                    if let some = unwrapped.children.first { body(name, some.value) }
                } else {
                    body(name, child.value)
                }
            }
        }
    }

    /// Every tensor (parameters and buffers) with its dotted path.
    public func namedTensors(prefix: String = "") -> [(String, Tensor)] {
        var result = directTensors().map { (prefix + $0.0, $0.1) }
        for (name, child) in namedChildren() { result += child.namedTensors(prefix: prefix + name + ".") }
        return result
    }

    public func namedParameters() -> [(String, Tensor)] { namedTensors().filter { $0.1.requiresGrad } }
    public func parameters() -> [Tensor] { namedParameters().map { $0.1 } }
    public func namedBuffers() -> [(String, Tensor)] { namedTensors().filter { !$0.1.requiresGrad } }
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Sets training/evaluation mode recursively.
    public func train(_ on: Bool = true) {
        training = on
        for (_, c) in namedChildren() { c.train(on) }
    }

    public func eval() { train(false) }

    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

    /// Parameters and buffers by name.
    public func stateDict() -> [String: Tensor] { Dictionary(uniqueKeysWithValues: namedTensors()) }

    /// Copies values from `state` into this module's tensors. Every tensor must be present with
    /// the same shape; extra entries are an error unless `strict` is false.
    public func load(stateDict state: [String: Tensor], strict: Bool = true) throws {
        let own = namedTensors()
        for (name, t) in own {
            guard let src = state[name] else {
                if strict { throw StateDictError.missing(name) }
                continue
            }
            guard src.shape == t.shape else { throw StateDictError.shapeMismatch(name, expected: t.shape, found: src.shape) }
            t.assign(src)
        }
        if strict {
            let known = Set(own.map { $0.0 })
            if let extra = state.keys.sorted().first(where: { !known.contains($0) }) { throw StateDictError.unexpected(extra) }
        }
    }
}

public enum StateDictError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case unexpected(String)
    case shapeMismatch(String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missing(let n): return "state dict has no tensor '\(n)' that the model needs"
        case .unexpected(let n): return "state dict has a tensor '\(n)' that the model does not have"
        case .shapeMismatch(let n, let e, let f): return "tensor '\(n)' has shape \(f), the model expects \(e)"
        }
    }
}

/// A module mapping one tensor to one tensor, so it can sit in a `Sequential`.
public protocol Layer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}
