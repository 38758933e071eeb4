import CuratorCore
import Foundation
import Storage
import VectorSearch

#if canImport(Glibc)
import Glibc
#endif

/// What a server that stops cleanly leaves beside its vector graph, so that its next start does
/// not read a large catalogue from the store, write its vectors again or check the graph vector by
/// vector: the products in row order with their store row ids and versions, which rows are live,
/// and which vector file and which graph file hold the rest.
///
/// On start the store is asked only for its live products' versions; a row whose version is
/// still the store's is taken from here, any other is read again. The description is removed
/// before the vector file changes, so a server that dies leaves none and the next start reads
/// the store.
struct CatalogueSnapshot {
    /// The files beside a graph at `graph`.
    struct Files {
        let graph: String
        var vectors: String { graph + ".vectors" }
        var description: String { graph + ".catalogue" }
    }

    /// A file as the file system names it: the same values later mean the same file, unchanged.
    struct FileIdentity: Equatable {
        var inode: UInt64
        var size: UInt64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            inode = UInt64(info.st_ino)
            size = UInt64(info.st_size)
            modifiedSeconds = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        }

        init(inode: UInt64, size: UInt64, modifiedSeconds: Int64, modifiedNanoseconds: Int64) {
            self.inode = inode
            self.size = size
            self.modifiedSeconds = modifiedSeconds
            self.modifiedNanoseconds = modifiedNanoseconds
        }
    }

    /// The store, language model and dimension the catalogue was read with; another key means another catalogue.
    var key: String
    var products: [Product]
    var storeIDs: [Int64]
    /// Per row, the store's version of the product when it was read (-1: changed since, read it again).
    var versions: [Int64]
    var alive: [Bool]
    var vectorsInode: UInt64
    var graph: FileIdentity

    static let magic = Array("CURCAT01".utf8)

    func write(to path: String) throws {
        var out = ByteWriter()
        out.bytes.reserveCapacity(products.count * 160)
        out.bytes.append(contentsOf: Self.magic)
        out.string(key)
        out.integer(UInt64(products.count))
        out.integer(vectorsInode)
        out.integer(graph.inode)
        out.integer(graph.size)
        out.integer(UInt64(bitPattern: graph.modifiedSeconds))
        out.integer(UInt64(bitPattern: graph.modifiedNanoseconds))
        for id in storeIDs { out.integer(UInt64(bitPattern: id)) }
        for version in versions { out.integer(UInt64(bitPattern: version)) }
        for flag in alive { out.bytes.append(flag ? 1 : 0) }
        for product in products {
            out.string(product.id)
            out.string(product.title)
            out.string(product.description)
            out.string(product.brand)
            out.string(product.category)
            out.bytes.append(product.price == nil ? 0 : 1)
            out.string(product.price ?? "")
            out.bytes.append(product.inStock ? 1 : 0)
        }
        out.bytes.append(contentsOf: Self.magic)
        let temporary = path + ".tmp-\(getpid())"
        do {
            try Data(out.bytes).write(to: URL(fileURLWithPath: temporary))
            let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 {
                fsync(descriptor)
                close(descriptor)
            }
            guard rename(temporary, path) == 0 else { throw CuratorError.storage("cannot rename \(temporary) to \(path): errno \(errno)") }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// The snapshot at `path`; nil when there is none or it is not one this version wrote whole.
    static func read(from path: String) -> CatalogueSnapshot? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return data.withUnsafeBytes { buffer -> CatalogueSnapshot? in
            var input = ByteReader(buffer)
            guard input.take(magic.count).map(Array.init) == magic, let key = input.string(), let count = input.integer().map(Int.init),
                  let vectorsInode = input.integer(), let graphInode = input.integer(), let graphSize = input.integer(),
                  let seconds = input.integer(), let nanoseconds = input.integer(), count >= 0, count <= buffer.count / 18 else { return nil }
            var storeIDs = [Int64](repeating: 0, count: count)
            var versions = [Int64](repeating: 0, count: count)
            for i in 0..<count {
                guard let id = input.integer() else { return nil }
                storeIDs[i] = Int64(bitPattern: id)
            }
            for i in 0..<count {
                guard let version = input.integer() else { return nil }
                versions[i] = Int64(bitPattern: version)
            }
            guard let flags = input.take(count) else { return nil }
            let alive = flags.map { $0 != 0 }
            var products: [Product] = []
            products.reserveCapacity(count)
            for _ in 0..<count {
                guard let id = input.string(), let title = input.string(), let description = input.string(), let brand = input.string(),
                      let category = input.string(), let hasPrice = input.take(1)?.first, let price = input.string(),
                      let inStock = input.take(1)?.first else { return nil }
                products.append(Product(id: id, title: title, description: description, brand: brand, category: category,
                                        price: hasPrice == 0 ? nil : price, inStock: inStock != 0))
            }
            guard input.take(magic.count).map(Array.init) == magic, input.isAtEnd else { return nil }
            return CatalogueSnapshot(key: key, products: products, storeIDs: storeIDs, versions: versions, alive: alive, vectorsInode: vectorsInode,
                                     graph: FileIdentity(inode: graphInode, size: graphSize, modifiedSeconds: Int64(bitPattern: seconds),
                                                         modifiedNanoseconds: Int64(bitPattern: nanoseconds)))
        }
    }
}

/// Little-endian integers and length-prefixed UTF-8 strings.
private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func integer(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            integer(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}

private struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var isAtEnd: Bool { offset == buffer.count }

    mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, count <= buffer.count - offset else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
    }

    mutating func integer() -> UInt64? {
        take(8).map { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    mutating func string() -> String? {
        guard let length = integer(), length <= UInt64(buffer.count - offset), let bytes = take(Int(length)) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension LiveCatalogue {
    /// What a clean stop left beside the graph, read into a catalogue: its description, its vector
    /// file mapped again and its graph loaded; popularity is still to come. Handed once from the
    /// thread that read it to the start that uses it.
    struct SavedFiles: @unchecked Sendable {
        let catalogue: LiveCatalogue
        let started: Date
    }

    /// Starts reading, on threads of their own, what a clean stop left for this catalogue (seconds
    /// at a million products, overlapped with the store's reads): the description, its vector file
    /// and the catalogue they make on one, the graph on the other. Nil when there is no
    /// description; the job's value is nil when it is not usable (another store or model, a vector
    /// or graph file that is not the one described, a vector file another process holds).
    static func readSavedFiles(indexOptions: IndexOptions, dimension: Int) -> ThreadJob<SavedFiles?>? {
        guard let path = indexOptions.path, let key = indexOptions.snapshotKey, indexOptions.mapsVectors else { return nil }
        let files = CatalogueSnapshot.Files(graph: path)
        guard FileManager.default.fileExists(atPath: files.description) else { return nil }
        let started = Date()
        return ThreadJob(name: "curator-catalogue-read") {
            let graphIdentity = CatalogueSnapshot.FileIdentity(path: files.graph)
            let graph = ThreadJob(name: "curator-graph-load") {
                try? HNSWIndex(contentsOf: files.graph, dimension: dimension, parameters: indexOptions.parameters)
            }
            guard let snapshot = CatalogueSnapshot.read(from: files.description), snapshot.key == key, graphIdentity == snapshot.graph,
                  let rows = try CatalogueVectorRows(reopening: files.vectors, rows: snapshot.products.count, dimension: dimension),
                  rows.fileInode == snapshot.vectorsInode else { return nil }
            let catalogue = try LiveCatalogue(restoring: snapshot, vectors: rows, indexOptions: indexOptions)
            guard let loaded = try graph.wait() else { return nil }
            catalogue.useGraph(loaded)
            return SavedFiles(catalogue: catalogue, started: started)
        }
    }

    /// The catalogue a clean stop described beside the graph (`saveIndex(to:)`, read by
    /// `readSavedFiles`), brought up to the store's `versions` (read just before): rows the store
    /// changed since, or added, are read from it again, rows it deleted are taken out. Nil without
    /// usable saved files, when products have no stored vector, or when more changed than patching
    /// a graph pays for: then the caller reads the whole catalogue.
    static func restore(from store: any EngineStore, embedding: CatalogueEmbedding, saved: SavedFiles?, versions: [(rowID: Int64, version: Int64)],
                        eventCounts: [(productID: String, type: EventType, count: Int)], indexOptions: IndexOptions) async throws -> LiveCatalogue? {
        guard let saved, let path = indexOptions.path, versions.count >= indexOptions.threshold else { return nil }
        let files = CatalogueSnapshot.Files(graph: path)
        // From here on the vector file may change: its description goes first.
        unlink(files.description)
        let catalogue = saved.catalogue
        catalogue.resetPopularity(eventCounts)

        let (changed, removed) = catalogue.differences(from: versions)
        guard changed.count <= max(1_000, versions.count / 10) else { return nil }
        var brought = 0
        for batch in changed.chunks(of: 10_000) {
            let stored = try await store.storedProducts(rowIDs: batch.map(\.rowID))
            let vectors = try await embedding.cachedVectors(for: stored.map(\.product))
            // Deleted since the versions were read.
            let gone = Set(batch.map(\.rowID)).subtracting(stored.map(\.rowID))
            for rowID in gone { if let productID = catalogue.productID(ofStoreID: rowID) { catalogue.remove(productID) } }
            var entries: [(product: Product, storeID: Int64, vector: [Float])] = []
            for (entry, vector) in zip(stored, vectors) {
                // Not encoded yet: the whole read encodes what is missing.
                guard let vector else { return nil }
                entries.append((entry.product, entry.rowID, vector))
            }
            try catalogue.upsert(entries)
            catalogue.adoptVersions(stored)
            brought += entries.count
        }
        for productID in removed { catalogue.remove(productID) }
        catalogue.indexOrigin = String(format: "restored from %@ in %.2f s (%d products read again from the store, %d taken out)",
                                       files.description, Date().timeIntervalSince(saved.started), brought, removed.count)
        return catalogue
    }
}
