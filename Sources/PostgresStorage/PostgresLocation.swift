import CuratorCore
import Foundation

/// Where a PostgreSQL store lives, from `--store postgres://USER:PASSWORD@HOST:PORT/DATABASE`
/// (or `postgresql://`). The password never appears in `description`, so a location can be
/// printed in errors and logs.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How to use TLS, as libpq's `sslmode` says it: `disable`, `prefer` (the default: TLS when
    /// the server offers it) or `require`.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// The schema the store's tables live in (`?schema=NAME`), so several stores can share one
    /// database; nil for the user's default search path (normally `public`).
    public var schema: String?

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .prefer,
                schema: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.schema = schema
    }

    /// A schema name is spliced into SQL (`CREATE SCHEMA`, the notification channel), so only plain identifiers are taken.
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first), name.count <= 63 else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// True for text that names a PostgreSQL store rather than a file.
    public static func isPostgresURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses a store URL; every mistake is one error that says what is wrong, with the password masked.
    public init(url text: String) throws {
        guard Self.isPostgresURL(text) else {
            throw CuratorError.configuration("'\(Self.masked(text))' is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        guard let components = URLComponents(string: text) else {
            throw CuratorError.configuration("'\(Self.masked(text))' is not a valid URL (a password with @, :, / or % must be percent-encoded)")
        }
        func fail(_ reason: String) -> CuratorError {
            .configuration("PostgreSQL URL '\(Self.masked(text))': \(reason)")
        }
        guard let host = components.host, !host.isEmpty else { throw fail("no host (postgres://USER:PASSWORD@HOST:PORT/DATABASE)") }
        guard let user = components.user?.removingPercentEncoding, !user.isEmpty else { throw fail("no user name") }
        let database = String(components.path.drop { $0 == "/" }).removingPercentEncoding ?? ""
        guard !database.isEmpty, !database.contains("/") else { throw fail("give the database as the path: …/DATABASE") }
        if let port = components.port, !(1...65_535).contains(port) { throw fail("port \(port) is outside 1…65535") }
        var tls = TLSMode.prefer
        var schema: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw fail("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(item.value ?? "")'")
                }
                tls = mode
            case "schema":
                guard let value = item.value, Self.isPlainIdentifier(value) else {
                    throw fail("schema must be a plain lower-case identifier (letters, digits, _), not '\(item.value ?? "")'")
                }
                schema = value
            default:
                throw fail("unknown parameter '\(item.name)' (sslmode and schema are read)")
            }
        }
        // URLComponents keeps the brackets of an IPv6 literal; connecting wants the address alone.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(host: bare, port: components.port ?? 5432, username: user, password: components.password?.removingPercentEncoding,
                  database: database, tls: tls, schema: schema)
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let secret = password == nil ? "" : ":•••"
        var parameters: [String] = []
        if tls != .prefer { parameters.append("sslmode=\(tls.rawValue)") }
        if let schema { parameters.append("schema=\(schema)") }
        let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
        return "postgres://\(username)\(secret)@\(shownHost):\(port)/\(database)\(query)"
    }

    /// The URL with its password (percent-encoded), for `--store` of a child process; never print it.
    public var connectionURL: String {
        let user = username.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? username
        let secret = password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0) } ?? ""
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var parameters: [String] = []
        if tls != .prefer { parameters.append("sslmode=\(tls.rawValue)") }
        if let schema { parameters.append("schema=\(schema)") }
        return "postgres://\(user)\(secret)@\(shownHost):\(port)/\(database)" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    /// The URL with whatever stands between `user:` and `@` replaced, for messages about a URL that did not parse.
    static func masked(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@"),
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "•••" + String(text[at...])
    }
}
