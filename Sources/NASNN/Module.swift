import NASTensor

/// Base class of every network component. Parameters, buffers and sub-modules are found by
/// reflection over stored properties (as in MLX): a `Tensor` property that requires a gradient
/// is a parameter, one that doesn't is a buffer (e.g. running statistics); `Module` and
/// `[Module]` properties (or arrays of a `Module` subclass) are children, named by property
/// name and index (`layers.0.weight`).
///
/// Reflection runs once per module, the first time its tensors or children are asked for: a
/// module's tree is fixed after `init`. Whether a tensor is a parameter is decided then too, so
/// freezing a parameter later (`freeze()`, or clearing `requiresGrad` for a while, as DARTS's
/// α-step does) keeps it a parameter — it is never mistaken for a buffer, and `parameters()`
/// lists the same tensors in the same order for the module's whole life.
open class Module {
    /// Training or evaluation mode (batch norm, dropout).
    public private(set) var training = true

    /// What reflection found: own tensors (with whether each is a parameter) and children.
    private struct Layout {
        let tensors: [(name: String, tensor: Tensor, isParameter: Bool)]
        let children: [(String, Module)]
    }
    private var cachedLayout: Layout?

    public init() {}

    private var layout: Layout {
        if let cachedLayout { return cachedLayout }
        var tensors: [(name: String, tensor: Tensor, isParameter: Bool)] = []
        var children: [(String, Module)] = []
        forEachProperty { name, value in
            if let t = value as? Tensor { tensors.append((name, t, t.requiresGrad)) }
            else if let m = value as? Module { children.append((name, m)) }
            else if let ms = value as? [Module] { for (i, m) in ms.enumerated() { children.append(("\(name).\(i)", m)) } }
        }
        let l = Layout(tensors: tensors, children: children)
        cachedLayout = l
        return l
    }

    /// Direct children, in declaration order.
    public func namedChildren() -> [(String, Module)] { layout.children }

    /// This module and all its descendants with their dotted paths ("" for self).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var result: [(String, Module)] = [(prefix, self)]
        for (name, child) in namedChildren() {
            result += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return result
    }

    /// Tensors held directly by this module (not its children).
    public func directTensors() -> [(String, Tensor)] { layout.tensors.map { ($0.name, $0.tensor) } }

    /// Parameters held directly by this module (not its children).
    public func directParameters() -> [Tensor] { layout.tensors.filter(\.isParameter).map(\.tensor) }

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

    /// The tensors of this module and its descendants that `keep` accepts, with dotted paths.
    private func collect(prefix: String, _ keep: (Bool) -> Bool, into result: inout [(String, Tensor)]) {
        let l = layout
        for t in l.tensors where keep(t.isParameter) { result.append((prefix + t.name, t.tensor)) }
        for (name, child) in l.children { child.collect(prefix: prefix + name + ".", keep, into: &result) }
    }

    /// Every tensor (parameters and buffers) with its dotted path.
    public func namedTensors(prefix: String = "") -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        collect(prefix: prefix, { _ in true }, into: &result)
        return result
    }

    public func namedParameters() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        collect(prefix: "", { $0 }, into: &result)
        return result
    }

    public func parameters() -> [Tensor] { namedParameters().map { $0.1 } }

    public func namedBuffers() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        collect(prefix: "", { !$0 }, into: &result)
        return result
    }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Excludes every parameter from differentiation (or, with `false`, includes it again);
    /// frozen parameters stay parameters: they are saved, loaded and counted as before.
    public func freeze(_ frozen: Bool = true) { for p in parameters() { p.requiresGrad = !frozen } }

    /// The parameters that are not frozen, in `parameters()` order.
    public func trainableParameters() -> [Tensor] { parameters().filter(\.requiresGrad) }

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
