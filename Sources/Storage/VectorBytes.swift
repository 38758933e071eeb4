import CuratorCore
import Foundation

/// How every store keeps a vector: its Floats as raw little-endian bytes.
public enum VectorBytes {
    public static func data(_ vector: [Float]) -> Data {
        vector.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    public static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { floats($0) }
    }

    /// Copied, not bound: a database's bytes carry no alignment promise.
    public static func floats(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        var out = [Float](repeating: 0, count: bytes.count / MemoryLayout<Float>.size)
        out.withUnsafeMutableBytes { target in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<target.count])) }
        return out
    }
}
