import ArgumentParser
import CuratorCore
import Storage
import Foundation

@main
struct Curator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curator",
        abstract: "Product recommendations with a language model inside.",
        subcommands: [
            ImportCommand.self, StatsCommand.self, SampleCommand.self, SplitCommand.self, EncodeCommand.self, EmbedCommand.self, ModelsCommand.self, RecommendCommand.self, EvaluateCommand.self, TrainCommand.self, TuneCommand.self, ServeCommand.self, BenchCommand.self,
        ]
    )
}

/// `--store PATH`, else `CURATOR_STORE`, else `./curator.sqlite`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store file (default: $CURATOR_STORE or ./curator.sqlite).")
    var store: String?

    var path: String { CuratorStore.defaultPath(explicit: store) }
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
