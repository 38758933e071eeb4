import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reader for the `safetensors` format: an 8-byte little-endian header length, a JSON header
/// mapping tensor names to dtype, shape and byte range, then the raw tensor bytes.
///
/// It reads the header once, validates every entry against the file size (so a truncated
/// download is reported at load time, naming the file, instead of crashing later), and reads each
/// tensor on request straight from the file into its own buffer with `pread`. Reading tensor by
/// tensor keeps peak memory near the size of the weights instead of twice that.
public struct SafetensorsFile: Sendable {
    /// The element types Curator can read. Everything is converted to `Float` on read.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32"

        public var byteSize: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .i64: return 8
            }
        }
    }

    public struct TensorInfo: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Absolute byte range in the file.
        public var range: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]

    /// Opens `path`, reads and validates the header. Throws `TextModelError` naming the file.
    public init(path: String) throws(TextModelError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let err = errno
            if err == ENOENT { throw .missingFile(path: path) }
            throw .unreadableFile(path: path, reason: String(cString: strerror(err)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        let fileSize = Int(st.st_size)
        guard fileSize >= 8 else {
            throw .invalidFile(path: path, reason: "file is \(fileSize) bytes, too short for a safetensors header (truncated download?)")
        }
        var lengthBytes = [UInt8](repeating: 0, count: 8)
        try Self.readFully(fd: fd, path: path, into: &lengthBytes, offset: 0)
        var headerLength = 0
        for i in (0..<8).reversed() { headerLength = headerLength << 8 | Int(lengthBytes[i]) }
        guard headerLength > 0, headerLength <= 100_000_000, 8 + headerLength <= fileSize else {
            throw .invalidFile(path: path, reason: "header length \(headerLength) does not fit in the \(fileSize)-byte file (truncated download?)")
        }
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        try Self.readFully(fd: fd, path: path, into: &headerBytes, offset: 0 + 8)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw .invalidFile(path: path, reason: "header is not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw .invalidFile(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { metadata[k] = "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any],
                let dtypeName = entry["dtype"] as? String,
                let shapeValues = entry["shape"] as? [Any],
                let offsetValues = entry["data_offsets"] as? [Any], offsetValues.count == 2
            else {
                throw .invalidFile(path: path, reason: "tensor \(name) has no dtype/shape/data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .unsupported(path: path, reason: "tensor \(name) has dtype \(dtypeName); Curator reads F32, F16, BF16, I32 and I64")
            }
            var shape: [Int] = []
            for s in shapeValues {
                guard let n = (s as? NSNumber)?.intValue, n >= 0 else {
                    throw .invalidFile(path: path, reason: "tensor \(name) has a bad shape")
                }
                shape.append(n)
            }
            guard let begin = (offsetValues[0] as? NSNumber)?.intValue,
                let end = (offsetValues[1] as? NSNumber)?.intValue, 0 <= begin, begin <= end
            else {
                throw .invalidFile(path: path, reason: "tensor \(name) has bad data_offsets")
            }
            let info = TensorInfo(dtype: dtype, shape: shape, range: (dataStart + begin)..<(dataStart + end))
            guard info.elementCount * dtype.byteSize == end - begin else {
                throw .invalidFile(path: path, reason: "tensor \(name) has shape \(shape) of \(dtypeName) but \(end - begin) bytes")
            }
            guard dataStart + end <= fileSize else {
                throw .invalidFile(path: path, reason: "tensor \(name) ends at byte \(dataStart + end) but the file has \(fileSize) bytes (truncated download?)")
            }
            tensors[name] = info
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func readFully(fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer, offset: Int) throws(TextModelError) {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                throw .invalidFile(path: path, reason: "file ended early at byte \(offset + done) (truncated download?)")
            }
            done += n
        }
    }

    private static func readFully(fd: Int32, path: String, into bytes: inout [UInt8], offset: Int) throws(TextModelError) {
        let result: TextModelError? = bytes.withUnsafeMutableBytes { raw in
            do throws(TextModelError) {
                try readFully(fd: fd, path: path, into: raw, offset: offset)
                return nil
            } catch { return error }
        }
        if let result { throw result }
    }

    /// Reads tensor `name` as `Float`s, converting from F16/BF16/integers, and checks its shape
    /// when `shape` is given. The result is a fresh buffer owned by the caller.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws(TextModelError) -> FloatBuffer {
        guard let info = tensors[name] else {
            throw .invalidFile(path: path, reason: "tensor \(name) is missing (not a BERT checkpoint, or the wrong file)")
        }
        if let expected, expected != info.shape {
            throw .invalidFile(path: path, reason: "tensor \(name) has shape \(info.shape), config.json implies \(expected) (config.json and model.safetensors do not belong together)")
        }
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let out = FloatBuffer(count: info.elementCount)
        let count = info.elementCount
        switch info.dtype {
        case .f32:
            try Self.readFully(fd: fd, path: path, into: UnsafeMutableRawBufferPointer(start: out.base, count: count * 4), offset: info.range.lowerBound)
            #if _endian(big)
            for i in 0..<count { out.base[i] = Float(bitPattern: UInt32(littleEndian: out.base[i].bitPattern)) }
            #endif
        case .f16, .bf16, .i32, .i64:
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, info.range.count), alignment: 8)
            defer { raw.deallocate() }
            try Self.readFully(fd: fd, path: path, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<info.range.count]), offset: info.range.lowerBound)
            for i in 0..<count {
                switch info.dtype {
                case .f16:
                    out.base[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                case .bf16:
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    out.base[i] = Float(bitPattern: UInt32(bits) << 16)
                case .i32:
                    out.base[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                case .i64:
                    out.base[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
                case .f32:
                    break
                }
            }
        }
        return out
    }
}

/// IEEE 754 half precision to single precision, including subnormals, infinities and NaN.
/// Written out by hand because `Float16` is not available on every platform Swift targets.
@inlinable
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal: value = mantissa · 2^-24.
        let value = Float(mantissa) * 5.9604644775390625e-08
        return sign != 0 ? -value : value
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
}

/// A fixed-size, heap-allocated `Float` buffer with a stable address.
///
/// Model weights and scratch space live in these rather than in `[Float]` so that hot loops can
/// hold plain pointers without nested `withUnsafe…` closures or copy-on-write checks. The contents
/// of a weight buffer are never written after loading, which is why sharing it across threads is
/// safe (`@unchecked Sendable`).
public final class FloatBuffer: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = count
        base = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { base.deallocate() }

    public var pointer: UnsafePointer<Float> { UnsafePointer(base) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
