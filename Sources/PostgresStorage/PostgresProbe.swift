import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// Connects once to a PostgreSQL store and asks for its version: the check a command makes before
/// it relies on the store, so that a wrong URL, password, database or an unreachable host is one
/// clear line (postgres-nio's own error text is a generic placeholder) rather than a hang.
public enum PostgresProbe {
    /// One connection, or the one-line error of `describe`.
    public static func connect(to location: PostgresLocation, timeout: Duration = .seconds(10), logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: try configuration(for: location, timeout: timeout), id: 1, logger: logger)
        } catch {
            throw describe(error, at: location)
        }
    }

    /// The server's version string (`PostgreSQL 15.18 …`), on a connection of its own.
    public static func serverVersion(at location: PostgresLocation, timeout: Duration = .seconds(10)) async throws -> String {
        let logger = Logger(label: "curator.postgres")
        let connection = try await connect(to: location, timeout: timeout, logger: logger)
        do {
            let version = try await serverVersion(on: connection, at: location, logger: logger)
            try? await connection.close()
            return version
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The server's version string, on an open connection.
    public static func serverVersion(on connection: PostgresConnection, at location: PostgresLocation, logger: Logger) async throws -> String {
        do {
            var version = "unknown"
            for try await text in try await connection.query("SELECT version()", logger: logger).decode(String.self) {
                version = text
            }
            return version
        } catch {
            throw describe(error, at: location)
        }
    }

    static func configuration(for location: PostgresLocation, timeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .prefer, .require:
            let context = try NIOSSLContext(configuration: .makeClientConfiguration())
            tls = location.tls == .require ? .require(context) : .prefer(context)
        }
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                             password: location.password, database: location.database, tls: tls)
        let (seconds, attoseconds) = timeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        configuration.options.additionalStartupParameters = startupParameters(for: location)
        return configuration
    }

    /// The same settings for a connection pool.
    static func clientConfiguration(for location: PostgresLocation, timeout: Duration) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                         password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = timeout
        configuration.options.additionalStartupParameters = startupParameters(for: location)
        return configuration
    }

    /// A store in its own schema sees that schema first, so its tables are found and made there.
    static func startupParameters(for location: PostgresLocation) -> [(String, String)] {
        location.schema.map { [("search_path", $0)] } ?? []
    }

    /// One line saying what went wrong and where, from the SQLSTATE or the socket error.
    public static func describe(_ error: any Error, at location: PostgresLocation) -> CuratorError {
        let place = "PostgreSQL at \(location.host):\(location.port)"
        guard let error = error as? PSQLError else {
            return .storage("\(place): \(error)")
        }
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? ""
            switch state {
            case "28P01": return .configuration("\(place) refused user '\(location.username)': wrong password")
            case "28000": return .configuration("\(place) refused user '\(location.username)': \(message)")
            case "3D000": return .configuration("\(place) has no database '\(location.database)' (create it, or name another in the URL)")
            case "53300": return .storage("\(place) has no free connection slots: \(message)")
            case "57P03": return .storage("\(place) is starting up or shutting down; try again")
            default: return .storage("\(place): \(message) (SQLSTATE \(state))")
            }
        }
        switch error.code {
        case .connectionError:
            return .configuration("cannot reach \(place): \(error.underlying.map(socketReason) ?? "connection failed")")
        case .sslUnsupported:
            return .configuration("\(place) does not offer TLS, which sslmode=require asks for")
        case .authMechanismRequiresPassword:
            return .configuration("\(place) wants a password for user '\(location.username)'; put it in the URL (postgres://USER:PASSWORD@…)")
        case .serverClosedConnection, .uncleanShutdown:
            return .storage("\(place) closed the connection")
        default:
            return .storage("\(place): \(error.code)")
        }
    }

    /// The error a transaction's body threw, out of postgres-nio's wrapper (a rollback keeps the
    /// body's own error, such as a refused secret, as what happened).
    /// Whether `error` means the server or the network went away (or gave no answer), rather than
    /// the server refusing a statement: a connection exception (08…), a shutdown or startup
    /// (57P01–57P03), no free connection slots (53300), a lost connection, a socket error or a
    /// cancelled call. Such a call may be tried again once the server is back.
    public static func isConnectionFailure(_ error: any Error) -> Bool {
        let error = unwrapped(error)
        if error is CuratorError || error is PseudonymSecretError { return false }
        if error is CancellationError { return true }
        if let error = error as? PSQLError {
            guard let state = error.serverInfo?[.sqlState] else { return true }
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
        }
        // The pool's own failures (no connection could be made) and NIO's socket errors.
        return true
    }

    public static func unwrapped(_ error: any Error) -> any Error {
        if let wrapped = error as? PostgresTransactionError, let inner = wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError {
            return unwrapped(inner)
        }
        return error
    }

    /// What the server said (and its SQLSTATE), through a transaction's wrapper; postgres-nio's own
    /// description of an error is a placeholder that hides this.
    public static func serverMessage(_ error: any Error) -> String {
        if let wrapped = error as? PostgresTransactionError {
            if let inner = wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError { return serverMessage(inner) }
        }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let state = error.serverInfo?[.sqlState] {
            return "\(error.serverInfo?[.message] ?? "error") (SQLSTATE \(state))"
        }
        return error.underlying.map(socketReason) ?? "\(error.code)"
    }

    /// "connection refused", "the host name does not resolve", "no answer within 10 s" rather than NIO's nested dumps.
    static func socketReason(_ error: any Error) -> String {
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return socketReason(first.error) }
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "the host name does not resolve" }
            return "connection failed"
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if case ChannelError.connectTimeout(let time)? = error as? ChannelError {
            return "no answer within \(time.nanoseconds / 1_000_000_000) s"
        }
        return "\(error)"
    }
}
