import ArgumentParser
import CuratorCore
import Foundation
import SQLiteStorage
import Storage

/// `curator-bench experiment`: the online loop proven through the real server. Simulated
/// shoppers, taken from the store's leave-one-out test split, each want their hidden next
/// product. Over HTTP each asks for recommendations for their history, examines position p with
/// probability 1/log2(p+1), clicks the wanted product when it is shown and examined (and any
/// examined card with a small probability), buys after a click with a fixed probability, reports
/// what they examined as seen and posts their events with the list's id. The experiment's status
/// is read every `--checkpoint` shoppers: when did p first fall below 0.01, and where did it end.
struct BenchExperiment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "An A/B test, an interleaving or repeated A/A tests, with simulated shoppers through curator serve.")

    @Option(help: "A SQLite store with products, events, vectors and (for a trained variant) a trained model; copied first, never written.")
    var store: String
    @Option(help: "ab, interleave, or aa (repeated A/A tests of --treatment against itself).") var method = "ab"
    @Option(help: "Simulated shoppers per experiment.") var shoppers = 4_000
    @Option(help: "The first variant's model.") var control = "popular"
    @Option(help: "The second variant's model.") var treatment = "sequential"
    @Option(help: "A/A experiments to run (--method aa).") var repeats = 20
    @Option(help: "Read the status every this many shoppers.") var checkpoint = 250
    @Option(help: "Shoppers simulated at once.") var concurrency = 8
    @Option(help: "Probability of clicking an examined card that is not the wanted product.") var randomClick = 0.01
    @Option(help: "Probability of a purchase after a click.") var buy = 0.3
    @Option(help: "Seed of the shoppers' sample and behaviour.") var seed: UInt64 = 1

    struct Shopper: Sendable {
        var history: [String]
        var wanted: String
    }

    func run() async throws {
        guard ["ab", "interleave", "aa"].contains(method) else { throw ValidationError("--method must be ab, interleave or aa") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-bench-experiment-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("shop.sqlite").path
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: store + suffix) {
            try FileManager.default.copyItem(atPath: store + suffix, toPath: copy + suffix)
        }
        let (population, prices) = try await Self.testShoppers(store: copy)
        var generator = SeededGenerator(seed: seed)
        let sample = Array(population.shuffled(using: &generator).prefix(shoppers))
        print("store \(store): \(population.count) leave-one-out test shoppers; \(sample.count) simulated per experiment")

        let adminKey = "bench-admin-key-\(UUID().uuidString)"
        let keys = folder.appendingPathComponent("keys").path
        try "\(adminKey):admin\n".write(toFile: keys, atomically: true, encoding: .utf8)
        let server = try ServeProcess.start(store: copy, arguments: ["--api-keys", keys, "--model-poll", "1"], folder: folder)
        defer { server.stop() }
        let http = BenchHTTP(base: server.base)
        // The trained model loads beside the running server: wait for it when a variant needs it.
        let trained = [control, treatment].first { !["popular", "semantic", "itemknn"].contains($0) }
        if let trained {
            let deadline = Date().addingTimeInterval(600)
            while Date() < deadline {
                let health = try await http.object(200, "GET", "/healthz", what: "health")
                if (health["model"] as? String) == trained.split(separator: "@").first.map(String.init) { break }
                try await Task.sleep(for: .milliseconds(500))
            }
        }

        if method == "aa" {
            var rejections = 0
            for i in 1...repeats {
                let outcome = try await experiment(name: "aa-\(i)", method: "ab", variants: (treatment, treatment), shoppers: sample, prices: prices,
                                                   http: http, adminKey: adminKey, seed: seed &+ UInt64(i))
                if outcome.finalP < 0.05 { rejections += 1 }
                print(String(format: "A/A %2d: p = %.4f", i, outcome.finalP))
            }
            print("A/A: \(rejections) of \(repeats) experiments with p < 0.05 (\(sample.count) shoppers each; expected about \(String(format: "%.1f", Double(repeats) * 0.05)))")
        } else {
            let outcome = try await experiment(name: "\(method)-\(control)-vs-\(treatment)".replacingOccurrences(of: "@", with: "-v"), method: method, variants: (control, treatment), shoppers: sample,
                                               prices: prices, http: http, adminKey: adminKey, seed: seed)
            print(outcome.summary)
            print("p < 0.01 first at \(outcome.firstSignificant.map { "\($0) shoppers" } ?? "no checkpoint"); final p = \(String(format: "%.3g", outcome.finalP)) at \(sample.count) shoppers")
        }
        print("bytes per served list: \(try await Self.bytesPerList(copy))")
    }

    struct Outcome {
        var finalP: Double
        var firstSignificant: Int?
        var summary: String
    }

    private func experiment(name: String, method: String, variants: (String, String), shoppers: [Shopper], prices: [String: String],
                            http: BenchHTTP, adminKey: String, seed: UInt64) async throws -> Outcome {
        let body = """
            {"name": "\(name)", "surface": "anonymous", "method": "\(method)",
             "variants": [{"name": "A-\(variants.0)", "model": "\(variants.0)"}, {"name": "B-\(variants.1)", "model": "\(variants.1)"}]}
            """
        _ = try await http.object(201, "POST", "/v1/experiments", bearer: adminKey, json: body, what: "starting \(name)")
        var firstSignificant: Int?
        var status: [String: Any] = [:]
        var done = 0
        while done < shoppers.count {
            let batch = Array(shoppers[done..<min(done + checkpoint, shoppers.count)])
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func add() {
                    let index = done + next, shopper = batch[next]
                    next += 1
                    group.addTask {
                        try await simulate(shopper, id: "sim-\(name)-\(index)", prices: prices, http: http, adminKey: adminKey,
                                           seed: seed &* 1_000_003 &+ UInt64(index))
                    }
                }
                for _ in 0..<min(concurrency, batch.count) { add() }
                while try await group.next() != nil { if next < batch.count { add() } }
            }
            done += batch.count
            status = try await http.object(200, "GET", "/v1/experiments/\(name)", bearer: adminKey, what: "status of \(name)")
            if firstSignificant == nil, Self.pValue(status) < 0.01 { firstSignificant = done }
        }
        _ = try await http.object(200, "POST", "/v1/experiments/\(name)/stop", bearer: adminKey, what: "stopping \(name)")
        return Outcome(finalP: Self.pValue(status), firstSignificant: firstSignificant, summary: Self.describe(status))
    }

    /// One shopper's visit.
    private func simulate(_ shopper: Shopper, id: String, prices: [String: String], http: BenchHTTP, adminKey: String, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let session = try await http.object(201, "POST", "/v1/sessions", bearer: adminKey, json: #"{"shopper": "\#(id)"}"#, what: "a session")
        guard let token = session["token"] as? String else { throw CuratorError.configuration("no token in \(session)") }
        let viewed = try String(decoding: JSONSerialization.data(withJSONObject: shopper.history), as: UTF8.self)
        let list = try await http.object(200, "POST", "/v1/recommendations", bearer: token, json: #"{"viewed": \#(viewed), "k": 10}"#, what: "recommendations")
        guard let listID = list["recommendation_id"] as? String, let items = list["items"] as? [[String: Any]] else {
            throw CuratorError.configuration("a list without id or items: \(list)")
        }
        var seen: [Int] = []
        var events: [[String: Any]] = []
        for (i, item) in items.enumerated() {
            let position = i + 1
            guard Double.random(in: 0..<1, using: &random) < 1 / log2(Double(position) + 1) else { continue }
            seen.append(position)
            guard let product = item["product_id"] as? String else { continue }
            guard product == shopper.wanted || Double.random(in: 0..<1, using: &random) < randomClick else { continue }
            events.append(["user_id": id, "product_id": product, "event": "click", "recommendation_id": listID])
            if Double.random(in: 0..<1, using: &random) < buy {
                var purchase: [String: Any] = ["user_id": id, "product_id": product, "event": "purchase", "recommendation_id": listID, "quantity": 1]
                if let price = prices[product] { purchase["price"] = price }
                events.append(purchase)
            }
        }
        if !seen.isEmpty {
            let json = #"{"recommendation_id": "\#(listID)", "seen": \#(seen)}"#
            _ = try await http.object(200, "POST", "/v1/impressions", bearer: token, json: json, what: "impressions")
        }
        if !events.isEmpty {
            let json = try String(decoding: JSONSerialization.data(withJSONObject: events), as: UTF8.self)
            _ = try await http.object(200, "POST", "/v1/events", bearer: token, json: json, what: "events")
        }
    }

    /// The test shoppers of a leave-one-out split: each one's newest event is the wanted product,
    /// the events before it (at most 50) the history they bring. Shoppers with fewer than 3 events
    /// are left out, as `curator split` leaves them out of its test part.
    static func testShoppers(store path: String) async throws -> ([Shopper], [String: String]) {
        let store = try SQLiteStore(path: path, secret: .store)
        let log = try await store.interactionLog()
        var shoppers: [Shopper] = []
        for range in log.historyRanges() where range.count >= 3 {
            let events = log.interactions[range].sorted { ($0.timestampMillis, $0.eventID) < ($1.timestampMillis, $1.eventID) }
            let wanted = log.productKeys[Int(events.last!.product)]
            var history: [String] = []
            for event in events.dropLast() {
                let id = log.productKeys[Int(event.product)]
                if history.last != id { history.append(id) }
            }
            shoppers.append(Shopper(history: Array(history.suffix(50)), wanted: wanted))
        }
        var prices: [String: String] = [:]
        for (_, product) in try await store.allProducts() { if let price = product.price { prices[product.id] = price } }
        return (shoppers, prices)
    }

    static func bytesPerList(_ path: String) async throws -> String {
        let store = try SQLiteStore(path: path, secret: .store)
        let footprint = try await store.servedListFootprint()
        guard footprint.lists > 0 else { return "no lists" }
        return "\(footprint.bytes / footprint.lists) (\(footprint.lists) lists, \(footprint.bytes) bytes of the served_lists table, SQLite)"
    }

    /// The decisive p-value of a status: the sign test's for an interleaving, else the second variant's CTR lift's.
    static func pValue(_ status: [String: Any]) -> Double {
        if let interleaving = status["interleaving"] as? [String: Any] { return interleaving["p_value"] as? Double ?? 1 }
        let variants = status["variants"] as? [[String: Any]] ?? []
        guard variants.count > 1, let lift = variants[1]["lift"] as? [String: Any], let ctr = lift["ctr"] as? [String: Any] else { return 1 }
        return ctr["p_value"] as? Double ?? 1
    }

    static func describe(_ status: [String: Any]) -> String {
        var lines: [String] = []
        for variant in status["variants"] as? [[String: Any]] ?? [] {
            let ctr = variant["ctr"] as? [String: Any] ?? [:], conversion = variant["conversion"] as? [String: Any] ?? [:]
            var line = String(format: "%@ (%@): %d shoppers, %d impressions, %d clicks, CTR %.3f%% [%.3f, %.3f], %d purchases, conversion %.3f%%",
                              variant["name"] as? String ?? "", variant["model"] as? String ?? "", variant["shoppers"] as? Int ?? 0,
                              variant["impressions"] as? Int ?? 0, variant["clicks"] as? Int ?? 0, (ctr["value"] as? Double ?? 0) * 100,
                              (ctr["low"] as? Double ?? 0) * 100, (ctr["high"] as? Double ?? 0) * 100, variant["purchases"] as? Int ?? 0,
                              (conversion["value"] as? Double ?? 0) * 100)
            if let lift = variant["lift"] as? [String: Any], let ctrLift = lift["ctr"] as? [String: Any] {
                line += String(format: "; CTR lift %+.3f pp [%+.3f, %+.3f], p = %.3g, %d shoppers per arm for power 0.8",
                               (ctrLift["difference"] as? Double ?? 0) * 100, (ctrLift["low"] as? Double ?? 0) * 100, (ctrLift["high"] as? Double ?? 0) * 100,
                               ctrLift["p_value"] as? Double ?? 1, ctrLift["shoppers_per_arm_needed"] as? Int ?? 0)
            }
            lines.append(line)
        }
        if let i = status["interleaving"] as? [String: Any] {
            lines.append(String(format: "interleaving: %d wins, %d losses, %d ties; sign test p = %.3g; clicks %d vs %d", i["wins"] as? Int ?? 0,
                                i["losses"] as? Int ?? 0, i["ties"] as? Int ?? 0, i["p_value"] as? Double ?? 1, i["clicks_first"] as? Int ?? 0,
                                i["clicks_second"] as? Int ?? 0))
        }
        return lines.joined(separator: "\n")
    }
}
