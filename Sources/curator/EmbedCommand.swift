import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Storage
import TextModels

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Encode the catalogue with the language model; only new or changed texts are encoded.",
        discussion: "Vectors are saved batch by batch, so an interrupted run resumes where it stopped.")

    @OptionGroup var store: StoreOptions
    @Option(name: .customLong("language-model"), help: "Language model: all-MiniLM-L6-v2, multilingual-e5-small or a folder (default: the one the store was embedded with, else $CURATOR_MODEL, else all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Texts encoded and saved per step.") var batch = 256
    @Flag(help: "No progress line.") var quiet = false

    func run() async throws {
        do {
            let curatorStore = try await store.open()
            let embedding = try await CatalogueEmbedding.open(store: curatorStore, model: model, switching: true)
            let encoder = embedding.encoder
            if let warning = try await embedding.unreadableCatalogueWarning() { printErr("curator: warning: \(warning)") }
            let report = try await embedding.runAndRecord(batch: batch, progress: quiet ? nil : ProgressLine(label: "embedding").callback)
            print("embedded \(report.encoded) product texts (\(report.cached) already cached) with \(encoder.modelID) in \(String(format: "%.1f", report.seconds)) s")
        } catch {
            throw fail(error)
        }
    }
}

/// A one-line progress display on standard error: done/total, rate and time left.
final class ProgressLine: @unchecked Sendable {
    let label: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(label: String) { self.label = label }

    func update(done: Int, total: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 || done == total else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = "\(label) \(bar) \(done)/\(total)  \(Int(rate))/s  \(Self.duration(left)) left"
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).utf8))
    }

    /// As a `CatalogueEmbedding` progress callback.
    var callback: CatalogueEmbedding.Progress {
        { done, total in self.update(done: done, total: total); if done == total { self.finish() } }
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
