import CuratorCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The catalogue's full-precision vectors, one row per product: in memory, or in a file on disk
/// mapped into memory, so that only the rows requests read (re-ranking a graph's candidates,
/// evidence, variety) are resident. The file is either made for this process and unlinked at once
/// (no other process can open it; it disappears with the process), or kept beside the vector
/// graph, locked while in use, so that the next start maps it again instead of writing every row
/// (`CatalogueSnapshot` says what it holds).
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

    /// Mapped from an open file already holding `rows` rows; takes the descriptor (closed on failure).
    private init(descriptor: Int32, rows: Int, capacityRows: Int, dimension: Int, persistentPath: String?) throws {
        self.dimension = dimension
        rowCount = rows
        memory = []
        do {
            try Self.resize(descriptor, rows: capacityRows, dimension: dimension)
            mapping = Mapping(descriptor: descriptor, base: try Self.map(descriptor, rows: capacityRows, dimension: dimension), capacityRows: capacityRows)
        } catch {
            close(descriptor)
            throw error
        }
        self.persistentPath = persistentPath
    }

    /// In a file created in `folder` (a disk, not a RAM file system, for the memory to be saved),
    /// unlinked at once.
    convenience init(_ vectors: [Float], dimension: Int, folder: String) throws {
        let path = (folder as NSString).appendingPathComponent(".curator-vectors-\(getpid())-\(UUID().uuidString)")
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CuratorError.storage("cannot create the vector file \(path): errno \(errno)") }
        unlink(path)
        try Self.write(vectors, to: descriptor)
        let rows = dimension > 0 ? vectors.count / dimension : 0
        try self.init(descriptor: descriptor, rows: rows, capacityRows: Swift.max(1024, rows + rows / 4), dimension: dimension, persistentPath: nil)
    }

    /// In the file at `path`, kept after the process ends so that the next start maps it again
    /// instead of writing every row (`init(reopening:rows:dimension:)`). The file is locked for
    /// this process's life; when another process holds it, the rows go to an unlinked file in its
    /// folder instead (`persistentPath` is then nil). `describedBy`, a file that says what the rows
    /// are (`CatalogueSnapshot`), is removed before they change.
    convenience init(_ vectors: [Float], dimension: Int, file path: String, describedBy description: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CuratorError.storage("cannot open the vector file \(path): errno \(errno)") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            try self.init(vectors, dimension: dimension, folder: (path as NSString).deletingLastPathComponent)
            return
        }
        unlink(description)
        guard ftruncate(descriptor, 0) == 0 else {
            close(descriptor)
            throw CuratorError.storage("cannot empty the vector file \(path): errno \(errno)")
        }
        try Self.write(vectors, to: descriptor)
        let rows = dimension > 0 ? vectors.count / dimension : 0
        try self.init(descriptor: descriptor, rows: rows, capacityRows: Swift.max(1024, rows + rows / 4), dimension: dimension, persistentPath: path)
    }

    /// The rows a previous process left in the file at `path` (`init(_:dimension:file:describedBy:)`),
    /// mapped again without reading them; nil when the file is missing, locked by another process
    /// or shorter than `rows` rows.
    convenience init?(reopening path: String, rows: Int, dimension: Int) throws {
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var info = stat()
        let rowBytes = dimension * MemoryLayout<Float>.size
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, fstat(descriptor, &info) == 0, Int(info.st_size) >= rows * rowBytes else {
            close(descriptor)
            return nil
        }
        try self.init(descriptor: descriptor, rows: rows, capacityRows: Swift.max(1024, rows + rows / 4, Int(info.st_size) / rowBytes),
                      dimension: dimension, persistentPath: path)
    }

    /// Writes the rows through the file, not a mapping: the pages go to the page cache, not to this
    /// process. Closes the descriptor on failure.
    private static func write(_ vectors: [Float], to descriptor: Int32) throws {
        do {
            try vectors.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(offset))
                    guard written > 0 else { throw CuratorError.storage("cannot write the vector file: errno \(errno)") }
                    offset += written
                }
            }
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// The kept file the rows are in (nil: in memory, or in an unlinked file).
    private(set) var persistentPath: String?

    /// The file's inode, to tell it from another file later put at the same path.
    var fileInode: UInt64? {
        guard let mapping else { return nil }
        var info = stat()
        return fstat(mapping.descriptor, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Writes changed rows to the disk (before a description of them is saved).
    func flush() throws {
        guard let mapping else { return }
        guard msync(mapping.base, mapping.capacityRows * dimension * MemoryLayout<Float>.size, MS_SYNC) == 0, fsync(mapping.descriptor) == 0 else {
            throw CuratorError.storage("cannot write the vector file to disk: errno \(errno)")
        }
    }

    /// Lets go of the mapped rows' pages: they stay in the file and the page cache and come back
    /// on the next read. After the scans of a graph build's time have re-ranked rows all over the
    /// file, resident memory is then again only the rows requests read.
    func releaseResidentPages() {
        guard let mapping else { return }
        madvise(mapping.base, mapping.capacityRows * dimension * MemoryLayout<Float>.size, Int32(MADV_DONTNEED))
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
