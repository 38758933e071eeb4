import Crypto
import Foundation

/// The key of the shopper pseudonyms (HMAC-SHA256 of the shop's ids).
///
/// Kept inside the store (the default, generated with it), a copy of the database is enough to
/// re-derive the pseudonym of any guessed shop id. Kept outside (a file or an environment
/// variable), the store records only a fingerprint, so a copy of the database alone cannot link
/// pseudonyms back to shop ids, and a wrong secret is refused instead of silently starting a
/// second set of pseudonyms.
public struct PseudonymSecret: Sendable {
    /// 256 bits, the size of the generated secrets and of SHA-256's output.
    public static let minimumBytes = 32
    /// Path to a file holding the secret: hex (at least 64 digits) or raw bytes (at least 32).
    public static let fileVariable = "CURATOR_PSEUDONYM_SECRET_FILE"
    /// The secret itself, in hex (at least 64 digits).
    public static let hexVariable = "CURATOR_PSEUDONYM_SECRET"

    let key: SymmetricKey
    /// Where the secret came from, for error messages (never the secret).
    public let origin: String

    /// A secret of at least `minimumBytes` bytes.
    public init(bytes: [UInt8], origin: String) throws(PseudonymSecretError) {
        guard bytes.count >= Self.minimumBytes else { throw .tooShort(origin: origin, bytes: bytes.count) }
        key = SymmetricKey(data: bytes)
        self.origin = origin
    }

    /// A secret written as hex digits (either case), at least 64 of them.
    public init(hex: String, origin: String) throws(PseudonymSecretError) {
        let trimmed = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.bytes(trimmed) else { throw .notHex(origin: origin) }
        try self.init(bytes: bytes, origin: origin)
    }

    /// A secret file: hex when the file (without surrounding white space) is nothing but hex
    /// digits, as `curator secret export` and `openssl rand -hex 32` write it; otherwise its exact bytes.
    public init(contentsOfFile path: String, origin: String? = nil) throws(PseudonymSecretError) {
        let origin = origin ?? path
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        if let text = String(data: data, encoding: .utf8) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty, trimmed.utf8.allSatisfy(Self.isHexDigit) {
                try self.init(hex: trimmed, origin: origin)
                return
            }
        }
        try self.init(bytes: [UInt8](data), origin: origin)
    }

    private init(key: SymmetricKey, origin: String) {
        self.key = key
        self.origin = origin
    }

    /// A fresh 256-bit secret from the system's secure random source.
    public static func generate() -> PseudonymSecret {
        PseudonymSecret(key: SymmetricKey(size: .bits256), origin: "generated")
    }

    /// The secret given by `CURATOR_PSEUDONYM_SECRET_FILE` or `CURATOR_PSEUDONYM_SECRET`, or nil when
    /// neither is set. Both at once is refused: which one wins would be a guess.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(PseudonymSecretError) -> PseudonymSecret? {
        let file = environment[fileVariable].flatMap { $0.isEmpty ? nil : $0 }
        let hex = environment[hexVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (file, hex) {
        case (nil, nil): return nil
        case (.some, .some): throw .bothGiven
        case (let file?, nil): return try PseudonymSecret(contentsOfFile: file, origin: "\(fileVariable) (\(file))")
        case (nil, let hex?): return try PseudonymSecret(hex: hex, origin: hexVariable)
        }
    }

    /// Identifies the secret without revealing it: HMAC-SHA256 of a fixed label under the secret.
    /// The store keeps this, never the secret, when the secret is kept outside.
    public var fingerprint: String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("curator pseudonym secret fingerprint v1".utf8), using: key)
        return mac.withUnsafeBytes { Hex.lowercase($0) }
    }

    /// The secret in lower-case hex, as `curator secret export` writes it.
    public var hex: String { key.withUnsafeBytes { Hex.lowercase($0) } }

    /// The raw key, for a store that keeps the secret itself.
    public var bytes: [UInt8] { key.withUnsafeBytes { [UInt8]($0) } }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }
}

/// Where the store's pseudonym secret comes from when it is opened.
public enum PseudonymSecretSource: Sendable {
    /// `CURATOR_PSEUDONYM_SECRET_FILE` or `CURATOR_PSEUDONYM_SECRET` when set; otherwise the
    /// store's own secret, generated into it when the store is created.
    case environment
    /// This secret, kept outside the store.
    case external(PseudonymSecret)
    /// The store's own secret, generated into it when the store is created; the environment is ignored.
    case store

    public func resolve() throws(PseudonymSecretError) -> PseudonymSecret? {
        switch self {
        case .environment: try PseudonymSecret.fromEnvironment()
        case .external(let secret): secret
        case .store: nil
        }
    }
}

/// Where a store's pseudonym secret is kept.
public enum PseudonymSecretLocation: String, Sendable, Equatable {
    /// In the database (`store_meta.shopper_secret`): a copy of the file can re-derive pseudonyms.
    case store
    /// Outside the database; the store holds only the secret's fingerprint.
    case outside
}

/// Why a pseudonym secret cannot be used; every message says what to do.
public enum PseudonymSecretError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case tooShort(origin: String, bytes: Int)
    case notHex(origin: String)
    case bothGiven
    /// The store's pseudonyms were made with another secret.
    case mismatch(store: String, origin: String)
    /// The store keeps its secret outside and none was given.
    case keptOutside(store: String)
    /// The store holds shoppers but no usable secret or fingerprint.
    case missing(store: String)
    /// `secret export` on a store that does not hold its secret.
    case notInStore(store: String)
    /// `secret remove` without the secret given from outside, which would leave the store unusable.
    case removeNeedsExternal(store: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read the pseudonym secret file \(path): \(reason)"
        case .tooShort(let origin, let bytes):
            "the pseudonym secret from \(origin) has \(bytes) bytes; it needs at least \(PseudonymSecret.minimumBytes) (e.g. `openssl rand -hex 32 > FILE`)"
        case .notHex(let origin):
            "the pseudonym secret in \(origin) is not hex: give at least 64 hex digits"
        case .bothGiven:
            "both \(PseudonymSecret.fileVariable) and \(PseudonymSecret.hexVariable) are set; set only one"
        case .mismatch(let store, let origin):
            "\(store): the pseudonym secret from \(origin) is not the one this store's pseudonyms were made with; refusing to open it, since every shopper would get a new pseudonym that matches none of the stored ones (give this store's own secret, or use a new store)"
        case .keptOutside(let store):
            "\(store) keeps its pseudonym secret outside the database: give it with --pseudonym-secret-file FILE, \(PseudonymSecret.fileVariable) or \(PseudonymSecret.hexVariable)"
        case .missing(let store):
            "\(store) holds shoppers but neither their pseudonym secret nor its fingerprint; the store is damaged"
        case .notInStore(let store):
            "\(store) does not hold its pseudonym secret (it is kept outside); there is nothing to export"
        case .removeNeedsExternal(let store):
            "\(store): give the exported secret with --pseudonym-secret-file FILE (or \(PseudonymSecret.fileVariable)) to remove it from the store, so the store stays usable after"
        }
    }
}
