import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Who may do what (README, "Security"): every forbidden action gets its 401 or 403 and leaves
/// the store exactly as it was; session tokens work for their own shopper only.
final class SessionTests: XCTestCase {
    var folder: URL!
    let admin = "admin-key-0123456789abcdef"
    let eventsKey = "events-key-0123456789abcdef"
    let secret = "session-secret-0123456789abcdef-0123456789"

    override func setUpWithError() throws {
        folder = try SampleStore.make(named: "sessions")
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func keyedServer(extraArguments: [String] = [], secret: String? = nil) throws -> RunningServer {
        try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--model-poll", "0"] + extraArguments,
                          environment: ["CURATOR_API_KEYS": "\(admin),\(eventsKey):events", "CURATOR_SESSION_SECRET": secret ?? self.secret])
    }

    /// What an admin can read of everything a forbidden request might have changed.
    func snapshot(_ server: RunningServer, shoppers: [String]) async throws -> [String] {
        var texts: [String] = []
        for path in ["/v1/shoppers?limit=1000", "/v1/products?k=100", "/v1/models", "/v1/products/X-FORBIDDEN", "/v1/products/P00001"]
            + shoppers.map({ "/v1/shoppers/\($0)" }) {
            let reply = try await server.request("GET", path, key: admin)
            texts.append("\(path) \(reply.status) \(reply.text)")
        }
        return texts
    }

    func testEveryForbiddenActionIsRefusedAndChangesNothing() async throws {
        var server = try keyedServer()
        defer { _ = server.stop() }

        // Allowed: an anonymous session from nobody in particular, recording and reading for itself.
        let anonymous = try await server.request("POST", "/v1/sessions")
        XCTAssertEqual(anonymous.status, 201, anonymous.text)
        let tokenA = try XCTUnwrap(anonymous.object["token"] as? String)
        let shopperA = try XCTUnwrap(anonymous.object["shopper"] as? String)
        XCTAssertEqual(anonymous.object["anonymous"] as? Bool, true)
        XCTAssertTrue(shopperA.hasPrefix("anon-") && shopperA.count == 37, shopperA)
        XCTAssertNotNil(anonymous.object["expires_at"] as? String)
        let own = try await server.request("POST", "/v1/events", body: ["user_id": shopperA, "product_id": "P00003", "event": "view"], key: tokenA)
        XCTAssertEqual(own.status, 200, own.text)
        let ownShelf = try await server.request("GET", "/v1/shoppers/\(shopperA)/recommendations?k=3", key: tokenA)
        XCTAssertEqual(ownShelf.status, 200, ownShelf.text)
        XCTAssertEqual(ownShelf.object["model"] as? String, "semantic", "the recorded view shapes the session's own shelf")
        let ownHistory = try await server.request("GET", "/v1/shoppers/\(shopperA)", key: tokenA)
        XCTAssertEqual(ownHistory.status, 200, ownHistory.text)

        // Allowed: an events key makes a session for a named shopper, which reads that shopper's shelf.
        let named = try await server.request("POST", "/v1/sessions", body: ["shopper": "S00001"], key: eventsKey)
        XCTAssertEqual(named.status, 201, named.text)
        XCTAssertEqual(named.object["shopper"] as? String, "S00001")
        XCTAssertEqual(named.object["anonymous"] as? Bool, false)
        let tokenS1 = try XCTUnwrap(named.object["token"] as? String)
        let namedShelf = try await server.request("GET", "/v1/shoppers/S00001/recommendations?k=3", key: tokenS1)
        XCTAssertEqual(namedShelf.status, 200, namedShelf.text)

        // Allowed: the admin lists shoppers by pseudonym; one of them is the victim below.
        let listing = try await server.request("GET", "/v1/shoppers?limit=5", key: admin)
        XCTAssertEqual(listing.status, 200, listing.text)
        // A sample shopper (many events), not the anonymous one (a single view), which the listing also holds.
        let victim = try XCTUnwrap((listing.object["shoppers"] as? [[String: Any]] ?? [])
            .first { ($0["events"] as? Int ?? 0) > 1 }?["shopper"] as? String)
        XCTAssertTrue(victim.hasPrefix("~"), victim)

        // A token altered anywhere, or cut short, is not a token.
        var tampered = Array(tokenA)
        let payloadIndex = tampered.index(tampered.startIndex, offsetBy: 10)
        tampered[payloadIndex] = tampered[payloadIndex] == "A" ? "B" : "A"
        let tamperedPayload = String(tampered)
        var signature = Array(tokenA)
        let signatureIndex = signature.index(signature.endIndex, offsetBy: -5)
        signature[signatureIndex] = signature[signatureIndex] == "A" ? "B" : "A"
        let tamperedSignature = String(signature)
        let truncated = String(tokenA.prefix(tokenA.count - 8))

        let before = try await snapshot(server, shoppers: [shopperA, "S00001", victim])
        let event: (String) -> [String: Any] = { ["user_id": $0, "product_id": "P00002", "event": "purchase"] }
        let forbidden: [(what: String, method: String, path: String, body: Any?, key: String?, status: Int)] = [
            ("events without a credential", "POST", "/v1/events", event(shopperA), nil, 401),
            ("events with an unknown key", "POST", "/v1/events", event(shopperA), "unknown-key-0123456789abcdef", 401),
            ("events with an altered token payload", "POST", "/v1/events", event(shopperA), tamperedPayload, 401),
            ("events with an altered token signature", "POST", "/v1/events", event(shopperA), tamperedSignature, 401),
            ("events with a truncated token", "POST", "/v1/events", event(shopperA), truncated, 401),
            ("a session's events for a named shopper", "POST", "/v1/events", event("S00001"), tokenA, 403),
            ("a session's events for a shopper by pseudonym", "POST", "/v1/events", event(victim), tokenA, 403),
            ("a session's batch that mixes in another shopper", "POST", "/v1/events",
             ["events": [event(shopperA), event("S00002")]], tokenA, 403),
            ("a named session's events for the anonymous shopper", "POST", "/v1/events", event(shopperA), tokenS1, 403),
            ("another shopper's recommendations with a session", "GET", "/v1/shoppers/S00001/recommendations", nil, tokenA, 403),
            ("a pseudonym's recommendations with a session", "GET", "/v1/shoppers/\(victim)/recommendations", nil, tokenA, 403),
            ("a shopper's recommendations without a credential", "GET", "/v1/shoppers/S00001/recommendations", nil, nil, 401),
            ("a shopper's history without a credential", "GET", "/v1/shoppers/S00001", nil, nil, 401),
            ("another shopper's history with a session", "GET", "/v1/shoppers/S00001", nil, tokenA, 403),
            ("a pseudonym's history with a session", "GET", "/v1/shoppers/\(victim)", nil, tokenA, 403),
            ("the shopper list without a credential", "GET", "/v1/shoppers", nil, nil, 401),
            ("the shopper list with a session", "GET", "/v1/shoppers", nil, tokenA, 403),
            ("the shopper list with an events key", "GET", "/v1/shoppers", nil, eventsKey, 403),
            ("a named session without a key", "POST", "/v1/sessions", ["shopper": "S00001"], nil, 401),
            ("a named session with another shopper's token", "POST", "/v1/sessions", ["shopper": "S00001"], tokenA, 403),
            ("a session by pseudonym with another shopper's token", "POST", "/v1/sessions", ["shopper": victim], tokenA, 403),
            ("renewing an altered token", "POST", "/v1/sessions", nil, tamperedSignature, 401),
            ("a product upsert without a credential", "PUT", "/v1/products/X-FORBIDDEN", ["title": "x"], nil, 401),
            ("a product upsert with an events key", "PUT", "/v1/products/X-FORBIDDEN", ["title": "x"], eventsKey, 403),
            ("a product upsert with a session", "PUT", "/v1/products/X-FORBIDDEN", ["title": "x"], tokenA, 403),
            ("a product batch with an events key", "POST", "/v1/products", [["product_id": "X-FORBIDDEN", "title": "x"]], eventsKey, 403),
            ("a product delete without a credential", "DELETE", "/v1/products/P00001", nil, nil, 401),
            ("a product delete with an events key", "DELETE", "/v1/products/P00001", nil, eventsKey, 403),
            ("a product delete with a session", "DELETE", "/v1/products/P00001", nil, tokenS1, 403),
            ("a model reload without a credential", "POST", "/v1/models/reload", nil, nil, 401),
            ("a model reload with an events key", "POST", "/v1/models/reload", nil, eventsKey, 403),
            ("a model reload with a session", "POST", "/v1/models/reload", nil, tokenA, 403),
        ]
        for action in forbidden {
            let reply = try await server.request(action.method, action.path, body: action.body, key: action.key)
            XCTAssertEqual(reply.status, action.status, "\(action.what): \(reply.text)")
            let error = reply.object["error"] as? [String: Any]
            XCTAssertEqual(error?["status"] as? Int, action.status, "\(action.what): the API's error shape")
            XCTAssertFalse((error?["message"] as? String ?? "").isEmpty, action.what)
            let after = try await snapshot(server, shoppers: [shopperA, "S00001", victim])
            XCTAssertEqual(after, before, "\(action.what) changed stored data")
        }

        // A token is renewed for the same shopper; with the secret configured it outlives a restart.
        let renewed = try await server.request("POST", "/v1/sessions", key: tokenA)
        XCTAssertEqual(renewed.status, 201, renewed.text)
        XCTAssertEqual(renewed.object["shopper"] as? String, shopperA)
        XCTAssertEqual(server.stop(), 0)
        server = try keyedServer()
        let afterRestart = try await server.request("POST", "/v1/events", body: ["user_id": shopperA, "product_id": "P00004", "event": "cart"], key: tokenA)
        XCTAssertEqual(afterRestart.status, 200, afterRestart.text)

        // A token signed with another secret is refused, and an expired one too.
        let other = try keyedServer(extraArguments: ["--session-ttl", "1"], secret: "another-secret-0123456789abcdef-0123456789")
        defer { _ = other.stop() }
        let foreign = try await other.request("POST", "/v1/sessions")
        let foreignToken = try XCTUnwrap(foreign.object["token"] as? String)
        let foreignShopper = try XCTUnwrap(foreign.object["shopper"] as? String)
        let refused = try await server.request("POST", "/v1/events", body: event(foreignShopper), key: foreignToken)
        XCTAssertEqual(refused.status, 401, refused.text)
        // Waits for the condition (the token past its one-second life), not a fixed time, asking
        // with a read so that nothing is stored meanwhile.
        let deadline = ContinuousClock.now + .seconds(60)
        while try await other.request("GET", "/v1/shoppers/\(foreignShopper)", key: foreignToken).status != 401 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let expired = try await other.request("POST", "/v1/events", body: event(foreignShopper), key: foreignToken)
        XCTAssertEqual(expired.status, 401, expired.text)
        XCTAssertTrue(((expired.object["error"] as? [String: Any])?["message"] as? String ?? "").contains("expired"), expired.text)
        let expiredRenewal = try await other.request("POST", "/v1/sessions", key: foreignToken)
        XCTAssertEqual(expiredRenewal.status, 401, "an expired token cannot be renewed: \(expiredRenewal.text)")
        let history = try await other.request("GET", "/v1/shoppers/\(foreignShopper)", key: admin)
        XCTAssertEqual(history.status, 404, "nothing was stored for the refused tokens: \(history.text)")
    }

    func testWithoutKeysShopperDataStillNeedsACredentialUnlessOpened() async throws {
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--model-poll", "0"])
        defer { _ = server.stop() }
        for path in ["/v1/shoppers", "/v1/shoppers/S00001", "/v1/shoppers/S00001/recommendations"] {
            let reply = try await server.request("GET", path)
            XCTAssertEqual(reply.status, 401, "\(path): \(reply.text)")
        }
        let catalogue = try await server.request("GET", "/v1/products/P00001")
        XCTAssertEqual(catalogue.status, 200, "catalogue reads stay open")
        let config = try await server.request("GET", "/storefront/config.json")
        XCTAssertEqual(config.object["existing_shoppers"] as? Bool, false, config.text)
        XCTAssertNil(config.object["api_key"], "the page is never handed a key")
        let named = try await server.request("POST", "/v1/sessions", body: ["shopper": "S00001"])
        XCTAssertEqual(named.status, 401, "a named session needs a key even with writes open: \(named.text)")

        let open = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--model-poll", "0", "--open-shopper-reads"])
        defer { _ = open.stop() }
        let listed = try await open.request("GET", "/v1/shoppers?limit=2")
        XCTAssertEqual(listed.status, 200, listed.text)
        let openConfig = try await open.request("GET", "/storefront/config.json")
        XCTAssertEqual(openConfig.object["existing_shoppers"] as? Bool, true, openConfig.text)
    }

    func testBoundedRequestsAndTheRetiredStorefrontScope() async throws {
        let server = try keyedServer()
        defer { _ = server.stop() }
        let ids = (0...1_000).map { String(format: "P%05d", $0 % 90 + 1) }
        let viewed = try await server.request("POST", "/v1/recommendations", body: ["viewed": ids])
        XCTAssertEqual(viewed.status, 400, viewed.text)
        XCTAssertEqual((viewed.object["error"] as? [String: Any])?["field"] as? String, "viewed")
        let atLimit = try await server.request("POST", "/v1/recommendations", body: ["viewed": Array(ids.prefix(1_000)), "k": 3])
        XCTAssertEqual(atLimit.status, 200, atLimit.text)
        let excluded = try await server.request("GET", "/v1/shoppers/S00001/recommendations?exclude_ids=\(ids.joined(separator: ","))", key: eventsKey)
        XCTAssertEqual(excluded.status, 400, excluded.text)
        XCTAssertEqual((excluded.object["error"] as? [String: Any])?["field"] as? String, "exclude_ids")
        let bodyExcluded = try await server.request("POST", "/v1/recommendations", body: ["viewed": ["P00001"], "exclude_ids": ids])
        XCTAssertEqual(bodyExcluded.status, 400, bodyExcluded.text)

        // Over-size batches get 413 for events and products alike, and store nothing.
        let before = try await server.request("GET", "/v1/shoppers/bulk", key: admin)
        let events = (0...10_000).map { ["user_id": "bulk", "product_id": "P00001", "event": "view", "timestamp": "2026-01-01T00:00:\(String(format: "%02d", $0 % 60))Z"] }
        let tooManyEvents = try await server.request("POST", "/v1/events", body: ["events": events], key: eventsKey)
        XCTAssertEqual(tooManyEvents.status, 413, tooManyEvents.text)
        XCTAssertEqual((tooManyEvents.object["error"] as? [String: Any])?["field"] as? String, "events")
        let products = (0...10_000).map { ["product_id": "BULK-\($0)", "title": "x"] }
        let tooManyProducts = try await server.request("POST", "/v1/products", body: ["products": products], key: admin)
        XCTAssertEqual(tooManyProducts.status, 413, tooManyProducts.text)
        XCTAssertEqual((tooManyProducts.object["error"] as? [String: Any])?["field"] as? String, "products")
        let after = try await server.request("GET", "/v1/shoppers/bulk", key: admin)
        XCTAssertEqual(after.status, before.status)
        let product = try await server.request("GET", "/v1/products/BULK-1")
        XCTAssertEqual(product.status, 404)

        // The storefront scope is gone: a key handed to every browser is refused at start, with why.
        let refused = try CLI.run(["serve", "--store", "s.sqlite", "--port", "0"], in: folder,
                                  environment: ["CURATOR_API_KEYS": "storefront-key-0123456789:storefront", "CURATOR_MODEL": ModelFolder.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("POST /v1/sessions"), refused.stderr)
    }
}
