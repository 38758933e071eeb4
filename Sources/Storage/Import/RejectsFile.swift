import CuratorCore
import Foundation

/// Collects rejected records as CSV (`line,reason,record`) beside the input, so a user can
/// see why each row was refused, fix it and import just those rows again.
final class RejectsFile {
    let path: String
    private let temporaryPath: String
    private var handle: FileHandle?
    private var buffer = Data()
    private(set) var count = 0

    /// `explicit` wins; otherwise `INPUT.rejects.csv`, or the current folder when the input's folder is read-only.
    init(input: String, explicit: String?) {
        if let explicit {
            path = explicit
        } else {
            let beside = input + ".rejects.csv"
            let folder = (beside as NSString).deletingLastPathComponent
            if FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder) {
                path = beside
            } else {
                path = (input as NSString).lastPathComponent + ".rejects.csv"
            }
        }
        temporaryPath = path + ".partial"
    }

    func add(line: Int, reason: String, record: String) throws {
        if handle == nil {
            _ = FileManager.default.createFile(atPath: temporaryPath, contents: nil)
            guard let opened = FileHandle(forWritingAtPath: temporaryPath) else {
                throw CuratorError.configuration("cannot write the rejects file \(path)")
            }
            handle = opened
            buffer.append(contentsOf: Array("line,reason,record\n".utf8))
        }
        count += 1
        buffer.append(contentsOf: Array("\(line),\(Self.quote(reason)),\(Self.quote(record))\n".utf8))
        if buffer.count > 1 << 16 { try flush() }
    }

    private func flush() throws {
        try handle?.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Moves the finished file into place; with no rejects, removes a stale one from an earlier run.
    func finish() throws -> String? {
        guard let handle else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
        try flush()
        try handle.close()
        self.handle = nil
        _ = try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
        return path
    }

    /// Drops what was written: used when the whole import is refused.
    func discard() {
        try? handle?.close()
        handle = nil
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    static func quote(_ field: String) -> String {
        if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }
}
