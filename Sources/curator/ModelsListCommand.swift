import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Storage

/// `curator models list`: the trained model versions in the store (a subcommand of `ModelsCommand`).
struct ModelsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every saved model version: name, version, date, data fingerprint, size and metrics.")

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print a JSON array.") var json = false

    func run() async throws {
        do {
            let curatorStore = try await store.open()
            let models = try await curatorStore.models()
            let sizes = try await curatorStore.modelPayloadSizes()
            let current = try await curatorStore.dataFingerprint()
            let formatter = ISO8601DateFormatter()
            if json {
                print(try CuratorJSON.text(models.map { m in
                    ModelListing(name: m.name, version: m.version, created: formatter.string(from: Date(timeIntervalSince1970: Double(m.createdAtMillis) / 1000)),
                                 dataFingerprint: m.dataFingerprint, currentData: m.dataFingerprint == current,
                                 bytes: sizes["\(m.name)@\(m.version)"] ?? 0,
                                 parameters: (try? CuratorJSON.decode(JSONValue.self, from: m.parameters)) ?? .string(m.parameters),
                                 metrics: ModelMetrics(json: m.metrics))
                }))
                return
            }
            if models.isEmpty {
                print("no trained models (train one with: curator train --model sequential)")
                return
            }
            print("name        version  created               data            size      metrics")
            for m in models {
                let created = formatter.string(from: Date(timeIntervalSince1970: Double(m.createdAtMillis) / 1000))
                let data = m.dataFingerprint + (m.dataFingerprint == current ? "  " : " *")
                let size = String(format: "%.1f MB", Double(sizes["\(m.name)@\(m.version)"] ?? 0) / 1_048_576)
                print(m.name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(m.version).padding(toLength: 9, withPad: " ", startingAt: 0)
                      + created.padding(toLength: 22, withPad: " ", startingAt: 0) + data.padding(toLength: 16, withPad: " ", startingAt: 0)
                      + size.padding(toLength: 10, withPad: " ", startingAt: 0) + m.metrics)
            }
            if models.contains(where: { $0.dataFingerprint != current }) { print("* trained on different data than the store now holds") }
        } catch {
            throw fail(error)
        }
    }
}

/// One saved model version in `curator models list --json`.
struct ModelListing: Encodable {
    var name: String
    var version: Int
    var created: String
    var dataFingerprint: String
    var currentData: Bool
    var bytes: Int
    /// The network's settings as saved (`NeuralConfiguration`).
    var parameters: JSONValue
    var metrics: ModelMetrics

    enum CodingKeys: String, CodingKey {
        case name, version, created, dataFingerprint = "data_fingerprint", currentData = "current_data", bytes, parameters, metrics
    }
}
