import CPNG
import Foundation

/// An 8-bit image as rows of pixels, `height × width × channels` bytes (1 channel: gray, 3: RGB),
/// decoded from and encoded to PNG by libpng's simplified API (every PNG colour type and bit
/// depth reads; 16-bit samples are reduced to 8, palettes expanded, alpha composited on black).
public struct PNGImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var pixels: [UInt8]

    /// Images above this many pixels are refused before any memory is allocated for them
    /// (a PNG header can claim 2³¹ × 2³¹).
    public static let maxPixels = 1 << 28

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, channels == 1 || channels == 3 else {
            throw DataError(file: "image", "a PNG image needs a positive size and 1 or 3 channels, got \(width)×\(height)×\(channels)")
        }
        guard width * height <= Self.maxPixels else {
            throw DataError(file: "image", "\(width)×\(height) pixels exceed the limit of \(Self.maxPixels)")
        }
        guard pixels.count == width * height * channels else {
            throw DataError(file: "image", "\(width)×\(height)×\(channels) image needs \(width * height * channels) bytes, got \(pixels.count)")
        }
        (self.width, self.height, self.channels, self.pixels) = (width, height, channels, pixels)
    }

    /// Reads a PNG file as gray (`channels: 1`) or RGB (`channels: 3`), converting as needed.
    public static func read(_ url: URL, channels: Int = 1) throws -> PNGImage {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError(file: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, name: url.path, channels: channels)
    }

    /// Decodes PNG bytes; `name` is what errors call the source.
    public static func decode(_ data: Data, name: String, channels: Int = 1) throws -> PNGImage {
        guard channels == 1 || channels == 3 else { throw DataError(file: name, "channels must be 1 or 3, got \(channels)") }
        var image = nas_png_image()
        defer { png_image_free(&image) }
        let begun = data.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return 0 }
            return png_image_begin_read_from_memory(&image, base, raw.count)
        }
        guard begun != 0 else { throw DataError(file: name, "not a readable PNG: \(message(image))") }
        let (w, h) = (Int(image.width), Int(image.height))
        guard w > 0, h > 0, w * h <= maxPixels else {
            throw DataError(file: name, "\(w)×\(h) pixels exceed the limit of \(maxPixels)")
        }
        image.format = channels == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_FLAG_COLOR)   // 8-bit gray or RGB
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        let finished = pixels.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil)
        }
        guard finished != 0 else { throw DataError(file: name, "corrupt PNG: \(message(image))") }
        return try PNGImage(width: w, height: h, channels: channels, pixels: pixels)
    }

    /// The image as PNG bytes (8-bit gray or RGB, no interlacing).
    public func encoded() throws -> Data {
        var image = nas_png_image()
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = channels == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_FLAG_COLOR)   // 8-bit gray or RGB
        defer { png_image_free(&image) }
        var size: png_alloc_size_t = 0
        let sized = pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard sized != 0, size > 0 else { throw DataError(file: "image", "cannot encode PNG: \(Self.message(image))") }
        var out = Data(count: Int(size))
        let written = out.withUnsafeMutableBytes { memory in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, memory.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw DataError(file: "image", "cannot encode PNG: \(Self.message(image))") }
        return out.prefix(Int(size))
    }

    /// libpng's message for the last warning or error, a C `char[64]`.
    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
