import ArgumentParser
import CuratorCore
import Foundation
import Storage

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a catalogue or events file (CSV or JSON Lines, plain or .gz).",
        discussion: """
            Rows that cannot be imported are written with their line and reason to FILE.rejects.csv; \
            the good rows still import and the command exits with status 2. A file that cannot be \
            read as a whole (missing column, empty, binary, not UTF-8) imports nothing and exits 1.
            """,
        subcommands: [ImportProducts.self, ImportEvents.self]
    )
}

struct ImportArguments: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @Argument(help: "The file to import.") var file: String
    @Option(help: "Where to write rejected rows (default: FILE.rejects.csv).") var rejects: String?
    @Flag(help: "Print the report as JSON.") var json = false
}

struct ImportProducts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "products", abstract: "Import products (upsert by product_id).")
    @OptionGroup var arguments: ImportArguments

    func run() async throws {
        try await runImport(arguments) { store in try await store.importProducts(from: arguments.file, options: .init(rejectsPath: arguments.rejects)) }
    }
}

struct ImportEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Import shopper events (identical rows count once).")
    @OptionGroup var arguments: ImportArguments

    func run() async throws {
        try await runImport(arguments) { store in try await store.importEvents(from: arguments.file, options: .init(rejectsPath: arguments.rejects)) }
    }
}

private func runImport(_ arguments: ImportArguments, _ body: (any CuratorStoring) async throws -> ImportReport) async throws {
    let report: ImportReport
    do {
        let store = try await arguments.store.open()
        report = try await body(store)
    } catch {
        throw fail(error)
    }
    if arguments.json {
        print(try CuratorJSON.text(report))
    } else {
        var parts = ["\(report.inserted) new"]
        if report.kind == "products" {
            parts.append("\(report.updated) updated")
            parts.append("\(report.unchanged) unchanged")
        } else {
            parts.append("\(report.unchanged) already stored")
            parts.append("\(report.newShoppers) new shoppers")
        }
        print("imported \(report.kind) from \(report.file): \(report.rows) rows, \(parts.joined(separator: ", ")) in \(String(format: "%.2f", report.seconds)) s (\(Int(report.rowsPerSecond)) rows/s)")
    }
    if report.rejected > 0 {
        printErr("curator: \(report.rejected) row\(report.rejected == 1 ? " was" : "s were") rejected; see \(report.rejectsFile ?? "the rejects file") for line and reason")
        throw ExitCode(2)
    }
}
