/// An architecture with the objective it was told, as model-based strategies (BANANAS, NAO,
/// CTNAS) keep their training data; part of their saved state.
struct LabelledArchitecture<Architecture: Hashable & Codable & Sendable>: Codable, Equatable, Sendable {
    var architecture: Architecture
    var objective: Double
}
