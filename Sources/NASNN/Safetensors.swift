import Foundation
import NASTensor

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping names to `{dtype, shape, data_offsets}` (plus optional string `__metadata__`), then the
/// raw little-endian tensor bytes. SwiftNAS writes float32 (`F32`) and reads F32, F64 and F16.
public enum Safetensors {
    public struct FormatError: Error, CustomStringConvertible {
        public let file: String
        public let reason: String
        public var description: String { "\(file): not a valid safetensors file: \(reason)" }
    }

    /// Serialises tensors (written in name order) and string metadata.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        var entries: [String] = []
        var offset = 0
        let names = tensors.keys.sorted()
        func quote(_ s: String) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes]), as: UTF8.self)
                .dropFirst().dropLast().description
        }
        if !metadata.isEmpty {
            let pairs = try metadata.keys.sorted().map { "\(try quote($0)):\(try quote(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        for name in names {
            let t = tensors[name]!
            let size = t.count * 4
            entries.append("\(try quote(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for name in names {
            let t = tensors[name]!
            data.append(UnsafeBufferPointer(start: t.data, count: t.count))
        }
        return data
    }

    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        // A crash at any moment leaves the old checkpoint or the new one, never none.
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: url)
    }

    /// Tensors and metadata of a safetensors file.
    public static func read(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = url.path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw FormatError(file: file, reason: "the file does not exist or cannot be read")
        }
        return try decode(data, file: file)
    }

    public static func decode(_ data: Data, file: String = "<memory>") throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw FormatError(file: file, reason: "shorter than the 8-byte header length") }
        var rawLength: UInt64 = 0
        for i in 0..<8 { rawLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard rawLength > 0, rawLength <= UInt64(bytes.count - 8) else {
            throw FormatError(file: file, reason: "header length \(rawLength) exceeds the file size \(bytes.count)")
        }
        let headerLength = Int(rawLength)
        guard headerLength > 0 else {
            throw FormatError(file: file, reason: "header length \(headerLength) exceeds the file size \(bytes.count)")
        }
        let headerData = Data(bytes[8..<(8 + headerLength)])
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw FormatError(file: file, reason: "the header is not a JSON object")
        }
        let base = 8 + headerLength
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw FormatError(file: file, reason: "__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FormatError(file: file, reason: "entry '\(name)' lacks dtype, shape or data_offsets")
            }
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F64": width = 8
            case "F16": width = 2
            default: throw FormatError(file: file, reason: "tensor '\(name)' has dtype \(dtype); SwiftNAS reads F32, F64 and F16")
            }
            // Sizes come from the file: check them without trusting any product not to overflow.
            var n = 1
            for d in shape {
                let (p, overflow) = n.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow, p <= bytes.count else {
                    throw FormatError(file: file, reason: "tensor '\(name)' has shape \(shape), larger than the file")
                }
                n = p
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= bytes.count - base,
                  offsets[1] - offsets[0] == n * width else {
                throw FormatError(file: file, reason: "tensor '\(name)' data offsets \(offsets) do not match shape \(shape) × \(width) bytes")
            }
            let t = Tensor(uninitializedShape: shape)
            bytes.withUnsafeBytes { raw in
                let src = raw.baseAddress! + base + offsets[0]
                for i in 0..<n {
                    switch width {
                    case 4: t[flat: i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case 8: t[flat: i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    default: t[flat: i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                }
            }
            tensors[name] = t
        }
        return (tensors, metadata)
    }
}
