import CuratorCore
import Foundation

/// How the server is reached and who may do what.
public struct ServerConfiguration: Sendable {
    /// What an API key allows. Keys are secrets of the shop's own servers and operators; a
    /// browser gets a session token instead (`POST /v1/sessions`), bound to one shopper.
    public enum Scope: String, Sendable {
        /// Everything: events, products, model reload, the shopper list.
        case admin
        /// Recording events and reading, for any shopper, and creating sessions for named
        /// shoppers: what a shop's own back end needs.
        case events
    }

    public var host: String
    public var port: Int
    /// Bearer keys and their scopes. Empty: writes are open (a warning is printed at start).
    public var apiKeys: [String: Scope]
    /// Catalogue reads need a credential too (a key or a session token).
    public var authenticateReads: Bool
    /// Anyone may read any shopper's recommendations and history and list shoppers: for a
    /// local demo only. Off, shopper data needs a key or that shopper's session token.
    public var openShopperReads: Bool
    public var maxBodyBytes: Int
    /// How often the server looks for a newly trained model to swap in (0: only on
    /// `POST /v1/models/reload`).
    public var modelPollSeconds: Double
    /// Signs session tokens; shared by replicas that should accept each other's tokens.
    public var sessionSecret: SessionSecret
    /// How long a session token is valid after it is issued or renewed.
    public var sessionLifetimeSeconds: Int
    /// Served lists, their seen reports and attributions are kept this many days, then pruned
    /// in the background (`--impression-days`).
    public var impressionDays: Int
    /// Requests per minute per caller (`--rate-…`).
    public var rateLimits: RateLimits
    /// Addresses of proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    public var trustedProxies: Set<String>
    /// Lists' `diversity` when a request does not say (`--diversity`; README "Diverse lists").
    public var defaultDiversity: Float
    /// 0.3: on amazon-beauty it costs the trained sequential model 1.6% of its NDCG@10 (0.0619 to
    /// 0.0609) for 6.9% more intra-list diversity (0.534 to 0.570), and the semantic model nothing;
    /// at 0.5 the model loses 5.8% (docs/benchmarks.md, "Diverse lists").
    public static let standardDiversity: Float = 0.3

    /// Ids per request in `viewed` and `exclude_ids`.
    public static let maxListedIDs = 1_000
    /// Events or products per request.
    public static let maxBatch = 10_000

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKeys: [String: Scope] = [:],
                authenticateReads: Bool = false, openShopperReads: Bool = false, maxBodyBytes: Int = 8 << 20,
                modelPollSeconds: Double = 10, sessionSecret: SessionSecret = .random(),
                sessionLifetimeSeconds: Int = 1800, impressionDays: Int = 90, rateLimits: RateLimits = RateLimits(),
                trustedProxies: Set<String> = [], defaultDiversity: Float = ServerConfiguration.standardDiversity) {
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
        self.authenticateReads = authenticateReads
        self.openShopperReads = openShopperReads
        self.maxBodyBytes = maxBodyBytes
        self.modelPollSeconds = modelPollSeconds
        self.sessionSecret = sessionSecret
        self.sessionLifetimeSeconds = sessionLifetimeSeconds
        self.impressionDays = impressionDays
        self.rateLimits = rateLimits
        self.trustedProxies = trustedProxies
        self.defaultDiversity = defaultDiversity
    }

    /// Parses `key` or `key:scope` entries separated by commas or new lines (`CURATOR_API_KEYS`, or a keys file
    /// where `#` starts a comment).
    public static func parseKeys(_ text: String, source: String) throws(CuratorError) -> [String: Scope] {
        var keys: [String: Scope] = [:]
        for raw in text.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            let entry = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            var scope = Scope.admin
            if parts.count == 2 {
                if parts[1] == "storefront" {
                    // A key handed to every browser authenticated nobody; refusing it at start is
                    // safer than quietly giving it another meaning.
                    throw .configuration("\(source): the storefront key scope is gone: the storefront page now gets a session token for its own shopper from POST /v1/sessions. Remove the key, or make it KEY:events if the shop's own servers use it")
                }
                guard let parsed = Scope(rawValue: parts[1]) else {
                    throw .configuration("\(source): unknown key scope '\(parts[1])' (use admin or events)")
                }
                scope = parsed
            }
            guard parts[0].count >= 16 else {
                throw .configuration("\(source): API keys must be at least 16 characters")
            }
            keys[parts[0]] = scope
        }
        return keys
    }
}
