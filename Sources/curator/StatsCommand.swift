import ArgumentParser
import CuratorCore
import Foundation
import Storage

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what the store holds.")
    @OptionGroup var store: StoreOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let stats: StoreStatistics
        let name: String
        do {
            let opened = try await store.open()
            name = opened.name
            stats = try await opened.statistics()
        } catch {
            throw fail(error)
        }
        if json {
            print(try CuratorJSON.text(stats))
            return
        }
        print("store      \(name)")
        print("shoppers   \(stats.shoppers)")
        print("products   \(stats.products)")
        print("events     \(stats.events)")
        for type in EventType.allCases {
            print("  \(type.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))\(stats.eventsByType[type.rawValue] ?? 0)")
        }
        print("density    \(String(format: "%.6f", stats.density))")
        let h = stats.historyLength
        print("history    min \(h["min"] ?? 0), p50 \(h["p50"] ?? 0), p90 \(h["p90"] ?? 0), p99 \(h["p99"] ?? 0), max \(h["max"] ?? 0) events per shopper")
        if let first = stats.firstEvent, let last = stats.lastEvent { print("time span  \(first) .. \(last)") }
    }
}
