import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Recommenders
import Storage
import TextModels

extension SplitPart: ExpressibleByArgument {}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Rank the whole catalogue for every held-out shopper and report Precision/Recall/NDCG/HR/MRR@K.",
        discussion: "Products already in a shopper's history are left out of the ranking. Make a split first with curator split.")

    static let modelNames = ["popular", "itemknn", "semantic"]
    /// Learned models: evaluated from their latest saved version (curator train); with no --model,
    /// included when a version exists.
    static let trainedModelNames = ["sequential", "two-tower"]

    @OptionGroup var store: StoreOptions
    @Option(help: "The saved split to evaluate on.") var split = "loo"
    @Option(help: "The part to evaluate: test or validation.") var part: SplitPart = .test
    @Option(help: "One model (popular, itemknn, semantic); default: all.") var model: String?
    @Option(name: .customLong("model-dir"), help: "Language-model folder for the semantic model (default: the one the store was embedded with).")
    var modelDirectory: String?
    @Option(help: "Write each shopper's top-20 as JSON Lines for one model (needs --model).") var dumpRankings: String?
    @Option(help: "Write report.md and chart.svg into this folder.") var report: String?
    @Flag(help: "Print {\"models\": {NAME: {metric: value}}} as JSON.") var json = false

    func validate() throws {
        if let model, !(Self.modelNames + Self.trainedModelNames).contains(model) {
            throw ValidationError("--model must be one of \((Self.modelNames + Self.trainedModelNames).joined(separator: ", "))")
        }
        if dumpRankings != nil && model == nil { throw ValidationError("--dump-rankings needs --model") }
        if part == .train { throw ValidationError("--part must be test or validation") }
    }

    func run() throws {
        do {
            let curatorStore = try CuratorStore(path: store.path)
            guard let saved = try curatorStore.split(named: split) else {
                throw CuratorError.notFound(what: "split '\(split)' (make one with: curator split)")
            }
            if try saved.dataFingerprint != curatorStore.dataFingerprint() {
                printErr("curator: note: the data changed since split '\(split)' was made; events added since are left out")
            }
            let dataSplit = try Self.load(saved, from: curatorStore)
            let set = EvaluationSet(split: dataSplit, part: part)
            let training = dataSplit.histories(evaluating: part)
            var results: [(name: String, report: EvaluationReport, seconds: Double, rankings: ShopperRankings)] = []
            let savedModelNames = Set(try curatorStore.models().map(\.name))
            let trainedSaved = Self.trainedModelNames.filter { savedModelNames.contains($0) }
            // Language-model vectors, loaded once for every model that needs them.
            var lmVectors: (vectors: [Float], dimension: Int)?
            for name in model.map({ [$0] }) ?? (Self.modelNames + trainedSaved) {
                let start = Date()
                let evaluation: Evaluation
                switch name {
                case "popular":
                    var m = PopularRecommender()
                    try m.fit(training)
                    evaluation = Evaluator().evaluate(m, on: set)
                case "itemknn":
                    var m = ItemKNNRecommender()
                    try m.fit(training)
                    evaluation = Evaluator().evaluate(m, on: set)
                case "sequential", "two-tower":
                    if lmVectors == nil { lmVectors = try loadProductVectors(store: curatorStore, modelDirectory: modelDirectory) }
                    let m = try loadTrainedRecommender(name: name, store: curatorStore, productKeys: dataSplit.log.productKeys,
                                                       productVectors: lmVectors!.vectors, dimension: lmVectors!.dimension)
                    evaluation = Evaluator().evaluate(m, on: set)
                default:
                    if lmVectors == nil {
                        do {
                            lmVectors = try loadProductVectors(store: curatorStore, modelDirectory: modelDirectory)
                        } catch let error as TextModelError where model == nil {
                            printErr("curator: note: semantic model skipped: \(error)")
                            continue
                        }
                    }
                    var m = SemanticRecommender(productVectors: lmVectors!.vectors, dimension: lmVectors!.dimension)
                    try m.fit(training)
                    evaluation = Evaluator().evaluate(m, on: set)
                }
                results.append((name, evaluation.report, Date().timeIntervalSince(start), evaluation.rankings))
            }
            if let dumpRankings, let result = results.first {
                try Self.dump(result.rankings, set: set, log: dataSplit.log, to: dumpRankings)
            }
            if let report {
                try EvaluationReportFiles(split: saved, part: part, results: results.map { ($0.name, $0.report, $0.seconds) }).write(to: report)
            }
            var models: [String: [String: Double]] = [:]
            for r in results { models[r.name] = r.report.metrics.filter { $0.value.isFinite } }
            let object: [String: Any] = ["split": split, "part": part.rawValue, "shoppers": results.first?.report.shoppers ?? 0,
                                         "products": results.first?.report.products ?? 0, "k": [5, 10, 20],
                                         "order": results.map(\.name), "models": models]
            let reportJSON = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            // Kept for the storefront's models page (GET /v1/models).
            try curatorStore.saveEvaluation(json: reportJSON)
            if json {
                print(reportJSON)
                return
            }
            let first = results.first?.report
            print("split '\(split)' (\(saved.kind)), \(part.rawValue): \(first?.shoppers ?? 0) shoppers, \(first?.targets ?? 0) targets (\(first?.repeatTargets ?? 0) already in history, unreachable), \(first?.products ?? 0) products ranked")
            let columns = ["ndcg@10", "recall@10", "hr@10", "mrr@10", "precision@10", "ndcg@20", "recall@20", "coverage@10"]
            print("model       " + columns.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined() + "time")
            for r in results {
                let cells = columns.map { String(format: "%-13.4f", r.report.metrics[$0] ?? .nan) }.joined()
                print(r.name.padding(toLength: 12, withPad: " ", startingAt: 0) + cells + String(format: "%.1fs", r.seconds))
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }

    /// Rebuilds a saved split over the events now in the store (events added since are left out).
    static func load(_ saved: StoredSplit, from store: CuratorStore) throws -> DataSplit {
        let log = try store.interactionLog()
        var assigned = Set<Int64>()
        assigned.reserveCapacity(saved.assignments.count)
        var assignments: [SplitAssignment] = []
        assignments.reserveCapacity(saved.assignments.count)
        for a in saved.assignments {
            guard let part = SplitPart(rawValue: a.part) else { throw CuratorError.storage("split '\(saved.name)' has an unknown part '\(a.part)'") }
            assigned.insert(a.eventID)
            assignments.append(SplitAssignment(eventID: a.eventID, part: part))
        }
        let kept = InteractionLog(shopperKeys: log.shopperKeys, productKeys: log.productKeys,
                                  interactions: log.interactions.filter { assigned.contains($0.eventID) })
        guard kept.interactions.count == assignments.count else {
            throw CuratorError.configuration("\(assignments.count - kept.interactions.count) events of split '\(saved.name)' are no longer in the store; make the split again")
        }
        return try DataSplit(log: kept, assignments: assignments)
    }

    static func dump(_ rankings: ShopperRankings, set: EvaluationSet, log: InteractionLog, to path: String) throws {
        var out = ""
        for (i, shopper) in set.shoppers.enumerated() {
            let targets = set.targets(at: i).map { log.productKeys[Int($0)] }
            let ranked = rankings.ranking(at: i).prefix(20).map { log.productKeys[Int($0)] }
            var object: [String: Any] = ["user": log.shopperKeys[Int(shopper)], "targets": targets, "ranked": ranked]
            if targets.count == 1 { object["target"] = targets[0] }
            out += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
        }
        try out.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// A Markdown table and an SVG bar chart of one evaluation, for the README and the storefront.
struct EvaluationReportFiles {
    var split: StoredSplit
    var part: SplitPart
    var results: [(name: String, report: EvaluationReport, seconds: Double)]

    func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let columns = ["precision@10", "recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "hr@10", "mrr@10", "coverage@10"]
        var md = "# Curator evaluation\n\nSplit `\(split.name)` (\(split.kind)), part \(part.rawValue), full ranking over \(results.first?.report.products ?? 0) products, history excluded; \(results.first?.report.shoppers ?? 0) shoppers.\n\n"
        md += "| model | " + columns.joined(separator: " | ") + " | time |\n|" + String(repeating: " --- |", count: columns.count + 2) + "\n"
        for r in results {
            md += "| \(r.name) | " + columns.map { String(format: "%.4f", r.report.metrics[$0] ?? .nan) }.joined(separator: " | ") + String(format: " | %.1f s |\n", r.seconds)
        }
        md += "\n![NDCG@10 and Recall@10](chart.svg)\n"
        try md.write(toFile: (folder as NSString).appendingPathComponent("report.md"), atomically: true, encoding: .utf8)

        let metrics = ["ndcg@10", "recall@10"]
        let colours = ["#3b6ea5", "#e39b3b"]
        let top = max(results.flatMap { r in metrics.map { r.report.metrics[$0] ?? 0 } }.max() ?? 0.01, 0.001)
        let barWidth = 28.0, groupWidth = barWidth * Double(metrics.count) + 30, height = 220.0, left = 50.0
        let width = left + groupWidth * Double(results.count) + 20
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height + 60))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<line x1=\"\(left)\" y1=\"\(height)\" x2=\"\(width - 10)\" y2=\"\(height)\" stroke=\"#333\"/>\n"
        for (g, r) in results.enumerated() {
            let x0 = left + Double(g) * groupWidth + 15
            for (m, metric) in metrics.enumerated() {
                let value = r.report.metrics[metric] ?? 0
                let h = (height - 20) * value / top
                let x = x0 + Double(m) * barWidth
                svg += "<rect x=\"\(x)\" y=\"\(height - h)\" width=\"\(barWidth - 4)\" height=\"\(h)\" fill=\"\(colours[m])\"><title>\(r.name) \(metric) \(String(format: "%.4f", value))</title></rect>\n"
                svg += "<text x=\"\(x + (barWidth - 4) / 2)\" y=\"\(height - h - 3)\" text-anchor=\"middle\">\(String(format: "%.3f", value))</text>\n"
            }
            svg += "<text x=\"\(x0 + barWidth)\" y=\"\(height + 16)\" text-anchor=\"middle\">\(r.name)</text>\n"
        }
        for (m, metric) in metrics.enumerated() {
            svg += "<rect x=\"\(left + Double(m) * 110)\" y=\"\(height + 32)\" width=\"10\" height=\"10\" fill=\"\(colours[m])\"/><text x=\"\(left + Double(m) * 110 + 14)\" y=\"\(height + 41)\">\(metric)</text>\n"
        }
        svg += "</svg>\n"
        try svg.write(toFile: (folder as NSString).appendingPathComponent("chart.svg"), atomically: true, encoding: .utf8)
    }
}
