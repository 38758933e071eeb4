import ArgumentParser
import CuratorCore
import Foundation
import Storage

extension SampleShop.Language: ExpressibleByArgument {}

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Write a synthetic shop (products.csv, events.csv) to try Curator with.")

    @Option(help: "Folder to write into.") var out: String
    @Option(help: "Number of products.") var products = 600
    @Option(help: "Number of shoppers.") var shoppers = 300
    @Option(help: "Language of titles and descriptions: en or zh.") var lang: SampleShop.Language = .en
    @Option(help: "Random seed; the same seed writes the same shop.") var seed: UInt64 = 42

    func run() throws {
        do {
            let output = try SampleShop(products: products, shoppers: shoppers, language: lang, seed: seed).write(to: out)
            print("wrote \(output.productCount) products to \(output.productsPath) and \(output.eventCount) events to \(output.eventsPath)")
        } catch {
            throw fail(error)
        }
    }
}
