import ArgumentParser
import CuratorCore
import Foundation
import Storage
import Stores

@main
struct Curator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curator",
        abstract: "Product recommendations with a language model inside.",
        subcommands: [
            ImportCommand.self, StatsCommand.self, SampleCommand.self, SplitCommand.self, EncodeCommand.self, EmbedCommand.self, ModelsCommand.self,
            RecommendCommand.self, EvaluateCommand.self, TrainCommand.self, TuneCommand.self, ServeCommand.self, SecretCommand.self, StoreCommand.self,
            ExperimentCommand.self, ReportCommand.self, RulesCommand.self,
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

    var path: String { Stores.defaultLocation(explicit: store) }

    /// Where the pseudonym secret comes from: the file given (which wins over both environment
    /// variables), else the environment, else the store's own. Passed to every store the command
    /// opens, never through the process environment.
    var secret: PseudonymSecretSource {
        get throws {
            guard let pseudonymSecretFile else { return .environment }
            return .external(try PseudonymSecret(contentsOfFile: pseudonymSecretFile))
        }
    }

    /// Opens the store named by `--store` (or `CURATOR_STORE`): a SQLite file or a PostgreSQL
    /// database (`postgres://…`), created and migrated as needed.
    func open() async throws -> any CuratorStoring {
        try await Stores.open(path, secret: try secret)
    }

    func validate() throws {
        if let pseudonymSecretFile, pseudonymSecretFile.isEmpty { throw ValidationError("--pseudonym-secret-file needs a path") }
    }
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
