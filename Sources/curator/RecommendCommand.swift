import ArgumentParser
import CuratorCore
import CuratorEngine
import Explanations
import Foundation
import Storage
import TextModels

extension ReasonLanguage: ExpressibleByArgument {}

struct RecommendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend", abstract: "Print a shopper's top products, each with its reason.")

    @OptionGroup var store: StoreOptions
    @Option(help: "The shop's shopper id.") var shopper: String?
    @Option(help: "Products similar to this product id, instead of a shopper's recommendations.") var similar: String?
    @Option(help: "How many products (1-100).") var k = 10
    @Option(help: "Language of the reasons: en or zh.") var lang: ReasonLanguage = .en
    @Option(help: "Leave out products the shopper had these events with (comma-separated).") var exclude = "purchase,view"
    @Option(help: "Only products in this category (prefix).") var category: String?
    @Option(name: .customLong("language-model"), help: "Language model: all-MiniLM-L6-v2, multilingual-e5-small or a folder (default: the one the store was embedded with, else $CURATOR_MODEL, else all-MiniLM-L6-v2).") var model: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...100).contains(k) else { throw ValidationError("--k must be between 1 and 100") }
        guard (shopper == nil) != (similar == nil) else { throw ValidationError("give either --shopper or --similar") }
    }

    func run() async throws {
        do {
            let excludeTypes: Set<EventType>
            do {
                excludeTypes = try EventType.filter(exclude.split(separator: ",").map(String.init))
            } catch {
                throw ValidationError("--exclude: \(error)")
            }
            let curatorStore = try await store.open()
            let embedding = try await CatalogueEmbedding.open(store: curatorStore, model: model)
            let (vectors, dimension) = try await embedding.upToDateVectors(progress: ProgressLine(label: "embedding new products").callback)
            let engine = try await RecommendationEngine.load(store: curatorStore, vectors: vectors, dimension: dimension)
            if shopper != nil { try await engine.loadLatestModel() }
            let list: RecommendationList
            if let similar {
                list = RecommendationList(shopper: "", model: "semantic", items: try engine.similar(to: similar, k: k, language: lang))
            } else {
                list = try await engine.recommend(shopper: shopper!, request: RecommendationRequest(
                    k: k, language: lang, exclude: excludeTypes, category: category))
            }
            if json {
                print(try CuratorJSON.text(list))
                return
            }
            if let shopper { print("Recommendations for shopper \(shopper) (model: \(list.model)):") } else { print("Similar to \(similar!):") }
            for (rank, item) in list.items.enumerated() {
                print("\(String(format: "%2d", rank + 1)). \(item.title.isEmpty ? item.productID : item.title)  [\(item.productID), score \(String(format: "%.3f", item.score))]")
                print("    \(item.reason)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }
}
