/// The numeric columns of the NAS-Bench-201 table (see the data's README for provenance).
/// Raw values are the CSV header names, which are also the metric names estimators report.
public enum NB201Column: String, CaseIterable, Codable, Sendable {
    case natsC10Test200 = "nats_c10_test_200"
    case natsC100Test200 = "nats_c100_test_200"
    case natsIN16Test200 = "nats_in16_test_200"
    case nb201C10Test200 = "nb201_c10_test_200"
    case nb201C10ValidValid200 = "nb201_c10valid_valid_200"
    case nb201C10ValidTest200 = "nb201_c10valid_test_200"
    case nb201C10Test12 = "nb201_c10_test_12"
    case nb201C10ValidValid12 = "nb201_c10valid_valid_12"
    case nb201C100Test12 = "nb201_c100_test_12"
    case nb201C100Valid12 = "nb201_c100_valid_12"
    case nb201IN16Test12 = "nb201_in16_test_12"
    case nb201IN16Valid12 = "nb201_in16_valid_12"
    case paramsM = "params_m"
    case naswotScoreV1 = "naswot_score_v1"

    /// Training schedule the column was measured after, or nil for cost/proxy columns.
    public var epochs: Int? {
        if rawValue.hasSuffix("_200") { return 200 }
        if rawValue.hasSuffix("_12") { return 12 }
        return nil
    }

    /// The exact header of the table file, in order.
    public static let header: [String] = ["arch_index", "arch_str", "op_codes", "nats_unique_str"]
        + allCases.map(\.rawValue)

    /// The header of the compact table that ships with SwiftNAS: the full header without `arch_str`.
    public static let compactHeader: [String] = header.filter { $0 != "arch_str" }
}
