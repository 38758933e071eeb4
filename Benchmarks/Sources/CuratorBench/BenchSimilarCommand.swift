import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import LanguageModelFit
import Storage
import TextModels

/// `scripts/bench similar`: how well a language model reads the sample shop — the share of each
/// product's most similar products in its own department and kind, and whether kind names as
/// searches (in the shop's language and in the other one) find that kind. Run it per model and
/// language to choose the model a shop should embed with.
struct BenchSimilar: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar",
        abstract: "Measure how well a language model keeps the sample shop's departments apart and finds kinds by name.")

    @Option(help: "Language of the sample shop: en or zh.") var lang = "en"
    @Option(name: .customLong("language-model"), help: "Language model: all-MiniLM-L6-v2, multilingual-e5-small or a folder (default: $CURATOR_MODEL, else all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Products in the sample shop.") var products = 600
    @Option(help: "Random seed of the sample shop.") var seed: UInt64 = 42
    @Option(help: "Similar products per product, and results per search.") var k = 10
    @Option(help: "The product text the model reads, fields in braces (default: what curator embed uses, \"{title}. {brand}. {category}. {description}\"); e.g. \"{title}. {description}\" for a shop without categories.")
    var template: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard products > 1, k > 0 else { throw ValidationError("--products must be at least 2 and --k at least 1") }
    }

    func run() throws {
        do {
            let encoder: any TextEncoder
            do { encoder = try TextEncoders.load(model) } catch { throw error.curatorError }
            guard let lang = SampleShop.Language(rawValue: lang) else { throw CuratorError.configuration("--lang must be en or zh") }
            let shop = SampleShop(products: products, shoppers: 1, language: lang, seed: seed)
            var fit = SemanticFit(encoder: encoder, k: k)
            if let template { fit.template = ProductTextTemplate(template) }
            let report = try fit.measure(shop)
            if json {
                print(try CuratorJSON.text(report))
                return
            }
            let other = lang == .en ? "zh" : "en"
            print("\(report.model) on the \(report.language) sample shop (\(report.products) products, seed \(seed)), top \(report.k):")
            print(String(format: "  similar products in the same department   %.3f  (chance %.3f)", report.similarSameDepartment, report.chanceSameDepartment))
            print(String(format: "  similar products of the same kind         %.3f", report.similarSameKind))
            print("  \(report.language) kind names as searches, right kind      " + String(format: "%.3f", report.searchSameKind))
            print("  \(other) kind names as searches, right kind      " + String(format: "%.3f  (cross-lingual)", report.crossLingualSearchSameKind))
            print(String(format: "  encoded %d product texts in %.1f s", report.products, report.encodeSeconds))
        } catch {
            throw fail(error)
        }
    }
}
