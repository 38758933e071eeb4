import Foundation
import StoreTestSupport
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Two `curator serve` replicas on one PostgreSQL store (the server scripts/test starts, a schema
/// of its own): what one accepts, the other serves within a second.
final class ReplicaTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try SampleStore.make(named: "replicas")
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    /// Polls `condition` until it holds; returns the seconds it took, or fails after `limit`.
    func eventually(within limit: Double = 1.0, _ what: String, _ condition: () async throws -> Bool) async throws -> Double {
        let start = Date()
        while true {
            if try await condition() { return Date().timeIntervalSince(start) }
            if Date().timeIntervalSince(start) > limit {
                XCTFail("\(what): not within \(limit) s")
                return limit
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A JSON POST that can run beside another (`async let`).
    static func post(_ body: Data, to url: URL) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    func ids(_ reply: RunningServer.Reply) -> [String] {
        (reply.object["items"] as? [[String: Any]] ?? []).compactMap { $0["product_id"] as? String }
    }

    func testWritesOnOneReplicaAreServedByTheOtherWithinASecond() async throws {
        try await withPostgresSchema { location in
            let store = location.connectionURL
            XCTAssertEqual(try CLI.run(["import", "products", "--store", store, "shop/products.csv"], in: folder).status, 0)
            XCTAssertEqual(try CLI.run(["import", "events", "--store", store, "shop/events.csv"], in: folder).status, 0)
            // A encodes the catalogue at its start and stores the vectors; B starts from them.
            let a = try RunningServer(folder: folder, store: store, extraArguments: ["--open-shopper-reads"])
            defer { _ = a.stop() }
            let b = try RunningServer(folder: folder, store: store, extraArguments: ["--open-shopper-reads"])
            defer { _ = b.stop() }

            // A new product on A: found, searchable and similar on B.
            let put = try await a.request("PUT", "/v1/products/NEW-1", body: ["title": "Glacier ice axe with steel pick", "category": "Outdoor > Climbing"])
            XCTAssertEqual(put.status, 200, put.text)
            _ = try await eventually("the new product on B") { try await b.request("GET", "/v1/products/NEW-1").status == 200 }
            let similar = try await b.request("GET", "/v1/products/NEW-1/similar?k=3")
            XCTAssertEqual(similar.status, 200, similar.text)
            XCTAssertEqual(ids(similar).count, 3)

            // Events on A move popularity on B: many purchases of the newest product put it first
            // for a shopper B has never seen.
            let purchases = (0..<40).map { i in
                ["user_id": "buyer-\(i)", "product_id": "NEW-1", "event": "purchase", "timestamp": "2026-06-01T10:00:\(String(format: "%02d", i))Z"]
            }
            let posted = try await a.request("POST", "/v1/events", body: ["events": purchases])
            XCTAssertEqual(posted.object["stored"] as? Int, 40, posted.text)
            _ = try await eventually("popularity on B") {
                ids(try await b.request("GET", "/v1/shoppers/nobody-yet/recommendations?k=1")).first == "NEW-1"
            }

            // A delete on B takes the product out of A.
            let deleted = try await b.request("DELETE", "/v1/products/NEW-1")
            XCTAssertEqual(deleted.status, 200, deleted.text)
            _ = try await eventually("the delete on A") { try await a.request("GET", "/v1/products/NEW-1").status == 404 }

            // The same events sent to both at once are stored once.
            let same = (0..<20).map { i in
                ["user_id": "twin", "product_id": "P00001", "event": "view", "timestamp": "2026-06-02T10:00:\(String(format: "%02d", i))Z"]
            }
            let body = try JSONSerialization.data(withJSONObject: ["events": same])
            let urlA = a.baseURL.appendingPathComponent("v1/events"), urlB = b.baseURL.appendingPathComponent("v1/events")
            async let first = Self.post(body, to: urlA)
            async let second = Self.post(body, to: urlB)
            let replies = try await [first, second]
            XCTAssertEqual(replies.map(\.status), [200, 200])
            let stored = replies.compactMap { (try? JSONSerialization.jsonObject(with: $0.body)) as? [String: Any] }.compactMap { $0["stored"] as? Int }
            XCTAssertEqual(stored.reduce(0, +), 20, "each event stored by one replica only: \(stored)")
            let history = try await b.request("GET", "/v1/shoppers/twin")
            XCTAssertEqual((history.object["counts"] as? [String: Int])?["view"], 20, history.text)

            // A model trained elsewhere (the CLI) is picked up by both without a restart.
            XCTAssertEqual(try CLI.run(["split", "--store", store], in: folder, environment: ["CURATOR_MODEL": ModelFolder.path]).status, 0)
            let train = try CLI.run(["train", "--store", store, "--model", "sequential", "--epochs", "1"], in: folder,
                                    environment: ["CURATOR_MODEL": ModelFolder.path])
            XCTAssertEqual(train.status, 0, train.stderr)
            for server in [a, b] {
                _ = try await eventually(within: 15, "the trained model on both") {
                    try await server.request("GET", "/healthz").object["model"] as? String == "sequential"
                }
            }
        }
    }

    /// Keys and session secret are shared configuration: a session opened through one replica,
    /// and the pseudonym it names, are honoured by the other; an admin key works on both.
    func testASessionOpenedOnOneReplicaWorksOnTheOther() async throws {
        try await withPostgresSchema { location in
            let store = location.connectionURL
            XCTAssertEqual(try CLI.run(["import", "products", "--store", store, "shop/products.csv"], in: folder).status, 0)
            XCTAssertEqual(try CLI.run(["import", "events", "--store", store, "shop/events.csv"], in: folder).status, 0)
            let admin = "admin-key-0123456789abcdef", shared = [
                "CURATOR_API_KEYS": admin, "CURATOR_SESSION_SECRET": "a-session-secret-shared-by-every-replica-0123456789",
            ]
            let a = try RunningServer(folder: folder, store: store, environment: shared)
            defer { _ = a.stop() }
            let b = try RunningServer(folder: folder, store: store, environment: shared)
            defer { _ = b.stop() }
            let session = try await a.request("POST", "/v1/sessions")
            XCTAssertEqual(session.status, 201, session.text)
            let token = try XCTUnwrap(session.object["token"] as? String)
            let shopper = try XCTUnwrap(session.object["shopper"] as? String)
            let event = ["user_id": shopper, "product_id": "P00003", "event": "view"]
            let onB = try await b.request("POST", "/v1/events", body: event, key: token)
            XCTAssertEqual(onB.status, 200, "a token from A on B: \(onB.text)")
            let history = try await a.request("GET", "/v1/shoppers/\(shopper)", key: token)
            XCTAssertEqual((history.object["counts"] as? [String: Int])?["view"], 1, "B's write, read through A: \(history.text)")
            let list = try await b.request("GET", "/v1/shoppers?limit=5", key: admin)
            XCTAssertEqual(list.status, 200, list.text)
            let refused = try await b.request("GET", "/v1/shoppers?limit=5", key: token)
            XCTAssertEqual(refused.status, 403, "a shopper's token is not an admin key on any replica")
        }
    }
}
