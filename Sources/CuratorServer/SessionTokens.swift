import Crypto
import CuratorCore
import Foundation

/// The key that signs session tokens, shared by every replica that should accept each other's
/// tokens (`CURATOR_SESSION_SECRET` or `--session-secret-file`).
public struct SessionSecret: Sendable {
    let key: SymmetricKey
    /// Made up at start because none was configured: tokens die with the process and are
    /// refused by other replicas.
    public let generated: Bool

    /// Fewer bytes than this would make the HMAC key guessable.
    public static let minimumLength = 32

    /// A configured secret; at least 32 bytes (e.g. `openssl rand -hex 32`).
    public init(_ text: String, source: String) throws(CuratorError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= Self.minimumLength else {
            throw .configuration("\(source): the session secret must be at least \(Self.minimumLength) characters (e.g. openssl rand -hex 32)")
        }
        key = SymmetricKey(data: Data(trimmed.utf8))
        generated = false
    }

    /// A random secret for this process only.
    public static func random() -> SessionSecret { SessionSecret(key: SymmetricKey(size: .bits256)) }

    private init(key: SymmetricKey) {
        self.key = key
        generated = true
    }
}

/// What a session token grants: recording events and reading recommendations for one shopper,
/// until `expiresAt`. Signed, not encrypted: the only thing in it is the holder's own shopper id.
struct SessionClaims: Codable, Sendable, Equatable {
    /// The shop's shopper id (or `~pseudonym`, or a generated anonymous id).
    var shopper: String
    /// A shopper id the server made up for a visitor without one.
    var anonymous: Bool
    /// When the session was first created, in Unix seconds; renewals keep it, so a session
    /// cannot be renewed forever (`SessionSigner.maximumAge`).
    var createdAt: Int64
    var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case shopper = "sub", anonymous = "anon", createdAt = "iat", expiresAt = "exp"
    }
}

/// Why a presented token is refused (each is a 401).
enum SessionTokenError: Error, Equatable {
    case malformed
    case badSignature
    case expired(at: Int64)

    var message: String {
        switch self {
        case .malformed: "the session token is malformed"
        case .badSignature: "the session token's signature is not valid (altered, or signed with another secret)"
        case .expired(let at): "the session token expired at \(Timestamps.format(millis: at * 1000)); create a new one with POST /v1/sessions"
        }
    }
}

/// Issues and checks session tokens: `cs1.` + base64url(claims JSON) + `.` + base64url(HMAC-SHA256),
/// the MAC taken over everything before the last dot.
struct SessionSigner: Sendable {
    static let prefix = "cs1."
    /// A session may be renewed until it is this old; then the holder starts a new one.
    static let maximumAge: Int64 = 24 * 3600

    let secret: SessionSecret
    /// How long a token is valid after it is issued or renewed.
    let lifetime: Int64

    func issue(_ claims: SessionClaims) -> String {
        // Encoding a struct of a string, a bool and two integers cannot fail.
        let json = (try? CuratorJSON.encoder().encode(claims)) ?? Data()
        let signed = Self.prefix + Base64URL.encode(json)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: secret.key)
        return signed + "." + Base64URL.encode(Data(mac))
    }

    /// New claims for `shopper`, valid for `lifetime` from `now`.
    func claims(shopper: String, anonymous: Bool, createdAt: Int64? = nil, now: Int64 = Self.now()) -> SessionClaims {
        SessionClaims(shopper: shopper, anonymous: anonymous, createdAt: createdAt ?? now, expiresAt: now + lifetime)
    }

    /// Whether `text` is shaped like a token at all (API keys are looked up first, so a key
    /// that happens to start with `cs1.` still works as a key).
    static func looksLikeToken(_ text: String) -> Bool { text.hasPrefix(prefix) }

    /// The claims of a token this server (or one sharing its secret) issued and that has not
    /// expired. The MAC is compared in constant time (swift-crypto's `isValidAuthenticationCode`).
    func verify(_ token: String, now: Int64 = Self.now()) throws(SessionTokenError) -> SessionClaims {
        guard Self.looksLikeToken(token), let dot = token.lastIndex(of: "."), dot > token.index(token.startIndex, offsetBy: Self.prefix.count - 1) else {
            throw .malformed
        }
        let signed = token[..<dot]
        let macText = token[token.index(after: dot)...]
        // Only the canonical spelling: base64 leaves two bits of the last character unused, and
        // a token must not have four spellings that all verify.
        guard let mac = Base64URL.decode(macText), mac.count == SHA256.byteCount, Base64URL.encode(mac) == macText else { throw .malformed }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(signed.utf8), using: secret.key) else {
            throw .badSignature
        }
        guard let payload = Base64URL.decode(signed.dropFirst(Self.prefix.count)),
              let claims = try? CuratorJSON.decoder().decode(SessionClaims.self, from: payload) else {
            throw .malformed
        }
        guard claims.expiresAt > now else { throw .expired(at: claims.expiresAt) }
        return claims
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// A fresh anonymous shopper id: 128 random bits, so no one can guess another visitor's.
    static func anonymousShopperID() -> String {
        let digits = Array("0123456789abcdef")
        let bytes = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
        return "anon-" + String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5), so tokens need no escaping in
/// headers, URLs or cookies.
enum Base64URL {
    static func encode(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decode(_ text: Substring) -> Data? {
        guard text.utf8.allSatisfy({ c in
            (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2D || c == 0x5F
        }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
