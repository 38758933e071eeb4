import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Recommenders
import Storage

extension SplitPart: ExpressibleByArgument {}

/// `curator evaluate`: wiring only; what is evaluated and how it is reported lives in `EvaluationRun`.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Rank the whole catalogue for every held-out shopper and report Precision/Recall/NDCG/HR/MRR@K.",
        discussion: """
            Products already in a shopper's history are left out of the ranking. Make a split first with curator split. \
            A trained model is evaluated only on the split it was trained on; on the validation part its figures are \
            marked as measured on its early-stopping set, and they are not saved for the storefront.
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "The saved split to evaluate on.") var split = "loo"
    @Option(help: "The part to evaluate: test or validation.") var part: SplitPart = .test
    @Option(help: "One model (popular, itemknn, semantic, sequential, two-tower); default: all.") var model: String?
    @Option(name: .customLong("language-model"), help: "Language model for the semantic model: a name or a folder (default: the one the store was embedded with).")
    var modelDirectory: String?
    @Option(help: "Write each shopper's top-20 as JSON Lines for one model (needs --model).") var dumpRankings: String?
    @Option(help: "Write report.md and chart.svg into this folder.") var report: String?
    @Flag(help: "Print {\"models\": {NAME: {metric: value}}} as JSON.") var json = false
    @Option(help: "Re-rank every list as the server does with this diversity (0 to 1) and report ild@10 and categories@10; nothing is saved for the storefront.")
    var diversity: Float?
    @Option(help: "With --diversity: at most this many products of one category in a list.") var maxPerCategory: Int?

    func validate() throws {
        if let model, !EvaluationRun.modelNames.contains(model) {
            throw ValidationError("--model must be one of \(EvaluationRun.modelNames.joined(separator: ", "))")
        }
        if dumpRankings != nil && model == nil { throw ValidationError("--dump-rankings needs --model") }
        if part == .train { throw ValidationError("--part must be test or validation") }
        if let diversity, !(0...1).contains(diversity) { throw ValidationError("--diversity must be from 0 to 1") }
        if let maxPerCategory, maxPerCategory < 1 { throw ValidationError("--max-per-category must be at least 1") }
        if maxPerCategory != nil && diversity == nil { throw ValidationError("--max-per-category needs --diversity (0 for the cap alone)") }
    }

    func run() async throws {
        do {
            let curatorStore = try await store.open()
            let variety = diversity.map { ListVariety(diversity: $0, maxPerCategory: maxPerCategory) }
            let run = try await EvaluationRun.run(store: curatorStore, split: split, part: part, models: model.map { [$0] }, variety: variety) {
                try await CatalogueEmbedding.open(store: curatorStore, model: modelDirectory)
                    .upToDateVectors(progress: ProgressLine(label: "embedding").callback)
            }
            for note in run.notes { printErr("curator: note: \(note)") }
            if let dumpRankings { try run.dumpRankings(to: dumpRankings) }
            if let report { try run.writeReportFiles(to: report) }
            // Kept for the storefront's models page (GET /v1/models), without early-stopping-set figures
            // (and not from a variety experiment, whose lists are not what the server serves by default).
            if variety == nil, try await !run.saveForStorefront(in: curatorStore) {
                printErr("curator: note: nothing saved for the storefront (only early-stopping-set figures)")
            }
            print(json ? try run.json() : run.textTable())
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }
}
