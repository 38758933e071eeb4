import CuratorCore
import Foundation

/// One input record mapped onto the columns an importer asked for, with its line number.
/// The importer's closure returns nil to accept it, or the reason it is rejected.
struct RawRecord {
    /// Physical line where the record starts (1-based; the CSV header is line 1).
    var line: Int
    /// One entry per requested column; nil when the column is absent or the JSON value is null.
    var values: [String?]
}

/// What a reader found wrong with one record; the import goes on without it.
struct RecordProblem: Error {
    var line: Int
    var reason: String
    var raw: String
}

/// Reads CSV (RFC 4180) or JSON Lines, plain or gzip, a 256 KiB chunk at a time, and hands each
/// chunk's records to closures: the caller pulls chunks, so memory stays flat for any file size
/// and a store can write what it has pulled before reading on.
///
/// File-level problems (empty, binary, not UTF-8, missing required columns) throw
/// `CuratorError.invalidInput`; record-level problems go to `onProblem` and reading goes on.
final class RecordReader {
    let path: String
    private let input: InputFile
    private var chunk: [UInt8]
    private var parser: any ChunkParser
    private var first = true
    private var finished = false

    init(path: String, columns: [String], required: Set<String>) throws {
        self.path = path
        let input = try InputFile(path: path)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        let n = try chunk.withUnsafeMutableBytes { try input.read(into: $0) }
        if n == 0 { throw CuratorError.invalidInput(file: path, reason: "the file is empty") }
        let format = RecordFormat.detect(path: path, firstBytes: chunk[0..<min(n, 4096)])
        // Binary check on the first chunk: text files never contain NUL.
        if chunk[0..<min(n, 65536)].contains(0) {
            throw CuratorError.invalidInput(file: path, reason: "this is a binary file, not CSV or JSON Lines text")
        }
        parser = format == .csv
            ? CSVParser(path: path, columns: columns, required: required)
            : JSONLinesParser(path: path, columns: columns, required: required)
        self.input = input
        self.chunk = chunk
        pending = n
    }

    /// Bytes read ahead into `chunk` and not parsed yet.
    private var pending: Int

    /// Parses the next chunk, handing its records over in file order; false once the file is done.
    func readChunk(onRecord: (RawRecord) throws -> String?, onProblem: (RecordProblem) throws -> Void) throws -> Bool {
        guard !finished else { return false }
        let n = pending > 0 ? pending : try chunk.withUnsafeMutableBytes { try input.read(into: $0) }
        pending = 0
        guard n > 0 else {
            finished = true
            try parser.finish(onRecord: onRecord, onProblem: onProblem)
            return false
        }
        var start = 0
        if first {
            first = false
            if n >= 3 && chunk[0] == 0xef && chunk[1] == 0xbb && chunk[2] == 0xbf { start = 3 }  // UTF-8 BOM
        }
        try chunk.withUnsafeBufferPointer { buffer in
            try parser.consume(UnsafeBufferPointer(rebasing: buffer[start..<n]), onRecord: onRecord, onProblem: onProblem)
        }
        return true
    }
}

protocol ChunkParser {
    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, onRecord: (RawRecord) throws -> String?,
                          onProblem: (RecordProblem) throws -> Void) throws
    mutating func finish(onRecord: (RawRecord) throws -> String?, onProblem: (RecordProblem) throws -> Void) throws
}

func decodeUTF8(_ bytes: ArraySlice<UInt8>, path: String, line: Int) throws -> String {
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw CuratorError.invalidInput(file: path, reason: "line \(line) is not valid UTF-8 text; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)")
    }
    return text
}

/// RFC 4180 state machine over raw bytes: quoted fields may hold commas, quotes ("") and newlines.
struct CSVParser: ChunkParser {
    let path: String
    let columns: [String]
    let required: Set<String>

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }
    private var state: State = .fieldStart
    /// The current record's unescaped field bytes, back to back; `fieldEnds` splits them.
    private var fieldStore: [UInt8] = []
    private var fieldEnds: [Int] = []
    private var line = 1
    private var recordLine = 1
    private var pendingCR = false
    private var malformed: String?
    /// Index of each requested column in the file's header, nil when the file lacks it.
    private var columnIndex: [Int?]?
    private var headerCount = 0

    init(path: String, columns: [String], required: Set<String>) {
        self.path = path
        self.columns = columns
        self.required = required
        fieldStore.reserveCapacity(4096)
        fieldEnds.reserveCapacity(16)
    }

    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, onRecord: (RawRecord) throws -> String?,
                          onProblem: (RecordProblem) throws -> Void) throws {
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        for byte in bytes {
            if pendingCR {
                // CR LF ends a record once; a lone CR ends it too.
                pendingCR = false
                if byte == lf { continue }
            }
            if byte == 0 {
                throw CuratorError.invalidInput(file: path, reason: "line \(line) contains a NUL byte: this is a binary file, not CSV text")
            }
            switch state {
            case .quoted:
                if byte == quote {
                    state = .quoteInQuoted
                } else {
                    if byte == lf { line += 1 }
                    fieldStore.append(byte)
                }
            case .fieldStart, .unquoted, .quoteInQuoted:
                if byte == comma {
                    fieldEnds.append(fieldStore.count)
                    state = .fieldStart
                } else if byte == lf || byte == cr {
                    fieldEnds.append(fieldStore.count)
                    state = .fieldStart
                    pendingCR = byte == cr
                    try endRecord(onRecord: onRecord, onProblem: onProblem)
                    line += 1
                    recordLine = line
                } else if byte == quote {
                    switch state {
                    case .fieldStart: state = .quoted
                    case .quoteInQuoted:
                        fieldStore.append(quote)
                        state = .quoted
                    default:
                        if malformed == nil { malformed = "a quote inside an unquoted field (quote the whole field and double the quote)" }
                        fieldStore.append(byte)
                    }
                } else {
                    if state == .quoteInQuoted && malformed == nil { malformed = "text after a closing quote" }
                    fieldStore.append(byte)
                    state = .unquoted
                }
            }
        }
    }

    /// The record as CSV again, for the rejects file.
    private func rawText() -> String {
        var parts: [String] = []
        var start = 0
        for end in fieldEnds {
            let field = String(decoding: fieldStore[start..<end], as: UTF8.self)
            if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                parts.append("\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
            } else {
                parts.append(field)
            }
            start = end
        }
        return parts.joined(separator: ",")
    }

    private mutating func endRecord(onRecord: (RawRecord) throws -> String?, onProblem: (RecordProblem) throws -> Void) throws {
        defer {
            fieldStore.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            malformed = nil
        }
        // A blank line: nothing to do.
        if fieldEnds.count == 1 && fieldStore.isEmpty { return }
        let startLine = recordLine
        // Every byte of the record must be UTF-8; one check covers all fields.
        guard String(validating: fieldStore, as: UTF8.self) != nil else {
            throw CuratorError.invalidInput(file: path, reason: "line \(startLine) is not valid UTF-8 text; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)")
        }
        if columnIndex == nil {
            try readHeader()
            return
        }
        if let malformed {
            try onProblem(RecordProblem(line: startLine, reason: "malformed CSV: \(malformed)", raw: rawText()))
            return
        }
        if fieldEnds.count != headerCount {
            try onProblem(RecordProblem(line: startLine, reason: "malformed CSV: \(fieldEnds.count) fields where the header has \(headerCount)", raw: rawText()))
            return
        }
        var values = [String?](repeating: nil, count: columns.count)
        for (c, index) in columnIndex!.enumerated() {
            guard let index else { continue }
            let start = index == 0 ? 0 : fieldEnds[index - 1]
            values[c] = String(decoding: fieldStore[start..<fieldEnds[index]], as: UTF8.self)
        }
        if let reason = try onRecord(RawRecord(line: startLine, values: values)) {
            try onProblem(RecordProblem(line: startLine, reason: reason, raw: rawText()))
        }
    }

    private mutating func readHeader() throws {
        var names: [String] = []
        var start = 0
        for end in fieldEnds {
            let name = String(decoding: fieldStore[start..<end], as: UTF8.self)
            names.append(name.trimmingCharacters(in: .whitespaces).lowercased())
            start = end
        }
        headerCount = names.count
        let missing = columns.filter { required.contains($0) && !names.contains($0) }
        if !missing.isEmpty {
            throw CuratorError.invalidInput(
                file: path,
                reason: "missing required column\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")) in the header (found: \(names.joined(separator: ",")))")
        }
        columnIndex = columns.map { names.firstIndex(of: $0) }
    }

    mutating func finish(onRecord: (RawRecord) throws -> String?, onProblem: (RecordProblem) throws -> Void) throws {
        if state == .quoted {
            if columnIndex == nil {
                throw CuratorError.invalidInput(file: path, reason: "the header has an unterminated quote")
            }
            let raw = String(String(decoding: fieldStore.prefix(200), as: UTF8.self))
            fieldStore.removeAll()
            fieldEnds.removeAll()
            try onProblem(RecordProblem(line: recordLine, reason: "malformed CSV: a quoted field is never closed (the rest of the file was read into it)", raw: raw))
        } else if !fieldStore.isEmpty || !fieldEnds.isEmpty {
            fieldEnds.append(fieldStore.count)
            try endRecord(onRecord: onRecord, onProblem: onProblem)
        }
        if columnIndex == nil {
            throw CuratorError.invalidInput(file: path, reason: "the file is empty (no header row)")
        }
    }
}

/// JSON Lines: one JSON object per line; strings, numbers, booleans and null are accepted as values.
struct JSONLinesParser: ChunkParser {
    let path: String
    let columns: [String]
    let required: Set<String>
    private var pending: [UInt8] = []
    private var line = 0
    private var sawRecord = false

    init(path: String, columns: [String], required: Set<String>) {
        self.path = path
        self.columns = columns
        self.required = required
    }

    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, onRecord: (RawRecord) throws -> String?,
                          onProblem: (RecordProblem) throws -> Void) throws {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                line += 1
                try handleLine(onRecord: onRecord, onProblem: onProblem)
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
    }

    mutating func finish(onRecord: (RawRecord) throws -> String?, onProblem: (RecordProblem) throws -> Void) throws {
        if !pending.isEmpty {
            line += 1
            try handleLine(onRecord: onRecord, onProblem: onProblem)
            pending.removeAll()
        }
        if !sawRecord { throw CuratorError.invalidInput(file: path, reason: "the file is empty (no JSON records)") }
    }

    private mutating func handleLine(onRecord: (RawRecord) throws -> String?, onProblem: (RecordProblem) throws -> Void) throws {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        if pending.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        if pending.contains(0) {
            throw CuratorError.invalidInput(file: path, reason: "line \(line) contains a NUL byte: this is a binary file, not JSON Lines text")
        }
        let raw = try decodeUTF8(pending[...], path: path, line: line)
        sawRecord = true
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(pending), options: [.fragmentsAllowed])
        } catch {
            try onProblem(RecordProblem(line: line, reason: "malformed JSON", raw: raw))
            return
        }
        guard let dictionary = object as? [String: Any] else {
            try onProblem(RecordProblem(line: line, reason: "malformed JSON Lines: each line must be a JSON object", raw: raw))
            return
        }
        var values = [String?](repeating: nil, count: columns.count)
        for (c, name) in columns.enumerated() {
            guard let value = dictionary[name] else { continue }
            switch value {
            case is NSNull: values[c] = nil
            case let string as String: values[c] = string
            case let number as NSNumber:
                values[c] = number.stringValue
            default:
                try onProblem(RecordProblem(line: line, reason: "field '\(name)' must be a string or a number", raw: raw))
                return
            }
        }
        if let reason = try onRecord(RawRecord(line: line, values: values)) {
            try onProblem(RecordProblem(line: line, reason: reason, raw: raw))
        }
    }
}
