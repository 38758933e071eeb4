import Crypto
import CuratorCore

/// Maps a shop's shopper id to the pseudonym the store keeps: hex HMAC-SHA256 (swift-crypto) under
/// the pseudonym secret, so the clear id never reaches disk but the same id always maps the same way.
public struct ShopperPseudonymizer: Sendable {
    private let key: SymmetricKey

    public init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    public init(secret: PseudonymSecret) { key = secret.key }

    /// A shopper id written as `~` and a stored pseudonym (as `GET /v1/shoppers` lists them) names
    /// that shopper directly, so an operator can act as an existing shopper without the clear id.
    public func pseudonym(for shopID: String) -> String {
        if let stored = Self.storedPseudonym(in: shopID) { return stored }
        var id = shopID
        let mac = id.withUTF8 { HMAC<SHA256>.authenticationCode(for: UnsafeRawBufferPointer($0), using: key) }
        // 128 bits are plenty to keep shoppers apart and keep keys short.
        return mac.withUnsafeBytes { Hex.lowercase($0.prefix(16)) }
    }

    /// The stored key for an id as a shop sends it (trimmed and cleaned first): what every store
    /// keeps and looks shoppers up by.
    public func key(forShopID shopID: String) -> String {
        pseudonym(for: TextCleaning.identifier(shopID))
    }

    /// The pseudonym in `~` + 32 lowercase hex digits, else nil.
    public static func storedPseudonym(in shopID: String) -> String? {
        let utf8 = shopID.utf8
        guard utf8.count == 33, utf8.first == UInt8(ascii: "~") else { return nil }
        let digits = utf8.dropFirst()
        guard digits.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }
}

/// SHA-256 (swift-crypto) of text, as the short lower-case hex keys the store uses.
enum TextDigest {
    /// The first `bytes` bytes of SHA-256 of the text's UTF-8, in hex.
    static func hex(_ text: String, bytes: Int) -> String {
        var text = text
        let digest = text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { Hex.lowercase($0.prefix(bytes)) }
    }
}

/// Lower-case hex digits of bytes; run once per product on every start, so no `String(format:)`.
enum Hex {
    static func lowercase(_ bytes: some Collection<UInt8>) -> String {
        let digits: StaticString = "0123456789abcdef"
        return digits.withUTF8Buffer { hex in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                var i = 0
                for byte in bytes {
                    out[i] = hex[Int(byte >> 4)]
                    out[i + 1] = hex[Int(byte & 0x0F)]
                    i += 2
                }
                return i
            }
        }
    }

    /// The bytes of an even-length hex string (either case), else nil.
    static func bytes(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = value(utf8[i]), let low = value(utf8[i + 1]) else { return nil }
            result.append(high << 4 | low)
            i += 2
        }
        return result
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
