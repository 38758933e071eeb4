import ArgumentParser
import CuratorCore
import Foundation
import PostgresStorage

struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Check a PostgreSQL store (the shared store of several servers, under way).",
        subcommands: [StoreCheck.self])
}

/// Connects to a PostgreSQL store and says what it found, or in one line why it could not.
struct StoreCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Connect to a PostgreSQL store, print the server's version and which migrations it has; --migrate applies the missing ones.",
        discussion: "A wrong URL, user, password or database, or an unreachable host, is one error line and exit status 1.")

    @Option(help: "postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|prefer|require] (default: $CURATOR_STORE).")
    var store: String?
    @Flag(help: "Apply the schema's migrations that the database does not have yet.") var migrate = false

    func run() async throws {
        guard let text = store ?? ProcessInfo.processInfo.environment["CURATOR_STORE"], !text.isEmpty else {
            throw ValidationError("give the store: --store postgres://USER:PASSWORD@HOST:PORT/DATABASE (or set CURATOR_STORE)")
        }
        guard PostgresLocation.isPostgresURL(text) else {
            throw ValidationError("'\(text)' is a SQLite file; `curator store check` checks PostgreSQL stores (for a file, `curator stats --store \(text)`)")
        }
        do {
            let location = try PostgresLocation(url: text)
            let check = try await PostgresStoreCheck.run(location, migrate: migrate)
            print("\(location): \(check.version)")
            let total = PostgresSchema.migrations.count
            if !check.applied.isEmpty {
                print("migrations applied now: \(check.applied.joined(separator: ", "))")
            } else if check.missing.isEmpty {
                print(migrate ? "migrations: all \(total) already applied" : "migrations: all \(total) applied")
            }
            if !check.missing.isEmpty {
                print("migrations missing: \(check.missing.joined(separator: ", ")) (curator store check --migrate applies them)")
            }
        } catch {
            throw fail(error)
        }
    }
}
