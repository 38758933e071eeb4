import Crypto
import Foundation

/// SHA-256 of a model file, remembered in a small file beside it (`NAME.sha256`: size,
/// modification time and digest) so a server start does not re-read 70–90 MB each time.
///
/// Why content and not size: embeddings are cached per model; a fine-tuned file of the same
/// shape has the same size but different vectors, and must not reuse the old ones.
public enum ModelFileDigest {
    /// The lower-case hex SHA-256 of the file at `path`.
    public static func sha256(path: String) throws(TextModelError) -> String {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw .missingFile(path: path)
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let stamp = "\(size) \(String(format: "%.6f", modified))"
        let sidecar = path + ".sha256"
        if let saved = try? String(contentsOfFile: sidecar, encoding: .utf8) {
            let parts = saved.split(separator: "\n")
            if parts.count == 2, parts[0] == stamp, parts[1].count == 64 { return String(parts[1]) }
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadableFile(path: path, reason: "cannot open it for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            } catch {
                throw .unreadableFile(path: path, reason: error.localizedDescription)
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        // Best effort: a read-only model folder just hashes again next time.
        try? "\(stamp)\n\(digest)".write(toFile: sidecar, atomically: true, encoding: .utf8)
        return digest
    }
}
