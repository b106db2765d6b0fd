import CZlib
import Foundation

/// Reads a file, transparently gunzipping it when it starts with the gzip magic bytes.
public func readPossiblyGzipped(_ path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw DataError(file: path, "file not found") }
    guard let data = FileManager.default.contents(atPath: path) else { throw DataError(file: path, "cannot be read") }
    let bytes = [UInt8](data)
    guard bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b else { return bytes }
    return try gunzip(bytes, file: path)
}

/// The largest decompressed size accepted: a few corrupt or hostile bytes must not make the
/// process allocate without bound.
public let gunzipLimit = 2 << 30

/// Decompresses a gzip stream with zlib.
func gunzip(_ input: [UInt8], file: String) throws -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS selects the gzip wrapper.
    guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DataError(file: file, "zlib could not start decompressing")
    }
    defer { inflateEnd(&stream) }
    var output = [UInt8]()
    output.reserveCapacity(input.count * 4)
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    var status: Int32 = Z_OK
    try input.withUnsafeBufferPointer { inp in
        stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress!)
        stream.avail_in = uInt(inp.count)
        repeat {
            try buffer.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress!
                stream.avail_out = uInt(chunk)
                status = inflate(&stream, Z_NO_FLUSH)
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw DataError(file: file, "corrupt gzip data (zlib status \(status))")
                }
                output.append(contentsOf: out[0..<(chunk - Int(stream.avail_out))])
                guard output.count <= gunzipLimit else {
                    throw DataError(file: file, "decompresses to more than \(gunzipLimit >> 30) GiB")
                }
            }
            if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                throw DataError(file: file, "gzip data ends early (truncated file)")
            }
        } while status != Z_STREAM_END
    }
    return output
}

/// Compresses bytes into a gzip stream (zlib level 6, no file name, zero timestamp).
public func gzip(_ input: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard deflateInit2_(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                        zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DataError(file: "<memory>", "zlib could not start compressing")
    }
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
    var input = input
    let written: Int = try input.withUnsafeMutableBufferPointer { inp in
        try output.withUnsafeMutableBufferPointer { out in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            guard deflate(&stream, Z_FINISH) == Z_STREAM_END else {
                throw DataError(file: "<memory>", "zlib could not compress")
            }
            return out.count - Int(stream.avail_out)
        }
    }
    return Array(output.prefix(written))
}
