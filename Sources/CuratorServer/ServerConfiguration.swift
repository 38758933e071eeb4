import CuratorCore
import Foundation

/// How the server is reached and who may do what.
public struct ServerConfiguration: Sendable {
    /// What an API key allows.
    public enum Scope: String, Sendable {
        /// Everything: events, products, model reload.
        case admin
        /// Recording events and reading; what a shop's own front end should have.
        case events
        /// What `events` may do; also handed to the storefront page at `/`, which runs in
        /// anyone's browser, so it must never be able to do more.
        case storefront
    }

    public var host: String
    public var port: Int
    /// Bearer keys and their scopes. Empty: writes are open (a warning is printed at start).
    public var apiKeys: [String: Scope]
    /// Reads need a key too.
    public var authenticateReads: Bool
    public var maxBodyBytes: Int
    /// How often the server looks for a newly trained model to swap in (0: only on
    /// `POST /v1/models/reload`).
    public var modelPollSeconds: Double

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKeys: [String: Scope] = [:],
                authenticateReads: Bool = false, maxBodyBytes: Int = 8 << 20, modelPollSeconds: Double = 10) {
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
        self.authenticateReads = authenticateReads
        self.maxBodyBytes = maxBodyBytes
        self.modelPollSeconds = modelPollSeconds
    }

    /// The key the storefront page is given, if keys are on and one has the storefront scope.
    var storefrontKey: String? {
        apiKeys.filter { $0.value == .storefront }.keys.sorted().first
    }

    /// Parses `key` or `key:scope` entries separated by commas or new lines (`CURATOR_API_KEYS`, or a keys file
    /// where `#` starts a comment).
    public static func parseKeys(_ text: String, source: String) throws -> [String: Scope] {
        var keys: [String: Scope] = [:]
        for raw in text.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            let entry = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            var scope = Scope.admin
            if parts.count == 2 {
                guard let parsed = Scope(rawValue: parts[1]) else {
                    throw CuratorError.configuration("\(source): unknown key scope '\(parts[1])' (use admin, events or storefront)")
                }
                scope = parsed
            }
            guard parts[0].count >= 16 else {
                throw CuratorError.configuration("\(source): API keys must be at least 16 characters")
            }
            keys[parts[0]] = scope
        }
        return keys
    }
}
