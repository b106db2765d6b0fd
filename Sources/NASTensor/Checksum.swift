/// FNV-1a, a fast non-cryptographic hash: enough to notice that stored data changed (a trial row
/// edited by hand, a checkpoint resumed on other data), not to resist tampering on purpose.
public struct Checksum {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix(_ word: UInt64) { value = (value ^ word) &* 0x100_0000_01b3 }

    public mutating func mix(_ text: String) { for b in text.utf8 { mix(UInt64(b)) } }

    public var hex: String { String(value, radix: 16) }
}
