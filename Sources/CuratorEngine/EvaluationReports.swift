import CuratorCore
import Foundation
import Recommenders
import Storage

/// The ways an evaluation is written out: a text table, JSON, the storefront's saved report,
/// report.md with chart.svg, and every shopper's ranking.
extension EvaluationRun {
    /// The cutoffs every report lists.
    static let cutoffs = [5, 10, 20]

    /// `curator evaluate --json`: every model's figures; `early_stopping_set` names the models
    /// measured on the part they stopped early on.
    public func json() throws -> String {
        try Self.json(split: split, part: part, results: results)
    }

    /// The report the storefront's models page shows (GET /v1/models), or nil when there is
    /// nothing to show. It never holds a figure measured on a model's early-stopping set:
    /// the page has no room for the caveat, and a validation figure of a trained model set
    /// beside the baselines' would flatter it. Such results are left out here, when the
    /// report is made, rather than marked and filtered by whoever reads it, so no reader can
    /// forget to.
    public func storefrontJSON() throws -> String? {
        let shown = results.filter { !$0.report.onEarlyStoppingSet }
        guard !shown.isEmpty else { return nil }
        return try Self.json(split: split, part: part, results: shown)
    }

    /// Saves `storefrontJSON()` as the store's newest evaluation; returns whether there was one.
    @discardableResult
    public func saveForStorefront(in store: any TrainingStore) async throws -> Bool {
        guard let json = try storefrontJSON() else { return false }
        try await store.saveEvaluation(json: json)
        return true
    }

    private static func json(split: LoadedSplit, part: SplitPart, results: [ModelResult]) throws -> String {
        var models: [String: [String: Double]] = [:]
        for r in results { models[r.name] = r.report.metrics.filter { $0.value.isFinite } }
        return try CuratorJSON.text(EvaluationSummary(
            split: split.name, part: part.rawValue, shoppers: results.first?.report.shoppers ?? 0, products: results.first?.report.products ?? 0,
            k: cutoffs, order: results.map(\.name), models: models, earlyStoppingSet: results.filter(\.report.onEarlyStoppingSet).map(\.name)))
    }

    /// The table `curator evaluate` prints: a heading line, then one line per model.
    public func textTable() -> String {
        let first = results.first?.report
        var lines = ["split '\(split.name)' (\(split.saved.kind)), \(part.rawValue): \(first?.shoppers ?? 0) shoppers, \(first?.targets ?? 0) targets (\(first?.repeatTargets ?? 0) already in history, unreachable), \(first?.products ?? 0) products ranked"]
        var columns = ["ndcg@10", "recall@10", "hr@10", "mrr@10", "precision@10", "ndcg@20", "recall@20", "coverage@10"]
        // Evaluated with variety (`--diversity`): how varied the top 10 are.
        if results.contains(where: { $0.report.metrics["ild@10"] != nil }) { columns += ["ild@10", "categories@10"] }
        let width = max(12, (results.map(\.label.count).max() ?? 0) + 2)
        lines.append("model".padding(toLength: width, withPad: " ", startingAt: 0)
            + columns.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined() + "time")
        for r in results {
            let cells = columns.map { String(format: "%-13.4f", r.report.metrics[$0] ?? .nan) }.joined()
            lines.append(r.label.padding(toLength: width, withPad: " ", startingAt: 0) + cells + String(format: "%.1fs", r.seconds))
        }
        if results.contains(where: \.report.onEarlyStoppingSet) { lines.append(Self.earlyStoppingNote(part)) }
        return lines.joined(separator: "\n")
    }

    static func earlyStoppingNote(_ part: SplitPart) -> String {
        "early-stopping set: the trained model was chosen for its \(part.rawValue) NDCG@10, so these figures flatter it; compare models on the test part"
    }

    /// Writes report.md (a table) and chart.svg (NDCG@10 and Recall@10 bars) into `folder`.
    public func writeReportFiles(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try markdown().write(toFile: (folder as NSString).appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        try svgChart().write(toFile: (folder as NSString).appendingPathComponent("chart.svg"), atomically: true, encoding: .utf8)
    }

    func markdown() -> String {
        let columns = ["precision@10", "recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "hr@10", "mrr@10", "coverage@10"]
        var md = "# Curator evaluation\n\nSplit `\(split.name)` (\(split.saved.kind)), part \(part.rawValue), full ranking over \(results.first?.report.products ?? 0) products, history excluded; \(results.first?.report.shoppers ?? 0) shoppers.\n\n"
        md += "| model | " + columns.joined(separator: " | ") + " | time |\n|" + String(repeating: " --- |", count: columns.count + 2) + "\n"
        for r in results {
            md += "| \(r.label) | " + columns.map { String(format: "%.4f", r.report.metrics[$0] ?? .nan) }.joined(separator: " | ") + String(format: " | %.1f s |\n", r.seconds)
        }
        if results.contains(where: \.report.onEarlyStoppingSet) { md += "\n" + Self.earlyStoppingNote(part) + ".\n" }
        md += "\n![NDCG@10 and Recall@10](chart.svg)\n"
        return md
    }

    func svgChart() -> String {
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
                svg += "<rect x=\"\(x)\" y=\"\(height - h)\" width=\"\(barWidth - 4)\" height=\"\(h)\" fill=\"\(colours[m])\"><title>\(Self.escaped(r.label)) \(metric) \(String(format: "%.4f", value))</title></rect>\n"
                svg += "<text x=\"\(x + (barWidth - 4) / 2)\" y=\"\(height - h - 3)\" text-anchor=\"middle\">\(String(format: "%.3f", value))</text>\n"
            }
            // The bar's caption stays short; the early-stopping mark is an asterisk explained below.
            let caption = r.name + (r.report.onEarlyStoppingSet ? "*" : "")
            svg += "<text x=\"\(x0 + barWidth)\" y=\"\(height + 16)\" text-anchor=\"middle\">\(Self.escaped(caption))</text>\n"
        }
        for (m, metric) in metrics.enumerated() {
            svg += "<rect x=\"\(left + Double(m) * 110)\" y=\"\(height + 32)\" width=\"10\" height=\"10\" fill=\"\(colours[m])\"/><text x=\"\(left + Double(m) * 110 + 14)\" y=\"\(height + 41)\">\(metric)</text>\n"
        }
        if results.contains(where: \.report.onEarlyStoppingSet) {
            svg += "<text x=\"\(left + 230)\" y=\"\(height + 41)\">* \(part.rawValue) = early-stopping set</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Writes the first model's top-20 for every evaluated shopper as JSON Lines
    /// (`{"user", "targets", "ranked"}`), to recheck the metrics independently.
    public func dumpRankings(to path: String) throws {
        guard let result = results.first else { return }
        let log = split.data.log
        var out = ""
        for (i, shopper) in set.shoppers.enumerated() {
            let targets = set.targets(at: i).map { log.productKeys[Int($0)] }
            let ranked = result.rankings.ranking(at: i).prefix(20).map { log.productKeys[Int($0)] }
            let line = RankingDumpLine(user: log.shopperKeys[Int(shopper)], targets: targets, target: targets.count == 1 ? targets[0] : nil,
                                       ranked: Array(ranked))
            out += try CuratorJSON.text(line) + "\n"
        }
        try out.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
