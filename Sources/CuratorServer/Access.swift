import Crypto
import CuratorCore
import Foundation
import Hummingbird

/// Who is asking, as the `Authorization: Bearer …` header says.
enum Credential: Sendable {
    /// No header.
    case none
    /// An API key from the keys file or `CURATOR_API_KEYS`.
    case key(ServerConfiguration.Scope)
    /// A session token: one shopper's browser.
    case session(SessionClaims)
    /// A header that names no valid credential: refused wherever a credential is looked at,
    /// never treated as "no credential".
    case invalid(APIError)

    /// An API key: the shop's own back end (may date events; outside the per-address rate limits).
    var isKey: Bool {
        if case .key = self { return true }
        return false
    }

    /// The shopper of a session token (nil for keys and no credential).
    var sessionShopper: String? {
        if case .session(let claims) = self { return claims.shopper }
        return nil
    }
}

/// The API keys, looked up by their SHA-256 digests with a comparison against every key, so
/// neither a hash table's timing nor an early exit tells an attacker how close a guess was.
struct APIKeyTable: Sendable {
    private let entries: [(digest: SHA256.Digest, scope: ServerConfiguration.Scope)]
    var isEmpty: Bool { entries.isEmpty }

    init(_ keys: [String: ServerConfiguration.Scope]) {
        entries = keys.map { (SHA256.hash(data: Data($0.key.utf8)), $0.value) }
    }

    func scope(of presented: String) -> ServerConfiguration.Scope? {
        let digest = SHA256.hash(data: Data(presented.utf8))
        var found: ServerConfiguration.Scope?
        // swift-crypto compares digests in constant time; every entry is compared.
        for entry in entries where entry.digest == digest { found = entry.scope }
        return found
    }
}

/// Who may do what (README, "Security"):
///
/// | action | no credential | session token for shopper S | `events` key | `admin` key |
/// | --- | --- | --- | --- | --- |
/// | catalogue reads | yes (`--auth-reads`: no) | yes | yes | yes |
/// | create an anonymous session | yes | renews its own | yes | yes |
/// | a session for a named shopper | no | renews its own | yes | yes |
/// | record events | only with no keys configured | for S only | yes | yes |
/// | S's recommendations and history | `--open-shopper-reads` only | S only | yes | yes |
/// | list shoppers | `--open-shopper-reads` only | no | no | yes |
/// | change products, reload the model | only with no keys configured | no | no | yes |
/// | S's preferences (personalisation on or off) | only with no keys configured | S only | yes | yes |
/// | erase S | only with no keys configured | S only | no | yes |
/// | online report, experiments | only with no keys configured | no | no | yes |
///
/// A credential never allows less than no credential, and a presented credential that does not
/// verify is refused (401) on every route that looks at credentials.
struct AccessPolicy: Sendable {
    let keys: APIKeyTable
    let signer: SessionSigner
    let authenticateReads: Bool
    let openShopperReads: Bool
    /// Maps a shopper id to the store's pseudonym, so `S1` and `~<pseudonym of S1>` are one shopper.
    let shopperKey: @Sendable (String) -> String

    /// Reads the `Authorization` header. API keys are looked up first, then session tokens.
    func credential(for request: Request) -> Credential {
        guard let header = request.headers[.authorization] else { return .none }
        guard header.hasPrefix("Bearer ") else {
            return .invalid(.unauthorized("the Authorization header must be 'Bearer <API key or session token>'"))
        }
        let presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        if let scope = keys.scope(of: presented) { return .key(scope) }
        guard SessionSigner.looksLikeToken(presented) else { return .invalid(.unauthorized("unknown API key")) }
        do {
            return .session(try signer.verify(presented))
        } catch {
            return .invalid(.unauthorized(error.message))
        }
    }

    /// Products, categories, search, similar products, models, anonymous recommendations.
    func requireCatalogueRead(_ credential: Credential) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key, .session: return
        case .none:
            if authenticateReads { throw APIError.unauthorized("reads need an API key or a session token (--auth-reads): Authorization: Bearer <key or token>") }
        }
    }

    /// One shopper's recommendations or history.
    func requireShopperRead(_ credential: Credential, shopper: String) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key: return
        case .session(let claims):
            if openShopperReads || sameShopper(claims.shopper, shopper) { return }
            throw APIError.forbidden("this session token is for another shopper; it reads that shopper's data only")
        case .none:
            if openShopperReads { return }
            throw APIError.unauthorized("shopper data needs an API key or a session token for this shopper (Authorization: Bearer <key or token>); --open-shopper-reads opens it")
        }
    }

    /// The list of shoppers.
    func requireShopperList(_ credential: Credential) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key(.admin): return
        case .key, .session:
            if openShopperReads { return }
            throw APIError.forbidden("listing shoppers needs an admin key")
        case .none:
            if openShopperReads { return }
            throw APIError.unauthorized("listing shoppers needs an admin key: Authorization: Bearer <key>")
        }
    }

    /// Recording events for these shoppers.
    func requireEventWrite(_ credential: Credential, shoppers: some Sequence<String>) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key: return
        case .session(let claims):
            if keys.isEmpty { return }
            let own = shopperKey(claims.shopper)
            for shopper in shoppers where shopperKey(shopper) != own {
                throw APIError.forbidden("this session token records events for its own shopper only (got an event for another shopper); nothing was stored")
            }
        case .none:
            if keys.isEmpty { return }
            throw APIError.unauthorized("recording events needs an API key or a session token: Authorization: Bearer <key or token>")
        }
    }

    /// A shopper's own settings (personalisation on or off): that shopper's session token or any key.
    func requireShopperSettings(_ credential: Credential, shopper: String) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key: return
        case .session(let claims):
            if keys.isEmpty || sameShopper(claims.shopper, shopper) { return }
            throw APIError.forbidden("this session token is for another shopper; it changes that shopper's settings only")
        case .none:
            if keys.isEmpty { return }
            throw APIError.unauthorized("a shopper's settings need that shopper's session token or an API key (Authorization: Bearer <token or key>)")
        }
    }

    /// Erasing a shopper: that shopper's session token, or an admin key.
    func requireErasure(_ credential: Credential, shopper: String) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key(.admin): return
        case .key: throw APIError.forbidden("erasing a shopper needs an admin key or that shopper's session token")
        case .session(let claims):
            if keys.isEmpty || sameShopper(claims.shopper, shopper) { return }
            throw APIError.forbidden("this session token is for another shopper; it erases that shopper's data only")
        case .none:
            if keys.isEmpty { return }
            throw APIError.unauthorized("erasing a shopper needs that shopper's session token or an admin key (Authorization: Bearer <token or key>)")
        }
    }

    /// Changing products or the model in use; the online report and experiments.
    func requireAdmin(_ credential: Credential) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key(.admin): return
        case .key: throw APIError.forbidden("this needs an admin key; an events key records events and reads the catalogue and shoppers")
        case .session:
            if keys.isEmpty { return }
            throw APIError.forbidden("this needs an admin key; a session token records its shopper's events and reads")
        case .none:
            if keys.isEmpty { return }
            throw APIError.unauthorized("this request needs an admin key: Authorization: Bearer <key>")
        }
    }

    /// Creating a session: anonymous for anyone; for a named shopper with a key; renewing for
    /// the holder of a valid token for the same shopper.
    func requireSessionCreation(_ credential: Credential, shopper: String?) throws {
        switch credential {
        case .invalid(let error): throw error
        case .key: return
        case .session(let claims):
            guard let shopper, !sameShopper(claims.shopper, shopper) else { return }
            throw APIError.forbidden("a session token may renew its own session only; a session for another shopper needs an events or admin key")
        case .none:
            guard shopper != nil else { return }
            throw APIError.unauthorized("a session for a named shopper needs an events or admin key: Authorization: Bearer <key>")
        }
    }

    func sameShopper(_ a: String, _ b: String) -> Bool { a == b || shopperKey(a) == shopperKey(b) }
}
