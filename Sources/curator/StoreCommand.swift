import ArgumentParser
import CuratorCore
import Foundation
import PostgresStorage
import Storage
import Stores

struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Check a PostgreSQL store, or copy a whole store between SQLite and PostgreSQL.",
        subcommands: [StoreCheck.self, StoreCopy.self])
}

/// Moves a shop between stores: SQLite to PostgreSQL when it outgrows one machine, and back.
struct StoreCopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every product, shopper, event, vector, model, split and evaluation into a new, empty store.",
        discussion: """
            Ids, pseudonyms and the pseudonym secret (or its fingerprint) go with the data, so the copy gives the same \
            `stats --json` and the same recommendations. The target is written in one transaction and must hold no data. \
            A secret kept outside the store is given once, with --pseudonym-secret-file, for both.
            """)

    @Option(help: "The store to copy: a SQLite file or postgres://USER:PASSWORD@HOST:PORT/DATABASE.") var from: String
    @Option(help: "The new store: a SQLite file or postgres://…; created, and refused if it already holds data.") var to: String
    @Option(name: .customLong("pseudonym-secret-file"), help: ArgumentHelp("The secret, when the store keeps it outside.", valueName: "file"))
    var pseudonymSecretFile: String?

    func validate() throws {
        guard from != to else { throw ValidationError("--from and --to name the same store") }
    }

    func run() async throws {
        do {
            let start = Date()
            let secret: PseudonymSecretSource = try pseudonymSecretFile.map { .external(try PseudonymSecret(contentsOfFile: $0)) } ?? .environment
            let source = try await Stores.open(from, secret: secret)
            let snapshot = try await source.snapshot()
            let target = try await Stores.open(to, secret: secret)
            try await target.restore(snapshot)
            print("copied \(snapshot.summary) from \(source.name) to \(target.name) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        } catch {
            throw fail(error)
        }
    }
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
