import ArgumentParser
import CuratorCore
import Foundation
import PostgresStorage
import Storage

@main
struct Curator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curator",
        abstract: "Product recommendations with a language model inside.",
        subcommands: [
            ImportCommand.self, StatsCommand.self, SampleCommand.self, SplitCommand.self, EncodeCommand.self, EmbedCommand.self, ModelsCommand.self,
            RecommendCommand.self, EvaluateCommand.self, TrainCommand.self, TuneCommand.self, ServeCommand.self, SecretCommand.self, StoreCommand.self,
            BenchCommand.self,
        ]
    )
}

/// `--store PATH`, else `CURATOR_STORE`, else `./curator.sqlite`; and where the pseudonym secret is.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store: a SQLite file, or postgres://USER:PASSWORD@HOST:PORT/DATABASE (default: $CURATOR_STORE or ./curator.sqlite).")
    var store: String?

    @Option(name: .customLong("pseudonym-secret-file"), help: ArgumentHelp(
        "File holding the shopper pseudonym secret, kept outside the store (default: $CURATOR_PSEUDONYM_SECRET_FILE or $CURATOR_PSEUDONYM_SECRET, else the store's own).",
        valueName: "file"))
    var pseudonymSecretFile: String?

    var path: String { CuratorStore.defaultPath(explicit: store) }

    /// Opens the store named by `--store` (or `CURATOR_STORE`): a SQLite file or a PostgreSQL
    /// database (`postgres://…`), created and migrated as needed.
    func open() async throws -> any CuratorStoring {
        try await openStore(path)
    }

    /// The option becomes `CURATOR_PSEUDONYM_SECRET_FILE` (and wins over `CURATOR_PSEUDONYM_SECRET`), so
    /// every place that opens the store — and every `curator` process a command starts — uses the
    /// same secret through the one path the library already reads, instead of each call site
    /// having to pass it on. Parsing finishes before a command starts any work, so nothing reads
    /// the environment while it changes.
    func validate() throws {
        guard let pseudonymSecretFile else { return }
        guard !pseudonymSecretFile.isEmpty else { throw ValidationError("--pseudonym-secret-file needs a path") }
        unsetenv(PseudonymSecret.hexVariable)
        setenv(PseudonymSecret.fileVariable, pseudonymSecretFile, 1)
    }
}

/// Opens a store by what `--store` takes: a PostgreSQL URL, else a SQLite file (created and
/// migrated as needed).
func openStore(_ spec: String) async throws -> any CuratorStoring {
    if PostgresLocation.isPostgresURL(spec) { return try await PostgresStore.open(try PostgresLocation(url: spec)) }
    return try SQLiteStore(path: spec)
}

/// Prints a user-facing error and exits 1, the way every subcommand reports failure.
func fail(_ error: Error) -> ExitCode {
    let message = String(describing: error)
    FileHandle.standardError.write(Data("curator: error: \(message)\n".utf8))
    return ExitCode.failure
}

func printErr(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
