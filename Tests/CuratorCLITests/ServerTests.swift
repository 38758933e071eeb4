import ChildProcesses
import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `curator serve` process on a loopback port, driven over real HTTP.
final class RunningServer {
    let child: ChildProcess.Running
    var process: Process { child.process }
    let baseURL: URL
    let folder: URL

    init(folder: URL, store: String, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        self.folder = folder
        var env = ChildProcess.environment(["CURATOR_API_KEYS": nil, "CURATOR_PSEUDONYM_SECRET_FILE": nil, "CURATOR_PSEUDONYM_SECRET": nil,
                                            "CURATOR_MODEL": ModelFolder.path])
        for (k, v) in environment { env[k] = v }
        // Into files, not pipes nobody drains: a chatty server must never block on its output,
        // and a server that does not start fails the test with what it said.
        let name = "serve-\(UUID().uuidString)"
        let stdoutPath = folder.appendingPathComponent(name + ".stdout").path
        let stderrPath = folder.appendingPathComponent(name + ".stderr").path
        child = try ChildProcess(CLI.binary, ["serve", "--store", store, "--port", "0"] + extraArguments, directory: folder, environment: env)
            .start(output: .files(stdout: stdoutPath, stderr: stderrPath))
        // Wait for "curator: serving N products on http://127.0.0.1:PORT".
        var buffer = ""
        let deadline = Date().addingTimeInterval(120)
        var url: URL?
        while url == nil && Date() < deadline && child.isRunning {
            buffer = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let range = buffer.range(of: "on http://"), let end = buffer[range.upperBound...].firstIndex(of: "\n") {
                url = URL(string: "http://" + buffer[range.upperBound..<end])
            } else {
                usleep(50_000)
            }
        }
        guard let url else {
            let status = child.terminate()
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            throw SetupFailure("""
                curator serve did not start (exit status \(status)).
                stdout: \(buffer)
                stderr: \(stderr)
                """)
        }
        baseURL = url
    }

    func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(child.pid, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    struct Reply {
        var status: Int
        var json: Any?
        var text: String
        /// Response headers, by lowercased name.
        var headers: [String: String] = [:]
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    func request(_ method: String, _ path: String, body: Any? = nil, raw: Data? = nil, key: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        if let raw { request.httpBody = raw }
        if request.httpBody != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        var headers: [String: String] = [:]
        for (name, value) in (response as? HTTPURLResponse)?.allHeaderFields ?? [:] {
            headers["\(name)".lowercased()] = "\(value)"
        }
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                     json: try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
                     text: String(decoding: data, as: UTF8.self), headers: headers)
    }
}

enum ModelFolder {
    static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/all-MiniLM-L6-v2").path
    }
}

/// A temporary folder with the small sample shop imported into `s.sqlite`: what every server test starts from.
enum SampleStore {
    static func make(named name: String) throws -> URL {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary.path) else {
            throw SetupFailure("curator binary not found at \(CLI.binary.path)")
        }
        guard FileManager.default.fileExists(atPath: ModelFolder.path + "/model.safetensors") else {
            throw Prerequisite.missing("model not fetched (curator models fetch all)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertEqual(try CLI.run(["sample", "--out", "shop", "--products", "90", "--shoppers", "20", "--seed", "5"], in: folder).status, 0)
        XCTAssertEqual(try CLI.run(["import", "products", "--store", "s.sqlite", "shop/products.csv"], in: folder).status, 0)
        XCTAssertEqual(try CLI.run(["import", "events", "--store", "s.sqlite", "shop/events.csv"], in: folder).status, 0)
        return folder
    }
}

final class ServerTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try SampleStore.make(named: "server")
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func ids(_ reply: RunningServer.Reply) -> [String] {
        (reply.object["items"] as? [[String: Any]] ?? []).compactMap { $0["product_id"] as? String }
    }

    func testEventsChangeRecommendationsAndNewProductsAreSimilarAtOnce() async throws {
        // No keys and open shopper reads: a local demo, where anyone may write and read.
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--open-shopper-reads"])
        defer { _ = server.stop() }
        // A new shopper gets popular products, and the reason says so.
        let cold = try await server.request("GET", "/v1/shoppers/fresh/recommendations?k=5")
        XCTAssertEqual(cold.status, 200, cold.text)
        XCTAssertEqual(cold.object["model"] as? String, "popular")
        let coldItems = cold.object["items"] as? [[String: Any]] ?? []
        XCTAssertEqual(coldItems.count, 5)
        XCTAssertTrue((coldItems.first?["reason"] as? String ?? "").contains("Popular"), cold.text)

        // Viewing two kitchen products turns the shelf toward the kitchen.
        let products = try String(contentsOf: folder.appendingPathComponent("shop/products.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let kitchen = products.filter { $0.last(where: { $0.contains(">") })?.hasPrefix("Kitchen") ?? false }.map { $0[0] }
        XCTAssertGreaterThan(kitchen.count, 3)
        let post = try await server.request("POST", "/v1/events", body: ["events": [
            ["user_id": "fresh", "product_id": kitchen[0], "event": "view", "timestamp": "2026-03-01T10:00:00Z"],
            ["user_id": "fresh", "product_id": kitchen[1], "event": "cart", "timestamp": "2026-03-01T10:01:00Z"],
        ]])
        XCTAssertEqual(post.status, 200, post.text)
        XCTAssertEqual(post.object["stored"] as? Int, 2)
        let warm = try await server.request("GET", "/v1/shoppers/fresh/recommendations?k=5")
        XCTAssertEqual(warm.object["model"] as? String, "semantic")
        XCTAssertNotEqual(ids(warm), ids(cold))
        let kitchenSet = Set(kitchen)
        XCTAssertGreaterThanOrEqual(ids(warm).filter(kitchenSet.contains).count, 4, warm.text)
        XCTAssertFalse(ids(warm).contains(kitchen[0]), "viewed products are excluded by default")
        // The viewed product comes back when the shop asks not to exclude views.
        let withViewed = try await server.request("GET", "/v1/shoppers/fresh/recommendations?k=5&exclude=purchased")
        XCTAssertTrue(ids(withViewed).contains(kitchen[0]) || ids(withViewed).contains(kitchen[1]), withViewed.text)

        // A new product is found as similar to its nearest neighbour right after it is added.
        let put = try await server.request("PUT", "/v1/products/NEW-KNIFE", body: [
            "title": "Hearth Professional Chef Knife 8 inch", "brand": "Hearth", "category": "Kitchen > Chef Knife",
            "description": "holds a razor edge for slicing and dicing", "price": 49.5,
        ])
        XCTAssertEqual(put.status, 200, put.text)
        XCTAssertEqual(put.object["price"] as? String, "49.5")
        let knives = products.filter { $0[1].contains("Chef Knife") }.map { $0[0] }
        XCTAssertFalse(knives.isEmpty)
        let similar = try await server.request("GET", "/v1/products/\(knives[0])/similar?k=5")
        XCTAssertTrue(ids(similar).contains("NEW-KNIFE"), similar.text)

        // Deleted products are no longer recommended.
        let r1 = try await server.request("DELETE", "/v1/products/NEW-KNIFE").status
        XCTAssertEqual(r1, 200)
        let r2 = try await server.request("GET", "/v1/products/\(knives[0])/similar?k=20")
        XCTAssertFalse(ids(r2).contains("NEW-KNIFE"))
        let r3 = try await server.request("DELETE", "/v1/products/NEW-KNIFE").status
        XCTAssertEqual(r3, 404)

        // Filters hold and never come back short while enough products match.
        let filtered = try await server.request("GET", "/v1/shoppers/fresh/recommendations?k=8&category=Outdoor&max_price=100")
        let filteredItems = filtered.object["items"] as? [[String: Any]] ?? []
        let outdoorCheap = products.filter { $0.last(where: { $0.contains(">") })?.hasPrefix("Outdoor") ?? false }
            .filter { (Double($0.last ?? "") ?? 1e9) <= 100 }
        XCTAssertEqual(filteredItems.count, min(8, outdoorCheap.count), filtered.text)
        let outdoorIDs = Set(outdoorCheap.map { $0[0] })
        XCTAssertTrue(ids(filtered).allSatisfy(outdoorIDs.contains), filtered.text)
        let excluded = try await server.request("GET", "/v1/shoppers/fresh/recommendations?k=5&exclude_ids=\(ids(warm)[0]),\(ids(warm)[1])")
        XCTAssertFalse(ids(excluded).contains(ids(warm)[0]) || ids(excluded).contains(ids(warm)[1]))

        // Anonymous sessions.
        let anonymous = try await server.request("POST", "/v1/recommendations", body: ["viewed": [kitchen[2]], "k": 3, "lang": "zh"])
        XCTAssertEqual(anonymous.status, 200, anonymous.text)
        XCTAssertEqual(ids(anonymous).count, 3)
    }

    func testReasonsCiteOnlyTheirEvidenceInBothLanguages() async throws {
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--open-shopper-reads"])
        defer { _ = server.stop() }
        for lang in ["en", "zh"] {
            let reply = try await server.request("GET", "/v1/shoppers/S00002/recommendations?k=10&lang=\(lang)")
            XCTAssertEqual(reply.status, 200)
            let items = reply.object["items"] as? [[String: Any]] ?? []
            XCTAssertEqual(items.count, 10)
            let history = try await server.request("GET", "/v1/shoppers/S00002")
            let historyTitles = Set((history.object["recent_events"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String })
            for item in items {
                let reason = item["reason"] as? String ?? ""
                let evidence = item["evidence"] as? [String: Any] ?? [:]
                let cited = Set((evidence["history_items"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String })
                XCTAssertFalse(cited.isEmpty, "a shopper with history gets history evidence: \(item)")
                for title in cited { XCTAssertTrue(reason.contains(title), "reason cites its evidence: \(reason)") }
                for title in historyTitles.subtracting(cited) where !(item["title"] as? String ?? "").contains(title) {
                    XCTAssertFalse(reason.contains(title), "reason names \(title), which is not in its evidence: \(reason)")
                }
                if lang == "zh" {
                    XCTAssertTrue(reason.hasPrefix("因为您最近"), reason)
                } else {
                    XCTAssertTrue(reason.hasPrefix("Because you recently"), reason)
                }
            }
        }
    }

    func testBadRequestsGetTheirStatus() async throws {
        let admin = "admin-key-0123456789abcdef", storefront = "storefront-key-0123456789"
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--max-body-bytes", "4096"],
                                       environment: ["CURATOR_API_KEYS": "\(admin),\(storefront):events"])
        defer { _ = server.stop() }
        let event: [String: Any] = ["user_id": "u", "product_id": "P00001", "event": "view"]
        let r4 = try await server.request("POST", "/v1/events", body: event).status
        XCTAssertEqual(r4, 401, "writes need a key")
        let r5 = try await server.request("POST", "/v1/events", body: event, key: "wrong-key-0123456789").status
        XCTAssertEqual(r5, 401)
        let r6 = try await server.request("POST", "/v1/events", body: event, key: storefront).status
        XCTAssertEqual(r6, 200)
        let r7 = try await server.request("PUT", "/v1/products/X1", body: ["title": "x"], key: storefront).status
        XCTAssertEqual(r7, 403,
                       "a storefront key cannot change products")
        let r8 = try await server.request("PUT", "/v1/products/X1", body: ["title": "x"], key: admin).status
        XCTAssertEqual(r8, 200)
        let r9 = try await server.request("GET", "/v1/shoppers/u/recommendations").status
        XCTAssertEqual(r9, 401, "shopper data needs a key by default")
        let catalogueRead = try await server.request("GET", "/v1/products/P00001").status
        XCTAssertEqual(catalogueRead, 200, "catalogue reads are open by default")

        let big = Data(("[" + String(repeating: "{\"user_id\":\"u\",\"product_id\":\"P00001\",\"event\":\"view\"},", count: 200) + "{}]").utf8)
        let r10 = try await server.request("POST", "/v1/events", raw: big, key: admin).status
        XCTAssertEqual(r10, 413)
        let badJSON = try await server.request("POST", "/v1/events", raw: Data("{nope".utf8), key: admin)
        XCTAssertEqual(badJSON.status, 400)
        let wrongType = try await server.request("PUT", "/v1/products/X2", body: ["title": ["not", "a", "string"]], key: admin)
        XCTAssertEqual(wrongType.status, 400)
        XCTAssertEqual((wrongType.object["error"] as? [String: Any])?["field"] as? String, "title")
        let badEvent = try await server.request("POST", "/v1/events", body: ["events": [event, ["user_id": "u", "product_id": "P00001", "event": "teleport"]]], key: admin)
        XCTAssertEqual(badEvent.status, 400)
        XCTAssertEqual((badEvent.object["error"] as? [String: Any])?["field"] as? String, "events[1].event")
        for query in ["k=0", "k=101", "k=ten"] {
            let reply = try await server.request("GET", "/v1/shoppers/u/recommendations?\(query)", key: storefront)
            XCTAssertEqual(reply.status, 400, query)
            XCTAssertEqual((reply.object["error"] as? [String: Any])?["field"] as? String, "k")
        }
        let lang = try await server.request("GET", "/v1/shoppers/u/recommendations?lang=fr", key: storefront)
        XCTAssertEqual(lang.status, 400)
        XCTAssertEqual((lang.object["error"] as? [String: Any])?["field"] as? String, "lang")

        let before = try await server.request("GET", "/v1/shoppers/u", key: admin)
        let unknown = try await server.request("POST", "/v1/events", body: [event, ["user_id": "u", "product_id": "NOPE", "event": "view"]], key: admin)
        XCTAssertEqual(unknown.status, 422)
        let items = (unknown.object["error"] as? [String: Any])?["items"] as? [[String: Any]] ?? []
        XCTAssertEqual(items.first?["product_id"] as? String, "NOPE")
        XCTAssertEqual(items.first?["index"] as? Int, 1)
        let after = try await server.request("GET", "/v1/shoppers/u", key: admin)
        XCTAssertEqual(after.text, before.text, "none of a refused batch is stored")

        let metrics = try await server.request("GET", "/metrics")
        XCTAssertTrue(metrics.text.contains("curator_http_requests_total{method=\"GET\",route=\"/v1/shoppers/{id}/recommendations\",status=\"400\"}"), metrics.text)
        XCTAssertTrue(metrics.text.contains("curator_http_request_duration_seconds_bucket"))
        XCTAssertTrue(metrics.text.contains("curator_events_ingested_total 1"))
        let openapi = try await server.request("GET", "/openapi.yaml")
        XCTAssertEqual(openapi.status, 200)
        XCTAssertTrue(openapi.text.contains("/v1/shoppers/{id}/recommendations"))
    }

    /// What `scripts/api-fuzz` (Schemathesis against openapi.yaml) found: before the fixes, each
    /// of these requests got an answer the document does not describe.
    func testRequestsAsHTTPLibrariesWriteThemGetTheDocumentedAnswers() async throws {
        let admin = "admin-key-0123456789abcdef"
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--model-poll", "0"],
                                       environment: ["CURATOR_API_KEYS": admin])
        defer { _ = server.stop() }
        func field(_ reply: RunningServer.Reply) -> String? { (reply.object["error"] as? [String: Any])?["field"] as? String }
        func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

        // A `+` in a query string is a space, as URLSearchParams and Python's requests write one;
        // a plus itself comes as %2B.
        let categories = try await server.request("GET", "/v1/categories")
        let category = try XCTUnwrap((categories.object["categories"] as? [[String: Any]])?.first?["name"] as? String)
        XCTAssertTrue(category.contains(" "), category)
        let spaced = try await server.request("GET", "/v1/products?category=\(encoded(category))")
        XCTAssertGreaterThan(spaced.object["total"] as? Int ?? 0, 0, spaced.text)
        let plussed = try await server.request("GET", "/v1/products?category=\(encoded(category).replacingOccurrences(of: "%20", with: "+"))")
        XCTAssertEqual(plussed.text, spaced.text)
        let literalPlus = try await server.request("GET", "/v1/products?category=\(encoded(category + "+"))")
        XCTAssertEqual(literalPlus.object["total"] as? Int, 0, literalPlus.text)
        let exclude = try await server.request("GET", "/v1/shoppers/S00001/recommendations?exclude=purchased+,+viewed", key: admin)
        XCTAssertEqual(exclude.status, 200, exclude.text)

        // A price sent as a JSON number is a decimal however the number is written.
        for (number, stored) in [("1e-05", "0.00001"), ("1.5E+21", "1500000000000000000000"), ("19.99", "19.99")] {
            let put = try await server.request("PUT", "/v1/products/TINY", raw: Data(#"{"title": "Tiny", "price": \#(number)}"#.utf8), key: admin)
            XCTAssertEqual(put.status, 200, put.text)
            XCTAssertEqual(put.object["price"] as? String, stored, number)
        }
        let event = try await server.request("POST", "/v1/events",
                                             raw: Data(#"{"user_id": "u1", "product_id": "TINY", "event": "purchase", "price": 2.5e-7}"#.utf8), key: admin)
        XCTAssertEqual(event.status, 200, event.text)
        let negative = try await server.request("PUT", "/v1/products/TINY", raw: Data(#"{"title": "Tiny", "price": -1e-05}"#.utf8), key: admin)
        XCTAssertEqual(negative.status, 400, negative.text)
        XCTAssertEqual(field(negative), "price")

        // Lengths count code points as sent, as the document's maxLength does: one character
        // made of 501 code points is too long, and so is a short query padded past 500.
        let accent = String(repeating: "\u{301}", count: 500)
        let combining = try await server.request("GET", "/v1/products?q=\(encoded("e" + accent))")
        XCTAssertEqual(combining.status, 400, combining.text)
        XCTAssertEqual(field(combining), "q")
        let padded = try await server.request("GET", "/v1/products?q=\(encoded(String(repeating: " ", count: 495) + "chef knife"))")
        XCTAssertEqual(padded.status, 400, padded.text)
        let search = try await server.request("GET", "/v1/products?q=\(encoded("chef knife"))")
        XCTAssertEqual(search.status, 200, search.text)
        let longShopper = try await server.request("POST", "/v1/sessions", body: ["shopper": "S" + String(repeating: "\u{301}", count: 200)], key: admin)
        XCTAssertEqual(longShopper.status, 400, longShopper.text)
        XCTAssertEqual(field(longShopper), "shopper")
        let shopper = try await server.request("POST", "/v1/sessions", body: ["shopper": String(repeating: "S", count: 200)], key: admin)
        XCTAssertEqual(shopper.status, 201, shopper.text)

        // Ids in paths are percent-decoded, as encodeURIComponent writes them; blank ids are refused,
        // not stored as the product or shopper "" (the store trims ids, as `curator import` does).
        let named = try await server.request("POST", "/v1/products", body: [["product_id": "two words", "title": "Two Words Lamp"],
                                                                             ["product_id": "灯-1", "title": "台灯"]], key: admin)
        XCTAssertEqual(named.status, 200, named.text)
        for path in ["/v1/products/two%20words", "/v1/products/\(encoded("灯-1"))", "/v1/products/two%20words/similar?k=2"] {
            let reply = try await server.request("GET", path)
            XCTAssertEqual(reply.status, 200, "\(path): \(reply.text)")
        }
        let renamed = try await server.request("PUT", "/v1/products/two%20words", body: ["product_id": "two words", "title": "Lamp"], key: admin)
        XCTAssertEqual(renamed.status, 200, renamed.text)
        let mail = try await server.request("POST", "/v1/events", body: ["user_id": "ann@example.com", "product_id": "two words", "event": "view"], key: admin)
        XCTAssertEqual(mail.status, 200, mail.text)
        let history = try await server.request("GET", "/v1/shoppers/ann%40example.com", key: admin)
        XCTAssertEqual(history.status, 200, history.text)
        let removed = try await server.request("DELETE", "/v1/products/\(encoded("灯-1"))", key: admin)
        XCTAssertEqual(removed.status, 200, removed.text)
        let blankProduct = try await server.request("POST", "/v1/products", body: [["product_id": "\u{0B} ", "title": "Blank"]], key: admin)
        XCTAssertEqual(blankProduct.status, 400, blankProduct.text)
        XCTAssertEqual(field(blankProduct), "[0].product_id")
        let blankPath = try await server.request("PUT", "/v1/products/%20%20", body: ["title": "Blank"], key: admin)
        XCTAssertEqual(blankPath.status, 400, blankPath.text)
        let blankShopper = try await server.request("POST", "/v1/events", body: ["user_id": "  ", "product_id": "P00001", "event": "view"], key: admin)
        XCTAssertEqual(blankShopper.status, 400, blankShopper.text)
        XCTAssertEqual(field(blankShopper), "user_id")
        let unnamed = try await server.request("GET", "/v1/products/%20")
        XCTAssertEqual(unnamed.status, 404, unnamed.text)

        // A method a path does not take gets 405 and the methods it does take; an unknown path 404;
        // both in the API's error shape (they were empty 404s).
        for (method, path, allow) in [("PATCH", "/v1/categories", "GET"), ("DELETE", "/v1/products", "GET, POST"),
                                      ("POST", "/v1/products/P00001", "DELETE, GET, PUT"), ("PUT", "/storefront/config.json", "GET")] {
            let reply = try await server.request(method, path, key: admin)
            XCTAssertEqual(reply.status, 405, "\(method) \(path): \(reply.text)")
            XCTAssertEqual(reply.headers["allow"], allow, "\(method) \(path)")
            XCTAssertEqual((reply.object["error"] as? [String: Any])?["status"] as? Int, 405, reply.text)
        }
        for (method, path) in [("GET", "/v2/products"), ("DELETE", "/v1/products/")] {
            let reply = try await server.request(method, path, key: admin)
            XCTAssertEqual(reply.status, 404, "\(method) \(path): \(reply.text)")
            XCTAssertEqual((reply.object["error"] as? [String: Any])?["status"] as? Int, 404, reply.text)
            XCTAssertEqual(reply.headers["content-type"], "application/json")
        }
    }

    func testStorefrontEndpointsAndAnEventsKeyThatOnlyRecordsAndReads() async throws {
        let admin = "admin-key-0123456789abcdef", storefront = "events-key-0123456789abcdef"
        // A low graph threshold: both the language-model and the trained model's HNSW graphs are in play.
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--model-poll", "0", "--hnsw-threshold", "50"],
                                       environment: ["CURATOR_API_KEYS": "\(admin),\(storefront):events"])
        defer { _ = server.stop() }
        // A first start builds its graph in the background, answering by exact scans meanwhile;
        // /healthz says when the graph is in service, and it is saved beside the store.
        var searchMode = ""
        for _ in 0..<300 {
            searchMode = try await server.request("GET", "/healthz").object["search"] as? String ?? ""
            if searchMode == "graph" { break }
            XCTAssertEqual(searchMode, "compact scan while the graph builds")
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(searchMode, "graph")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("s.sqlite.hnsw").path))
        let page = try await server.request("GET", "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("<html"), page.text)
        let config = try await server.request("GET", "/storefront/config.json")
        XCTAssertNil(config.object["api_key"], "the page gets no key; it asks POST /v1/sessions for a token")
        XCTAssertEqual(config.object["keys_required"] as? Bool, true, config.text)
        let traversal = try await server.request("GET", "/storefront/..%2FCuratorHTTPServer.swift")
        XCTAssertEqual(traversal.status, 404)

        // The events key records events and reads; it cannot change products or models.
        let view = try await server.request("POST", "/v1/events", body: ["user_id": "web-1", "product_id": "P00001", "event": "view"], key: storefront)
        XCTAssertEqual(view.status, 200, view.text)
        let put = try await server.request("PUT", "/v1/products/X1", body: ["title": "x"], key: storefront)
        XCTAssertEqual(put.status, 403)
        let reload = try await server.request("POST", "/v1/models/reload", key: storefront)
        XCTAssertEqual(reload.status, 403)

        // Semantic search, the category tree, and shoppers by pseudonym.
        let search = try await server.request("GET", "/v1/products?q=sharp%20knife%20for%20the%20kitchen&k=3")
        let found = search.object["items"] as? [[String: Any]] ?? []
        XCTAssertEqual(found.count, 3, search.text)
        XCTAssertTrue((found.first?["category"] as? String ?? "").hasPrefix("Kitchen"), search.text)
        let browse = try await server.request("GET", "/v1/products?category=outdoor&k=5&offset=2")
        XCTAssertTrue((browse.object["items"] as? [[String: Any]] ?? []).allSatisfy { ($0["category"] as? String ?? "").hasPrefix("Outdoor") }, browse.text)
        let categories = try await server.request("GET", "/v1/categories")
        let departments = (categories.object["departments"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertTrue(departments.contains("Kitchen") && departments.contains("Outdoor"), categories.text)
        let shoppers = try await server.request("GET", "/v1/shoppers?limit=3", key: admin)
        let listed = (shoppers.object["shoppers"] as? [[String: Any]] ?? []).compactMap { $0["shopper"] as? String }
        XCTAssertEqual(listed.count, 3, shoppers.text)
        XCTAssertTrue(listed.allSatisfy { $0.hasPrefix("~") && $0.count == 33 })
        let byPseudonym = try await server.request("GET", "/v1/shoppers/\(listed[0])", key: storefront)
        XCTAssertEqual(byPseudonym.status, 200, byPseudonym.text)

        // A model trained while the server runs is swapped in without a restart.
        var models = try await server.request("GET", "/v1/models")
        XCTAssertEqual((models.object["in_use"] as? [String: Any])?["name"] as? String, "semantic")
        let env = ["--language-model", ModelFolder.path]
        XCTAssertEqual(try CLI.run(["split", "--store", "s.sqlite"], in: folder).status, 0)
        let trained = try CLI.run(["train", "--store", "s.sqlite", "--model", "sequential", "--epochs", "2"] + env, in: folder)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let evaluated = try CLI.run(["evaluate", "--store", "s.sqlite"] + env, in: folder)
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let swapped = try await server.request("POST", "/v1/models/reload", key: admin)
        XCTAssertEqual(swapped.status, 200, swapped.text)
        XCTAssertEqual((swapped.object["in_use"] as? [String: Any])?["name"] as? String, "sequential")
        let personal = try await server.request("GET", "/v1/shoppers/\(listed[0])/recommendations?k=5", key: storefront)
        XCTAssertEqual(personal.object["model"] as? String, "sequential", personal.text)
        let items = personal.object["items"] as? [[String: Any]] ?? []
        XCTAssertEqual(items.count, 5)
        XCTAssertTrue(items.allSatisfy { ($0["evidence"] as? [String: Any])?["source"] as? String == "personal_model" }, personal.text)
        let scores = items.compactMap { ($0["score"] as? NSNumber)?.doubleValue }
        XCTAssertEqual(scores, scores.sorted(by: >), "the model's own scores, best first")
        let healthz = try await server.request("GET", "/healthz")
        XCTAssertEqual(healthz.object["model"] as? String, "sequential")
        models = try await server.request("GET", "/v1/models")
        let evaluation = models.object["evaluation"] as? [String: Any]
        let evaluatedModels = (evaluation?["models"] as? [String: Any])?.keys.sorted() ?? []
        XCTAssertEqual(evaluatedModels, ["itemknn", "popular", "semantic", "sequential"], models.text)

        // A product added after the model was loaded is scored too, from its text; its title
        // (quotes, a backslash, Chinese) comes back intact in the evidence.
        let tentTitle = "Summit \"Ultralight\" Camping Tent 2-Person \\ 超轻帐篷"
        let added = try await server.request("PUT", "/v1/products/NEW-TENT", body: [
            "title": tentTitle, "category": "Outdoor > Camping Tent", "brand": "Summit"], key: admin)
        XCTAssertEqual(added.status, 200, added.text)
        let onlyNew = try await server.request("POST", "/v1/events", body: ["user_id": "web-2", "product_id": "NEW-TENT", "event": "view"], key: storefront)
        XCTAssertEqual(onlyNew.status, 200)
        let afterNew = try await server.request("GET", "/v1/shoppers/web-2/recommendations?k=5", key: storefront)
        XCTAssertEqual(afterNew.object["model"] as? String, "sequential")
        XCTAssertEqual(ids(afterNew).count, 5, afterNew.text)
        let cited = (afterNew.object["items"] as? [[String: Any]])?.first.flatMap { $0["evidence"] as? [String: Any] }?["history_items"] as? [[String: Any]]
        XCTAssertEqual(cited?.first?["title"] as? String, tentTitle, afterNew.text)
    }

    func testAcknowledgedWritesSurviveSIGKILLAndSIGTERMExitsCleanly() async throws {
        var server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--open-shopper-reads"])
        let events = (0..<50).map { ["user_id": "durable", "product_id": String(format: "P%05d", $0 + 1), "event": "view",
                                      "timestamp": "2026-04-01T10:\(String(format: "%02d", $0)):00Z"] }
        let r11 = try await server.request("POST", "/v1/events", body: events).status
        XCTAssertEqual(r11, 200)
        let r12 = try await server.request("PUT", "/v1/products/DURABLE-1", body: ["title": "Durable Trail Backpack 45L", "category": "Outdoor"]).status
        XCTAssertEqual(r12, 200)
        _ = server.stop(signal: SIGKILL)

        server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--open-shopper-reads"])
        let shopper = try await server.request("GET", "/v1/shoppers/durable")
        XCTAssertEqual((shopper.object["counts"] as? [String: Any])?["view"] as? Int, 50)
        let product = try await server.request("GET", "/v1/products/DURABLE-1")
        XCTAssertEqual(product.object["title"] as? String, "Durable Trail Backpack 45L")
        XCTAssertEqual(server.stop(signal: SIGTERM), 0, "SIGTERM drains and exits with status 0")
    }
}
