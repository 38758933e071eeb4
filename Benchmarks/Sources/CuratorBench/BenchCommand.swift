import ArgumentParser
import CuratorCore
import Foundation
import SQLiteStorage
import Storage

/// `curator-bench`: Curator's benchmarks and experiments, each printing its figures with the
/// command that produced them (docs/benchmarks.md). `scripts/bench NAME [options]` builds and runs it.
@main
struct CuratorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curator-bench", abstract: "Measure Curator's speed and accuracy on this machine.",
        subcommands: [BenchImport.self, BenchEncodeCommand.self, BenchServe.self, BenchSearch.self, BenchSimilar.self, BenchSoak.self,
                      BenchHistoryRole.self, BenchReplicas.self, BenchExperiment.self, BenchAbuse.self])
}

/// The `curator` binary the server-level benchmarks start: `$CURATOR_BIN`, else the one
/// `swift build -c release` left in the main package's build folder.
func curatorBinary() throws -> URL {
    if let path = ProcessInfo.processInfo.environment["CURATOR_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
    let candidates = ["../.build/release/curator", ".build/release/curator"]
    for path in candidates where FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path).standardizedFileURL }
    throw CuratorError.configuration("no curator binary: build it (swift build -c release --product curator) or set CURATOR_BIN; scripts/bench does both")
}

/// Prints a user-facing error and exits 1.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("curator-bench: error: \(error)\n".utf8))
    return ExitCode.failure
}

func printErr(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct BenchImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import datasets into a fresh temporary store and print events/s.")

    @Argument(help: "Dataset folders holding products.csv and events.csv (default: the two in ../shared/data).")
    var datasets: [String] = []

    func run() async throws {
        let folders = datasets.isEmpty ? ["../shared/data/amazon-beauty", "../shared/data/online-retail"] : datasets
        for folder in folders {
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("curator-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: tmp) }
            do {
                let store = try CuratorStore(path: tmp.appendingPathComponent("bench.sqlite").path)
                let rejects = tmp.appendingPathComponent("rejects.csv").path
                let products = try store.importProducts(from: folder + "/products.csv", options: .init(rejectsPath: rejects))
                let events = try store.importEvents(from: folder + "/events.csv", options: .init(rejectsPath: rejects))
                let name = (folder as NSString).lastPathComponent
                print("\(name): products \(products.rows) rows in \(String(format: "%.2f", products.seconds)) s; events \(events.rows) rows in \(String(format: "%.2f", events.seconds)) s = \(Int(events.rowsPerSecond)) events/s (\(events.inserted) stored, \(events.unchanged) duplicates, \(events.rejected) rejected)")
            } catch {
                throw fail(error)
            }
        }
    }
}

/// The value below which a share `p` of `values` lies (`Percentile`: nearest rank; 0 for no values).
func percentile(_ values: [Double], _ p: Double) -> Double { Percentile.of(values, p) }
