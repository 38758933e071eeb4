import CuratorCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The catalogue's full-precision vectors, one row per product: in memory, or in a file on disk
/// mapped into memory, so that only the rows requests read (re-ranking a graph's candidates,
/// evidence, variety) are resident. The file is made for this process and unlinked at once: it
/// has no name another process could open, and disappears with the process.
///
/// Not thread-safe: the live catalogue reads and writes it under its own lock.
final class CatalogueVectorRows {
    let dimension: Int
    private(set) var rowCount: Int
    private var memory: [Float]
    private var mapping: Mapping?

    /// A mapped file and its capacity in rows.
    private struct Mapping {
        var descriptor: Int32
        var base: UnsafeMutablePointer<Float>
        var capacityRows: Int
    }

    /// In memory.
    init(_ vectors: [Float], dimension: Int) {
        self.dimension = dimension
        rowCount = dimension > 0 ? vectors.count / dimension : 0
        memory = vectors
    }

    /// In a file created in `folder` (a disk, not a RAM file system, for the memory to be saved).
    init(_ vectors: [Float], dimension: Int, folder: String) throws {
        self.dimension = dimension
        rowCount = dimension > 0 ? vectors.count / dimension : 0
        memory = []
        let path = (folder as NSString).appendingPathComponent(".curator-vectors-\(getpid())-\(UUID().uuidString)")
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CuratorError.storage("cannot create the vector file \(path): errno \(errno)") }
        unlink(path)
        do {
            let capacity = Swift.max(1024, rowCount + rowCount / 4)
            try Self.resize(descriptor, rows: capacity, dimension: dimension)
            // Written through the file, not the mapping: the pages go to the page cache, not to this process.
            try vectors.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(offset))
                    guard written > 0 else { throw CuratorError.storage("cannot write the vector file: errno \(errno)") }
                    offset += written
                }
            }
            mapping = Mapping(descriptor: descriptor, base: try Self.map(descriptor, rows: capacity, dimension: dimension), capacityRows: capacity)
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit {
        if let mapping {
            munmap(mapping.base, mapping.capacityRows * dimension * MemoryLayout<Float>.size)
            close(mapping.descriptor)
        }
    }

    /// Whether the rows are in a mapped file.
    var isMapped: Bool { mapping != nil }

    func withUnsafeBufferPointer<T>(_ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
        if let mapping { return try body(UnsafeBufferPointer(start: mapping.base, count: rowCount * dimension)) }
        return try memory.withUnsafeBufferPointer(body)
    }

    func row(_ row: Int) -> [Float] {
        withUnsafeBufferPointer { Array($0[(row * dimension)..<((row + 1) * dimension)]) }
    }

    /// Every row in one array (a copy when mapped).
    var all: [Float] {
        guard mapping != nil else { return memory }
        return withUnsafeBufferPointer { Array($0) }
    }

    func replace(row: Int, with vector: [Float]) {
        precondition(vector.count == dimension && row < rowCount, "vector row")
        if let mapping {
            vector.withUnsafeBufferPointer { (mapping.base + row * dimension).update(from: $0.baseAddress!, count: dimension) }
        } else {
            memory.replaceSubrange((row * dimension)..<((row + 1) * dimension), with: vector)
        }
    }

    func append(_ vector: [Float]) throws {
        precondition(vector.count == dimension, "vector dimension")
        guard var mapping else {
            memory.append(contentsOf: vector)
            rowCount += 1
            return
        }
        if rowCount == mapping.capacityRows {
            let capacity = mapping.capacityRows * 2
            let bytes = mapping.capacityRows * dimension * MemoryLayout<Float>.size
            try Self.resize(mapping.descriptor, rows: capacity, dimension: dimension)
            // The rows are in the file: map it again at its new size, then let the old mapping go
            // (no reader holds it: the catalogue's write lock is held).
            let grown = try Self.map(mapping.descriptor, rows: capacity, dimension: dimension)
            munmap(mapping.base, bytes)
            mapping.base = grown
            mapping.capacityRows = capacity
            self.mapping = mapping
        }
        vector.withUnsafeBufferPointer { (mapping.base + rowCount * dimension).update(from: $0.baseAddress!, count: dimension) }
        rowCount += 1
    }

    private static func resize(_ descriptor: Int32, rows: Int, dimension: Int) throws {
        guard ftruncate(descriptor, off_t(rows * dimension * MemoryLayout<Float>.size)) == 0 else {
            throw CuratorError.storage("cannot size the vector file (\(rows) rows): errno \(errno)")
        }
    }

    private static func map(_ descriptor: Int32, rows: Int, dimension: Int) throws -> UnsafeMutablePointer<Float> {
        guard let base = mmap(nil, rows * dimension * MemoryLayout<Float>.size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
              base != MAP_FAILED else {
            throw CuratorError.storage("cannot map the vector file: errno \(errno)")
        }
        return base.assumingMemoryBound(to: Float.self)
    }
}
