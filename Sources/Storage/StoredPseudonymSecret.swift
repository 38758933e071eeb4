import CuratorCore
import Foundation

/// What `store_meta` says about the pseudonym secret: the secret itself (`shopper_secret`, kept in
/// the store) or only its fingerprint (`shopper_secret_fingerprint`, kept outside).
public enum StoredPseudonymSecret {
    public static let secretKey = "shopper_secret"
    public static let fingerprintKey = "shopper_secret_fingerprint"

    /// What a store does about its secret on opening.
    public enum Decision: Sendable {
        /// Use this secret; nothing to write.
        case use(PseudonymSecret)
        /// A new store given its secret from outside: keep only the fingerprint, then use it.
        case keepFingerprint(PseudonymSecret)
        /// A new store with no secret given: keep this generated one in the store, then use it.
        case keepSecret(PseudonymSecret)
    }

    /// The rules every store opens by, from what its meta table holds: a stored secret or a
    /// fingerprint must match a secret given from outside; a store with shoppers but neither
    /// cannot be used; only a new store gets a secret (or a fingerprint).
    public static func decide(storedSecret: [UInt8]?, fingerprint: String?, hasShoppers: Bool, external: PseudonymSecret?,
                              store path: String) throws -> Decision {
        let stored = try storedSecret.map { bytes in
            do { return try PseudonymSecret(bytes: bytes, origin: "the store") } catch { throw PseudonymSecretError.missing(store: path) }
        }
        if let external {
            if let known = stored?.fingerprint ?? fingerprint {
                guard known == external.fingerprint else { throw PseudonymSecretError.mismatch(store: path, origin: external.origin) }
                return .use(external)
            }
        } else if let stored {
            return .use(stored)
        } else if fingerprint != nil {
            throw PseudonymSecretError.keptOutside(store: path)
        }
        // Neither a secret nor a fingerprint: only a new store may get one now.
        guard !hasShoppers else { throw PseudonymSecretError.missing(store: path) }
        if let external { return .keepFingerprint(external) }
        return .keepSecret(PseudonymSecret.generate())
    }
}
