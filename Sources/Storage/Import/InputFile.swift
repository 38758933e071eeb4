import CZlib
import CuratorCore

/// Streams the bytes of a plain or gzip-compressed file in fixed-size chunks, so memory
/// stays flat however large the input is. zlib reads uncompressed files transparently.
final class InputFile {
    let path: String
    private let handle: gzFile
    private(set) var isCompressed: Bool

    init(path: String) throws {
        self.path = path
        guard let handle = gzopen(path, "rb") else {
            throw CuratorError.invalidInput(file: path, reason: "cannot open the file (does it exist and is it readable?)")
        }
        self.handle = handle
        gzbuffer(handle, 1 << 18)
        isCompressed = gzdirect(handle) == 0
    }

    deinit { gzclose(handle) }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = gzread(handle, buffer.baseAddress, UInt32(buffer.count))
        if n < 0 {
            var code: Int32 = 0
            let message = gzerror(handle, &code).map { String(cString: $0) } ?? "read error"
            throw CuratorError.invalidInput(file: path, reason: "cannot read: \(message)\(isCompressed ? " (corrupt gzip data?)" : "")")
        }
        return Int(n)
    }
}

/// The two record formats of the interchange format.
public enum RecordFormat: String, Sendable, CaseIterable {
    case csv
    case jsonLines = "jsonl"

    /// Chooses by file name, then by the first non-blank byte ('{' means JSON Lines).
    static func detect(path: String, firstBytes: ArraySlice<UInt8>) -> RecordFormat {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") || name.hasSuffix(".tsv") { return .csv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .jsonLines }
        let first = firstBytes.first { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 && $0 != 0xef && $0 != 0xbb && $0 != 0xbf }
        return first == UInt8(ascii: "{") ? .jsonLines : .csv
    }
}
