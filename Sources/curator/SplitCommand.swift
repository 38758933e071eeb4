import ArgumentParser
import CuratorCore
import Foundation
import Recommenders
import Storage

struct SplitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Make a deterministic train/validation/test split of the stored events.",
        discussion: """
            Leave-one-out (default): per shopper, in time order, the last event is test, the \
            second-to-last validation, the rest training. With --before, a global time split: \
            events before the moment train, the rest test. Repeat purchases stay in the history; \
            evaluation ranks only products the shopper has not interacted with yet.
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "Name to save the split under (default: loo, or time for --before).") var name: String?
    @Option(help: "Global time split at this ISO-8601 moment, e.g. 2011-10-01T00:00:00Z.") var before: String?
    @Option(help: "With --before: training events from this moment on become validation.") var validationBefore: String?
    @Option(help: "Keep only shoppers and products with at least N events (k-core), applied before splitting.") var minEvents: Int?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        do {
            let curatorStore = try await store.open()
            var log = try await curatorStore.interactionLog()
            guard !log.interactions.isEmpty else { throw CuratorError.configuration("the store has no events; import some first") }
            var parameters: [String: String] = [:]
            if let minEvents {
                guard minEvents >= 1 else { throw ValidationError("--min-events must be at least 1") }
                log = KCoreFilter(minEvents: minEvents).apply(to: log)
                parameters["min_events"] = String(minEvents)
            }
            let split: DataSplit
            let kind: String
            if let before {
                guard let cut = Timestamps.parse(before) else { throw ValidationError("--before '\(before)' is not an ISO-8601 time like 2011-10-01T00:00:00Z") }
                var validation = TimeSplit.Validation.none
                if let validationBefore {
                    guard let v = Timestamps.parse(validationBefore) else { throw ValidationError("--validation-before '\(validationBefore)' is not an ISO-8601 time") }
                    validation = .before(v)
                    parameters["validation_before"] = Timestamps.format(millis: v)
                }
                split = TimeSplit(before: cut, validation: validation).split(log)
                kind = "time"
                parameters["before"] = Timestamps.format(millis: cut)
            } else {
                split = LeaveOneOutSplit().split(log)
                kind = "leave-one-out"
            }
            let splitName = name ?? (kind == "time" ? "time" : "loo")
            let stored = await StoredSplit(
                name: splitName, kind: kind, parameters: try CuratorJSON.text(parameters),
                dataFingerprint: try curatorStore.dataFingerprint(), createdAtMillis: Timestamps.nowMillis(),
                assignments: split.assignments().map { ($0.eventID, $0.part.rawValue) })
            try await curatorStore.saveSplit(stored)
            let counts = Dictionary(uniqueKeysWithValues: SplitPart.allCases.map { ($0.rawValue, split.count(of: $0)) })
            if json {
                print(try CuratorJSON.text(SplitSummary(name: splitName, kind: kind, shoppers: log.shopperKeys.count, products: log.productKeys.count,
                                                        train: counts["train"] ?? 0, validation: counts["validation"] ?? 0, test: counts["test"] ?? 0)))
            } else {
                print("split '\(splitName)' (\(kind)): train \(counts["train"] ?? 0), validation \(counts["validation"] ?? 0), test \(counts["test"] ?? 0) events")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }
}

/// `curator split --json`: the split saved, and its events per part.
struct SplitSummary: Encodable {
    var name: String
    var kind: String
    var shoppers: Int
    var products: Int
    var train: Int
    var validation: Int
    var test: Int
}
