import CKernels
import Foundation

/// Reference-counted float32 buffer. Tensors that are views (reshape) share one.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// What malloc returned; `pointer` is the first 64-byte boundary in it.
    private let allocation: UnsafeMutablePointer<Float>

    /// Keeps large buffers on the heap instead of a fresh mmap per tensor: training allocates
    /// and frees the same sizes every step, and page-faulting new mappings cost ~8% of a step.
    private static let allocatorTuned: Bool = {
        nas_tune_allocator()
        return true
    }()

    /// Floats per cache line. Vector kernels load 64 bytes at a time: from a buffer that is only
    /// 16-byte aligned, every load straddles two lines, and the alignment malloc handed a tensor
    /// changed from run to run (training steps 30 % apart). Over-allocating and rounding up keeps
    /// malloc's reuse of freed chunks, which aligned_alloc fragmented (peak RSS 3× higher).
    static let lineFloats = 16

    public init(count: Int) {
        _ = Self.allocatorTuned
        self.count = count
        allocation = .allocate(capacity: max(count, 1) + Self.lineFloats - 1)
        let misalignment = Int(bitPattern: allocation) % (Self.lineFloats * MemoryLayout<Float>.stride)
        pointer = allocation + (misalignment == 0 ? 0 : Self.lineFloats - misalignment / MemoryLayout<Float>.stride)
    }

    public convenience init(zeros count: Int) {
        self.init(count: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { allocation.deallocate() }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// A kernel's scratch buffer starting on a cache line (see `Storage.lineFloats`); free it with
    /// `deallocate()`.
    static func allocateLineAligned(capacity: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: Swift.max(capacity, 1) * MemoryLayout<Float>.stride,
                                         alignment: Storage.lineFloats * MemoryLayout<Float>.stride)
            .bindMemory(to: Float.self, capacity: Swift.max(capacity, 1))
    }
}

/// A dense, contiguous, row-major float32 tensor that can take part in reverse-mode autograd.
///
/// Image tensors use the channels-last layout `[N, H, W, C]` throughout the engine; it lets a
/// convolution's GEMM write its output in place and keeps per-channel loops contiguous.
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    /// Whether gradients flow into this tensor. Leaves with `requiresGrad` receive `grad`.
    public var requiresGrad: Bool
    /// Accumulated gradient (a plain tensor, never part of a graph).
    public var grad: Tensor?
    /// The op that produced this tensor, if it was recorded on the tape.
    var node: Node?
    /// Whether `backward()` stores this (non-leaf) tensor's gradient in `grad` too.
    public var retainsGrad = false

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var data: UnsafeMutablePointer<Float> { storage.pointer }
    public var isLeaf: Bool { node == nil }

    public init(storage: Storage, shape: [Int], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) does not match \(storage.count) elements")
        self.storage = storage
        self.shape = shape
        self.requiresGrad = requiresGrad
    }

    /// Uninitialised tensor; callers must write every element.
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(storage: Storage(count: shape.reduce(1, *)), shape: shape)
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(storage: Storage(zeros: shape.reduce(1, *)), shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        let s = Storage(count: shape.reduce(1, *))
        s.pointer.initialize(repeating: value, count: s.count)
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == data.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        let s = Storage(count: data.count)
        data.withUnsafeBufferPointer { s.pointer.initialize(from: $0.baseAddress!, count: data.count) }
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// Copies the values out.
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item() needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    public subscript(flat i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// A new leaf sharing no graph history (same storage).
    public func detach() -> Tensor { Tensor(storage: storage, shape: shape) }

    /// A deep copy with its own storage, outside any graph.
    public func copy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Overwrites the values with those of `other` (same element count), in place.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// Resets the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = array.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

/// Number of elements of a shape.
@inlinable func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Row-major strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { strides[i] = s; s *= shape[i] }
    return strides
}

/// Normalises a possibly negative axis.
func normalizeAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
    return a
}
