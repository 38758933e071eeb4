import ArgumentParser
import CuratorCore
import Foundation
import Storage
import TextModels

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Encode the catalogue with the language model; only new or changed texts are encoded.",
        discussion: "Vectors are saved batch by batch, so an interrupted run resumes where it stopped.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Model folder (default: $CURATOR_MODEL or models/all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Texts encoded and saved per step.") var batch = 256
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        do {
            let curatorStore = try CuratorStore(path: store.path)
            let encoder = try SentenceEncoder(modelPath: model)
            let report = try CatalogueEmbedding(store: curatorStore, encoder: encoder).run(batch: batch, progress: quiet ? nil : ProgressLine(label: "embedding"))
            print("embedded \(report.encoded) product texts (\(report.cached) already cached) with \(encoder.modelID) in \(String(format: "%.1f", report.seconds)) s")
        } catch {
            throw fail(error)
        }
    }
}

/// Brings the embedding cache up to date with the catalogue and returns the product vectors.
struct CatalogueEmbedding {
    let store: CuratorStore
    let encoder: SentenceEncoder
    var template = ProductTextTemplate.standard

    struct Report {
        var encoded: Int
        var cached: Int
        var seconds: Double
    }

    func run(batch: Int, progress: ProgressLine?) throws -> Report {
        let start = Date()
        let products = try store.allProducts()
        let texts = products.map { template.render($0.product) }
        let hashes = texts.map(CuratorStore.textHash)
        let cached = try store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        var seen = Set(cached.keys)
        var missing: [Int] = []
        for (i, hash) in hashes.enumerated() where seen.insert(hash).inserted { missing.append(i) }
        var done = 0
        progress?.update(done: 0, total: missing.count)
        for chunk in stride(from: 0, to: missing.count, by: max(1, batch)) {
            let indices = Array(missing[chunk..<min(chunk + max(1, batch), missing.count)])
            let matrix = encoder.encodeMatrix(indices.map { texts[$0] })
            try store.saveEmbeddings(modelID: encoder.modelID, indices.enumerated().map { (row, i) in (hashes[i], Array(matrix[row])) })
            done += indices.count
            progress?.update(done: done, total: missing.count)
        }
        progress?.finish()
        return Report(encoded: missing.count, cached: products.count - missing.count, seconds: Date().timeIntervalSince(start))
    }

    /// One L2-normalised vector per live product, in `interactionLog()` product order.
    func productVectors() throws -> (vectors: [Float], dimension: Int, missing: Int) {
        let products = try store.allProducts()
        let hashes = products.map { CuratorStore.textHash(template.render($0.product)) }
        let cached = try store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        let dimension = encoder.dimension
        var vectors = [Float](repeating: 0, count: products.count * dimension)
        var missing = 0
        for (i, hash) in hashes.enumerated() {
            guard let vector = cached[hash], vector.count == dimension else {
                missing += 1
                continue
            }
            vectors.replaceSubrange((i * dimension)..<((i + 1) * dimension), with: vector)
        }
        return (vectors, dimension, missing)
    }
}

/// A one-line progress display on standard error: done/total, rate and time left.
final class ProgressLine {
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

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
