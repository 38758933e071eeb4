import ArgumentParser
import ChildProcesses
import CuratorCore
import Foundation
import SQLiteStorage
import Storage

/// `curator-bench abuse`: can a script buy its way into "popular"? A sample shop served by
/// `curator serve` with its default rate limits; an unpopular product then gets 10,000 purchases
/// from one session, then purchases from 200 fresh anonymous sessions made from one address, and
/// its place in the popular list is read after each; finally 300 distinct, established shoppers
/// buy it once each, which should bring it in.
struct BenchAbuse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abuse", abstract: "Fake purchases against the popular list, through curator serve with its rate limits.")

    @Option(help: "Products in the sample shop.") var products = 2_000
    @Option(help: "Shoppers with history in the sample shop.") var shoppers = 3_000
    @Option(help: "Purchases posted from the one session.") var purchases = 10_000
    @Option(help: "Fresh anonymous sessions asked for from one address.") var sessions = 200
    @Option(help: "Established shoppers who then buy the product once each.") var established = 300

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-bench-abuse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("shop.sqlite").path
        let shop = folder.appendingPathComponent("sample").path
        for arguments in [["sample", "--out", shop, "--products", String(products), "--shoppers", String(shoppers)],
                          ["import", "products", shop + "/products.csv"], ["import", "events", shop + "/events.csv"], ["embed", "--quiet"]] {
            _ = try ChildProcess(try curatorBinary(), arguments, environment: ChildProcess.environment(["CURATOR_STORE": store]))
                .runChecked(hint: "curator \(arguments.joined(separator: " "))")
        }
        let adminKey = "bench-admin-\(UUID().uuidString)", eventsKey = "bench-events-\(UUID().uuidString)"
        let keys = folder.appendingPathComponent("keys").path
        try "\(adminKey):admin\n\(eventsKey):events\n".write(toFile: keys, atomically: true, encoding: .utf8)
        let server = try ServeProcess.start(store: store, arguments: ["--api-keys", keys], folder: folder, rateLimited: true)
        defer { server.stop() }
        let http = BenchHTTP(base: server.base)

        // The target: a product in the middle of the popularity order, and the established shoppers.
        let sqlite = try SQLiteStore(path: store, secret: .store)
        let counts = try await sqlite.productEventCounts()
        var score: [String: Double] = [:]
        for entry in counts { score[entry.productID, default: 0] += Double(entry.type.weight) * Double(entry.count) }
        let order = score.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        let target = order[order.count / 2].key
        let tenth = order.count >= 10 ? order[9].value : 0
        print(String(format: "sample shop: %d products with events; the 10th most popular scores %.1f; target %@ scores %.1f (rank %d)",
                     order.count, tenth, target, score[target] ?? 0, order.count / 2 + 1))
        let day = Timestamps.nowMillis() - Timestamps.nowMillis() % 86_400_000

        func rank() async throws -> Int? {
            let list = try await http.object(200, "POST", "/v1/recommendations", bearer: adminKey, json: #"{"viewed": [], "k": 100}"#, what: "popular")
            let ids = (list["items"] as? [[String: Any]] ?? []).compactMap { $0["product_id"] as? String }
            return ids.firstIndex(of: target).map { $0 + 1 }
        }
        func describe(_ rank: Int?) -> String { rank.map { "rank \($0)\($0 <= 10 ? " (in the top 10)" : "")" } ?? "not in the top 100" }
        func purchaseBatch(_ shopper: String, _ count: Int, offset: Int) -> String {
            let events = (0..<count).map { i in
                #"{"user_id": "\#(shopper)", "product_id": "\#(target)", "event": "purchase", "timestamp": "\#(Timestamps.format(millis: day + Int64(offset + i)))"}"#
            }
            return "[" + events.joined(separator: ",") + "]"
        }

        // 1. One anonymous session, many purchases.
        let session = try await http.object(201, "POST", "/v1/sessions", what: "an anonymous session")
        guard let token = session["token"] as? String, let shopper = session["shopper"] as? String else { throw CuratorError.configuration("\(session)") }
        var statuses: [Int: Int] = [:]
        for batch in 0..<(purchases + 99) / 100 {
            let (status, _) = await http.exchange("POST", "/v1/events", bearer: token, json: purchaseBatch(shopper, min(100, purchases - batch * 100), offset: batch * 100))
            statuses[status ?? 0, default: 0] += 1
        }
        let afterOne = try await rank()
        print("1. \(purchases) purchases from one session (\(statuses.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")) batches of 100): \(describe(afterOne))")

        // 2. Fresh anonymous sessions from one address, each buying it 50 times.
        var created = 0, refused = 0
        for _ in 0..<sessions {
            let (status, body) = await http.exchange("POST", "/v1/sessions")
            guard status == 201, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                  let token = object["token"] as? String, let shopper = object["shopper"] as? String else {
                refused += 1
                continue
            }
            created += 1
            _ = await http.exchange("POST", "/v1/events", bearer: token, json: purchaseBatch(shopper, 50, offset: 0))
        }
        let afterMany = try await rank()
        print("2. \(sessions) fresh anonymous sessions asked for from one address: \(created) created, \(refused) refused (429); 50 purchases each: \(describe(afterMany))")

        // 3. Established shoppers (the sample's, with history), one purchase each.
        var bought = 0
        for i in 1...established {
            let id = String(format: "S%05d", i)
            let session = try await http.object(201, "POST", "/v1/sessions", bearer: eventsKey, json: #"{"shopper": "\#(id)"}"#, what: "a session for \(id)")
            guard let token = session["token"] as? String else { continue }
            let (status, _) = await http.exchange("POST", "/v1/events", bearer: token, json: purchaseBatch(id, 1, offset: 0))
            if status == 200 { bought += 1 }
        }
        let afterReal = try await rank()
        print("3. \(bought) established shoppers bought it once each: \(describe(afterReal))")
        let held = (afterOne ?? 101) > 10 && (afterMany ?? 101) > 10 && (afterReal ?? 101) <= 10
        print(held ? "popular held: the scripts did not move the product into the top 10; real shoppers did"
                   : "popular did NOT hold as expected")
        if !held { throw ExitCode.failure }
    }
}
